-- bench/matmul.lua: nn.matmul GFLOPS against raw cblas_sgemm on the same
-- n x n float32 shapes, in the same process, interleaved sample by sample.
--
-- Usage: nnlua bench/matmul.lua [--threads T] [--sizes 64,256,1024,2048]
--                                [--reps R] [--sample-s S] [--quick]
-- nn.matmul's time includes allocating its output (a fair part of its
-- cost); the inputs are made beforehand. GFLOPS = 2 n^3 / median time per
-- call over R samples (at most 5 at n >= 2048) of about S seconds each;
-- the ratio is the median over samples of raw time / nnlua time, each pair
-- measured back to back (so the machine's drift cancels).
-- Target: ratio >= 0.95 from n = 256 up.
-- Last line: RESULT name=matmul threads=T n64_gflops=.. n64_raw_gflops=.. n64_ratio=.. ...
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = nn or require "nn"

local opt = bench.options{threads = 1, sizes = "64,256,1024,2048", reps = 11, sample_s = 0.1, quick = false}
if opt.quick then opt.sizes, opt.reps, opt.sample_s = "32,64", 3, 0.01 end
nn.set_num_threads(opt.threads) -- the engine's pool; the raw sgemm runs OpenBLAS on as many threads
bench.header("matmul: nn.matmul(a, b) vs raw cblas_sgemm, n x n float32", opt.threads)

local now = bench.now
local rows, fields = {}, {{"threads", opt.threads}}
for _, n in ipairs(bench.numbers(opt.sizes)) do
  local a, b = nn.rand(n, n) - 0.5, nn.rand(n, n) - 0.5
  local raw = bench.nnbench.sgemm(n, opt.threads) -- its own buffers, warmed up
  local fns = {
    raw = function(k) return raw:run(k) end,
    nnlua = function(k)
      local t0 = now()
      -- <close> frees each result at once, as a refcounted runtime would,
      -- so the next one reuses its (cached) block; see bench/README.md.
      for _ = 1, k do local _c <close> = nn.matmul(a, b) end
      return now() - t0
    end,
  }
  local k = bench.calibrate(fns.raw, opt.sample_s)
  -- Warm-up to the steady state: the first outputs are fresh blocks whose
  -- pages fault in; once the collector has run, freed ones are reused.
  fns.nnlua(math.max(4, k))
  local reps = n >= 2048 and math.min(opt.reps, 5) or opt.reps
  local t = bench.interleave(fns, {"raw", "nnlua"}, reps, k)
  local flops = 2.0 * n * n * n
  local g_nn, g_raw = flops / bench.median(t.nnlua) / 1e9, flops / bench.median(t.raw) / 1e9
  local ratio = bench.paired_ratio(t.raw, t.nnlua)
  rows[#rows + 1] = {n, reps .. "x" .. k, bench.fmt(g_nn, 1), bench.fmt(g_raw, 1), bench.fmt(ratio, 3),
                     bench.fmt(flops / bench.min(t.nnlua) / 1e9, 1), bench.fmt(flops / bench.min(t.raw) / 1e9, 1)}
  local p = "n" .. n .. "_"
  fields[#fields + 1] = {p .. "gflops", bench.fmt(g_nn, 1)}
  fields[#fields + 1] = {p .. "raw_gflops", bench.fmt(g_raw, 1)}
  fields[#fields + 1] = {p .. "ratio", bench.fmt(ratio, 3)}
  raw, a, b = nil, nil, nil
  collectgarbage()
end

bench.table({"n", "samples", "nnlua GFLOPS", "raw GFLOPS", "ratio", "nnlua best", "raw best"}, rows)
bench.result("matmul", fields)
