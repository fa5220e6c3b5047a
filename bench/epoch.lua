-- What bench/mlp_epoch.lua and bench/cnn_epoch.lua share: one real
-- Fashion-MNIST training epoch (batch 64, shuffled, data decoded and
-- normalized in memory first), timed against a PyTorch peer from
-- bench/peers in the same session and against the model's own GEMM
-- ceiling, and the test accuracy each reaches.
--
-- The ceiling: one training step runs with GEMM recording on
-- (nn.core._gemm_record; oneDNN's convolutions count as the GEMMs of
-- their im2col form), and after every timed epoch the recorded calls are
-- replayed with raw cblas_sgemm at the same thread count
-- (nn.core._gemm_replay). GEMM-only time of an epoch = replay time per
-- step x (training images / 64); fraction of the ceiling = GEMM-only time
-- / epoch time (1 would mean the epoch does nothing but its GEMMs, at
-- OpenBLAS's own speed on those shapes). The same calls replayed through
-- the engine (split over its pool, as in the epoch) give the epoch's
-- GEMM time; the epoch less that is the rest of its work.
--
-- Every seed runs nnlua then the peer at each thread count (the peer's
-- seed set through bench/seeded_peer.py), so drift of the machine falls
-- on both; times, fractions and accuracies are medians over the seeds.
-- Accuracies come from the first thread count, where every seed runs;
-- the other thread counts time the first --timing-seeds seeds.
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"
local core = require "nn.core"

local M = {}

local here = arg[0]:match("^(.*)/") or "."
local BATCH = 64

-- The peer's seconds and test accuracy for one seed; env: variable
-- settings to run it with ("OPENBLAS_CORETYPE=SkylakeX") or "".
local function run_peer(script, name, threads, seed, env)
  local s, acc = bench.python("seeded_peer.py", ("%d %s/peers/%s --threads %d"):format(seed, here, script, threads),
                               "RESULT name=" .. name .. ".- seconds=([%d.]+).- test_acc=([%d.]+)", env)
  return tonumber(s), tonumber(acc)
end

-- Test accuracy, in chunks so a CNN's activations stay small.
local function accuracy(model, x, y)
  return nn.no_grad(function()
    local correct, n = 0, x:size(1)
    for i = 1, n, 1000 do
      local len = math.min(1000, n - i + 1)
      correct = correct + model(x:narrow(1, i, len)):argmax(2):eq(y:narrow(1, i, len)):sum():item()
    end
    return correct / n
  end)
end

-- The GEMM calls of one training step on batch x, y, and their FLOPs:
-- the second step of a fresh model, as every step after the first (the
-- first writes its new .grad buffers, beta = 0; later steps add into the
-- zeroed ones, beta = 1).
local function record_step(spec, x, y)
  nn.manual_seed(0)
  local model, loss_fn, optimizer = spec.make()
  for recording = 0, 1 do
    core._gemm_record(recording == 1)
    optimizer:zero_grad()
    loss_fn(model(x), y):backward()
    optimizer:step()
  end
  core._gemm_record(false)
  local calls, flops = core._gemm_calls(), 0
  for _, c in ipairs(calls) do flops = flops + 2 * c.m * c.n * c.k end
  return calls, flops
end

-- Raw cblas_sgemm on n = 1024 at the current thread count, GFLOP/s (the
-- informational figure of issue 14): the median of 3 samples of ~0.2 s.
local function sgemm1024_gflops(quick)
  local n = quick and 128 or 1024
  local job = bench.nnbench.sgemm(n, nn.get_num_threads())
  local k = bench.calibrate(function(k) return job:run(k) end, quick and 0.01 or 0.2)
  local t = {}
  for r = 1, 3 do t[r] = job:run(k) / k end
  return 2 * n ^ 3 / bench.median(t) / 1e9
end

--- spec: name, peer_script, peer_name, make() returning model, loss_fn,
--- optimizer; stand_in_gemms (the recorded GEMMs are not what the epoch
--- runs: no replay through the engine, no "rest"); seeds (5),
--- timing_seeds (how many of them the other thread counts time; all by
--- default); targets = {ceiling = {[T] = fraction},
--- ratio = {[T] = nnlua / PyTorch}} (printed beside the figures, never
--- asserted); augment: also time an epoch with flip + rotation(10) +
--- crop(28, padding 4) at the first thread count and report its cost
--- relative to a plain epoch; time_loaders: also time a shuffled batch
--- from the byte dataset (nn.data's own form) and from the float tensors.
--- Options: --threads 1,2, --seeds S,
--- --timing-seeds S2, --replay-s X (seconds of one replay sample, at most
--- an epoch's worth of steps), --skip-peer, --quick (a smoke test),
--- --peer-env 'VAR=VALUE ...' (e.g. OPENBLAS_CORETYPE=SkylakeX).
function M.run(spec)
  local opt = bench.options{threads = "1,2", seeds = spec.seeds or 5, timing_seeds = spec.timing_seeds or 0,
                            replay_s = 2, skip_peer = false, quick = false, peer_env = ""}
  local threads = bench.numbers(opt.threads)
  if opt.timing_seeds <= 0 then opt.timing_seeds = opt.seeds end
  nn.set_num_threads(threads[1])
  bench.header(spec.name .. ": one Fashion-MNIST epoch against PyTorch and against its own GEMMs", threads[1])

  local t0 = bench.now()
  local raw_train = nn.data.fashion_mnist{split = "train"}
  local decode_s = bench.now() - t0
  local normalize = nn.transforms.Normalize(0.2860, 0.3530)
  local x_train, y_train = normalize(raw_train.x), raw_train.y
  local raw_test = nn.data.fashion_mnist{split = "test"}
  local x_test, y_test = normalize(raw_test.x), raw_test.y
  if opt.quick then -- smoke test: a few batches, no peer
    x_train, y_train = x_train:narrow(1, 1, 640), y_train:narrow(1, 1, 640)
    x_test, y_test = x_test:narrow(1, 1, 1000), y_test:narrow(1, 1, 1000)
    opt.seeds, opt.timing_seeds, opt.skip_peer, opt.replay_s = 1, 1, true, 0.01
  end
  local train = nn.data.tensor_dataset(x_train, y_train)
  local steps = x_train:size(1) / BATCH -- an epoch in steps (the last batch a fraction)
  local loader_fields = {}
  if spec.time_loaders then
    -- a shuffled batch from the dataset as nn.data holds it (bytes, each
    -- batch gathered, converted and normalized in one C pass) and from the
    -- float tensors the epochs train on: microseconds a batch, the median
    -- of 3 passes over the training set
    raw_train.transform = normalize
    local per_batch = {}
    for name, ds in pairs{bytes = raw_train, floats = train} do
      local loader, t = nn.data.DataLoader(ds, {batch_size = BATCH, shuffle = true}), {}
      for r = 1, 3 do
        local start = bench.now()
        for _ in loader:iter() do end
        t[r] = (bench.now() - start) / #loader * 1e6
      end
      per_batch[name] = bench.median(t)
    end
    print(("# a batch of %d: %.1f us from the byte dataset, %.1f us from float tensors"):format(
      BATCH, per_batch.bytes, per_batch.floats))
    loader_fields = {{"bytes_batch_us", bench.fmt(per_batch.bytes, 1)}, {"floats_batch_us", bench.fmt(per_batch.floats, 1)}}
  end
  local augment = nn.transforms.Compose{
    nn.transforms.RandomHorizontalFlip(0.5), nn.transforms.RandomRotation(10),
    nn.transforms.RandomCrop(28, {padding = 4}),
  }

  local calls, step_flops = record_step(spec, x_train:narrow(1, 1, BATCH), y_train:narrow(1, 1, BATCH))
  local epoch_gflop = step_flops * steps / 1e9
  print(("# one step: %d GEMM calls, %.1f MFLOP; an epoch (%.1f steps): %.1f GFLOP"):format(
    #calls, step_flops / 1e6, steps, epoch_gflop))

  local function run(seed, transform)
    nn.manual_seed(seed)
    local model, loss_fn, optimizer = spec.make()
    local loader = nn.data.DataLoader(train, {batch_size = BATCH, shuffle = true, transform = transform})
    local start = bench.now()
    for x, y in loader:iter() do
      optimizer:zero_grad()
      loss_fn(model(x), y):backward()
      optimizer:step()
    end
    local seconds = bench.now() - start
    return seconds, accuracy(model, x_test, y_test)
  end

  -- Replay: seconds per step of the recorded calls at T threads, from one
  -- sample of k steps (k fixed per thread count on its first use); raw
  -- (OpenBLAS's own threads: the ceiling) or through_engine (as the
  -- engine runs them, split over its pool: what the GEMMs cost inside
  -- the epoch, so the rest is the epoch's other work).
  local replay_steps = {}
  local function replay(T, through_engine)
    if not replay_steps[T] then
      local k = bench.calibrate(function(k) return core._gemm_replay(calls, T, k) end, opt.replay_s)
      replay_steps[T] = math.max(1, math.min(k, math.ceil(steps)))
    end
    return core._gemm_replay(calls, T, replay_steps[T], through_engine) / replay_steps[T]
  end

  -- per thread count: lists over seeds
  local res = {}
  for _, T in ipairs(threads) do
    res[T] = {times = {}, gemm = {}, engine_gemm = {}, frac = {}, peer = {}, peer_acc = {}, accs = {}}
  end
  local aug_times = {}
  for seed = 1, opt.seeds do
    for i, T in ipairs(threads) do
      if i == 1 or seed <= opt.timing_seeds then
        local r = res[T]
        nn.set_num_threads(T)
        local s, acc = run(seed)
        local g = replay(T) * steps
        r.times[seed], r.accs[seed], r.gemm[seed], r.frac[seed] = s, acc, g, g / s
        local line = ("# seed %d, %d thread%s: nnlua %.3f s (acc %.4f), GEMM-only %.3f s (%.3f of the epoch)"):format(
          seed, T, T == 1 and "" or "s", s, acc, g, g / s)
        if not spec.stand_in_gemms then
          r.engine_gemm[seed] = replay(T, true) * steps
          line = line .. (", engine's GEMMs %.3f s"):format(r.engine_gemm[seed])
        end
        if i == 1 and spec.augment then
          aug_times[seed] = run(seed, augment)
          line = line .. (", augmented %.3f s"):format(aug_times[seed])
        end
        if not opt.skip_peer then
          r.peer[seed], r.peer_acc[seed] = run_peer(spec.peer_script, spec.peer_name, T, seed, opt.peer_env)
          line = line .. (", PyTorch %.3f s (acc %.4f)"):format(r.peer[seed], r.peer_acc[seed])
        end
        print(line)
      end
    end
  end

  local nan = 0 / 0
  local function med(xs) return #xs > 0 and bench.median(xs) or nan end
  local peer_env = opt.peer_env == "" and "none" or opt.peer_env:gsub("%s+", ",")
  local fields = {{"threads", opt.threads}, {"seeds", opt.seeds}, {"timing_seeds", opt.timing_seeds},
                  {"peer_env", peer_env}, {"decode_s", bench.fmt(decode_s, 2)},
                  {"epoch_gflop", bench.fmt(epoch_gflop, 1)}, {"gemm_calls", #calls}}
  for _, f in ipairs(loader_fields) do fields[#fields + 1] = f end
  local rows, first = {}, res[threads[1]]
  local targets = spec.targets or {ceiling = {}, ratio = {}}
  -- "0.93 (>= 0.95)": a figure and its target, when there is one
  local function with_target(x, d, relation, t) return bench.fmt(x, d) .. (t and (" (%s %.2f)"):format(relation, t) or "") end
  for _, T in ipairs(threads) do
    nn.set_num_threads(T)
    local r = res[T]
    local ours, gemm, frac, peer, engine = med(r.times), med(r.gemm), med(r.frac), med(r.peer), med(r.engine_gemm)
    local info = sgemm1024_gflops(opt.quick)
    local p = "t" .. T .. "_"
    rows[#rows + 1] = {T, bench.fmt(ours, 3), bench.fmt(peer, 3), with_target(ours / peer, 2, "<=", targets.ratio[T]),
                       bench.fmt(gemm, 3), with_target(frac, 3, ">=", targets.ceiling[T]), bench.fmt(engine, 3),
                       bench.fmt(ours - engine, 3), bench.fmt(epoch_gflop / gemm, 1), bench.fmt(epoch_gflop / ours, 1),
                       bench.fmt(info, 1)}
    for _, f in ipairs{{"nnlua_s", ours, 3}, {"peer_s", peer, 3}, {"ratio", ours / peer, 2}, {"gemm_s", gemm, 3},
                       {"ceiling", frac, 3}, {"engine_gemm_s", engine, 3}, {"other_s", ours - engine, 3},
                       {"gemm_gflops", epoch_gflop / gemm, 1},
                       {"epoch_gflops", epoch_gflop / ours, 1}, {"sgemm1024_gflops", info, 1}} do
      fields[#fields + 1] = {p .. f[1], bench.fmt(f[2], f[3])}
    end
  end
  print()
  bench.table({"threads", "nnlua s", "PyTorch s", "ratio", "GEMM-only s", "fraction of ceiling",
               "engine's GEMMs s", "rest s", "GEMMs raw GFLOP/s", "epoch GFLOP/s", "n=1024 GFLOP/s"}, rows)
  print("# (engine's GEMMs: the same calls as the engine runs them, split over its pool; rest: the epoch less")
  print("#  those, i.e. everything but the GEMMs. The n = 1024 column is informational: raw cblas_sgemm on one")
  print("#  square product)")

  -- speed-up from more threads: the epoch's beside raw cblas_sgemm's on the
  -- same calls, paired by seed
  for i = 2, #threads do
    local T, up, raw = threads[i], {}, {}
    local r = res[T]
    for seed, s in pairs(r.times) do
      up[#up + 1] = first.times[seed] / s
      raw[#raw + 1] = first.gemm[seed] / r.gemm[seed]
    end
    local speedup, raw_speedup = med(up), med(raw)
    print(("%d threads speed an epoch up %.2fx; raw cblas_sgemm on the same calls %.2fx: %.2f of raw's speed-up "
           .. "(target >= 0.90)"):format(T, speedup, raw_speedup, speedup / raw_speedup))
    local p = "t" .. T .. "_"
    fields[#fields + 1] = {p .. "speedup", bench.fmt(speedup, 2)}
    fields[#fields + 1] = {p .. "raw_speedup", bench.fmt(raw_speedup, 2)}
    fields[#fields + 1] = {p .. "speedup_of_raw", bench.fmt(speedup / raw_speedup, 2)}
  end

  local acc, peer_acc = med(first.accs), med(first.peer_acc)
  print(("test accuracy, median over %d seeds: nnlua %.4f, PyTorch %s, difference %s (target: within 0.005)"):format(
    opt.seeds, acc, bench.fmt(peer_acc, 4), bench.fmt(acc - peer_acc, 4)))
  for _, f in ipairs{{"nnlua_acc", acc}, {"peer_acc", peer_acc}, {"acc_diff", acc - peer_acc}} do
    fields[#fields + 1] = {f[1], bench.fmt(f[2], 4)}
  end
  if spec.augment then
    local aug_ratio = med(aug_times) / med(first.times)
    print(("augmented epoch (flip, rotation, crop): %.2fx a plain one (%d thread%s)"):format(
      aug_ratio, threads[1], threads[1] == 1 and "" or "s"))
    fields[#fields + 1] = {"augment_ratio", bench.fmt(aug_ratio, 2)}
  end
  bench.result(spec.name, fields)
end

return M
