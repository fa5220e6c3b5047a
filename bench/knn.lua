-- bench/knn.lua: nn.KNeighborsClassifier (k = 5, euclidean, uniform)
-- predicting Fashion-MNIST test images against the training images,
-- against scikit-learn's KNeighborsClassifier(algorithm='brute')
-- (bench/peers/knn.py) run in the same invocation, at each thread count.
--
-- Usage: nnlua bench/knn.lua [--threads 1,2] [--train 60000] [--test 10000]
--                            [--k 5] [--reps 1] [--skip-peer] [--quick]
-- Milliseconds of fit + predict: the median of R runs (each takes seconds:
-- no warm-up). ratio = nnlua / scikit-learn (target: <= 1.0 at 1 and 2
-- threads, accuracy within 0.002 of scikit-learn's).
-- Last line: RESULT name=knn t1_ms=.. t1_peer_ms=.. t1_ratio=.. t1_acc=.. t1_peer_acc=.. ...
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = nn or require "nn"

local opt = bench.options{threads = "1,2", train = 60000, test = 10000, k = 5, reps = 1,
                          skip_peer = false, quick = false}
if opt.quick then opt.train, opt.test, opt.skip_peer = 2000, 200, true end

-- scikit-learn's ms and accuracy at this thread count (NaN when skipped).
local function peer(threads)
  if opt.skip_peer then return 0 / 0, 0 / 0 end
  local ms, acc = bench.python("peers/knn.py", ("--threads %d --train %d --test %d --k %d --reps %d")
      :format(threads, opt.train, opt.test, opt.k, opt.reps), "ms=([%d.]+) accuracy=([%d.]+)")
  return tonumber(ms), tonumber(acc)
end

local train = nn.data.fashion_mnist{split = "train"}
local test = nn.data.fashion_mnist{split = "test"}
local x = train.x:narrow(1, 1, opt.train):reshape(opt.train, -1):contiguous()
local y = train.y:narrow(1, 1, opt.train):contiguous()
local q = test.x:narrow(1, 1, opt.test):reshape(opt.test, -1):contiguous()
local t = test.y:narrow(1, 1, opt.test):contiguous()

local rows, fields = {}, {}
for _, threads in ipairs(bench.numbers(opt.threads)) do
  nn.set_num_threads(threads)
  bench.header(("knn: KNeighborsClassifier(k=%d) on Fashion-MNIST, %d test x %d train vs scikit-learn"):format(
    opt.k, opt.test, opt.train), threads)
  local ms, acc = {}, 0
  for r = 1, opt.reps do
    local t0 = bench.now()
    acc = nn.KNeighborsClassifier{n_neighbors = opt.k}:fit(x, y):score(q, t)
    ms[r] = (bench.now() - t0) * 1e3
  end
  local m = bench.median(ms)
  local peer_ms, peer_acc = peer(threads)
  local p = "t" .. threads .. "_"
  rows[#rows + 1] = {threads, bench.fmt(m, 1), bench.fmt(peer_ms, 1), bench.fmt(m / peer_ms, 3),
                     bench.fmt(acc, 4), bench.fmt(peer_acc, 4)}
  for _, f in ipairs{{"ms", m, 1}, {"peer_ms", peer_ms, 1}, {"ratio", m / peer_ms, 3},
                     {"acc", acc, 4}, {"peer_acc", peer_acc, 4}} do
    fields[#fields + 1] = {p .. f[1], bench.fmt(f[2], f[3])}
  end
end
bench.table({"threads", "nnlua ms", "sklearn ms", "ratio", "nnlua acc", "sklearn acc"}, rows)
bench.result("knn", fields)
