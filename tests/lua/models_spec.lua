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
    -- each layer keeps its initializer: a reset draws torchvision's values again
    local head = nn.models.mobilenet_v2{num_classes = 500}.classifier[2]
    nn.no_grad(function() head.weight:fill_(1); head.bias:fill_(1) end)
    head:reset_parameters()
    H.near(std(head.weight), 0.01, 2e-4)
    assert.are.equal(0, nn.abs(head.bias):max():item())
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

describe("nn.models.resnet18", function()
  local model

  setup(function()
    nn.manual_seed(2)
    model = nn.models.resnet18()
  end)

  it("has torchvision's children and BasicBlocks", function()
    assert.are.same({"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"},
                    child_names(model))
    for stage = 1, 4 do
      local layer = model["layer" .. stage]
      assert.are.same({"BasicBlock", "BasicBlock"}, class_names(layer:children()))
      local first = {"conv1", "bn1", "relu", "conv2", "bn2"}
      if stage > 1 then first[#first + 1] = "downsample" end
      assert.are.same(first, child_names(layer[1]))
      assert.are.same({"conv1", "bn1", "relu", "conv2", "bn2"}, child_names(layer[2]))
    end
    local down = model.layer3[1].downsample
    assert.are.same({"Conv2d", "BatchNorm2d"}, class_names(down:children()))
    assert.are.same({128, 256, 1, 2}, {down[1].in_channels, down[1].out_channels, down[1].kernel_size[1],
                                        down[1].stride[1]})
    assert.are.same({7, 2, 3}, {model.conv1.kernel_size[1], model.conv1.stride[1], model.conv1.padding[1]})
    assert.are.same({3, 2, 1}, {model.maxpool.kernel_size[1], model.maxpool.stride[1], model.maxpool.padding[1]})
  end)

  it("has torchvision's 11,689,512 parameters and 122 state-dict entries", function()
    assert.are.equal("11,689,512", summary_total(model, {1, 3, 64, 64}))
    assert.are.equal(122, #model:state_dict())
  end)

  it("is initialized as torchvision: kaiming_normal fan_out for convolutions, PyTorch's Linear", function()
    local w = model.layer4[2].conv2.weight -- [512, 512, 3, 3]
    H.near(std(w), math.sqrt(2 / (512 * 9)), 0.01 * math.sqrt(2 / (512 * 9)))
    local bound = 1 / math.sqrt(512)
    assert.is_true(model.fc.weight:max():item() <= bound and model.fc.weight:min():item() >= -bound)
    H.near(std(model.fc.weight), bound / math.sqrt(3), 0.01 * bound)
    assert.are.equal(1, model.layer1[1].bn2.weight:min():item())
    local zero = nn.models.resnet18{zero_init_residual = true}
    assert.are.equal(0, nn.abs(zero.layer3[2].bn2.weight):max():item())
    assert.are.equal(1, zero.layer3[2].bn1.weight:min():item())
    nn.no_grad(function() zero.layer3[2].bn2.weight:fill_(1) end)
    zero.layer3[2].bn2:reset_parameters()
    assert.are.equal(0, nn.abs(zero.layer3[2].bn2.weight):max():item())
  end)

  it("maps [N, 3, H, W] to [N, num_classes]", function()
    local m = nn.models.resnet18{num_classes = 4}
    assert.are.same({512, 4}, {m.fc.in_features, m.fc.out_features})
    local y = m(nn.randn(2, 3, 32, 32)) -- layer4 sees 1x1 images: its 3x3 taps read only padding
    H.assert_shape(y, {2, 4})
    y:sum():backward()
    H.assert_shape(m.layer4[2].conv2.weight.grad, {512, 512, 3, 3})
  end)

  it("checks its options", function()
    H.assert_error(function() nn.models.resnet18{num_classes = -3} end, "resnet18", "num_classes", "-3")
    H.assert_error(function() nn.models.resnet18{num_classes = "ten"} end, "resnet18", "num_classes", "'ten'")
    H.assert_error(function() nn.models.resnet18{zero_init_residual = 1} end, "resnet18", "zero_init_residual")
    H.assert_error(function() nn.models.resnet18{pretrained = true} end, "resnet18", "pretrained")
  end)
end)

-- ---- parity with torchvision (tests/fixtures/gen_models_fixtures.py) ----

local FIXTURES = (os.getenv("NNLUA_SOURCE_DIR") or ".") .. "/tests/fixtures/models/"
local REFERENCE = H.reference("models")

-- max|a - b| / max|b|: the issue's measure, per tensor.
local function rel_error(a, b)
  return nn.abs(a - b):max():item() / nn.abs(b):max():item()
end

local function assert_rel(a, b, what)
  H.assert_shape(a, b.shape)
  local e = rel_error(a, b)
  assert(e <= 1e-4, ("%s: max|a-b|/max|b| = %.3g, above 1e-4"):format(what, e))
end

-- The keys of m under PyTorch's names equal torchvision's, in order and
-- with the same shapes.
local function assert_torch_keys(m, ref)
  local got = {}
  for name, t in m:state_dict{keys = "torch"} do got[#got + 1] = {name, t.shape} end
  assert.are.same(ref.keys, got)
end

-- The generator's weights_formula and formula_input: exact float32 values
-- from the position of each entry, so no weights need storing. In place,
-- as VGG's largest weight is 0.4 GB.
local function sawtooth_(t, k)
  local coefs, shape = {31, 17, 5, 3}, t.shape
  t:zero_()
  for j, d in ipairs(shape) do
    local view = {}
    for i = 1, #shape do view[i] = i == j and d or 1 end
    t:add_(nn.arange(0, d):to("float32"):reshape(view) * coefs[j])
  end
  t:add_(13 * k):mul_(27 / 1024)
  return t:sub_(nn.floor(t))
end

local function weights_formula_(name, t, k)
  local frac, shape = sawtooth_(t, k), t.shape
  if #shape >= 2 then
    local fan_in = 1
    for i = 2, #shape do fan_in = fan_in * shape[i] end
    local scale = 2.0 ^ math.floor(math.log(4.9 / math.sqrt(fan_in), 2) + 0.5)
    return frac:sub_(0.5):mul_(scale)
  end
  if name:match("running_var$") then return frac:add_(0.5) end
  if name:match("weight$") then return frac:mul_(0.5):add_(0.75) end
  return frac:sub_(0.5):mul_(0.5)
end

local function set_formula_weights(m)
  local k = 0
  nn.no_grad(function()
    for name, t in m:state_dict{keys = "torch"} do
      if t.dtype == "float32" then weights_formula_(name, t, k) end
      k = k + 1
    end
  end)
end

-- Eval-mode output, then one train-mode forward: its output (when the
-- model has no dropout) and every BatchNorm buffer, against torchvision's.
local function assert_parity(m, expected, what)
  m:eval()
  assert_rel(nn.no_grad(m.forward, m, expected.input), expected.eval_output, what .. " eval output")
  m:train()
  local y = nn.no_grad(m.forward, m, expected.input)
  if expected.train_output then assert_rel(y, expected.train_output, what .. " train output") end
  local sd, buffers = m:state_dict{keys = "torch"}, 0
  for key, want in pairs(expected) do
    local name = key:match("^train%.(.*)$")
    if name then
      buffers = buffers + 1
      assert(sd[name], what .. ": no buffer " .. name)
      if want.dtype == "int64" then
        assert.are.equal(want:item(), sd[name]:item(), name)
      else
        assert_rel(sd[name], want, what .. " " .. name)
      end
    end
  end
  assert.are.equal(#m:buffers(), buffers, what .. ": the BatchNorm buffers compared")
end

local function formula_parity(m, name)
  set_formula_weights(m)
  local expected = nn.load(FIXTURES .. name .. "_expected.safetensors")
  expected.input = sawtooth_(nn.zeros(expected.input.shape), 1000):sub_(0.5):mul_(4)
  assert_parity(m, expected, name)
end

describe("nn.models against torchvision", function()
  it("mobilenet_v2{width_mult=0.25}: torchvision's state dict loads and gives its outputs", function()
    local m = nn.models.mobilenet_v2{width_mult = 0.25, num_classes = 10}
    assert_torch_keys(m, REFERENCE.mobilenet_v2_w025)
    assert.are.equal(REFERENCE.mobilenet_v2_w025.params, count_params(m))
    local result = m:load_state_dict(nn.load(FIXTURES .. "mobilenet_v2_w025.safetensors"), {keys = "torch"})
    assert.are.same({}, result.missing_keys)
    assert.are.same({}, result.unexpected_keys)
    assert.are.equal(5, m.features[1][2].num_batches_tracked:item())
    assert_parity(m, nn.load(FIXTURES .. "mobilenet_v2_w025_expected.safetensors"), "mobilenet_v2")
  end)

  it("resnet18: torchvision's keys, outputs and running statistics", function()
    local m = nn.models.resnet18()
    assert_torch_keys(m, REFERENCE.resnet18)
    formula_parity(m, "resnet18")
  end)
end)

-- VGG11 has 133M parameters (0.5 GB): each variant is built once, for all
-- its cases (structure and initialization first, then the parity, which
-- overwrites the weights).
local CONVS = {64, 128, 256, 256, 512, 512, 512, 512}

-- The classes of features and the out_channels of its convolutions.
local function features_of(m)
  local convs = {}
  for _, c in ipairs(m.features:children()) do
    if c.__name == "Conv2d" then convs[#convs + 1] = c.out_channels end
  end
  return class_names(m.features:children()), convs
end

describe("nn.models.vgg11", function()
  local m

  setup(function()
    nn.manual_seed(3)
    m = nn.models.vgg11()
  end)

  teardown(function()
    m = nil
    collectgarbage()
  end)

  it("has torchvision's children", function()
    assert.are.same({"features", "avgpool", "classifier"}, child_names(m))
    local classes, convs = features_of(m)
    assert.are.same({"Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Conv2d", "ReLU",
                     "MaxPool2d", "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Conv2d", "ReLU",
                     "MaxPool2d"}, classes)
    assert.are.same(CONVS, convs)
    assert.are.same({7, 7}, m.avgpool.output_size)
    assert.are.same({"Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"},
                    class_names(m.classifier:children()))
    assert.are.same({25088, 4096, 0.5}, {m.classifier[1].in_features, m.classifier[1].out_features,
                                         m.classifier[3].p})
  end)

  it("is initialized as torchvision: kaiming_normal fan_out, zero biases, Linear N(0, 0.01)", function()
    H.near(std(m.classifier[4].weight), 0.01, 1e-4)
    assert.are.equal(0, nn.abs(m.classifier[7].bias):max():item())
    H.near(std(m.features[4].weight), math.sqrt(2 / (128 * 9)), 0.02 * math.sqrt(2 / (128 * 9)))
    assert.are.equal(0, nn.abs(m.features[4].bias):max():item())
  end)

  it("has torchvision's 132,863,336 parameters and keys", function()
    assert.are.equal("132,863,336", summary_total(m, {1, 3, 32, 32}))
    assert.are.equal(REFERENCE.vgg11.params, 132863336)
    assert_torch_keys(m, REFERENCE.vgg11)
  end)

  it("gives torchvision's outputs", function()
    formula_parity(m, "vgg11")
  end)

  it("checks its options", function()
    H.assert_error(function() nn.models.vgg11{batch_norm = "yes"} end, "vgg11", "batch_norm")
    H.assert_error(function() nn.models.vgg11{num_classes = 0} end, "vgg11", "num_classes", "0")
    H.assert_error(function() nn.models.vgg11{dropout = -0.1} end, "vgg11", "dropout")
    H.assert_error(function() nn.models.vgg11{batchnorm = true} end, "vgg11", "batchnorm")
  end)
end)

describe("nn.models.vgg11{batch_norm=true}", function()
  local m

  setup(function()
    m = nn.models.vgg11{batch_norm = true, dropout = 0.3} -- dropout changes no output compared here
  end)

  teardown(function()
    m = nil
    collectgarbage()
  end)

  it("has a BatchNorm2d after each convolution, torchvision's 132,868,840 parameters and keys", function()
    local classes, convs = features_of(m)
    assert.are.same(CONVS, convs)
    assert.are.same({"Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"}, {table.unpack(classes, 1, 4)})
    assert.are.equal(29, #classes)
    assert.are.same({0.3, 0.3}, {m.classifier[3].p, m.classifier[6].p})
    assert.are.equal("132,868,840", summary_total(m, {1, 3, 32, 32}))
    assert_torch_keys(m, REFERENCE.vgg11_bn)
  end)

  it("gives torchvision's outputs and running statistics", function()
    formula_parity(m, "vgg11_bn")
  end)

end)
