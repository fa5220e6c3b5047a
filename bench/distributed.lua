-- Data parallelism over MPI (issue 15), 2 ranks on this machine against 1
-- process, in the same run:
--  1. nn.distributed.Optimizer's bucketed gradient all-reduce (pack, one
--     all-reduce per bucket, divide and copy back) against one raw
--     MPI_Allreduce of the same bytes (bench/mpi_baseline.c), both timed
--     in the same mpirun job, interleaved: throughput of each and their
--     ratio (target >= 0.8), for the MLP's and the CNN's gradients and for
--     16 MB of them (4 buckets).
--  2. One Fashion-MNIST epoch of bench/cnn_epoch.lua's CNN and of the
--     course's MLP (bench/peer_models.lua): 2 ranks x 1 thread x batch 32
--     against 1 process x 1 thread x batch 64 (the same global batch, the
--     same seed: the same shuffled order, so the same training up to
--     rounding); times and test accuracies are medians over the seeds, each
--     seed running both back to back. Target: the CNN >= 1.6x faster, its
--     accuracy within 0.005. The MLP is reported with the all-reduce's share
--     of a rank's epoch.
--  3. A model of scaling to 8-64 machines from these figures (bench/README.md).
--   nnlua bench/distributed.lua [--seeds 3] [--np 2] [--quick]
-- The driver (this script, started without mpirun) runs the single
-- process itself and starts the ranks with tests/distributed/mpirun.sh
-- (--role allreduce|epoch, a rank's part).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"
local models = require "peer_models"

local here = arg[0]:match("^(.*)/") or "."
local opt = bench.options{seeds = 3, np = 2, quick = false, role = "", model = "cnn", seed = 1, samples = 0}
nn.set_num_threads(1)

local function model_of(name)
  return (name == "cnn" and models.cnn or models.mlp)()
end

local function gradient_floats(model)
  local n = 0
  for _, p in ipairs(model:parameters()) do n = n + p:numel() end
  return n
end

-- Fashion-MNIST, normalized; the first `samples` training images when > 0.
-- --quick (a smoke test) uses `samples` random images instead: no decoding.
local function fashion(samples)
  if opt.quick then
    local saved = nn.get_rng_state()
    nn.manual_seed(0)
    local x, y = nn.randn(samples, 1, 28, 28), nn.randint(1, 11, {samples})
    nn.set_rng_state(saved)
    return nn.data.tensor_dataset(x, y), x, y
  end
  local normalize = nn.transforms.Normalize(0.2860, 0.3530)
  local train, test = nn.data.fashion_mnist{split = "train"}, nn.data.fashion_mnist{split = "test"}
  local x, y, tx, ty = normalize(train.x), train.y, normalize(test.x), test.y
  if samples > 0 then
    x, y = x:narrow(1, 1, samples), y:narrow(1, 1, samples)
    tx, ty = tx:narrow(1, 1, math.min(samples, 10000)), ty:narrow(1, 1, math.min(samples, 10000))
  end
  return nn.data.tensor_dataset(x, y), tx, ty
end

local function accuracy(model, x, y)
  return nn.no_grad(function()
    model:eval()
    local correct = 0
    for i = 1, x:size(1), 1000 do
      local len = math.min(1000, x:size(1) - i + 1)
      correct = correct + model(x:narrow(1, i, len)):argmax(2):eq(y:narrow(1, i, len)):sum():item()
    end
    model:train()
    return correct / x:size(1)
  end)
end

-- ---- a rank's part (under mpirun) ----

-- Bucketed all-reduce against raw MPI_Allreduce of the same bytes, for
-- gradients of the given sizes (floats each); rank 1 prints one line.
local function rank_allreduce(d, raw, label, sizes, reps)
  local params = {}
  for i, n in ipairs(sizes) do
    params[i] = nn.randn(n):requires_grad_()
    params[i].grad = nn.randn(n)
  end
  local wrapped = d.Optimizer(nn.optim.SGD(params, {lr = 0}))
  local floats = 0
  for _, n in ipairs(sizes) do floats = floats + n end
  wrapped:_all_reduce_gradients() -- buckets laid out, buffers faulted in
  raw.allreduce(floats, 1)
  local ours, peer = {}, {}
  for r = 1, reps do
    d.barrier()
    local t0 = bench.now()
    wrapped:_all_reduce_gradients()
    ours[r] = bench.now() - t0
    peer[r] = raw.allreduce(floats, 1)[1]
  end
  -- The slowest rank's time is the collective's.
  local function slowest(list)
    local t = d.all_reduce(nn.tensor({bench.median(list)}), "max")
    return t[1]
  end
  local o, p = slowest(ours), slowest(peer)
  if d.rank() == 1 then
    print(("ALLREDUCE label=%s bytes=%d buckets=%d ours_s=%.6g raw_s=%.6g"):format(label, floats * 4,
          #wrapped.buckets.list, o, p))
  end
end

-- One epoch of a model on this rank's shard (batch 32 of a global 64);
-- rank 1 prints its time, the test accuracy and the all-reduce's time.
local function rank_epoch(d, o)
  local train, tx, ty = fashion(o.samples)
  nn.manual_seed(o.seed)
  local model, loss_fn, inner = model_of(o.model)
  local wrapped = d.Optimizer(inner)
  local world = d.world_size()
  local loader = nn.data.DataLoader(train, {batch_size = 64 // world, shuffle = true, seed = o.seed,
                                            rank = d.rank(), world_size = world})
  local reduce_s, steps = 0, 0
  d.barrier()
  local t0 = bench.now()
  for x, y in loader:iter() do
    wrapped:zero_grad()
    loss_fn(model(x), y):backward()
    local r0 = bench.now()
    wrapped:_all_reduce_gradients()
    reduce_s = reduce_s + bench.now() - r0
    inner:step()
    steps = steps + 1
  end
  d.barrier()
  local seconds = bench.now() - t0
  if d.rank() == 1 then
    print(("EPOCH seconds=%.6g acc=%.6g reduce_s=%.6g steps=%d"):format(seconds, accuracy(model, tx, ty), reduce_s, steps))
  end
end

if opt.role ~= "" then
  local d = nn.distributed
  d.init()
  if opt.role == "allreduce" then
    local raw = require "nnbench_mpi"
    local reps = opt.quick and 3 or 50
    local mlp, cnn = model_of("mlp"), model_of("cnn")
    local function sizes(model)
      local s = {}
      for i, p in ipairs(model:parameters()) do s[i] = p:numel() end
      return s
    end
    rank_allreduce(d, raw, "mlp", sizes(mlp), reps)
    rank_allreduce(d, raw, "cnn", sizes(cnn), reps)
    rank_allreduce(d, raw, "16MB", {1 << 20, 1 << 20, 1 << 20, 1 << 20}, opt.quick and 2 or 20)
  else
    rank_epoch(d, opt)
  end
  return
end

-- ---- the driver ----

bench.header("distributed: 2 ranks x 1 thread against 1 process x 1 thread (data parallelism over MPI)", 1)
local nnlua = (arg[-1] and arg[-1]:match("nnlua$")) and arg[-1] or bench.build .. "/nnlua"
local mpirun = ("bash %s/../tests/distributed/mpirun.sh -np %d %s %s/distributed.lua"):format(here, opt.np, nnlua, here)
local samples = opt.quick and 256 or 0
if opt.quick then opt.seeds = 1 end

-- Runs a rank job; returns its output (raises with it when it failed).
local function job(args)
  local p = io.popen(("OPENBLAS_NUM_THREADS=1 %s %s 2>&1"):format(mpirun, args))
  local out = p:read("a")
  local ok = p:close()
  if not ok then error("bench: the MPI job failed:\n" .. out, 0) end
  return out
end

local function field(line, key) return tonumber(line:match(key .. "=([%d.e+-]+)")) end

-- 1. The all-reduce.
print("# bucketed all-reduce (nn.distributed.Optimizer) vs one raw MPI_Allreduce of the same bytes, medians")
local rows, ratios, fields = {}, {}, {}
for line in job("--role allreduce" .. (opt.quick and " --quick" or "")):gmatch("ALLREDUCE[^\n]*") do
  local label, bytes, ours, raw = line:match("label=(%S+)"), field(line, "bytes"), field(line, "ours_s"), field(line, "raw_s")
  local ratio = raw / ours
  ratios[label] = ratio
  rows[#rows + 1] = {label, ("%.2f"):format(bytes / 2 ^ 20), field(line, "buckets"), ("%.1f"):format(ours * 1e6),
                     ("%.1f"):format(raw * 1e6), ("%.2f"):format(bytes / ours / 1e9), ("%.2f"):format(bytes / raw / 1e9),
                     ("%.2f"):format(ratio)}
end
bench.table({"gradients", "MB", "buckets", "bucketed_us", "raw_us", "bucketed_GB/s", "raw_GB/s", "ratio"}, rows)

-- 2. The epochs.
local train, tx, ty
local function single_epoch(name, seed)
  if not train then train, tx, ty = fashion(samples) end
  nn.manual_seed(seed)
  local model, loss_fn, optimizer = model_of(name)
  local loader = nn.data.DataLoader(train, {batch_size = 64, shuffle = true, seed = seed})
  local t0, steps = bench.now(), 0
  for x, y in loader:iter() do
    optimizer:zero_grad()
    loss_fn(model(x), y):backward()
    optimizer:step()
    steps = steps + 1
  end
  return bench.now() - t0, accuracy(model, tx, ty), steps
end

local summary = {}
for _, name in ipairs({"cnn", "mlp"}) do
  local one_t, one_acc, two_t, two_acc, shares = {}, {}, {}, {}, {}
  local steps
  for seed = 1, opt.seeds do
    one_t[seed], one_acc[seed], steps = single_epoch(name, seed)
    local line = job(("--role epoch --model %s --seed %d --samples %d%s"):format(name, seed, samples,
                                                                           opt.quick and " --quick" or ""))
                 :match("EPOCH[^\n]*")
    two_t[seed], two_acc[seed] = field(line, "seconds"), field(line, "acc")
    shares[seed] = field(line, "reduce_s") / two_t[seed]
    print(("# %s seed %d: 1 process %.3f s (acc %.4f), %d ranks %.3f s (acc %.4f), all-reduce %.0f%% of a rank's epoch")
          :format(name, seed, one_t[seed], one_acc[seed], opt.np, two_t[seed], two_acc[seed], 100 * shares[seed]))
  end
  local s = {one = bench.median(one_t), two = bench.median(two_t), acc1 = bench.median(one_acc),
             acc2 = bench.median(two_acc), share = bench.median(shares), steps = steps,
             floats = gradient_floats(model_of(name))}
  s.speedup = s.one / s.two
  summary[name] = s
  print(("%s epoch: 1 process %.3f s, %d ranks %.3f s: %.2fx faster; test acc %.4f vs %.4f (diff %.4f); all-reduce %.0f%% of a rank's epoch")
        :format(name, s.one, opt.np, s.two, s.speedup, s.acc1, s.acc2, math.abs(s.acc1 - s.acc2), 100 * s.share))
end

-- 3. Scaling to N machines, from the measured single-process steps (the
-- model of bench/README.md). Ring all-reduce of S bytes over N machines:
-- 2(N-1)/N * S / bandwidth + 2(N-1) * latency. Compute per step at
-- per-rank batch b: b * (measured step time / 64). No overlap of
-- communication with compute (nn.distributed.Optimizer reduces after
-- backward), so a step costs compute + all-reduce. b*: the per-rank batch
-- at which the all-reduce takes as long as the compute; below it, more
-- than half of every step is communication.
local LATENCY = 25e-6 -- per ring step over TCP; RDMA is a few microseconds
local function ring(n, bytes, gbit) return 2 * (n - 1) / n * bytes / (gbit * 1e9 / 8) + 2 * (n - 1) * LATENCY end
print(("# scaling model: ring all-reduce over N machines (latency %.0f us per step), compute per sample from the"
       .. " 1-process epochs above; speedup at 32 samples per machine; b*: samples per machine where the"
       .. " all-reduce equals the compute"):format(LATENCY * 1e6))
local scale_rows = {}
for _, name in ipairs({"mlp", "cnn"}) do
  local s = summary[name]
  local bytes, per_sample = s.floats * 4, s.one / s.steps / 64
  for _, gbit in ipairs({10, 100}) do
    for _, n in ipairs({8, 16, 32, 64}) do
      local comm, compute = ring(n, bytes, gbit), 32 * per_sample
      scale_rows[#scale_rows + 1] = {name, ("%.2f"):format(bytes / 2 ^ 20), gbit, n, ("%.2f"):format(comm * 1e3),
        ("%.2f"):format(compute * 1e3), ("%.1f"):format(n * compute / (compute + comm)), ("%.0f"):format(comm / per_sample)}
    end
  end
end
bench.table({"model", "grad_MB", "Gbit/s", "N", "allreduce_ms", "compute_ms(b=32)", "speedup(b=32)", "b*"}, scale_rows)
-- Dense models of P parameters: about 6P flops per sample (forward 2P,
-- backward 4P) at the MLP's measured rate, 4P gradient bytes.
local mlp_s = summary.mlp
local flops = 6 * mlp_s.floats * 64 * mlp_s.steps / mlp_s.one
print(("# dense models of P parameters at the MLP's measured %.1f GFLOP/s (6P flops per sample): b*"):format(flops / 1e9))
local dense_rows = {}
for _, p in ipairs({1e5, 1e6, 1e7, 1e8}) do
  local row, per_sample = {("%.0e"):format(p)}, 6 * p / flops
  for _, gbit in ipairs({10, 100}) do
    for _, n in ipairs({8, 64}) do row[#row + 1] = ("%.0f"):format(ring(n, 4 * p, gbit) / per_sample) end
  end
  dense_rows[#dense_rows + 1] = row
end
bench.table({"P", "10G N=8", "10G N=64", "100G N=8", "100G N=64"}, dense_rows)

local cnn, mlp = summary.cnn, summary.mlp
print(("distributed: bucketed all-reduce %.2f / %.2f / %.2f of raw MPI_Allreduce (mlp / cnn / 16MB; target >= 0.8); "
       .. "CNN epoch %.2fx faster on %d ranks (target >= 1.6), acc diff %.4f (target <= 0.005); MLP %.2fx, all-reduce %.0f%%")
      :format(ratios.mlp, ratios.cnn, ratios["16MB"], cnn.speedup, opt.np, math.abs(cnn.acc1 - cnn.acc2), mlp.speedup,
              100 * mlp.share))
bench.result("distributed", {{"ranks", opt.np}, {"seeds", opt.seeds},
  {"allreduce_ratio_mlp", bench.fmt(ratios.mlp)}, {"allreduce_ratio_cnn", bench.fmt(ratios.cnn)},
  {"allreduce_ratio_16mb", bench.fmt(ratios["16MB"])},
  {"cnn_1proc_s", bench.fmt(cnn.one, 3)}, {"cnn_ranks_s", bench.fmt(cnn.two, 3)}, {"cnn_speedup", bench.fmt(cnn.speedup)},
  {"cnn_acc_1proc", bench.fmt(cnn.acc1, 4)}, {"cnn_acc_ranks", bench.fmt(cnn.acc2, 4)},
  {"mlp_1proc_s", bench.fmt(mlp.one, 3)}, {"mlp_ranks_s", bench.fmt(mlp.two, 3)}, {"mlp_speedup", bench.fmt(mlp.speedup)},
  {"mlp_allreduce_share", bench.fmt(mlp.share)}})
