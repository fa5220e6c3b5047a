#!/usr/bin/env python3
"""PyTorch peer benchmark: small 2-conv CNN on Fashion-MNIST, Adam.

Usage: /usr/bin/python3 bench/peers/cnn_epoch.py [--threads N] [--epochs E] [--spin] [--synthetic]
Times the training loop only (data is decoded and normalized into a float32
N x 1 x 28 x 28 tensor beforehand), then reports test accuracy on 10k images.
Last line: RESULT name=cnn_epoch threads=N spin=0 epochs=E seconds=S ... test_acc=A peak_rss_mb=M
"""
import argparse, gzip, os, resource, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", type=int, default=1)
ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
ap.add_argument("--spin", action="store_true", help="keep libgomp's default spin-wait")
ap.add_argument("--synthetic", action="store_true",
                help="random data of Fashion-MNIST's shape instead of the dataset (no accuracy)")
args = ap.parse_args()

# Thread pools: see mlp_epoch.py (Debian torch = OpenMP pool + separate OpenBLAS pool).
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
if not args.spin:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import numpy as np
import torch
from torch import nn

torch.set_num_threads(args.threads)
torch.manual_seed(0)


def load_idx(name):
    """Read one gzipped IDX file (images -> N x 784 uint8, labels -> N uint8)."""
    with gzip.open(os.path.join(args.data, name + ".gz")) as f:
        raw = f.read()
    ndim = raw[3]                                  # magic = 0x00 0x00 0x08 ndim
    dims = np.frombuffer(raw, ">u4", ndim, 4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims[0], -1)


def images(name):  # scale to [0,1], normalize, shape N x 1 x 28 x 28
    x = load_idx(name).astype(np.float32)
    x /= 255.0; x -= 0.2860; x /= 0.3530
    return torch.from_numpy(x).view(-1, 1, 28, 28)


def labels(name):
    return torch.from_numpy(load_idx(name).reshape(-1).astype(np.int64))


if args.synthetic:  # same shapes and dtypes, seeded random values: times the steps alone
    g = torch.Generator().manual_seed(1)
    x_train = torch.randn(60000, 784, generator=g).view(-1, 1, 28, 28)
    y_train = torch.randint(0, 10, (60000,), generator=g)
    x_test = torch.randn(10000, 784, generator=g).view(-1, 1, 28, 28)
    y_test = torch.randint(0, 10, (10000,), generator=g)
else:
    x_train, y_train = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
    x_test, y_test = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")

model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 14 x 14
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 7 x 7
    nn.Flatten(),
    nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
    nn.Linear(128, 10),
)
loss_fn = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
batch = 64

t0 = time.perf_counter()
for epoch in range(args.epochs):
    t_ep, total, steps = time.perf_counter(), 0.0, 0
    perm = torch.randperm(len(x_train))            # shuffle every epoch
    for i in range(0, len(x_train), batch):        # 938 steps, last batch has 32
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
        total += loss.item(); steps += 1
    print(f"# epoch {epoch + 1}: {time.perf_counter() - t_ep:.3f} s, mean train loss {total / steps:.4f}")
seconds = time.perf_counter() - t0

model.eval()
with torch.no_grad():                              # evaluate in chunks to bound memory
    correct = sum((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
                  for i in range(0, len(x_test), 1000))
acc = correct / len(x_test)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux
print(f"RESULT name=cnn_epoch threads={args.threads} spin={int(args.spin)} synthetic={int(args.synthetic)} epochs={args.epochs} "
      f"seconds={seconds:.3f} train_loss={total / steps:.4f} test_acc={acc:.4f} peak_rss_mb={rss_mb:.0f}")
