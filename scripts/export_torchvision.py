#!/usr/bin/python3
"""Writes a torchvision model's state dict as a safetensors file that nnlua
loads with its PyTorch key names:

    /usr/bin/python3 scripts/export_torchvision.py mobilenet_v2 mobilenet_v2.safetensors --pretrained

    local model = nn.models.mobilenet_v2()
    model:load_state_dict(nn.load("mobilenet_v2.safetensors"), {keys = 'torch'})

--pretrained downloads torchvision's ImageNet weights (this needs your
network; torchvision caches them under ~/.cache/torch); without it the
model's random initialization is written (seeded by --seed), which is what
tests use. --num-classes and --width-mult (MobileNetV2's width_mult) build
a smaller model than ImageNet's.

Only json and numpy write the file (Debian has no safetensors package for
Python): an 8-byte little-endian header length, a JSON header giving each
tensor's dtype, shape and byte range, then the raw little-endian data,
tensors ordered as the reference implementation orders them (by alignment,
then name). int64 buffers (BatchNorm's num_batches_tracked) stay int64.
"""
import argparse
import difflib
import json
import os
import struct
import sys

import numpy as np

# torch dtype name -> (safetensors dtype, numpy little-endian dtype)
DTYPES = {"float32": ("F32", "<f4"), "float64": ("F64", "<f8"), "float16": ("F16", "<f2"),
          "int64": ("I64", "<i8"), "int32": ("I32", "<i4"), "int16": ("I16", "<i2"),
          "int8": ("I8", "|i1"), "uint8": ("U8", "|u1"), "bool": ("BOOL", "|b1")}


def write_safetensors(path, arrays, metadata=None):
    """Writes arrays ({name: numpy array}) to path in the safetensors format.
    metadata: {str: str} stored under __metadata__."""
    codes = {np.dtype(v[1]): v[0] for v in DTYPES.values()}
    entries = []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr).reshape(arr.shape)  # ascontiguousarray makes 0-dim 1-dim
        if arr.dtype.newbyteorder("<") in codes:
            arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        if arr.dtype not in codes:
            raise ValueError(f"{name}: dtype {arr.dtype} has no safetensors code")
        entries.append((name, codes[arr.dtype], arr))
    entries.sort(key=lambda e: (-e[2].dtype.itemsize, e[0]))
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, code, arr in entries:
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, arr in entries:
            f.write(arr.tobytes())


def state_dict_arrays(model):
    """The model's state dict as numpy arrays, keys and dtypes as PyTorch's."""
    arrays = {}
    for name, t in model.state_dict().items():
        dtype = str(t.dtype).replace("torch.", "")
        if dtype not in DTYPES:
            raise ValueError(f"{name}: dtype {dtype} is not exported")
        arrays[name] = t.detach().cpu().contiguous().numpy().astype(DTYPES[dtype][1], copy=False)
    return arrays


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export_torchvision.py",
        description="Write a torchvision model's state dict as safetensors "
                    "(load it in nnlua with model:load_state_dict(nn.load(OUT), {keys='torch'})).")
    p.add_argument("name", metavar="NAME", help="a torchvision model, e.g. resnet18, mobilenet_v2, vgg11, vgg11_bn")
    p.add_argument("out", metavar="OUT.safetensors", help="the file to write")
    p.add_argument("--pretrained", action="store_true",
                   help="torchvision's ImageNet weights (downloaded; needs the network) "
                        "instead of the random initialization")
    p.add_argument("--num-classes", type=int, metavar="N", help="classes of the head (default: the model's, 1000)")
    p.add_argument("--width-mult", type=float, metavar="W",
                   help="mobilenet_v2's width multiplier (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialization (default 0)")
    args = p.parse_args(argv)
    if not args.out.endswith(".safetensors"):
        p.error(f"OUT must end in .safetensors, got {args.out!r}")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        p.error(f"the folder of OUT does not exist: {out_dir}")
    if args.num_classes is not None and args.num_classes < 1:
        p.error(f"--num-classes must be a positive integer, got {args.num_classes}")
    if args.width_mult is not None and not args.width_mult > 0:
        p.error(f"--width-mult must be positive, got {args.width_mult}")
    if args.pretrained and (args.num_classes not in (None, 1000) or args.width_mult not in (None, 1.0)):
        p.error("--pretrained gives ImageNet's weights: 1000 classes and width 1.0 "
                "(replace the head after loading instead of passing --num-classes)")
    return p, args


def build(parser, args):
    import torch
    import torchvision
    names = torchvision.models.list_models(module=torchvision.models)
    if args.name not in names:
        near = difflib.get_close_matches(args.name, names, n=3)
        parser.error(f"torchvision {torchvision.__version__} has no model {args.name!r}"
                     + (f" (did you mean {', '.join(near)}?)" if near else "")
                     + f"; known: {', '.join(sorted(names))}")
    kwargs = {}
    if args.num_classes is not None:
        kwargs["num_classes"] = args.num_classes
    if args.width_mult is not None:
        if args.name != "mobilenet_v2":
            parser.error(f"--width-mult applies to mobilenet_v2, not {args.name}")
        kwargs["width_mult"] = args.width_mult
    torch.manual_seed(args.seed)
    try:
        model = torchvision.models.get_model(args.name, weights="DEFAULT" if args.pretrained else None, **kwargs)
    except (OSError, RuntimeError) as e:  # a download that failed, a corrupt cache
        sys.exit(f"export_torchvision.py: could not get {args.name}'s pretrained weights "
                 f"(the download needs the network): {e}")
    return model.eval(), torchvision.__version__


def main(argv):
    parser, args = parse_args(argv)
    model, version = build(parser, args)
    arrays = state_dict_arrays(model)
    weights = "ImageNet (torchvision DEFAULT)" if args.pretrained else f"random initialization, seed {args.seed}"
    meta = {"format": "pt", "source": f"torchvision {version} {args.name}", "weights": weights}
    write_safetensors(args.out, arrays, meta)
    count = sum(a.size for n, a in arrays.items() if a.dtype.kind == "f")
    print(f"wrote {args.out}: {len(arrays)} tensors, {count:,} floats ({weights})")


if __name__ == "__main__":
    main(sys.argv[1:])
