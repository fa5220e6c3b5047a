-- bench/overhead.lua: the cost of one tensor op called from Lua, where the
-- kernel does next to nothing — argument checks, dispatch, allocation of
-- the result and its collection — against PyTorch's eager mode
-- (bench/peers/op_overhead.py), run in the same session.
--
-- Usage: nnlua bench/overhead.lua [--threads T] [--iters K] [--reps R]
--                                  [--peer-iters P] [--skip-peer] [--quick]
-- Microseconds per call, the median of R rounds. Each round times K calls
-- of each case below (K/10 for add64 and autograd), then runs the peer
-- once (P calls of each of its cases, in a fresh python3):
--   add1          c = a + b    on 1-element float32 tensors (target <= 0.2x PyTorch)
--   add64         c = a + b    on 64x64 float32 tensors
--   add1_inplace  a:add_(b)    on 1-element tensors (no allocation; no peer case)
--   autograd      (w * x):sum():backward() on 4 elements, w requiring grad
--                 (its gradient accumulates, as in the peer; target <= 0.2x)
-- ratio = nnlua / PyTorch, the median over rounds of the two figures taken
-- in the same round, so the drift of a loaded machine cancels out. The
-- peer's loop calls a Python function per iteration, ours is an inline loop.
-- --skip-peer: no Python. --quick: small K, 3 rounds, no peer (the smoke test).
-- Last line: RESULT name=op_overhead threads=T add1_us=.. add64_us=..
--   add1_inplace_us=.. autograd_us=.. and, with the peer, CASE_peer_us=..
--   CASE_ratio=.. for add1, add64 and autograd.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{threads = 1, iters = 1000000, reps = 7, peer_iters = 100000,
                          skip_peer = false, quick = false}
if opt.quick then opt.iters, opt.reps, opt.skip_peer = 10000, 3, true end
nn.set_num_threads(opt.threads)
bench.header("op_overhead: microseconds per op from Lua", opt.threads)

local now = bench.now
local a1, b1 = nn.rand(1), nn.rand(1)
local a64, b64 = nn.rand(64, 64), nn.rand(64, 64)
local w, x = nn.rand(4):requires_grad_(), nn.rand(4)

-- Each case is one plain loop, as a user would write it. peer: the key of
-- the peer's RESULT line.
local cases = {
  {name = "add1", what = "a + b, 1 element", iters = opt.iters, peer = "add_1_us", run = function(k)
    local a, b = a1, b1
    local t0 = now()
    for _ = 1, k do local _c = a + b end
    return now() - t0
  end},
  {name = "add64", what = "a + b, 64x64", iters = opt.iters // 10, peer = "add_64x64_us", run = function(k)
    local a, b = a64, b64
    local t0 = now()
    for _ = 1, k do local _c = a + b end
    return now() - t0
  end},
  {name = "add1_inplace", what = "a:add_(b), 1 element", iters = opt.iters, run = function(k)
    local a, b = a1:clone(), b1
    local t0 = now()
    for _ = 1, k do a:add_(b) end
    return now() - t0
  end},
  {name = "autograd", what = "(w*x):sum():backward(), 4 elements", iters = opt.iters // 10,
   peer = "autograd_us", run = function(k)
    local t0 = now()
    for _ = 1, k do (w * x):sum():backward() end
    return now() - t0
  end},
}

-- One run of the peer: its microseconds per call, by key.
local function run_peer()
  local out = bench.python("peers/op_overhead.py", ("--threads %d --iters %d"):format(opt.threads, opt.peer_iters))
  local line = out:match("RESULT name=op_overhead[^\n]*")
  if not line then error("bench: peers/op_overhead.py printed no result:\n" .. out, 0) end
  local us = {}
  for key, value in line:gmatch("([%w_]+)=([%d.]+)") do us[key] = tonumber(value) end
  return us
end

for _, c in ipairs(cases) do
  c.us, c.peer_us = {}, {}
  c.run(c.iters // 10) -- warm-up: fills the allocator's cache, grows the heap
end
for r = 1, opt.reps do
  for _, c in ipairs(cases) do c.us[r] = c.run(c.iters) / c.iters * 1e6 end
  if not opt.skip_peer then
    local peer = run_peer()
    for _, c in ipairs(cases) do
      if c.peer then c.peer_us[r] = peer[c.peer] or error("bench: the peer gave no " .. c.peer, 0) end
    end
  end
end

local rows, fields = {}, {{"threads", opt.threads}}
for _, c in ipairs(cases) do
  local med = bench.median(c.us)
  local has_peer = #c.peer_us > 0
  local peer = has_peer and bench.median(c.peer_us) or nil
  local ratio = has_peer and bench.paired_ratio(c.us, c.peer_us) or nil
  rows[#rows + 1] = {c.what, opt.reps .. "x" .. c.iters, bench.fmt(med, 3), bench.fmt(bench.min(c.us), 3),
                     peer and bench.fmt(peer, 3) or "-", ratio and bench.fmt(ratio, 3) or "-"}
  fields[#fields + 1] = {c.name .. "_us", bench.fmt(med, 3)}
  if has_peer then
    fields[#fields + 1] = {c.name .. "_peer_us", bench.fmt(peer, 3)}
    fields[#fields + 1] = {c.name .. "_ratio", bench.fmt(ratio, 3)}
  end
end

bench.table({"op", "runs", "nnlua us", "best us", "PyTorch us", "nnlua/PyTorch"}, rows)
if not opt.skip_peer then
  print("# nnlua/PyTorch: median over rounds of the ratio within a round (targets: add1 and autograd <= 0.2)")
end
bench.result("op_overhead", fields)
