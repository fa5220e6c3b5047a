#!/usr/bin/env python3
"""PyTorch peer benchmark: sort and topk along the last dim.

Usage: /usr/bin/python3 bench/peers/sort.py [--threads N] [--rows R] [--cols C] [--k K] [--reps N]
On an R x C float32 tensor of torch.rand values: torch.sort(x, dim=-1) and
torch.topk(x, K, dim=-1), each timed as the median of N calls after one
warm-up (outputs allocated per call, as nnlua's are).
Last line: RESULT name=sort threads=N sort_ms=.. topk_ms=..
"""
import argparse, os, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rows", type=int, default=1000)
ap.add_argument("--cols", type=int, default=10000)
ap.add_argument("--k", type=int, default=10)
ap.add_argument("--reps", type=int, default=7)
args = ap.parse_args()

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import torch

torch.set_num_threads(args.threads)
torch.manual_seed(0)
x = torch.rand(args.rows, args.cols)


def median_ms(f):
    f()
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


sort_ms = median_ms(lambda: torch.sort(x, dim=-1))
topk_ms = median_ms(lambda: torch.topk(x, args.k, dim=-1))
print(f"RESULT name=sort threads={args.threads} sort_ms={sort_ms:.3f} topk_ms={topk_ms:.3f}")
