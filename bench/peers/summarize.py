#!/usr/bin/env python3
"""Summarize RESULT lines: median / min / max of every numeric field, grouped by
benchmark name + settings (threads, spin, epochs, n).
Usage: /usr/bin/python3 bench/peers/summarize.py LOG [LOG ...]"""
import re, statistics, sys
from collections import defaultdict

KEYS = ("name", "threads", "spin", "epochs", "n")   # fields that identify a configuration
groups = defaultdict(lambda: defaultdict(list))
for path in sys.argv[1:]:
    for line in open(path):
        if not line.startswith("RESULT "):
            continue
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        key = " ".join(f"{k}={f[k]}" for k in KEYS if k in f)
        for k, v in f.items():
            if k not in KEYS:
                groups[key][k].append(float(v))

print("| configuration | metric | median | min | max | runs |\n|---|---|---|---|---|---|")
natural = lambda k: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", k)]
for key in sorted(groups, key=natural):
    for metric, vals in groups[key].items():
        print(f"| {key} | {metric} | {statistics.median(vals):g} | {min(vals):g} | {max(vals):g} | {len(vals)} |")
