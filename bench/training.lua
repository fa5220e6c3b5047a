-- What bench/mlp_step.lua and bench/cnn_step.lua share: one epoch's worth
-- of training steps (938 steps of batch 64, the last 32) on synthetic data
-- already in memory, timed against a PyTorch peer from bench/peers run
-- with --synthetic in the same session. Also reports whether a step takes
-- new blocks from the system (nn.memory_stats().count over 100 steps after
-- warm-up) and both peak RSS figures.
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local M = {}

local function peak_rss_mb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

-- Median seconds of the peer's epoch (reps runs), and its peak RSS.
local function run_peer(script, name, threads, reps)
  local times, rss = {}, 0 / 0
  for r = 1, reps do
    local s, mb = bench.python("peers/" .. script, ("--synthetic --threads %d"):format(threads),
                               "RESULT name=" .. name .. ".- seconds=([%d.]+).-peak_rss_mb=([%d.]+)")
    times[r], rss = tonumber(s), tonumber(mb)
  end
  return bench.median(times), rss
end

--- spec: name, peer_script, peer_name, input_shape (one sample), make()
-- returning model, loss_fn, optimizer.
function M.run(spec)
  local opt = bench.options{threads = 1, reps = 3, quick = false, skip_peer = false}
  nn.set_num_threads(opt.threads)
  nn.manual_seed(0)
  local n, batch = opt.quick and 640 or 60000, 64
  local shape = {n}
  for _, d in ipairs(spec.input_shape) do shape[#shape + 1] = d end
  local x_train, y_train = nn.randn(shape), nn.randint(1, 11, {n})
  local model, loss_fn, optimizer = spec.make()

  local function step(x, y)
    optimizer:zero_grad()
    local loss = loss_fn(model(x), y)
    loss:backward()
    optimizer:step()
    return loss
  end

  local function epoch() -- shuffled every epoch, as the peers
    local perm, total = nn.randperm(n), 0
    for i = 1, n, batch do
      local idx = perm:narrow(1, i, math.min(batch, n - i + 1))
      total = total + step(x_train:index(1, idx), y_train:index(1, idx)):item()
    end
    return total
  end

  local xb, yb = x_train:narrow(1, 1, batch), y_train:narrow(1, 1, batch)
  -- Freed tensors return to the allocator's cache when the collector
  -- runs (every 16 MB of engine allocations), so the cache reaches its
  -- working size after a few collections.
  local warm, measured = opt.quick and 5 or 300, opt.quick and 5 or 100
  for _ = 1, warm do step(xb, yb) end
  local before = nn.memory_stats().count
  for _ = 1, measured do step(xb, yb) end
  local new_blocks = nn.memory_stats().count - before

  local times = {}
  for r = 1, opt.quick and 1 or opt.reps do
    local t0 = bench.now()
    epoch()
    times[r] = bench.now() - t0
  end
  local ours = bench.median(times)
  local peer, peer_rss = 0 / 0, 0 / 0
  if not opt.skip_peer and not opt.quick then
    peer, peer_rss = run_peer(spec.peer_script, spec.peer_name, opt.threads, opt.reps)
  end
  print(("%s: %d steps of batch %d, %d thread(s): nnlua %.3f s, PyTorch %.3f s, ratio %.2f"):format(
    spec.name, math.ceil(n / batch), batch, opt.threads, ours, peer, ours / peer))
  print(("new engine blocks over %d steps after %d of warm-up: %d; peak RSS nnlua %.0f MB, PyTorch %.0f MB"):format(
    measured, warm, new_blocks, peak_rss_mb(), peer_rss))
  bench.result(spec.name, {{"threads", opt.threads}, {"nnlua_s", bench.fmt(ours, 3)},
                           {"peer_s", bench.fmt(peer, 3)}, {"ratio", bench.fmt(ours / peer, 2)},
                           {"new_blocks", new_blocks}, {"rss_mb", bench.fmt(peak_rss_mb(), 0)},
                           {"peer_rss_mb", bench.fmt(peer_rss, 0)}})
end

return M
