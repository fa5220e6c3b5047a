-- bench/overhead.lua: the cost of one tensor op called from Lua, where the
-- kernel does next to nothing — argument checks, dispatch, allocation of
-- the result and its collection.
--
-- Usage: nnlua bench/overhead.lua [--threads T] [--iters K] [--reps R]
--                                  [--peer-us X] [--peer-us64 Y] [--quick]
-- Microseconds per call, median of R runs of K calls (K/10 for 64x64):
--   add1     c = a + b    on 1-element float32 tensors (target <= 1 us)
--   add64    c = a + b    on 64x64 float32 tensors
--   add1_    a:add_(b)    on 1-element tensors (no allocation)
-- --peer-us / --peer-us64: PyTorch's add_1_us / add_64x64_us from
-- bench/peers/op_overhead.py, printed beside ours with the ratio.
-- Last line: RESULT name=op_overhead threads=T add1_us=.. add64_us=.. add1_inplace_us=..
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = nn or require "nn"

local opt = bench.options{threads = 1, iters = 1000000, reps = 7, peer_us = 0, peer_us64 = 0, quick = false}
if opt.quick then opt.iters, opt.reps = 10000, 3 end
nn.set_num_threads(opt.threads)
bench.header("op_overhead: microseconds per op from Lua", opt.threads)

local now = bench.now
local a1, b1 = nn.rand(1), nn.rand(1)
local a64, b64 = nn.rand(64, 64), nn.rand(64, 64)

-- Each case is one plain loop, as a user would write it.
local cases = {
  {name = "add1", what = "a + b, 1 element", iters = opt.iters, peer = opt.peer_us, run = function(k)
    local a, b = a1, b1
    local t0 = now()
    for _ = 1, k do local _c = a + b end
    return now() - t0
  end},
  {name = "add64", what = "a + b, 64x64", iters = opt.iters // 10, peer = opt.peer_us64, run = function(k)
    local a, b = a64, b64
    local t0 = now()
    for _ = 1, k do local _c = a + b end
    return now() - t0
  end},
  {name = "add1_inplace", what = "a:add_(b), 1 element", iters = opt.iters, peer = 0, run = function(k)
    local a, b = a1:clone(), b1
    local t0 = now()
    for _ = 1, k do a:add_(b) end
    return now() - t0
  end},
}

local rows, fields = {}, {{"threads", opt.threads}}
for _, c in ipairs(cases) do
  c.run(c.iters // 10) -- warm-up: fills the allocator's cache, grows the heap
  local us = {}
  for r = 1, opt.reps do us[r] = c.run(c.iters) / c.iters * 1e6 end
  local med = bench.median(us)
  local peer = c.peer > 0 and bench.fmt(c.peer, 3) or "-"
  local ratio = c.peer > 0 and bench.fmt(med / c.peer, 3) or "-"
  rows[#rows + 1] = {c.what, opt.reps .. "x" .. c.iters, bench.fmt(med, 3), bench.fmt(bench.min(us), 3), peer, ratio}
  fields[#fields + 1] = {c.name .. "_us", bench.fmt(med, 3)}
end

bench.table({"op", "runs", "nnlua us", "best us", "PyTorch us", "nnlua/PyTorch"}, rows)
bench.result("op_overhead", fields)
