#!/usr/bin/env python3
"""Runs a peer benchmark from bench/peers with its fixed
torch.manual_seed(0) replaced by torch.manual_seed(SEED), so the peer's
test accuracy is a median over seeds as nnlua's is (one seed's accuracy
after one epoch varies by about +-1 point).

Usage: /usr/bin/python3 bench/seeded_peer.py SEED PATH/TO/peer.py [ARGS...]
"""
import sys

seed, script = int(sys.argv[1]), sys.argv[2]
source = open(script).read()
fixed = "torch.manual_seed(0)"
if source.count(fixed) != 1:
    sys.exit(f"seeded_peer.py: expected one '{fixed}' in {script}, found {source.count(fixed)}")
sys.argv = [script] + sys.argv[3:]
code = compile(source.replace(fixed, f"torch.manual_seed({seed})"), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script})
