-- bench/sort.lua: t:sort() and t:topk(k) along the last dim of a
-- rows x cols float32 tensor, against PyTorch's torch.sort / torch.topk
-- (bench/peers/sort.py) run in the same invocation, at each thread count.
--
-- Usage: nnlua bench/sort.lua [--threads 1,2] [--rows 1000] [--cols 10000]
--                             [--k 10] [--reps 7] [--skip-peer] [--quick]
-- Milliseconds per call: the median of R calls after one warm-up (each
-- result freed at once with <close>). ratio = nnlua / PyTorch (target:
-- <= 1.5 for both ops at 1 and 2 threads).
-- Last line: RESULT name=sort t1_sort_ms=.. t1_sort_ratio=.. t1_topk_ms=.. ...
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = nn or require "nn"

local opt = bench.options{threads = "1,2", rows = 1000, cols = 10000, k = 10, reps = 7,
                          skip_peer = false, quick = false}
if opt.quick then opt.rows, opt.cols, opt.reps, opt.skip_peer = 50, 1000, 3, true end

-- PyTorch's sort_ms and topk_ms at this thread count (NaN when skipped).
local function peer(threads)
  if opt.skip_peer then return 0 / 0, 0 / 0 end
  local s, t = bench.python("peers/sort.py", ("--threads %d --rows %d --cols %d --k %d --reps %d")
      :format(threads, opt.rows, opt.cols, opt.k, opt.reps), "sort_ms=([%d.]+) topk_ms=([%d.]+)")
  return tonumber(s), tonumber(t)
end

local function median_ms(f)
  f()
  local ms = {}
  for r = 1, opt.reps do
    local t0 = bench.now()
    f()
    ms[r] = (bench.now() - t0) * 1e3
  end
  return bench.median(ms)
end

nn.manual_seed(0)
local x = nn.rand(opt.rows, opt.cols)
local rows, fields = {}, {}
for _, threads in ipairs(bench.numbers(opt.threads)) do
  nn.set_num_threads(threads)
  bench.header(("sort: t:sort() and t:topk(%d) on [%d, %d] float32 vs PyTorch"):format(
    opt.k, opt.rows, opt.cols), threads)
  local sort_ms = median_ms(function() local v, i = x:sort(); local _v <close> = v; local _i <close> = i end)
  local topk_ms = median_ms(function() local v, i = x:topk(opt.k); local _v <close> = v; local _i <close> = i end)
  local peer_sort, peer_topk = peer(threads)
  local p = "t" .. threads .. "_"
  for _, c in ipairs{{"sort", sort_ms, peer_sort}, {"topk", topk_ms, peer_topk}} do
    rows[#rows + 1] = {threads, c[1], bench.fmt(c[2], 3), bench.fmt(c[3], 3), bench.fmt(c[2] / c[3], 3)}
    fields[#fields + 1] = {p .. c[1] .. "_ms", bench.fmt(c[2], 3)}
    fields[#fields + 1] = {p .. c[1] .. "_peer_ms", bench.fmt(c[3], 3)}
    fields[#fields + 1] = {p .. c[1] .. "_ratio", bench.fmt(c[2] / c[3], 3)}
  end
end
bench.table({"threads", "op", "nnlua ms", "PyTorch ms", "ratio"}, rows)
bench.result("sort", fields)
