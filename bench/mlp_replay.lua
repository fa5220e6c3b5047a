-- The MLP epoch of bench/mlp_epoch.lua started from PyTorch's own initial
-- weights and batch order (written by bench/mlp_replay.py, which also
-- trains PyTorch's side): with the same start the two runs differ only in
-- arithmetic, so their losses and accuracies should agree closely, where
-- runs from different seeds spread by about +-1 point of accuracy.
--   nnlua bench/mlp_replay.lua [--seed S] [--quick]
-- --quick (the smoke test): no Python; nnlua's own initial weights and the
-- first 640 training images in order.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{seed = 0, quick = false}
nn.set_num_threads(1)
local dir, peer_loss, peer_acc = os.tmpname(), "none", "none"
os.remove(dir)
if not opt.quick then
  assert(os.execute(("mkdir -p '%s'"):format(dir)))
  peer_loss, peer_acc = bench.python("mlp_replay.py", ("'%s' %d"):format(dir, opt.seed),
                                     "RESULT name=mlp_replay_peer train_loss=([%d.]+) test_acc=([%d.]+)")
end

local normalize = nn.transforms.Normalize(0.2860, 0.3530)
local train, test = nn.data.fashion_mnist{split = "train"}, nn.data.fashion_mnist{split = "test"}
local x_train, y_train, x_test = normalize(train.x), train.y, normalize(test.x)
local model, loss_fn, sgd = require("peer_models").mlp()
local perm
if opt.quick then
  x_train = x_train:narrow(1, 1, 640)
  perm = nn.arange(1, 641)
else
  local state = {}
  for _, name in ipairs{"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"} do
    local layer, what = name:match("(%d)%.(%a+)")       -- PyTorch counts modules from 0
    state[(tonumber(layer) + 1) .. "." .. what] = nn.load_npy(dir .. "/" .. name .. ".npy")
  end
  model:load_state_dict(state)
  perm = nn.load_npy(dir .. "/perm.npy") + 1
  os.execute(("rm -rf '%s'"):format(dir))
end

local n, total, steps = x_train:size(1), 0, 0
for i = 1, n, 64 do
  local idx = perm:narrow(1, i, math.min(64, n - i + 1))
  sgd:zero_grad()
  local loss = loss_fn(model(x_train:index_select(1, idx)), y_train:index_select(1, idx))
  loss:backward()
  sgd:step()
  total, steps = total + loss:item(), steps + 1
end
local acc = nn.no_grad(function() return model(x_test):argmax(2):eq(test.y):float():mean():item() end)
print(("mlp_replay (seed %d): mean train loss nnlua %.6f, PyTorch %s; test accuracy nnlua %.4f, PyTorch %s"):format(
  opt.seed, total / steps, peer_loss, acc, peer_acc))
bench.result("mlp_replay", {{"seed", opt.seed}, {"nnlua_loss", bench.fmt(total / steps, 6)},
                            {"peer_loss", peer_loss}, {"nnlua_acc", bench.fmt(acc, 4)}, {"peer_acc", peer_acc}})
