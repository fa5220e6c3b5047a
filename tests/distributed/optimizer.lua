-- nn.distributed.Optimizer under mpirun -np 2 (SPEC §14): with the same
-- global batch, 2 ranks x batch 32 train an MLP as 1 process x batch 64
-- does, over 20 SGD steps, to 1e-5 (max |a - b| / max |b| per parameter;
-- no batch norm, no dropout). Each rank also trains the single-process
-- reference itself (the whole batch of 64), from the weights the wrapper
-- broadcast from rank 1. Run with the default buckets (one, for this
-- model) and with 4 KB ones (4 buckets; two weights larger than a bucket
-- alone). Then the wrapper's pass-through and its errors.
--   tests/distributed/mpirun.sh [--tcp] -np 2 nnlua optimizer.lua
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local check = require "check"
local d = nn.distributed

local rank, world = d.rank(), d.world_size()
check.truthy("2 ranks", world == 2)

local function mlp()
  return nn.Sequential{nn.Flatten(), nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 5)}
end

-- 20 batches of 64: the same on every rank (seeded), shuffled alike.
nn.manual_seed(123)
local STEPS, GLOBAL = 20, 64
local x = nn.randn(STEPS * GLOBAL, 4, 5)
local y = nn.randint(1, 6, {STEPS * GLOBAL})
local ds = nn.data.tensor_dataset(x, y)

local function train(model, opt, loader)
  local loss_fn, steps = nn.CrossEntropyLoss(), 0
  for bx, by in loader:iter() do
    opt:zero_grad()
    loss_fn(model(bx), by):backward()
    opt:step()
    steps = steps + 1
  end
  return steps
end

local function worst_relative(a, b)
  local worst = 0
  for name, want in pairs(b:state_dict()) do
    local got = a:state_dict()[name]
    worst = math.max(worst, (got - want):abs():max():item() / want:abs():max():item())
  end
  return worst
end

for _, cap in ipairs({4, 1 / 256}) do
  -- Different initial weights on each rank: wrapping must put rank 1's everywhere.
  nn.manual_seed(rank)
  local model = mlp()
  local opt = d.Optimizer(nn.optim.SGD(model:parameters(), {lr = 0.05, momentum = 0.9}), {bucket_cap_mb = cap})
  local reference = mlp()
  reference:load_state_dict(model:state_dict())
  local ref_opt = nn.optim.SGD(reference:parameters(), {lr = 0.05, momentum = 0.9})
  local first = model:state_dict()["2.weight"]:clone()
  check.equal(("bucket_cap_mb %g: rank 1's initial weights"):format(cap), first, d.broadcast(first:clone(), 1))

  local steps = train(model, opt, nn.data.DataLoader(ds, {batch_size = GLOBAL / world, shuffle = true, seed = 9,
                                                          rank = rank, world_size = world}))
  local ref_steps = train(reference, ref_opt, nn.data.DataLoader(ds, {batch_size = GLOBAL, shuffle = true, seed = 9}))
  check.truthy("20 steps each", steps == STEPS and ref_steps == STEPS)
  local worst = worst_relative(model, reference)
  check.truthy(("bucket_cap_mb %g: 2 x 32 reproduce 1 x 64 to 1e-5 (worst %.3g)"):format(cap, worst), worst < 1e-5)
  if rank == 1 then print(("bucket_cap_mb %g: worst relative difference %.3g"):format(cap, worst)) end
  check.truthy("the weights moved", (model:state_dict()["2.weight"] - first):abs():max():item() > 1e-3)
  -- The ranks hold the same weights, bit for bit.
  for name, t in pairs(model:state_dict()) do
    check.equal(("bucket_cap_mb %g: %s equal on every rank"):format(cap, name), t, d.broadcast(t:clone(), 1))
  end
  local buckets = #opt.buckets.list
  check.truthy(("bucket_cap_mb %g: %d buckets"):format(cap, buckets), buckets == (cap == 4 and 1 or 4))
end

-- Pass-through: param_groups, state_dict, schedulers, a closure.
local model = mlp()
local inner = nn.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
local opt = d.Optimizer(inner)
check.truthy("param_groups are the optimizer's", opt.param_groups == inner.param_groups)
local sched = nn.optim.StepLR(opt, {step_size = 1, gamma = 0.5})
sched:step()
check.truthy("a scheduler sets the wrapped optimizer's lr", inner.param_groups[1].lr == 0.05)
local loss = opt:step(function()
  opt:zero_grad()
  local l = nn.CrossEntropyLoss()(model(x:narrow(1, 1, 8)), y:narrow(1, 1, 8))
  l:backward()
  return l
end)
check.truthy("step(closure) returns the closure's loss", nn.is_tensor(loss))
local s = opt:state_dict()
check.truthy("state_dict is the optimizer's", s.param_groups[1].lr == 0.05 and next(s.tensors) ~= nil)
opt:load_state_dict(s)
check.truthy("tostring", tostring(opt):find("distributed.Optimizer (2 ranks) of SGD", 1, true) ~= nil)

-- Errors.
check.raises("not an optimizer", function() d.Optimizer(model) end,
             "distributed.Optimizer: argument 1 must be an optimizer")
check.raises("wrapped twice", function() d.Optimizer(opt) end, "is a distributed.Optimizer already")
check.raises("unknown option", function() d.Optimizer(inner, {bucket_mb = 1}) end, "bucket_mb")
check.raises("bucket size", function() d.Optimizer(inner, {bucket_cap_mb = 0}) end, "bucket_cap_mb must be > 0, got 0")
-- Rank 2 has a gradient rank 1 lacks: the ranks' buckets differ.
opt:zero_grad({set_to_none = true})
local l = nn.CrossEntropyLoss()(model(x:narrow(1, 1, 8)), y:narrow(1, 1, 8))
l:backward()
if rank == 2 then inner.param_groups[1].params[1].grad = nil end
check.raises("gradients of different parameters", function() opt:step() end,
             "distributed.Optimizer: the ranks' gradients differ", "every rank must compute gradients for the same parameters")

check.done("optimizer")
