-- One epoch's worth of MLP training steps (938 steps of batch 64, the last
-- 32) on synthetic data already in memory, against the PyTorch peer
-- ../shared/peers/mlp_epoch.py --synthetic run in the same session:
--   nnlua bench/mlp_step.lua [--threads N] [--reps R] [--quick]
-- The model is the course's 784-256-128-10 ReLU MLP with LogSoftmax + NLL
-- and SGD lr 0.01, as the peer. Also reports whether a step allocates
-- (nn.memory_stats().count across 100 steps after warm-up) and peak RSS.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{threads = 1, reps = 3, quick = false, skip_peer = false}
nn.set_num_threads(opt.threads)
nn.manual_seed(0)

local n_train, batch = opt.quick and 640 or 60000, 64
local x_train, y_train = nn.randn(n_train, 784), nn.randint(1, 11, {n_train})

local model = nn.Sequential{
  nn.Flatten(),
  nn.Linear(784, 256), nn.ReLU(),
  nn.Linear(256, 128), nn.ReLU(),
  nn.Linear(128, 10), nn.LogSoftmax(2),
}
local loss_fn = nn.NLLLoss()
local sgd = nn.optim.SGD(model:parameters(), {lr = 0.01})

local function step(x, y)
  sgd:zero_grad()
  local loss = loss_fn(model(x), y)
  loss:backward()
  sgd:step()
  return loss
end

local function epoch()
  local perm = nn.randperm(n_train)
  local total = 0
  for i = 1, n_train, batch do
    local idx = perm:narrow(1, i, math.min(batch, n_train - i + 1))
    total = total + step(x_train:index(1, idx), y_train:index(1, idx)):item()
  end
  return total
end

-- Allocation check: steps after warm-up should reuse cached blocks.
local xb, yb = x_train:narrow(1, 1, batch), y_train:narrow(1, 1, batch)
for _ = 1, 200 do step(xb, yb) end
local before = nn.memory_stats().count
for _ = 1, 100 do step(xb, yb) end
local new_blocks = nn.memory_stats().count - before

local times = {}
for r = 1, opt.quick and 1 or opt.reps do
  local t0 = bench.now()
  epoch()
  times[r] = bench.now() - t0
end
local ours = bench.median(times)

local function peak_rss_mb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

-- The peer, same machine, same session: median of its epoch times.
local peer, peer_rss = 0 / 0, 0 / 0
if not opt.skip_peer and not opt.quick then
  local script = (arg[0]:match("^(.*)/") or ".") .. "/../../shared/peers/mlp_epoch.py"
  local peer_times = {}
  for r = 1, opt.reps do
    local p = io.popen(("/usr/bin/python3 %s --synthetic --threads %d 2>&1"):format(script, opt.threads))
    local out = p:read("a")
    p:close()
    local s = out:match("RESULT name=mlp_epoch.- seconds=([%d.]+)")
    if not s then error("bench: the peer printed no RESULT line:\n" .. out, 0) end
    peer_times[r] = tonumber(s)
    peer_rss = tonumber(out:match("peak_rss_mb=([%d.]+)"))
  end
  peer = bench.median(peer_times)
end

print(("mlp_step: %d steps of batch %d, %d thread(s): nnlua %.3f s, PyTorch %.3f s, ratio %.2f"):format(
  math.ceil(n_train / batch), batch, opt.threads, ours, peer, ours / peer))
print(("new engine blocks over 100 warm steps: %d; peak RSS nnlua %.0f MB, PyTorch %.0f MB"):format(
  new_blocks, peak_rss_mb(), peer_rss))
bench.result("mlp_step", {{"threads", opt.threads}, {"nnlua_s", bench.fmt(ours, 3)}, {"peer_s", bench.fmt(peer, 3)},
                          {"ratio", bench.fmt(ours / peer, 2)}, {"new_blocks", new_blocks},
                          {"rss_mb", bench.fmt(peak_rss_mb(), 0)}, {"peer_rss_mb", bench.fmt(peer_rss, 0)}})
