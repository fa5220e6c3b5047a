-- The peers' models, losses and optimizers (bench/peers/mlp_epoch.py
-- and cnn_epoch.py), built the same way for the synthetic-step and the
-- real-epoch benchmarks. Each returns model, loss_fn, optimizer.
local nn = rawget(_G, "nn") or require "nn"

local M = {}

-- 784-256-128-10, ReLU, LogSoftmax + NLL, SGD lr 0.01.
function M.mlp()
  local model = nn.Sequential{
    nn.Flatten(),
    nn.Linear(784, 256), nn.ReLU(),
    nn.Linear(256, 128), nn.ReLU(),
    nn.Linear(128, 10), nn.LogSoftmax(2),
  }
  return model, nn.NLLLoss(), nn.optim.SGD(model:parameters(), {lr = 0.01})
end

-- conv 32 and 64 (3x3, pad 1), ReLU, 2x2 max-pool, fc 128, fc 10,
-- cross-entropy, Adam lr 1e-3.
function M.cnn()
  local model = nn.Sequential{
    nn.Conv2d(1, 32, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
    nn.Linear(128, 10),
  }
  return model, nn.CrossEntropyLoss(), nn.optim.Adam(model:parameters(), {lr = 1e-3})
end

return M
