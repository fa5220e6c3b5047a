#!/usr/bin/env python3
"""PyTorch peer benchmark: torch.mm throughput on square float32 matrices.

Usage: /usr/bin/python3 bench/peers/matmul.py [--threads N] [--sizes 64,256,1024,2048]
For each n: one warm-up call, then calls until >= 1 s has elapsed (at least 3);
GFLOPS = 2 n^3 / median call time (also best). Same method as sgemm_ceiling.c.
Last line: RESULT name=matmul threads=N gflops_n64=.. best_gflops_n64=.. ... peak_rss_mb=M
"""
import argparse, os, resource, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--sizes", default="64,256,1024,2048")
args = ap.parse_args()

# Thread pools: see mlp_epoch.py. torch.mm on Debian's build goes to the system
# OpenBLAS (sgemm_), so OPENBLAS_NUM_THREADS is what actually sets its threads.
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import torch

torch.set_num_threads(args.threads)
torch.manual_seed(0)

fields = []
for n in map(int, args.sizes.split(",")):
    a, b = torch.rand(n, n) - 0.5, torch.rand(n, n) - 0.5
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)                        # warm-up
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < 1.0 or len(times) < 3:
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    flops = 2.0 * n ** 3
    fields += [f"gflops_n{n}={flops / statistics.median(times) / 1e9:.1f}",
               f"best_gflops_n{n}={flops / min(times) / 1e9:.1f}"]

rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"RESULT name=matmul threads={args.threads} " + " ".join(fields) + f" peak_rss_mb={rss_mb:.0f}")
