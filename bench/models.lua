-- bench/models.lua: nn.models.mobilenet_v2 and resnet18 (1000 classes, as
-- built by default) against torchvision's (bench/peers/models.py, run in
-- the same session for each thread count):
--   train  one training step on a batch of 32 images 3x64x64 in train
--          mode: zero the gradients, forward, cross-entropy, backward
--   infer  the forward of a batch of 64 images 3x64x64 in eval mode,
--          without gradients
-- Usage: nnlua bench/models.lua [--threads 1,2] [--reps R] [--quick] [--skip-peer]
-- Time per call: the median over R samples of about 0.5 s each (at least
-- one call); the peer runs before and after nnlua, its time the mean of
-- the two medians; ratio = nnlua / PyTorch (lower is better), target <= 1.2.
-- --quick: batch 2 of 3x32x32 images, one sample, no peer (no Python).
-- Last line: RESULT name=models threads=T mobilenet_v2_train_ms=..
-- mobilenet_v2_train_peer_ms=.. mobilenet_v2_train_ratio=.. ... (one line
-- per thread count).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{threads = "1,2", reps = 5, quick = false, skip_peer = false}
local MODELS = {"mobilenet_v2", "resnet18"}
local size = opt.quick and 32 or 64
local train_batch, infer_batch = opt.quick and 2 or 32, opt.quick and 2 or 64

-- name .. "_train" and name .. "_infer" -> a function running one call.
local function cases(name)
  local model = nn.models[name]()
  local loss_fn = nn.CrossEntropyLoss()
  local x, y = nn.randn(train_batch, 3, size, size), nn.randint(1, 1001, {train_batch})
  local x_infer = nn.randn(infer_batch, 3, size, size)
  local function train()
    model:train()
    model:zero_grad(true)
    loss_fn(model(x), y):backward()
  end
  local function infer()
    model:eval()
    nn.no_grad(model.forward, model, x_infer)
  end
  return {[name .. "_train"] = train, [name .. "_infer"] = infer}
end

-- Seconds per call: median over reps samples of about 0.5 s.
local function timed(step)
  local function run(k)
    local t0 = bench.now()
    for _ = 1, k do step() end
    collectgarbage("step", 0)
    return bench.now() - t0
  end
  local k = math.max(1, math.floor(0.5 / run(1) + 0.5))
  run(1)
  local t = {}
  for r = 1, opt.quick and 1 or opt.reps do t[r] = run(k) / k end
  return bench.median(t)
end

for _, threads in ipairs(bench.numbers(opt.threads)) do
  nn.set_num_threads(threads)
  nn.manual_seed(0)
  bench.header("models: mobilenet_v2 and resnet18, a training step (batch 32) and inference (batch 64), 3x64x64",
               threads)
  local peer_runs = {}
  local function run_peer()
    if opt.skip_peer or opt.quick then return end
    local out = bench.python("peers/models.py", ("--threads %d --reps %d"):format(threads, opt.reps))
    if not out:match("RESULT name=models") then error("bench: the peer printed no RESULT line:\n" .. out, 0) end
    for name, ms in out:gmatch("([%w_]+)_ms=([%d.]+)") do
      peer_runs[name] = peer_runs[name] or {}
      table.insert(peer_runs[name], tonumber(ms))
    end
  end
  -- The peer runs before and after nnlua, and its time is the median of
  -- both runs' medians (their mean), so a drift of the machine's speed
  -- during the session falls on both sides.
  run_peer()
  local measured = {}
  for _, model in ipairs(MODELS) do
    local steps = cases(model)
    for _, case in ipairs({model .. "_train", model .. "_infer"}) do measured[case] = timed(steps[case]) * 1e3 end
    steps = nil
    collectgarbage()
  end
  run_peer()
  local rows, fields = {}, {{"threads", threads}}
  for _, model in ipairs(MODELS) do
    for _, case in ipairs({model .. "_train", model .. "_infer"}) do
      local ms = measured[case]
      local pms = peer_runs[case] and bench.median(peer_runs[case]) or 0 / 0
      rows[#rows + 1] = {case, bench.fmt(ms, 1), bench.fmt(pms, 1), bench.fmt(ms / pms, 2)}
      fields[#fields + 1] = {case .. "_ms", bench.fmt(ms, 2)}
      fields[#fields + 1] = {case .. "_peer_ms", bench.fmt(pms, 2)}
      fields[#fields + 1] = {case .. "_ratio", bench.fmt(ms / pms, 2)}
    end
  end
  bench.table({"case", "nnlua ms", "PyTorch ms", "ratio"}, rows)
  bench.result("models", fields)
end
