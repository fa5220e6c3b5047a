#!/usr/bin/env python3
"""One epoch of the peers' MLP (bench/peers/mlp_epoch.py's recipe) that
also writes where it started into DIR as .npy files: the initial weights
(1.weight.npy ... 5.bias.npy, PyTorch's state-dict names) and the batch
order (perm.npy, 0-based). bench/mlp_replay.lua trains nnlua's MLP from
the same start, so the two runs differ only in arithmetic.

Usage: /usr/bin/python3 bench/mlp_replay.py DIR [SEED]
Last line: RESULT name=mlp_replay_peer train_loss=L test_acc=A
"""
import gzip, os, sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np
import torch
from torch import nn

out_dir, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
data = os.environ.get("NNLUA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def load_idx(name):  # as the peer: images -> N x 784 uint8, labels -> N uint8
    with gzip.open(os.path.join(data, name + ".gz")) as f:
        raw = f.read()
    dims = np.frombuffer(raw, ">u4", raw[3], 4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims[0], -1)


def images(name):
    x = load_idx(name).astype(np.float32)
    x /= 255.0; x -= 0.2860; x /= 0.3530
    return torch.from_numpy(x)


def labels(name):
    return torch.from_numpy(load_idx(name).reshape(-1).astype(np.int64))


x_train, y_train = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
x_test, y_test = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")
torch.manual_seed(seed)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 10), nn.LogSoftmax(dim=1))
for name, value in model.state_dict().items():
    np.save(os.path.join(out_dir, name + ".npy"), value.numpy())
perm = torch.randperm(len(x_train))
np.save(os.path.join(out_dir, "perm.npy"), perm.numpy())
opt, loss_fn = torch.optim.SGD(model.parameters(), lr=0.01), nn.NLLLoss()
total, steps = 0.0, 0
for i in range(0, len(x_train), 64):
    idx = perm[i:i + 64]
    opt.zero_grad()
    loss = loss_fn(model(x_train[idx]), y_train[idx])
    loss.backward()
    opt.step()
    total += loss.item(); steps += 1
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean().item()
print(f"RESULT name=mlp_replay_peer train_loss={total / steps:.6f} test_acc={acc:.4f}")
