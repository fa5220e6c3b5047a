#!/usr/bin/env python3
"""PyTorch peer of scripts/course/cnn_variants.lua, S4-12 (batch 4 vs batch 128).

004_44a923b9da7d8773.txt Q2 finds batch 4 "slow" (143.73 s) on its GPU. COURSE.md's
S4-12 asks for a longer time per epoch at batch 4 than at batch 128. This runs
the same recipe in PyTorch on the CPU: the notes' CNN_Model base (Conv2d(1, 7, 3,
'same'), sigmoid, Conv2d(7, 9, 3), sigmoid, MaxPool2d(2), Flatten, Dropout(0.3),
Linear(2025, 10)), Keras init (Glorot uniform, zero biases), Adam lr 0.01 eps
1e-7, the first 5,000 Fashion-MNIST training images padded to 32x32 with
validation_split 0.15 (the last 750), shuffled batches, at most 12 epochs,
EarlyStopping(monitor='loss', patience=3) as Keras. An epoch's time is its
training steps plus the validation pass (as nnlua's nn.fit times it).

Measured here (1 thread, shared machine): batch 4 6.6 s per epoch, batch 128
3.2 s; batch 4 also has the lower epoch-1 and minimum training loss. PyTorch's
batch-4 epoch is longer because of its per-step cost (about 3 ms a step here:
1,063 steps against 34). nnlua's per-step cost on 1 thread is about 0.05 ms, so
there its epoch costs about the same at both sizes and S4-12's time condition
is a tie; with 2 threads (the default) each conv pass starts a worker thread
and batch 4's epoch is the longer one, as here.

Usage: /usr/bin/python3 bench/peers/course_cnn_variants.py [--threads N] [--epochs E] [--train N]
Last line: RESULT name=course_cnn_variants threads=N b4_epoch_s=S b128_epoch_s=S b4_min_loss=L b128_min_loss=L ...
"""
import argparse, gzip, os, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--epochs", type=int, default=12)
ap.add_argument("--train", type=int, default=5000)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
args = ap.parse_args()

# Thread pools: see mlp_epoch.py (Debian torch = OpenMP pool + separate OpenBLAS pool).
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import numpy as np
import torch
from torch import nn

torch.set_num_threads(args.threads)


def load_idx(name):
    """Read one gzipped IDX file (images -> N x 784 uint8, labels -> N uint8)."""
    with gzip.open(os.path.join(args.data, name + ".gz")) as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", ndim, 4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims[0], -1)


n = args.train
x = torch.from_numpy(load_idx("train-images-idx3-ubyte")[:n].astype(np.float32) / 255).view(-1, 1, 28, 28)
x = nn.functional.pad(x, (2, 2, 2, 2))  # the CIFAR-10 stand-in: 32x32
y = torch.from_numpy(load_idx("train-labels-idx1-ubyte")[:n].reshape(-1).astype(np.int64))
n_val = int(n * 0.15)  # Keras's validation_split: the last 15%, before shuffling
x_train, y_train, x_val, y_val = x[:n - n_val], y[:n - n_val], x[n - n_val:], y[n - n_val:]


def keras_init(m):
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


def run(batch):
    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Conv2d(1, 7, 3, padding="same"), nn.Sigmoid(), nn.Conv2d(7, 9, 3), nn.Sigmoid(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(9 * 15 * 15, 10))
    model.apply(keras_init)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    losses, times, best, wait = [], [], float("inf"), 0
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        total, perm = 0.0, torch.randperm(len(x_train))
        for i in range(0, len(x_train), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = model(x_train[idx])
            loss = loss_fn(out, y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            (out.argmax(1) == y_train[idx]).sum().item()  # the accuracy nn.fit keeps
        model.eval()
        with torch.no_grad():  # the validation pass, batches of 256 as nn.fit
            for i in range(0, len(x_val), 256):
                loss_fn(model(x_val[i:i + 256]), y_val[i:i + 256]).item()
        times.append(time.perf_counter() - t0)
        losses.append(total / len(x_train))
        # Keras EarlyStopping(monitor='loss', patience=3)
        wait += 1
        if losses[-1] < best:
            best, wait = losses[-1], 0
        elif wait >= 3 and epoch > 0:
            break
    per_epoch = sum(times) / len(times)
    print(f"batch {batch}: {len(losses)} epochs, epoch-1 loss {losses[0]:.4f}, min loss {min(losses):.4f}, "
          f"time per epoch {per_epoch:.3f} s (median {sorted(times)[len(times) // 2]:.3f} s)", flush=True)
    return losses, per_epoch


l4, t4 = run(4)
l128, t128 = run(128)
print(f"S4-12 on PyTorch: epoch-1 loss {l4[0]:.4f} < {l128[0]:.4f}: {l4[0] < l128[0]}; "
      f"min loss {min(l4):.4f} < {min(l128):.4f}: {min(l4) < min(l128)}; "
      f"time per epoch {t4:.3f} s > {t128:.3f} s: {t4 > t128}")
print(f"RESULT name=course_cnn_variants threads={args.threads} b4_epoch_s={t4:.3f} b128_epoch_s={t128:.3f} "
      f"b4_epoch1_loss={l4[0]:.4f} b128_epoch1_loss={l128[0]:.4f} b4_min_loss={min(l4):.4f} "
      f"b128_min_loss={min(l128):.4f}")
