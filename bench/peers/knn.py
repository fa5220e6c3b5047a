#!/usr/bin/env python3
"""scikit-learn peer benchmark: k-nearest-neighbour classification.

Usage: /usr/bin/python3 bench/peers/knn.py [--threads N] [--train N] [--test N] [--k K] [--reps N]
Fashion-MNIST (/usr/share/datasets/fashion-mnist or $NNLUA_FASHION_MNIST),
pixels as float32 in [0, 1] as nn.data.fashion_mnist gives them: the
first --train training images and --test test images.
KNeighborsClassifier(n_neighbors=K, algorithm='brute').fit(x, y).predict(q),
timed as the median of N runs (each long enough to need no warm-up).
Last line: RESULT name=knn threads=N ms=.. accuracy=..
"""
import argparse, gzip, os, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--train", type=int, default=60000)
ap.add_argument("--test", type=int, default=10000)
ap.add_argument("--k", type=int, default=5)
ap.add_argument("--reps", type=int, default=3)
args = ap.parse_args()

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
import numpy as np
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

d = os.environ.get("NNLUA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def idx(name, offset):
    path = os.path.join(d, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


x = (idx("train-images-idx3-ubyte", 16).reshape(-1, 784)[: args.train] / np.float32(255)).astype(np.float32)
y = idx("train-labels-idx1-ubyte", 8)[: args.train].astype(np.int64) + 1
q = (idx("t10k-images-idx3-ubyte", 16).reshape(-1, 784)[: args.test] / np.float32(255)).astype(np.float32)
t = idx("t10k-labels-idx1-ubyte", 8)[: args.test].astype(np.int64) + 1

acc = 0.0


def run():
    global acc
    knn = KNeighborsClassifier(n_neighbors=args.k, algorithm="brute", n_jobs=args.threads).fit(x, y)
    acc = float((knn.predict(q) == t).mean())


with threadpool_limits(limits=args.threads):
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
print(f"RESULT name=knn threads={args.threads} ms={statistics.median(times) * 1e3:.1f} accuracy={acc:.4f}")
