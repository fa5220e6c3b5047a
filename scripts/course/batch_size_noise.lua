-- Batch size and noise: the loss curve of per-sample SGD is jagged, of
-- full-batch GD smooth (003 Q1.4, Q6.1); small batches are cheaper per step
-- and their noise can carry the weights out of a local minimum (003 Q6.2).
--
--   nnlua scripts/course/batch_size_noise.lua [--quick] [--out DIR] [--seed S]
local course = require "common"
local opts = course.start{
  name = "batch_size_noise", ids = {"S3-03"},
  notes = "003_2d572698e7403bd6.txt Q1.4, Q6.1, Q6.2",
}
local fmt = course.fmt
local ITERS = opts.quick and 100 or 200

local function median(list)
  local s = {table.unpack(list)}
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

---------------------------------------------------------------------------
-- (a) The first 2,000 training images, MLP 784-128-10, SGD lr 0.01.
local x, y = course.fashion("train", 2000, true)
local train = nn.data.tensor_dataset(x, y)
local model = nn.Sequential{nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)}
local start = {}
for k, t in pairs(model:state_dict()) do start[k] = t:clone() end

-- ITERS iterations of batch size b from the same initial weights: the loss
-- of every batch, and the CPU seconds of every step.
local function run(b)
  model:load_state_dict(start)
  local opt, ce = nn.optim.SGD(model:parameters(), {lr = 0.01}), nn.CrossEntropyLoss()
  local loader = nn.data.DataLoader(train, {batch_size = b, shuffle = true, seed = opts.seed})
  local losses, times, held = {}, {}, nil
  while #losses < ITERS do
    for xb, yb in loader:iter() do
      local t0 = os.clock()
      opt:zero_grad()
      local before = nn.memory_stats().live_bytes
      local loss = ce(model(xb), yb)
      -- what the forward pass keeps for the backward: grows with the batch
      held = held or nn.memory_stats().live_bytes - before
      loss:backward()
      opt:step()
      times[#times + 1] = os.clock() - t0
      losses[#losses + 1] = loss:item()
      if #losses == ITERS then break end
    end
  end
  -- Roughness: the spread of the step-to-step changes of the loss.
  local diffs = {}
  for i = 2, #losses do diffs[i - 1] = losses[i] - losses[i - 1] end
  return {losses = losses, rough = course.std(diffs), step = median(times), held = held}
end
local sgd1 = run(1)
local mini = run(32)
local peak_mini = nn.memory_stats().peak_bytes
local full = run(2000)                     -- second, so its peak shows on top of the batch-32 one
local peak_full = nn.memory_stats().peak_bytes

---------------------------------------------------------------------------
-- (b) Escaping a local minimum: f(x) = x⁴ − 3x² + x from x0 = 2 (the basin
-- of the local minimum near 1.13; the global one is near −1.30).
local RUNS = opts.quick and 50 or 100
local function escape(sigma)
  local xs = nn.full({RUNS}, 2.0)
  for t = 1, 2000 do
    -- Gradient plus noise ξ ~ N(0, 1) scaled by σ, annealed linearly to 0
    -- by step 1500: what the gradient of a small batch looks like.
    local s = sigma * math.max(0, 1 - t / 1500)
    local grad = xs ^ 3 * 4 - xs * 6 + 1
    xs = xs - (grad + nn.randn(RUNS) * s) * 0.01
  end
  return xs, xs:lt(0):sum():item()
end
local calm_x, calm = escape(0)
local noisy_x, noisy = escape(20)

course.table{
  {"(a) roughness (std of successive loss changes), batch 1", sgd1.rough,
   "per-sample SGD moves suddenly on an outlier: a jagged curve", ("%d iterations"):format(ITERS)},
  {"(a) roughness, batch 32", mini.rough, "averaging over a batch smooths it", ""},
  {"(a) roughness, full batch (2000)", full.rough, "the button that smooths the curve: a larger batch", ""},
  {"(a) CPU time per step, batch 32 / full batch (ms)", ("%s / %s"):format(fmt(mini.step * 1e3), fmt(full.step * 1e3)),
   "small batches are cheaper per step", "medians"},
  {"(a) peak engine memory after batch 32 / after full batch (MB)",
   ("%s / %s"):format(fmt(peak_mini / 2 ^ 20), fmt(peak_full / 2 ^ 20)), "small batches need less memory",
   "nn.memory_stats().peak_bytes (the data set is loaded first)"},
  {"(a) memory a forward pass holds for the backward, batch 32 / full batch (MB)",
   ("%s / %s"):format(fmt(mini.held / 2 ^ 20), fmt(full.held / 2 ^ 20)), "small batches need less memory",
   "live bytes after the loss, minus before"},
  {("(b) runs ending in the global minimum (x < 0), σ = 0 / σ = 20"),
   ("%d / %d of %d"):format(calm, noisy, RUNS), "the noise of small batches can escape a local minimum",
   "x0 = 2, η = 0.01, σ annealed to 0 by step 1500"},
}
local enough = opts.quick and 30 or 60
course.verdict("S3-03",
  sgd1.rough > mini.rough and mini.rough > full.rough and mini.step < full.step and peak_full > peak_mini
  and noisy >= enough and calm == 0,
  "roughness batch 1 %s > batch 32 %s > full %s; time per step batch 32 %s ms < full %s ms; peak memory %s MB -> %s MB " ..
  "during the full-batch run; σ=20: %d of %d runs end at x < 0 (>= %d), σ=0: %d",
  fmt(sgd1.rough), fmt(mini.rough), fmt(full.rough), fmt(mini.step * 1e3), fmt(full.step * 1e3),
  fmt(peak_mini / 2 ^ 20), fmt(peak_full / 2 ^ 20), noisy, RUNS, enough, calm)

nn.plot.lines({
  {name = "batch 1", y = sgd1.losses, marker = "none"},
  {name = "batch 32", y = mini.losses, marker = "none"},
  {name = "full batch (2000)", y = full.losses, marker = "none"},
}, course.plot_path(opts, "loss_per_iteration.png"), {
  title = "003_2d572698e7403bd6.txt Q1.4, Q6.1: training loss per iteration",
  xlabel = "iteration", ylabel = "batch loss (log)", yscale = "log"})
nn.plot.hist({{name = "σ = 0", values = calm_x}, {name = "σ = 20", values = noisy_x}},
  course.plot_path(opts, "escape.png"), {
  title = "003_2d572698e7403bd6.txt Q6.2: where noisy descent ends on x⁴ − 3x² + x", bins = 30,
  xlabel = "final x (minima near −1.30 and 1.13)", ylabel = "runs"})
course.finish()
