#!/usr/bin/env python3
"""PyTorch peer benchmark: per-op dispatch latency (eager mode, CPU).

Usage: /usr/bin/python3 bench/peers/op_overhead.py [--threads N] [--iters K]
Times K (default 100k) iterations of each case after 1k warm-up iterations:
  add_1     c = a + b on 1-element float32 tensors     (pure dispatch/alloc overhead)
  add_64x64 c = a + b on 64x64 float32 tensors          (dispatch + 4096-element kernel)
  autograd  y = (w * x).sum(); y.backward() on 4-element tensors (graph build + backward)
Last line: RESULT name=op_overhead threads=N add_1_us=.. add_64x64_us=.. autograd_us=.. peak_rss_mb=M
"""
import argparse, os, resource, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--iters", type=int, default=100_000)
args = ap.parse_args()

# Thread pools: see mlp_epoch.py (Debian torch = OpenMP pool + separate OpenBLAS pool).
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import torch

torch.set_num_threads(args.threads)
torch.manual_seed(0)


def per_op_us(step):
    """Microseconds per call of step(), after a short warm-up."""
    for _ in range(1000):
        step()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        step()
    return (time.perf_counter() - t0) / args.iters * 1e6


a1, b1 = torch.rand(1), torch.rand(1)
a64, b64 = torch.rand(64, 64), torch.rand(64, 64)
w = torch.rand(4, requires_grad=True)
x = torch.rand(4)


def add_1():
    c = a1 + b1


def add_64():
    c = a64 + b64


def autograd_step():
    y = (w * x).sum()
    y.backward()                                   # grads accumulate into w.grad


res = {"add_1_us": per_op_us(add_1), "add_64x64_us": per_op_us(add_64),
       "autograd_us": per_op_us(autograd_step)}
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"RESULT name=op_overhead threads={args.threads} "
      + " ".join(f"{k}={v:.3f}" for k, v in res.items()) + f" peak_rss_mb={rss_mb:.0f}")
