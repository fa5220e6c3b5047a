#!/bin/sh
# Startup anchor: wall time of `python3 -c "import torch"`, with a bare
# interpreter and bare lua5.4 for reference; then peak RSS after `import torch`.
# Usage: sh bench/peers/startup.sh [json-out]     (needs hyperfine >= 1.13 for -N)
hyperfine -N --warmup 3 --runs 30 --export-json "${1:-startup.json}" \
  '/usr/bin/python3 -c pass' \
  '/usr/bin/python3 -c "import torch"' \
  "lua5.4 -e ''"
/usr/bin/python3 -c 'import resource, torch
print("RESULT name=import_torch peak_rss_mb=%.0f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))'
