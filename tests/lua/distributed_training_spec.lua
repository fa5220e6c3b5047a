-- Data-parallel training without mpirun (the mpi-labelled tests in
-- tests/distributed/ run it under mpirun): nn.fit never loads MPI outside
-- mpirun and checks its distributed option; nn.distributed.Optimizer in a
-- world of one is the wrapped optimizer, and its errors; the gradient
-- bucket entry points (core._bucket_pack/_bucket_unpack) and theirs.
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
    assert.truthy(tostring(opt):find("distributed.Optimizer (1 ranks) of Adam", 1, true))
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
  it("lay tensors end to end and copy them back divided", function()
    local a, b = nn.tensor({{1, 2}, {3, 4}}), nn.tensor({5, 6, 7})
    local bucket = nn.empty(7)
    core._bucket_pack(bucket, {a, b})
    assert.are.same({1, 2, 3, 4, 5, 6, 7}, bucket:totable())
    bucket:mul_(3)
    core._bucket_unpack(bucket, {a, b}, 3)
    assert.are.same({{1, 2}, {3, 4}}, a:totable())
    assert.are.same({5, 6, 7}, b:totable())
  end)

  it("check sizes, dtypes, layouts and the divisor", function()
    local a = nn.zeros(2, 2)
    H.assert_error(function() core._bucket_pack(nn.empty(3), {a}) end,
                   "_bucket_pack: the tensors have 4 elements in all, the bucket 3")
    H.assert_error(function() core._bucket_pack(nn.empty(4), {a:t()}) end,
                   "_bucket_pack: tensor 1 must be a contiguous float32 tensor, got a non-contiguous float32 tensor")
    H.assert_error(function() core._bucket_pack(nn.zeros(4, {dtype = "int64"}), {a}) end,
                   "_bucket_pack: bucket must be a contiguous float32 tensor, got a int64 tensor")
    H.assert_error(function() core._bucket_unpack(nn.empty(4), {a}, 0) end, "_bucket_unpack: divisor must be > 0, got 0")
    H.assert_error(function() core._bucket_unpack(nn.empty(4), {"x"}, 1) end, "_bucket_unpack: tensor 1 must be a tensor")
  end)
end)
