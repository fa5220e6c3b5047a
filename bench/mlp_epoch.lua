-- One real Fashion-MNIST training epoch of the course's MLP (data decoded
-- and normalized in memory first), against ../shared/peers/mlp_epoch.py in
-- the same session: time and test accuracy (medians over 3 seeds), plus
-- the cost of augmentation (flip + rotation(10) + crop(28, padding 4)).
--   nnlua bench/mlp_epoch.lua [--threads N] [--skip-peer]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{threads = 1, skip_peer = false, seeds = 3}
nn.set_num_threads(opt.threads)

local t0 = bench.now()
local raw_train = nn.data.fashion_mnist{split = "train"}
local decode_s = bench.now() - t0
local normalize = nn.transforms.Normalize(0.2860, 0.3530)
local train = nn.data.tensor_dataset(normalize(raw_train.x), raw_train.y)
local raw_test = nn.data.fashion_mnist{split = "test"}
local x_test, y_test = normalize(raw_test.x), raw_test.y

local augment = nn.transforms.Compose{
  nn.transforms.RandomHorizontalFlip(0.5), nn.transforms.RandomRotation(10),
  nn.transforms.RandomCrop(28, {padding = 4}),
}

-- Seconds of one epoch and the test accuracy after it.
local function run(seed, transform)
  nn.manual_seed(seed)
  local model = nn.Sequential{nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10), nn.LogSoftmax(2)}
  local sgd, loss_fn = nn.optim.SGD(model:parameters(), {lr = 0.01}), nn.NLLLoss()
  local loader = nn.data.DataLoader(train, {batch_size = 64, shuffle = true, transform = transform})
  local start = bench.now()
  for x, y in loader:iter() do
    sgd:zero_grad()
    loss_fn(model(x), y):backward()
    sgd:step()
  end
  local seconds = bench.now() - start
  local acc = nn.no_grad(function() return model(x_test):argmax(2):eq(y_test):float():mean():item() end)
  return seconds, acc
end

local times, accs, aug_times = {}, {}, {}
for seed = 1, opt.seeds do
  times[seed], accs[seed] = run(seed)
  aug_times[seed] = run(seed, augment)
end
local ours, acc = bench.median(times), bench.median(accs)
local aug_ratio = bench.median(aug_times) / ours

local peer, peer_acc = 0 / 0, 0 / 0
if not opt.skip_peer then
  local script = (arg[0]:match("^(.*)/") or ".") .. "/../../shared/peers/mlp_epoch.py"
  local ptimes, paccs = {}, {}
  for r = 1, opt.seeds do
    local p = io.popen(("/usr/bin/python3 %s --threads %d 2>&1"):format(script, opt.threads))
    local out = p:read("a")
    p:close()
    ptimes[r] = tonumber(out:match("RESULT name=mlp_epoch.- seconds=([%d.]+)"))
    paccs[r] = tonumber(out:match("test_acc=([%d.]+)"))
    if not ptimes[r] then error("bench: the peer printed no RESULT line:\n" .. out, 0) end
  end
  peer, peer_acc = bench.median(ptimes), bench.median(paccs)
end
print(("mlp_epoch: decode %.2f s; epoch nnlua %.3f s (test acc %.4f), PyTorch %.3f s (test acc %.4f), ratio %.2f; augmented epoch %.2fx"):format(
  decode_s, ours, acc, peer, peer_acc, ours / peer, aug_ratio))
bench.result("mlp_epoch", {{"threads", opt.threads}, {"decode_s", bench.fmt(decode_s, 2)},
                           {"nnlua_s", bench.fmt(ours, 3)}, {"peer_s", bench.fmt(peer, 3)},
                           {"ratio", bench.fmt(ours / peer, 2)}, {"nnlua_acc", bench.fmt(acc, 4)},
                           {"peer_acc", bench.fmt(peer_acc, 4)}, {"augment_ratio", bench.fmt(aug_ratio, 2)}})
