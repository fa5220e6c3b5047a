#!/usr/bin/env python3
"""PyTorch peer of bench/models.lua: torchvision's mobilenet_v2 and
resnet18 (1000 classes, as built by default).

  train  one training step on a batch of 32 images 3x64x64 in train mode:
         zero the gradients, forward, cross-entropy, backward
  infer  the forward of a batch of 64 images 3x64x64 in eval mode, without
         gradients

Usage: /usr/bin/python3 bench/peers/models.py [--threads N] [--reps R]
Each case runs k times per sample (about 0.5 s, k >= 1), R samples; the
time per call is the median over samples.
Last line: RESULT name=models threads=N mobilenet_v2_train_ms=.. ...
"""
import argparse, os, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--reps", type=int, default=5)
args = ap.parse_args()

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import torch
import torchvision

torch.set_num_threads(args.threads)
torch.manual_seed(0)


def cases(name):
    model = getattr(torchvision.models, name)()
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.randn(32, 3, 64, 64), torch.randint(0, 1000, (32,))
    x_infer = torch.randn(64, 3, 64, 64)

    def train():
        model.train()
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    def infer():
        model.eval()
        with torch.no_grad():
            model(x_infer)
    return {name + "_train": train, name + "_infer": infer}


def timed(step, reps):
    """Seconds per call, median over reps samples of about 0.5 s."""
    def run(k):
        t0 = time.perf_counter()
        for _ in range(k):
            step()
        return time.perf_counter() - t0
    k = max(1, round(0.5 / run(1)))
    run(1)
    return statistics.median(run(k) / k for _ in range(reps))


fields = []
for name in ["mobilenet_v2", "resnet18"]:
    for case, step in cases(name).items():
        fields.append(f"{case}_ms={timed(step, args.reps) * 1e3:.2f}")
print(f"RESULT name=models threads={args.threads} " + " ".join(fields))
