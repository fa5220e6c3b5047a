-- Layer classes: outputs and gradients against PyTorch
-- (tests/fixtures/module/reference.lua, from gen_module_fixtures.py),
-- printing and the error messages of constructors and forwards. Dropout's
-- modes: dropout_spec.lua; BatchNorm's running statistics: norm_spec.lua;
-- nn.linear: linear_spec.lua; loss modules: loss_spec.lua; default
-- initializations and nn.init: initializers_spec.lua.
local nn = require "nn"
local H = require "helpers"

local ref = H.reference("module")

-- Runs a fixture's `make` chunk (Lua source returning a module).
local function make(case)
  return assert(load(case.make, "=" .. case.name))()
end

-- float32 results: relative 1e-4 of PyTorch's.
local TOL = 1e-4

describe("layers match PyTorch", function()
  for _, case in ipairs(ref.layers) do
    it(case.name, function()
      local m = make(case)
      local state = {}
      for k, s in pairs(case.state) do state[k] = H.from_spec(s) end
      m:load_state_dict(state) -- strict: the names are PyTorch's (1-based)
      m:train(case.train)
      local x = H.from_spec(case.input):requires_grad_()
      local out = m(x)
      H.assert_close(out, H.from_spec(case.out), TOL, "output")
      ;(out * H.from_spec(case.grad_out)):sum():backward()
      H.assert_close(x.grad, H.from_spec(case.grad_input), TOL, "input gradient")
      local params, n = m:named_parameters(), 0
      for name, g in pairs(case.grads) do
        n = n + 1
        assert(params[name], "no parameter " .. name)
        H.assert_close(params[name].grad, H.from_spec(g), TOL, name .. " gradient")
      end
      assert.are.equal(n, #params)
      local after = m:state_dict()
      for name, s in pairs(case.state_after) do
        H.assert_close(after[name], H.from_spec(s), TOL, name)
      end
    end)
  end
end)

describe("printing", function()
  local cases = {
    {nn.Linear(784, 256), "Linear(in_features=784, out_features=256, bias=true)"},
    {nn.Linear(2, 3, {bias = false}), "Linear(in_features=2, out_features=3, bias=false)"},
    {nn.Conv2d(1, 32, 3, {padding = 1}), "Conv2d(1, 32, kernel_size={3, 3}, stride={1, 1}, padding={1, 1})"},
    {nn.Conv2d(3, 8, {5, 3}, {stride = 2, dilation = 2, bias = false}),
     "Conv2d(3, 8, kernel_size={5, 3}, stride={2, 2}, dilation={2, 2}, bias=false)"},
    {nn.Conv2d(1, 4, 3, {padding = "same"}), "Conv2d(1, 4, kernel_size={3, 3}, stride={1, 1}, padding='same')"},
    {nn.MaxPool2d(2), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false)"},
    {nn.AvgPool2d({2, 3}, {stride = 1}), "AvgPool2d(kernel_size={2, 3}, stride=1, padding=0)"},
    {nn.ReLU(), "ReLU()"},
    {nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"},
    {nn.ELU(), "ELU(alpha=1.0)"},
    {nn.Sigmoid(), "Sigmoid()"},
    {nn.Tanh(), "Tanh()"},
    {nn.Softmax(), "Softmax(dim=-1)"},
    {nn.LogSoftmax(2), "LogSoftmax(dim=2)"},
    {nn.Identity(), "Identity()"},
    {nn.Flatten(), "Flatten(start_dim=2, end_dim=-1)"},
    {nn.Dropout(), "Dropout(p=0.5)"},
    {nn.Dropout(0.2, {mode = "classic"}), "Dropout(p=0.2, mode='classic')"},
    {nn.BatchNorm1d(16), "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)"},
    {nn.BatchNorm2d(8, {momentum = false, affine = false}),
     "BatchNorm2d(8, eps=1e-05, momentum=false, affine=false, track_running_stats=true)"},
    {nn.CrossEntropyLoss(), "CrossEntropyLoss()"},
    {nn.CrossEntropyLoss{label_smoothing = 0.1}, "CrossEntropyLoss(label_smoothing=0.1)"},
    {nn.KLDivLoss{reduction = "batchmean"}, "KLDivLoss(reduction='batchmean')"},
  }
  for _, c in ipairs(cases) do
    it(c[2], function() assert.are.equal(c[2], tostring(c[1])) end)
  end
end)

describe("errors", function()
  it("Linear names the feature counts", function()
    local m = nn.Linear(784, 10)
    H.assert_error(function() m(nn.zeros(2, 783)) end, "Linear", "783", "784")
    H.assert_error(function() m(nn.tensor(1)) end, "Linear", "0-dim")
    H.assert_error(function() m({1, 2}) end, "Linear", "tensor")
  end)

  it("Conv2d names the expected layout and channels", function()
    local m = nn.Conv2d(1, 4, 3)
    H.assert_error(function() m(nn.zeros(28, 28)) end, "Conv2d", "4-D", "[28,28]")
    H.assert_error(function() m(nn.zeros(2, 3, 8, 8)) end, "Conv2d", "3 channels", "expected 1")
  end)

  it("pools and BatchNorm name the expected layout", function()
    H.assert_error(function() nn.MaxPool2d(2)(nn.zeros(4, 4)) end, "MaxPool2d", "[4,4]")
    H.assert_error(function() nn.AvgPool2d(2)(nn.zeros(4)) end, "AvgPool2d", "[4]")
    H.assert_error(function() nn.BatchNorm2d(3)(nn.zeros(4, 3)) end, "BatchNorm2d", "4-D", "[4,3]")
    H.assert_error(function() nn.BatchNorm1d(3)(nn.zeros(4, 5)) end, "BatchNorm1d", "5", "expected 3")
  end)

  it("constructors check their arguments", function()
    H.assert_error(function() nn.Linear(-1, 3) end, "Linear", "in_features", "-1")
    H.assert_error(function() nn.Linear(3, 2.5) end, "Linear", "out_features", "2.5")
    H.assert_error(function() nn.Linear(3, 2, {bais = false}) end, "Linear", "bais")
    H.assert_error(function() nn.Linear(3, 2, {bias = "no"}) end, "Linear", "bias")
    H.assert_error(function() nn.Conv2d(1, 2, 0) end, "Conv2d", "kernel_size", "0")
    H.assert_error(function() nn.Conv2d(1, 2, {3, 3, 3}) end, "Conv2d", "kernel_size", "3 values")
    H.assert_error(function() nn.Conv2d(1, 2, 3, {padding = -1}) end, "Conv2d", "padding", "-1")
    H.assert_error(function() nn.Conv2d(1, 2, 3, {padding = "full"}) end, "Conv2d", "full")
    H.assert_error(function() nn.Conv2d(1, 2, 3, {padding = "same", stride = 2}) end, "Conv2d", "same", "stride")
    H.assert_error(function() nn.MaxPool2d(2, {stride = 0}) end, "MaxPool2d", "stride", "0")
    H.assert_error(function() nn.Dropout(1.5) end, "Dropout", "p", "1.5")
    H.assert_error(function() nn.Dropout(0.5, {mode = "gaussian"}) end, "Dropout", "gaussian")
    H.assert_error(function() nn.Softmax(0) end, "Softmax", "dim", "0")
    H.assert_error(function() nn.Flatten(1.5) end, "Flatten", "1.5")
    H.assert_error(function() nn.BatchNorm1d(0) end, "BatchNorm1d", "num_features", "0")
    H.assert_error(function() nn.BatchNorm1d(4, {eps = "small"}) end, "BatchNorm1d", "eps")
    H.assert_error(function() nn.LeakyReLU("x") end, "LeakyReLU", "negative_slope")
  end)
end)

describe("gradcheck through layers", function()
  it("Linear", function()
    nn.manual_seed(20)
    local m = nn.Linear(3, 2)
    assert.is_true(nn.gradcheck(function(x) return m(x) end, {nn.randn(4, 3):requires_grad_()}))
  end)

  it("a small Sequential with BatchNorm in training", function()
    nn.manual_seed(21)
    local m = nn.Sequential{nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2)}
    -- The running statistics change on every call; the output does not
    -- depend on them in training, so the check is exact.
    assert.is_true(nn.gradcheck(function(x) return m(x) end, {nn.randn(5, 3):requires_grad_()}))
  end)
end)
