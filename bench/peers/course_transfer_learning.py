#!/usr/bin/python3
"""scripts/course/transfer_learning.lua's default mode (COURSE.md §2.25) in
PyTorch, to tell the recipe's outcome from nnlua's: torchvision's
MobileNetV2 (width 0.35) pretrained on Fashion-MNIST classes 1-5, then
classes 6-10 from 50 labelled images: (ii) frozen backbone in eval mode,
(iii) per-layer learning rates (blocks 1-7 lr 0, 8-14 1e-5, 15-19 1e-4,
head 1e-3), (iv) from scratch; 40 epochs, batch 10, test accuracy on the
5,000 test images of those classes, mean of 3 seeds. Also the 1-nearest-
neighbour accuracy of each block's output on the target data: how generic
(early) or task-specific (late) the pretrained features are.

    /usr/bin/python3 bench/peers/course_transfer_learning.py [--seed S] [--threads N]
"""
import argparse
import gzip
import time

import numpy as np
import torch
import torch.nn as tnn
import torchvision

DIR = "/usr/share/datasets/fashion-mnist/"
MEAN, STD = 0.1307, 0.3081


def idx(name, offset):
    with gzip.open(DIR + name) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def fashion(split):
    prefix = "train" if split == "train" else "t10k"
    x = idx(f"{prefix}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    y = idx(f"{prefix}-labels-idx1-ubyte.gz", 8).astype(np.int64)  # 0-based: classes 1-5 are 0..4
    return torch.from_numpy(x), torch.from_numpy(y)


def images(x, rows):
    """Padded to 32x32, 3 channels, standardised as the Lua script does."""
    x = tnn.functional.pad(x[rows], (2, 2, 2, 2))
    return ((x - MEAN) / STD).repeat(1, 3, 1, 1)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 250]).argmax(1) == y[i:i + 250]).sum().item()
                   for i in range(0, len(x), 250)) / len(x)


def train(model, opt, x, y, epochs, batch, keep_features_eval=False):
    for _ in range(epochs):
        model.train()
        if keep_features_eval:
            model.features.eval()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            tnn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()


def mobilenet(classes):
    return torchvision.models.mobilenet_v2(num_classes=classes, width_mult=0.35)


def with_head(model):
    model.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(model.last_channel, 5))
    return model


def block_1nn(source, tx, ty, sx, sy):
    """1-NN test accuracy of each block's output (flattened), the source's weights in eval mode."""
    out = []
    source.eval()
    with torch.no_grad():
        a, b = tx, sx
        for i, block in enumerate(source.features):
            a, b = block(a), block(b)
            fa, fb = a.flatten(1), b.flatten(1)
            nearest = torch.cdist(fb, fa).argmin(1)
            out.append((i + 1, (ty[nearest] == sy).float().mean().item()))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    x, y = fashion("train")
    ex, ey = fashion("test")
    torch.manual_seed(args.seed)
    src_rows = torch.nonzero(y < 5).flatten()[:12000]
    source = mobilenet(5)
    opt = torch.optim.Adam(source.parameters(), lr=1e-3)
    train(source, opt, images(x, src_rows), y[src_rows], 3, 64)
    src_test = torch.nonzero(ey < 5).flatten()
    print(f"source test accuracy (classes 1-5): {accuracy(source, images(ex, src_test), ey[src_test]):.4f}")
    backbone = source.features.state_dict()

    tgt = torch.nonzero(y >= 5).flatten()
    pool = tgt[:len(tgt) - 500]
    test_rows = torch.nonzero(ey >= 5).flatten()
    sx, sy = images(ex, test_rows), ey[test_rows] - 5
    acc = {"ii": [], "iii": [], "iv": []}
    for seed in range(args.seed, args.seed + 3):
        torch.manual_seed(seed)
        picks = []
        for c in range(5, 10):
            of_c = pool[y[pool] == c]
            picks.append(of_c[torch.randperm(len(of_c))[:10]])
        rows = torch.cat(picks)
        tx, ty = images(x, rows), y[rows] - 5
        if seed == args.seed:
            print("1-NN accuracy of each pretrained block's output on the target task:",
                  ", ".join(f"{b}: {a:.3f}" for b, a in block_1nn(source, tx, ty, sx, sy)))

        m = with_head(mobilenet(5))  # (ii)
        m.features.load_state_dict(backbone)
        m.features.requires_grad_(False)
        train(m, torch.optim.Adam(m.classifier.parameters(), lr=1e-3), tx, ty, 40, 10, keep_features_eval=True)
        acc["ii"].append(accuracy(m, sx, sy))

        m = with_head(mobilenet(5))  # (iii)
        m.features.load_state_dict(backbone)
        groups = [{"params": [q for i in r for q in m.features[i].parameters()], "lr": lr}
                  for r, lr in ((range(0, 7), 0.0), (range(7, 14), 1e-5), (range(14, 19), 1e-4))]
        groups.append({"params": m.classifier.parameters(), "lr": 1e-3})
        train(m, torch.optim.Adam(groups), tx, ty, 40, 10)
        acc["iii"].append(accuracy(m, sx, sy))

        m = with_head(mobilenet(5))  # (iv)
        train(m, torch.optim.Adam(m.parameters(), lr=1e-3), tx, ty, 40, 10)
        acc["iv"].append(accuracy(m, sx, sy))
        print(f"seed {seed}: " + ", ".join(f"({k}) {v[-1]:.4f}" for k, v in acc.items()))
    mean = {k: float(np.mean(v)) for k, v in acc.items()}
    print("mean of 3 seeds: " + ", ".join(f"({k}) {v:.4f}" for k, v in mean.items()))
    print(f"COURSE.md S3-19: (iii) >= (iv) + 0.02: {mean['iii'] >= mean['iv'] + 0.02}; "
          f"(ii) >= (iv): {mean['ii'] >= mean['iv']}  ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
