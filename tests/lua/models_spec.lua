-- nn.models: the architectures child for child (names, counts), their
-- initialization, their option checks, and (with the fixtures of
-- tests/fixtures/gen_models_fixtures.py) their outputs against torchvision.
local nn = require "nn"
local H = require "helpers"

-- The names of m's direct children, in order.
local function child_names(m)
  local names = {}
  for name in m:named_children() do names[#names + 1] = tostring(name) end
  return names
end

local function class_names(list)
  local names = {}
  for i, m in ipairs(list) do names[i] = m.__name end
  return names
end

local function count_params(m)
  local n = 0
  for _, p in ipairs(m:parameters()) do n = n + p:numel() end
  return n
end

-- summary()'s "Total params" line for an input of the given shape.
local function summary_total(m, shape)
  return m:summary(shape, {print = false}):match("Total params: ([%d,]+)")
end

-- The sample standard deviation of t's values.
local function std(t)
  return math.sqrt(nn.var(t:reshape(-1)):item())
end

describe("nn.models.lenet5", function()
  it("is LeNet-5 with 61,706 parameters and a 10-class head", function()
    local m = nn.models.lenet5()
    assert.are.same({"features", "classifier"}, child_names(m))
    assert.are.same({"Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d"}, class_names(m.features:children()))
    assert.are.same({"Linear", "ReLU", "Linear", "ReLU", "Linear"}, class_names(m.classifier:children()))
    assert.are.same({2, 2}, m.features[1].padding)
    assert.are.equal("61,706", summary_total(m, {1, 1, 28, 28}))
    H.assert_shape(m(nn.randn(3, 1, 28, 28)), {3, 10})
  end)

  it("takes num_classes", function()
    local m = nn.models.lenet5{num_classes = 3}
    assert.are.equal(3, m.classifier[5].out_features)
    assert.are.equal(61706 - 84 * 7 - 7, count_params(m))
  end)

  it("checks its options and input", function()
    H.assert_error(function() nn.models.lenet5{num_clases = 3} end, "lenet5", "num_clases")
    H.assert_error(function() nn.models.lenet5{num_classes = 0} end, "lenet5", "num_classes", "positive integer", "0")
    H.assert_error(function() nn.models.lenet5{num_classes = 2.5} end, "lenet5", "num_classes", "2.5")
    H.assert_error(function() nn.models.lenet5(10) end, "lenet5", "options must be a table")
    H.assert_error(function() nn.models.lenet5()(nn.zeros(2, 1, 32, 32)) end, "LeNet5", "[N, 1, 28, 28]", "[2,1,32,32]")
  end)
end)

describe("nn.models.mlp", function()
  it("stacks Linear, activation and Dropout, with raw scores at the end", function()
    local m = nn.models.mlp{sizes = {784, 256, 128, 10}, dropout = 0.25}
    assert.are.equal("MLP", m.__name)
    assert.are.same({"Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"}, class_names(m:children()))
    assert.are.equal(0.25, m[3].p)
    assert.are.same({784, 256}, {m[1].in_features, m[1].out_features})
    assert.are.same({128, 10}, {m[7].in_features, m[7].out_features})
    assert.are.equal(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, count_params(m))
    H.assert_shape(m(nn.randn(5, 784)), {5, 10})
  end)

  it("has no Dropout by default and takes the activation by name", function()
    assert.are.same({"Linear", "ReLU", "Linear"}, class_names(nn.models.mlp{sizes = {4, 8, 2}}:children()))
    assert.are.same({"Linear", "Tanh", "Linear", "Tanh", "Linear"},
                    class_names(nn.models.mlp{sizes = {4, 8, 8, 2}, activation = "tanh"}:children()))
    assert.are.same({"Linear"}, class_names(nn.models.mlp{sizes = {4, 2}, activation = "gelu"}:children()))
    local m = nn.models.mlp{sizes = {3, 5, 1}, activation = "leaky_relu"}
    assert.are.equal("LeakyReLU", m[2].__name)
  end)

  it("checks its options", function()
    H.assert_error(function() nn.models.mlp() end, "mlp", "sizes is required")
    H.assert_error(function() nn.models.mlp{sizes = {10}} end, "mlp", "at least two", "1 values")
    H.assert_error(function() nn.models.mlp{sizes = 10} end, "mlp", "sizes", "10")
    H.assert_error(function() nn.models.mlp{sizes = {10, 0, 2}} end, "mlp", "sizes[2]", "positive integer", "0")
    H.assert_error(function() nn.models.mlp{sizes = {10, 2}, activation = "relu7"} end, "mlp", "activation",
                   "'relu'", "'relu7'")
    H.assert_error(function() nn.models.mlp{sizes = {10, 2}, dropout = 1.5} end, "mlp", "dropout", "1.5")
    H.assert_error(function() nn.models.mlp{sizes = {10, 2}, dropout = 1} end, "mlp", "dropout", "below 1")
    H.assert_error(function() nn.models.mlp{sizes = {10, 2}, hidden = 3} end, "mlp", "hidden")
  end)
end)

describe("nn.models.mobilenet_v2", function()
  local model -- the default model, built once

  setup(function()
    nn.manual_seed(1)
    model = nn.models.mobilenet_v2()
  end)

  it("has torchvision's children: 19 feature blocks, then Dropout and Linear", function()
    assert.are.same({"features", "classifier"}, child_names(model))
    assert.are.equal(19, #model.features)
    local blocks = class_names(model.features:children())
    assert.are.equal("Conv2dNormActivation", blocks[1])
    assert.are.equal("Conv2dNormActivation", blocks[19])
    for i = 2, 18 do assert.are.equal("InvertedResidual", blocks[i]) end
    assert.are.same({"Conv2d", "BatchNorm2d", "ReLU6"}, class_names(model.features[1]:children()))
    -- the first block has no expansion; the others expand 6 times
    assert.are.same({"Conv2dNormActivation", "Conv2d", "BatchNorm2d"}, class_names(model.features[2].conv:children()))
    assert.are.same({"Conv2dNormActivation", "Conv2dNormActivation", "Conv2d", "BatchNorm2d"},
                    class_names(model.features[3].conv:children()))
    local dw = model.features[3].conv[2][1]
    assert.are.same({96, 96, 2}, {dw.groups, dw.out_channels, dw.stride[1]})
    assert.are.same({"Dropout", "Linear"}, class_names(model.classifier:children()))
    assert.are.equal(0.2, model.classifier[1].p)
    assert.are.same({1280, 1000}, {model.classifier[2].in_features, model.classifier[2].out_features})
    -- skip connections where the block keeps the shape
    local res = {}
    for i = 2, 18 do res[#res + 1] = model.features[i].use_res_connect and 1 or 0 end
    assert.are.same({0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0}, res)
  end)

  it("has torchvision's 3,504,872 parameters and 314 state-dict entries", function()
    assert.are.equal("3,504,872", summary_total(model, {1, 3, 32, 32}))
    assert.are.equal(314, #model:state_dict())
  end)

  it("is initialized as torchvision: kaiming_normal fan_out, BatchNorm 1 and 0, Linear N(0, 0.01)", function()
    local conv = model.features[19][1].weight -- [1280, 320, 1, 1]: fan_out 1280
    H.near(std(conv), math.sqrt(2 / 1280), 0.02 * math.sqrt(2 / 1280))
    local dw = model.features[18].conv[2][1].weight -- [960, 1, 3, 3]: fan_out 960 * 9
    H.near(std(dw), math.sqrt(2 / (960 * 9)), 0.05 * math.sqrt(2 / (960 * 9)))
    H.near(std(model.classifier[2].weight), 0.01, 2e-4)
    assert.are.equal(0, nn.abs(model.classifier[2].bias):max():item())
    local bn = model.features[5].conv[1][2]
    assert.are.same({1, 1, 0, 0}, {bn.weight:min():item(), bn.weight:max():item(), bn.bias:min():item(),
                                   bn.bias:max():item()})
  end)

  it("maps [N, 3, H, W] to [N, num_classes], width_mult scaling the channels", function()
    local m = nn.models.mobilenet_v2{num_classes = 7, width_mult = 0.35}
    H.assert_shape(m(nn.randn(2, 3, 32, 32)), {2, 7})
    assert.are.equal(16, m.features[1][1].out_channels) -- 32 * 0.35 rounded to a multiple of 8
    assert.are.equal(1280, m.classifier[2].in_features)
    local wide = nn.models.mobilenet_v2{num_classes = 2, width_mult = 1.4, dropout = 0}
    assert.are.equal(1792, wide.classifier[2].in_features)
    assert.are.equal(0, wide.classifier[1].p)
  end)

  it("checks its options", function()
    local f = nn.models.mobilenet_v2
    H.assert_error(function() f{width_mult = 0} end, "mobilenet_v2", "width_mult", "positive", "0")
    H.assert_error(function() f{width_mult = -0.5} end, "mobilenet_v2", "width_mult", "-0.5")
    H.assert_error(function() f{width_mult = "wide"} end, "mobilenet_v2", "width_mult", "'wide'")
    H.assert_error(function() f{num_classes = 0} end, "mobilenet_v2", "num_classes", "positive integer")
    H.assert_error(function() f{num_classes = 1.5} end, "mobilenet_v2", "num_classes", "1.5")
    H.assert_error(function() f{dropout = 2} end, "mobilenet_v2", "dropout", "2")
    H.assert_error(function() f{width = 1} end, "mobilenet_v2", "width")
  end)
end)
