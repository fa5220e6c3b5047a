-- bench/elementwise.lua: memory bandwidth of in-place a:add_(b) and
-- a:mul_(s) against memcpy, in the same process, interleaved.
--
-- Usage: nnlua bench/elementwise.lua [--threads T] [--sizes 1048576,16777216]
--                                     [--reps R] [--sample-s S] [--quick]
-- GB/s counts bytes read plus written: add_ 3 x 4 x N (reads a and b,
-- writes a), mul_ 2 x 4 x N, memcpy 2 x 4 x N (nnbench, C in this process).
-- Rates use the median time over R samples; ratios are the median over
-- samples of each round's ratio (the three ran back to back).
-- The timed loops allocate nothing: nn.memory_stats().count is printed
-- before and after them, and a check with the collector stopped shows no
-- new live tensors and no Lua garbage per call. Target: ratio >= 0.70.
-- Last line: RESULT name=elementwise threads=T add_1m_ratio=.. mul_1m_ratio=.. ... allocs=0
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = nn or require "nn"

local opt = bench.options{threads = 1, sizes = "1048576,16777216", reps = 9, sample_s = 0.1, quick = false}
if opt.quick then opt.sizes, opt.reps, opt.sample_s = "4096,65536", 3, 0.01 end
nn.set_num_threads(opt.threads)
bench.header("elementwise: in-place a:add_(b), a:mul_(s) vs memcpy, float32, GB/s = bytes read + written",
             opt.threads)

local now = bench.now

-- "1m" for 2^20, "16m" for 2^24, else the count.
local function label(n)
  if n % (1 << 20) == 0 then return (n >> 20) .. "m" end
  if n % (1 << 10) == 0 then return (n >> 10) .. "k" end
  return tostring(n)
end

-- Calls of f(a, x) with the collector stopped: new live engine blocks and
-- Lua heap growth (KB) per call. In-place ops should show 0 and 0.
local function garbage_per_call(f, a, x, calls)
  f(a, x) -- a first call may cache a method name; that is not per call
  collectgarbage()
  collectgarbage("stop")
  local live0, kb0 = nn.memory_stats().live_count, collectgarbage("count")
  for _ = 1, calls do f(a, x) end
  local kb1 = collectgarbage("count") -- before memory_stats makes its table
  local live1 = nn.memory_stats().live_count
  collectgarbage("restart")
  return (live1 - live0) / calls, (kb1 - kb0) / calls
end

local rows, fields, checks = {}, {{"threads", opt.threads}}, {}
local total_count_delta = 0
for _, n in ipairs(bench.numbers(opt.sizes)) do
  local a, b = nn.rand(n), nn.rand(n)
  local copy = bench.nnbench.memcpy(n) -- its own buffers, faulted in
  local add = function(x, y) x:add_(y) end
  local mul = function(x, s) x:mul_(s) end
  -- Warm-up, and the garbage check (outside the timed loops).
  local live_add, kb_add = garbage_per_call(add, a, b, 100)
  local live_mul, kb_mul = garbage_per_call(mul, a, 1.0, 100)

  local fns = {
    memcpy = function(k) return copy:run(k) end,
    add_ = function(k)
      local t0 = now()
      for _ = 1, k do a:add_(b) end
      return now() - t0
    end,
    -- Halve then double: exact in float32, so the values never drift.
    mul_ = function(k)
      local t0 = now()
      for _ = 1, k, 2 do a:mul_(0.5); a:mul_(2.0) end
      return now() - t0
    end,
  }
  local k = bench.calibrate(fns.memcpy, opt.sample_s, 2)
  local c0 = nn.memory_stats().count
  local t = bench.interleave(fns, {"memcpy", "add_", "mul_"}, opt.reps, k)
  local c1 = nn.memory_stats().count
  total_count_delta = total_count_delta + (c1 - c0)
  checks[#checks + 1] = ("N=%d: nn.memory_stats().count %d before the timed loops, %d after; "
                         .. "per call with the GC stopped: add_ %+g live blocks %+g KB Lua heap, "
                         .. "mul_ %+g live blocks %+g KB"):format(n, c0, c1, live_add, kb_add, live_mul, kb_mul)

  local gbs = function(bytes, ts) return bytes * n / bench.median(ts) / 1e9 end
  local g_copy, g_add, g_mul = gbs(8, t.memcpy), gbs(12, t.add_), gbs(8, t.mul_)
  -- Ratios of GB/s, paired round by round (see bench.paired_ratio).
  local r_add = 12 / 8 * bench.paired_ratio(t.memcpy, t.add_)
  local r_mul = bench.paired_ratio(t.memcpy, t.mul_)
  local l = label(n)
  rows[#rows + 1] = {"memcpy", l, opt.reps .. "x" .. k, bench.fmt(g_copy, 1), "1.000"}
  rows[#rows + 1] = {"add_", l, opt.reps .. "x" .. k, bench.fmt(g_add, 1), bench.fmt(r_add, 3)}
  rows[#rows + 1] = {"mul_", l, opt.reps .. "x" .. k, bench.fmt(g_mul, 1), bench.fmt(r_mul, 3)}
  fields[#fields + 1] = {"memcpy_" .. l .. "_gbs", bench.fmt(g_copy, 1)}
  fields[#fields + 1] = {"add_" .. l .. "_gbs", bench.fmt(g_add, 1)}
  fields[#fields + 1] = {"mul_" .. l .. "_gbs", bench.fmt(g_mul, 1)}
  fields[#fields + 1] = {"add_" .. l .. "_ratio", bench.fmt(r_add, 3)}
  fields[#fields + 1] = {"mul_" .. l .. "_ratio", bench.fmt(r_mul, 3)}
  copy, a, b = nil, nil, nil
  collectgarbage()
end

bench.table({"op", "N", "samples", "GB/s", "vs memcpy"}, rows)
for _, line in ipairs(checks) do print("# allocation check, " .. line) end
fields[#fields + 1] = {"allocs", total_count_delta}
bench.result("elementwise", fields)
