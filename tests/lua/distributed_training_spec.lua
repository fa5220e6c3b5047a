-- Data-parallel training without mpirun (the mpi-labelled tests in
-- tests/distributed/ run it under mpirun): nn.fit never loads MPI outside
-- mpirun and checks its distributed option; nn.distributed.Optimizer in a
-- world of one is the wrapped optimizer, and its errors; the gradient
-- bucket entry points (core._bucket_attach/_bucket_divide) and theirs.
local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"

local function toy()
  local ds = nn.data.synthetic.blobs{n_samples = 40, centers = 2, features = 3, seed = 1}
  local model = nn.Sequential{nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)}
  return ds, model
end

describe("nn.fit outside mpirun", function()
  it("trains as one process without loading nn.distributed or MPI", function()
    assert.is_nil(os.getenv("OMPI_COMM_WORLD_SIZE"))
    local ds, model = toy()
    for _, flag in ipairs({true, false}) do
      local h = nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), verbose = 0, distributed = flag,
                               optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1})})
      assert.are.equal(1, h.epochs)
    end
    assert.is_nil(package.loaded["nn.distributed"])
    assert.is_nil(package.loaded["nn.distributed.mpi"])
    assert.is_nil(rawget(nn, "distributed"))
  end)

  it("checks the distributed option", function()
    local ds, model = toy()
    H.assert_error(function()
      nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), distributed = 1,
                     optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1})})
    end, "fit: distributed must be true or false, got 1")
  end)
end)

describe("nn.distributed.Optimizer in a world of one", function()
  it("steps as the wrapped optimizer, and passes everything through", function()
    local ds, model = toy()
    local twin = nn.Sequential{nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)}
    twin:load_state_dict(model:state_dict())
    local inner = nn.optim.Adam(model:parameters(), {lr = 0.01})
    local opt = nn.distributed.Optimizer(inner)
    local ref = nn.optim.Adam(twin:parameters(), {lr = 0.01})
    assert.are.equal(1, opt.world_size)
    for _ = 1, 3 do
      for _, pair in ipairs({{model, opt}, {twin, ref}}) do
        pair[2]:zero_grad()
        nn.CrossEntropyLoss()(pair[1](ds.x), ds.y):backward()
        pair[2]:step()
      end
    end
    for name, t in pairs(model:state_dict()) do
      assert.are.equal(0, (t - twin:state_dict()[name]):abs():max():item(), name)
    end
    assert.are.equal(inner.param_groups, opt.param_groups)
    assert.are.same(ref:state_dict().scalars, opt:state_dict().scalars)
    assert.truthy(tostring(opt):find("distributed.Optimizer (1 rank) of Adam", 1, true))
  end)

  it("rejects what is not an optimizer, a wrapped one and bad options", function()
    local _, model = toy()
    local inner = nn.optim.SGD(model:parameters(), {lr = 0.1})
    H.assert_error(function() nn.distributed.Optimizer(model) end,
                   "distributed.Optimizer: argument 1 must be an optimizer", "got Sequential")
    H.assert_error(function() nn.distributed.Optimizer(42) end, "must be an optimizer", "got number")
    H.assert_error(function() nn.distributed.Optimizer(nn.distributed.Optimizer(inner)) end,
                   "distributed.Optimizer: the optimizer is a distributed.Optimizer already")
    H.assert_error(function() nn.distributed.Optimizer(inner, {bucket_size = 1}) end,
                   "distributed.Optimizer", "bucket_size")
    H.assert_error(function() nn.distributed.Optimizer(inner, {bucket_cap_mb = -1}) end,
                   "distributed.Optimizer: bucket_cap_mb must be > 0, got -1")
    H.assert_error(function() nn.distributed.Optimizer(inner):step(3) end,
                   "distributed.Optimizer: step: the closure must be a function, got number")
  end)
end)

describe("gradient buckets", function()
  it("make the gradients views of one bucket, and divide it in place", function()
    local a, b, c = nn.zeros(2, 2):requires_grad_(), nn.zeros(3):requires_grad_(), nn.zeros(5):requires_grad_()
    a.grad, b.grad = nn.tensor({{1, 2}, {3, 4}}), nn.tensor({5, 6, 7})
    local bucket = nn.zeros(7)
    core._bucket_attach(bucket, {a, c, b}) -- c has no gradient: skipped
    assert.are.same({1, 2, 3, 4, 5, 6, 7}, bucket:totable())
    assert.is_nil(c.grad)
    -- Backward accumulates into the bucket itself.
    local y = (a * 2):sum()
    y:backward()
    assert.are.same({3, 4, 5, 6, 5, 6, 7}, bucket:totable())
    core._bucket_divide(bucket, 2)
    assert.are.same({{1.5, 2}, {2.5, 3}}, a.grad:totable())
    assert.are.same({2.5, 3, 3.5}, b.grad:totable())
    -- A gradient set anew is copied in again.
    b.grad = nn.tensor({-1, -2, -3})
    core._bucket_attach(bucket, {a, c, b})
    assert.are.same({1.5, 2, 2.5, 3, -1, -2, -3}, bucket:totable())
    b.grad:mul_(2)
    assert.are.same({-2, -4, -6}, bucket:narrow(1, 5, 3):totable())
  end)

  it("check sizes, dtypes, layouts and the divisor", function()
    local a = nn.zeros(2, 2):requires_grad_()
    a.grad = nn.zeros(2, 2)
    H.assert_error(function() core._bucket_attach(nn.zeros(3), {a}) end,
                   "_bucket_attach: the gradients have 4 elements in all, the bucket 3")
    H.assert_error(function() core._bucket_attach(nn.zeros(8):narrow(1, 1, 4):view(2, 2):t(), {a}) end,
                   "_bucket_attach: bucket must be a contiguous float32 tensor, got a non-contiguous float32 tensor")
    H.assert_error(function() core._bucket_attach(nn.zeros(4, {dtype = "int64"}), {a}) end,
                   "_bucket_attach: bucket must be a contiguous float32 tensor, got a int64 tensor")
    H.assert_error(function() core._bucket_attach(nn.zeros(4), {"x"}) end,
                   "_bucket_attach: parameter 1 must be a tensor, got string")
    H.assert_error(function() core._bucket_divide(nn.zeros(4), 0) end, "_bucket_divide: divisor must be > 0, got 0")
  end)
end)
