#!/usr/bin/env python3
"""PyTorch peer of bench/conv_variants.lua: forward + backward (input,
weight and bias gradients) of three convolution variants.

  depthwise   the 17 depthwise 3x3 convolutions of torchvision's
              mobilenet_v2 (width 1.0) on a 32x32 input, batch 32, summed
  grouped     128 -> 128 channels, groups 32, 3x3 pad 1, 16x16, batch 32
  transposed  ConvTranspose2d 64 -> 32, kernel 4, stride 2, padding 1,
              14x14 -> 28x28, batch 64

Usage: /usr/bin/python3 bench/peers/conv_variants.py [--threads N] [--reps R]
       /usr/bin/python3 bench/peers/conv_variants.py --layers
--layers prints the depthwise layers found in mobilenet_v2 as
`LAYERS c,h,w,stride,padding;...` (the input shape of each, batch excluded)
and exits: bench/conv_variants.lua measures the same ones.
Otherwise each case runs `calls` times per sample (about 0.2 s), R samples;
the time per call is the median over samples.
Last line: RESULT name=conv_variants threads=N depthwise_ms=.. grouped_ms=.. transposed_ms=..
"""
import argparse, os, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--layers", action="store_true")
args = ap.parse_args()

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import torch
import torch.nn.functional as F

torch.set_num_threads(args.threads)
torch.manual_seed(0)


def depthwise_layers():
    import torchvision
    model = torchvision.models.mobilenet_v2(width_mult=1.0)
    found = []

    def hook(m, inp, out):
        x = inp[0]
        found.append((x.shape[1], x.shape[2], x.shape[3], m.stride[0], m.padding[0]))

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels:
            assert m.kernel_size == (3, 3) and m.out_channels == m.in_channels
            m.register_forward_hook(hook)
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, 32, 32))
    return found


layers = depthwise_layers()
if args.layers:
    print("LAYERS " + ";".join(",".join(str(v) for v in l) for l in layers))
    raise SystemExit

assert len(layers) == 17, len(layers)


def conv_case(n, c, h, w, o, k, groups, stride, padding, transposed=False):
    x = torch.randn(n, c, h, w, requires_grad=True)
    wshape = (c, o // groups, k, k) if transposed else (o, c // groups, k, k)
    weight = torch.randn(*wshape, requires_grad=True)
    bias = torch.randn(o, requires_grad=True)
    fn = F.conv_transpose2d if transposed else F.conv2d
    gout = torch.randn(fn(x, weight, bias, stride=stride, padding=padding, groups=groups).shape)

    def step():
        x.grad = weight.grad = bias.grad = None
        fn(x, weight, bias, stride=stride, padding=padding, groups=groups).backward(gout)
    return step


def timed(steps, reps):
    """Seconds per call of running every step once, median over reps."""
    def run(k):
        t0 = time.perf_counter()
        for _ in range(k):
            for s in steps:
                s()
        return time.perf_counter() - t0
    run(3)
    k = 1
    while run(k) < 0.05:
        k *= 2
    k = max(1, int(k * 0.2 / run(k)))
    return statistics.median(run(k) / k for _ in range(reps))


cases = {
    "depthwise": [conv_case(32, c, h, w, c, 3, c, s, p) for c, h, w, s, p in layers],
    "grouped": [conv_case(32, 128, 16, 16, 128, 3, 32, 1, 1)],
    "transposed": [conv_case(64, 64, 14, 14, 32, 4, 1, 2, 1, transposed=True)],
}
fields = [f"{name}_ms={timed(steps, args.reps) * 1e3:.3f}" for name, steps in cases.items()]
print(f"RESULT name=conv_variants threads={args.threads} " + " ".join(fields))
