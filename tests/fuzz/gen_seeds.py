#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/.

Small valid files of each format and a few near-valid ones (truncated, a
wrong count, a bad byte), built by hand with the standard library so the
seeds do not depend on the tools that normally write these formats. The
campaigns' minimised findings are merged into the same folders later
(run.sh merge); this script only (re)writes the seed_* files.

    python3 tests/fuzz/gen_seeds.py
"""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


# ---- safetensors ----

def safetensors(entries, meta=None, pad=True):
    """entries: (name, dtype, shape, raw bytes)."""
    header, data = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def seeds_safetensors():
    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("safetensors", "f32", safetensors([("w", "F32", [2, 3], f32)]))
    put("safetensors", "types", safetensors([
        ("a", "F64", [2], struct.pack("<2d", 1.5, -2)),
        ("b", "F16", [2], struct.pack("<2e", 1.5, -2)),
        ("c", "BF16", [2], b"\x80\x3f\x00\xc0"),
        ("d", "I64", [1], struct.pack("<q", -7)),
        ("e", "I32", [1], struct.pack("<i", 7)),
        ("f", "I16", [1], struct.pack("<h", 7)),
        ("g", "I8", [2], b"\x01\xff"),
        ("h", "U32", [1], struct.pack("<I", 7)),
        ("i", "U16", [1], struct.pack("<H", 7)),
        ("j", "U8", [2], b"\x01\xff"),
        ("k", "BOOL", [3], b"\x00\x01\x02"),
        ("l", "F32", [], struct.pack("<f", 3)),
        ("m", "F32", [0, 4], b""),
    ]))
    put("safetensors", "meta", safetensors([("x", "I64", [2], struct.pack("<2q", 1, 2))],
                                           meta={"format": "pt", "k": "v"}))
    put("safetensors", "empty", safetensors([]))
    put("safetensors", "truncated", safetensors([("w", "F32", [2, 3], f32)])[:-5])
    put("safetensors", "overlap", safetensors([("a", "F32", [1], f32[:4]), ("b", "F32", [1], b"")])
        .replace(b"[4,4]", b"[0,4]"))
    put("safetensors", "huge_claim", safetensors([("w", "F32", [250000000000], b"")])
        .replace(b"[0,0]", b"[0,1000000000000]"))


# ---- checkpoint metadata (the JSON of __metadata__.nnlua_checkpoint) ----

def seeds_checkpoint_meta():
    put("checkpoint_meta", "optim", json.dumps({
        "format": 1, "epoch": 3, "model": {"type": "Sequential"},
        "optimizer": {"name": "adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-08,
                      "weight_decay": 0, "amsgrad": False, "step": 120},
        "history": {"loss": [2.3, 1.1, {"$float": "nan"}], "best": {"$float": "inf"}},
        "note": "caf\u00e9 \"quoted\"", "none": None}).encode())
    put("checkpoint_meta", "nested", b'{"a":[[[[[[1]]]]]],"b":{"c":{"d":-1e308}}}')
    put("checkpoint_meta", "array", b'[1,2.5,"x",true,null,{"$float":"-inf"}]')
    put("checkpoint_meta", "bad", b'{"a":[1,2,}')


# ---- .npy ----

def npy(descr, shape, raw, fortran=False, version=1):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, fortran, "(%s)" % "".join("%d," % s for s in shape) if shape else "()")
    pre = 10 if version == 1 else 12
    total = (pre + len(d) + 1 + 63) // 64 * 64
    d = d + " " * (total - pre - len(d) - 1) + "\n"
    hl = struct.pack("<H", len(d)) if version == 1 else struct.pack("<I", len(d))
    return b"\x93NUMPY" + bytes([version, 0]) + hl + d.encode() + raw


def seeds_npy():
    put("npy", "f4", npy("<f4", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
    put("npy", "f8_be", npy(">f8", [2], struct.pack(">2d", 1, 2)))
    put("npy", "fortran", npy("<i4", [2, 3], struct.pack("<6i", 1, 2, 3, 4, 5, 6), fortran=True))
    put("npy", "bool", npy("|b1", [3], b"\x00\x01\x02"))
    put("npy", "u2_v2", npy("<u2", [2], struct.pack("<2H", 1, 2), version=2))
    put("npy", "scalar", npy("<f2", [], struct.pack("<e", 1.5)))
    put("npy", "i1_empty", npy("|i1", [0, 5], b""))
    put("npy", "truncated", npy("<f4", [4], struct.pack("<2f", 1, 2)))


# ---- IDX ----

def idx(shape, raw, typ=0x08):
    return bytes([0, 0, typ, len(shape)]) + b"".join(struct.pack(">I", s) for s in shape) + raw


def gz(data):
    return gzip.compress(data, mtime=0)


def seeds_idx():
    img = idx([2, 3, 4], bytes(range(24)))
    lab = idx([5], bytes([0, 1, 2, 9, 255]))
    for target, wrap in (("idx", lambda b: b), ("idx_gz", lambda b: b)):
        put(target, "images", wrap(img))
        put(target, "labels", wrap(lab))
        put(target, "extra", wrap(lab + b"\x07"))
        put(target, "short", wrap(lab[:-2]))
        put(target, "float", idx([2], struct.pack(">2f", 1, 2), typ=0x0D))
    # fuzz_idx reads the bytes as stored: gzipped files too
    put("idx", "images.gz", gz(img))
    put("idx", "labels.gz", gz(lab))
    put("idx", "truncated.gz", gz(img)[:-6])
    put("idx", "two_members.gz", gz(lab[:6]) + gz(lab[6:]))


# ---- CIFAR-10 binary ----

def seeds_cifar():
    rec = lambda label, v: bytes([label]) + bytes((v + i) % 256 for i in range(3072))
    put("cifar", "one", rec(3, 0))
    put("cifar", "two", rec(0, 7) + rec(9, 100))
    put("cifar", "bad_label", rec(10, 0))
    put("cifar", "short", rec(1, 0)[:-1])


# ---- PNG ----

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, color, depth, rows, extra=b"", interlace=0):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra +
            png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def seeds_png():
    put("png", "gray8", png(3, 2, 0, 8, [b"\x00\x80\xff", b"\x10\x20\x30"]))
    put("png", "rgb8", png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))]))
    put("png", "rgba8", png(1, 2, 6, 8, [b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"]))
    put("png", "ga16", png(1, 1, 4, 16, [b"\x80\x00\xff\xff"]))
    put("png", "palette_trns", png(2, 1, 3, 8, [b"\x00\x01"],
                                   extra=png_chunk(b"PLTE", b"\xff\x00\x00\x00\xff\x00") +
                                   png_chunk(b"tRNS", b"\x80")))
    put("png", "gray1", png(8, 1, 0, 1, [b"\xa5"]))
    put("png", "gamma", png(1, 1, 2, 8, [b"\x10\x20\x30"],
                            extra=png_chunk(b"gAMA", struct.pack(">I", 45455))))
    put("png", "interlaced", png(3, 3, 0, 8, [b"\x01\x02\x03"] * 3, interlace=1))
    put("png", "truncated", png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))])[:-20])


# ---- CSV ----

def seeds_csv():
    put("csv", "iris", b"sepal_length,sepal_width,species\n5.1,3.5,setosa\n"
                       b"4.9,3.0,setosa\n6.3,3.3,virginica\n")
    put("csv", "quoted", b'\xef\xbb\xbf"a,b",c\r\n"x ""y""",2\r\n\r\n  ,  \n"q"junk,3\n')
    put("csv", "blank_lines", b"\n  \n1,2\n\t\n3,4,\n")
    put("csv", "unterminated", b'a,b\n"open,1\n')
    put("csv", "ragged", b"a,b,c\n1,2\n")
    put("csv", "nan_inf", b"x,y\nnan,-inf\n+inf,1e308\n")


if __name__ == "__main__":
    seeds_safetensors()
    seeds_checkpoint_meta()
    seeds_npy()
    seeds_idx()
    seeds_cifar()
    seeds_png()
    seeds_csv()
