-- A complete training loop in the PyTorch style: a small network learns a
-- two-moons-like problem (points inside or outside a circle) with Adam.
-- Run it with `build/nnlua scripts/train_xor.lua`.
nn.manual_seed(0)

-- 512 points in [-1, 1]^2; class 2 inside the circle of radius 0.7.
local x = nn.rand(512, 2) * 2 - 1
local y = (x * x):sum(2):lt(0.49):long() + 1   -- labels are 1-based

local Net = nn.Module:extend('Net')

function Net:init(hidden)
  self.fc1 = nn.Linear(2, hidden)
  self.fc2 = nn.Linear(hidden, 2)
end

function Net:forward(input)
  return self.fc2(self.fc1(input):tanh())
end

local model = Net(16)
local loss_fn = nn.CrossEntropyLoss()
local opt = nn.optim.Adam(model:parameters(), {lr = 0.05})

for epoch = 1, 200 do
  opt:zero_grad()
  local loss = loss_fn(model(x), y)
  loss:backward()
  opt:step()
  if epoch % 50 == 0 then print(("epoch %3d  loss %.4f"):format(epoch, loss:item())) end
end

local accuracy = nn.no_grad(function()
  return model(x):argmax(2):eq(y):float():mean():item()
end)
print(("training accuracy %.3f"):format(accuracy))
print(model)
