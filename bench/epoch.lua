-- What bench/mlp_epoch.lua and bench/cnn_epoch.lua share: one real
-- Fashion-MNIST training epoch (batch 64, shuffled, data decoded and
-- normalized in memory first), timed against a PyTorch peer from
-- bench/peers in the same session, and the test accuracy each reaches.
-- Every seed runs nnlua then the peer (the peer's seed set through
-- bench/seeded_peer.py), so drift of the machine falls on both; times and
-- accuracies are medians over the seeds.
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local M = {}

local here = arg[0]:match("^(.*)/") or "."

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

--- spec: name, peer_script, peer_name, make() returning model, loss_fn,
--- optimizer; seeds: how many by default (3); augment: also time an epoch
--- with flip + rotation(10) + crop(28, padding 4) and report its cost
--- relative to a plain epoch. Options: --threads N, --seeds S, --skip-peer,
--- --quick (a smoke test), --peer-env 'VAR=VALUE ...' (e.g.
--- OPENBLAS_CORETYPE=SkylakeX: the AVX-512 kernels nnlua picks, which
--- Debian's OpenBLAS does not pick for this CPU by itself).
function M.run(spec)
  local opt = bench.options{threads = 1, seeds = spec.seeds or 3, skip_peer = false, quick = false,
                            peer_env = ""}
  nn.set_num_threads(opt.threads)
  bench.header(spec.name .. ": one Fashion-MNIST epoch against PyTorch", opt.threads)

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
    opt.seeds, opt.skip_peer = 1, true
  end
  local train = nn.data.tensor_dataset(x_train, y_train)
  local augment = nn.transforms.Compose{
    nn.transforms.RandomHorizontalFlip(0.5), nn.transforms.RandomRotation(10),
    nn.transforms.RandomCrop(28, {padding = 4}),
  }

  local function run(seed, transform)
    nn.manual_seed(seed)
    local model, loss_fn, optimizer = spec.make()
    local loader = nn.data.DataLoader(train, {batch_size = 64, shuffle = true, transform = transform})
    local start = bench.now()
    for x, y in loader:iter() do
      optimizer:zero_grad()
      loss_fn(model(x), y):backward()
      optimizer:step()
    end
    local seconds = bench.now() - start
    return seconds, accuracy(model, x_test, y_test)
  end

  local times, accs, aug_times, peer_times, peer_accs = {}, {}, {}, {}, {}
  for seed = 1, opt.seeds do
    times[seed], accs[seed] = run(seed)
    if spec.augment then aug_times[seed] = run(seed, augment) end
    if not opt.skip_peer then
      peer_times[seed], peer_accs[seed] = run_peer(spec.peer_script, spec.peer_name, opt.threads, seed, opt.peer_env)
    end
    print(("# seed %d: nnlua %.3f s (acc %.4f)%s%s"):format(seed, times[seed], accs[seed],
      spec.augment and (", augmented %.3f s"):format(aug_times[seed]) or "",
      opt.skip_peer and "" or (", PyTorch %.3f s (acc %.4f)"):format(peer_times[seed], peer_accs[seed])))
  end

  local ours, acc = bench.median(times), bench.median(accs)
  local peer, peer_acc = 0 / 0, 0 / 0
  if not opt.skip_peer then peer, peer_acc = bench.median(peer_times), bench.median(peer_accs) end
  local peer_env = opt.peer_env == "" and "none" or opt.peer_env:gsub("%s+", ",")
  local fields = {{"threads", opt.threads}, {"seeds", opt.seeds}, {"peer_env", peer_env},
                  {"decode_s", bench.fmt(decode_s, 2)},
                  {"nnlua_s", bench.fmt(ours, 3)}, {"peer_s", bench.fmt(peer, 3)},
                  {"ratio", bench.fmt(ours / peer, 2)}, {"nnlua_acc", bench.fmt(acc, 4)},
                  {"peer_acc", bench.fmt(peer_acc, 4)}}
  local line = ("%s: decode %.2f s; epoch nnlua %.3f s (test acc %.4f)"):format(spec.name, decode_s, ours, acc)
  if opt.skip_peer then
    line = line .. ", peer skipped"
  else
    line = line .. (", PyTorch %.3f s (test acc %.4f), ratio %.2f"):format(peer, peer_acc, ours / peer)
  end
  if spec.augment then
    local aug_ratio = bench.median(aug_times) / ours
    line = line .. ("; augmented epoch %.2fx"):format(aug_ratio)
    fields[#fields + 1] = {"augment_ratio", bench.fmt(aug_ratio, 2)}
  end
  print(line)
  bench.result(spec.name, fields)
end

return M
