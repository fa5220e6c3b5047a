-- Transfer learning as a user does it: load pretrained weights (PyTorch
-- numbering), freeze the feature extractor (or its first k blocks), replace
-- the head, give the layers their own learning rates through parameter
-- groups, nn.fit. Frozen weights must stay bit-identical while the head
-- learns.
local nn = require "nn"
local H = require "helpers"

-- A torchvision-shaped network: features, then a classifier whose last
-- child is the head.
local Net = nn.Module:extend("TransferNet")
function Net:init(num_classes)
  self.features = nn.Sequential{
    nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)},
    nn.Sequential{nn.Conv2d(4, 8, 3, {padding = 1}), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)},
    nn.Sequential{nn.Conv2d(8, 8, 3, {padding = 1}), nn.ReLU(), nn.AdaptiveAvgPool2d(1)}}
  self.classifier = nn.Sequential{nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, num_classes)}
end
function Net:forward(x)
  return self.classifier(self.features(x))
end

-- Three classes of noisy images told apart by their brightness (-1, 0, 1),
-- which random features pooled over the image keep.
local function data(n)
  local y = nn.randint(1, 4, {n})
  local x = nn.randn(n, 1, 8, 8):mul(0.5) + (y:float() - 2):view(n, 1, 1, 1)
  return nn.data.tensor_dataset(x, y)
end

-- "Pretrained" weights as a file under PyTorch's names, as
-- scripts/export_torchvision.py writes them.
local function pretrained_file()
  nn.manual_seed(1)
  local source = Net(5)
  source(nn.randn(16, 1, 8, 8)) -- running statistics away from their start
  local path = os.tmpname()
  nn.save(source:state_dict{keys = 'torch'}, path)
  return path
end

local function snapshot(params)
  local out = {}
  for i, p in ipairs(params) do out[i] = p:clone() end
  return out
end

local function assert_unchanged(params, before, what)
  for i, p in ipairs(params) do
    H.assert_values(p, before[i], what .. " parameter " .. i)
    assert.is_nil(p.grad, what .. " parameter " .. i .. " has a gradient")
  end
end

local function changed(params, before)
  for i, p in ipairs(params) do
    if not H.equal(p, before[i]) then return true end
  end
  return false
end

describe("transfer learning", function()
  local path, train
  setup(function()
    path = pretrained_file()
    train = data(96)
  end)
  teardown(function() os.remove(path) end)

  it("freezes features, replaces the head, trains it with per-layer learning rates", function()
    nn.manual_seed(2)
    local model = Net(5)
    model:load_state_dict(nn.load(path), {keys = 'torch'})
    model.features:requires_grad_(false)
    model.classifier[4] = nn.Linear(16, 3) -- the new head: 3 classes instead of 5
    local frozen = model.features:parameters()
    local frozen_before = snapshot(frozen)
    local head_before = snapshot(model.classifier:parameters())
    local opt = nn.optim.SGD({
      {params = model.classifier[2]:parameters(), lr = 0.02}, -- the pretrained layer: gently
      {params = model.classifier[4]:parameters()},             -- the new head: the default lr
    }, {lr = 0.2, momentum = 0.9})
    local history = nn.fit(model, {train = train, batch_size = 16, epochs = 15, loss = nn.CrossEntropyLoss(),
                                   optimizer = opt, verbose = 0})
    assert_unchanged(frozen, frozen_before, "frozen")
    assert.is_true(changed(model.classifier:parameters(), head_before))
    assert.is_true(history.loss[15] < 0.5 * history.loss[1], ("loss %g -> %g"):format(history.loss[1], history.loss[15]))
    assert.is_true(history.accuracy[15] > 0.85, "accuracy " .. history.accuracy[15])
    -- still its state dict under PyTorch's names, with the new head's shape
    local sd = model:state_dict{keys = 'torch'}
    H.assert_shape(sd["classifier.3.weight"], {3, 16})
    H.assert_values(sd["features.0.0.weight"], nn.load(path)["features.0.0.weight"])
  end)

  it("each parameter group steps with its own learning rate", function()
    nn.manual_seed(3)
    local model = Net(5)
    model:load_state_dict(nn.load(path), {keys = 'torch'})
    model.features:requires_grad_(false)
    model.classifier[4] = nn.Linear(16, 3)
    local mid, head = model.classifier[2], model.classifier[4]
    local before = snapshot({mid.weight, head.weight})
    local opt = nn.optim.SGD({{params = mid:parameters(), lr = 0.01}, {params = head:parameters(), lr = 0.5}})
    -- one epoch of one batch: p_new = p_old - lr * grad, the grad still held
    nn.fit(model, {train = train, batch_size = 96, epochs = 1, loss = nn.CrossEntropyLoss(), optimizer = opt,
                   verbose = 0})
    H.assert_close(mid.weight, before[1] - mid.weight.grad * 0.01, 1e-6)
    H.assert_close(head.weight, before[2] - head.weight.grad * 0.5, 1e-6)
  end)

  it("a model built with the new head's size does not load, strict or not: load, then replace", function()
    for _, strict in ipairs{true, false} do
      H.assert_error(function() Net(3):load_state_dict(nn.load(path), {keys = 'torch', strict = strict}) end,
                     "load_state_dict", "size mismatch for classifier.3.weight: [5,16] in the state dict, [3,16] in the model")
    end
  end)

  it("freezing the first k blocks leaves them bit-identical and trains the rest", function()
    nn.manual_seed(4)
    local model = Net(5)
    model:load_state_dict(nn.load(path), {keys = 'torch'})
    local k = 2
    for i = 1, k do model.features[i]:requires_grad_(false) end
    model.classifier[4] = nn.Linear(16, 3)
    local frozen, open = {}, model.features[3]:parameters()
    for i = 1, k do
      for _, p in ipairs(model.features[i]:parameters()) do frozen[#frozen + 1] = p end
    end
    local frozen_before, open_before = snapshot(frozen), snapshot(open)
    -- every parameter handed over, frozen ones included: they get no
    -- gradient, so even momentum and weight decay leave them alone
    local opt = nn.optim.SGD(model:parameters(), {lr = 0.05, momentum = 0.9, weight_decay = 1e-3})
    nn.fit(model, {train = train, batch_size = 32, epochs = 2, loss = nn.CrossEntropyLoss(), optimizer = opt,
                   verbose = 0})
    assert_unchanged(frozen, frozen_before, "frozen block")
    assert.is_true(changed(open, open_before))
  end)

  it("frozen BatchNorms still update their running statistics in training, as PyTorch's", function()
    local model = Net(5)
    model:load_state_dict(nn.load(path), {keys = 'torch'})
    model.features:requires_grad_(false)
    local bn = model.features[1][2]
    local mean = bn.running_mean:clone()
    model(nn.randn(8, 1, 8, 8))
    assert.is_false(H.equal(bn.running_mean, mean))
    -- eval mode on the features keeps them (the usual fix for small
    -- datasets); fit puts the model in training mode at each epoch, so a
    -- callback does it at each batch
    mean = bn.running_mean:clone()
    model.classifier[4] = nn.Linear(16, 3)
    local keep = nn.callbacks.LambdaCallback{on_batch_begin = function() model.features:eval() end}
    nn.fit(model, {train = train, batch_size = 32, epochs = 1, loss = nn.CrossEntropyLoss(), verbose = 0,
                   optimizer = nn.optim.SGD(model.classifier:parameters(), {lr = 0.1}), callbacks = {keep}})
    H.assert_values(bn.running_mean, mean)
    assert.is_true(model.classifier.training)
  end)
end)
