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

describe("initializers by name (weight_init=, bias_init=)", function()
  it("glorot_uniform draws within +-sqrt(6/(fan_in+fan_out)) with variance 2/(fan_in+fan_out), zero bias", function()
    nn.manual_seed(31)
    local m = nn.Linear(400, 200, {weight_init = "glorot_uniform", bias_init = "zeros"})
    local limit = math.sqrt(6 / 600)
    assert.is_true(m.weight:abs():max():item() <= limit)
    assert.is_true(m.weight:abs():max():item() > 0.99 * limit)
    assert.is_near(2 / 600, m.weight:var():item(), 2 / 600 * 0.02)
    assert.is_near(0, m.weight:mean():item(), 1e-3)
    assert.are.equal(0, m.bias:abs():sum():item())
    -- reset_parameters draws again with the same initializers
    m:reset_parameters()
    assert.is_true(m.weight:abs():max():item() <= limit)
    assert.are.equal(0, m.bias:abs():sum():item())
  end)

  it("glorot_normal and he_normal are Keras's truncated normals", function()
    nn.manual_seed(32)
    local w = nn.Linear(300, 500, {weight_init = "glorot_normal"}).weight
    local std = math.sqrt(2 / 800)
    -- the draw is N(0, (std / 0.8796)^2) cut at 2 of its stddevs: its std is std
    assert.is_true(w:abs():max():item() <= 2 * std / 0.87962566103423978 * (1 + 1e-6))
    assert.is_near(std, w:std():item(), std * 0.02)
    local c = nn.Conv2d(32, 64, 3, {weight_init = "he_normal", bias_init = "ones"})
    local he = math.sqrt(2 / (32 * 9))
    assert.is_true(c.weight:abs():max():item() <= 2 * he / 0.87962566103423978 * (1 + 1e-6))
    assert.is_near(he, c.weight:std():item(), he * 0.03)
    H.assert_values(c.bias, nn.ones(64):totable())
  end)

  it("he_uniform equals kaiming_uniform's bound; PyTorch's names keep PyTorch's definitions", function()
    nn.manual_seed(33)
    local w = nn.Linear(150, 100, {weight_init = "he_uniform"}).weight
    assert.is_true(w:abs():max():item() <= math.sqrt(6 / 150))
    assert.is_near(2 / 150, w:var():item(), 2 / 150 * 0.03)
    local k = nn.Linear(150, 100, {weight_init = "kaiming_normal"}).weight -- N(0, 2/fan_in), not truncated
    assert.is_near(math.sqrt(2 / 150), k:std():item(), math.sqrt(2 / 150) * 0.03)
    assert.is_true(k:abs():max():item() > 2 * math.sqrt(2 / 150))
    local x = nn.Linear(150, 100, {weight_init = "xavier_normal"}).weight
    assert.is_near(math.sqrt(2 / 250), x:std():item(), math.sqrt(2 / 250) * 0.03)
    -- Keras's names on a 1-D bias take fan_in = fan_out = its size
    local b = nn.Linear(3, 600, {bias_init = "glorot_uniform"}).bias
    assert.is_true(b:abs():max():item() <= math.sqrt(6 / 1200))
    -- a function fills the tensor itself
    local l = nn.Linear(2, 2, {weight_init = function(t) nn.init.constant_(t, 0.5) end})
    H.assert_values(l.weight, {{0.5, 0.5}, {0.5, 0.5}})
    assert.are.equal(nn.init.get("zeros"), nn.init.get("zeros"))
  end)

  it("BatchNorm takes them for its affine weight and bias", function()
    local bn = nn.BatchNorm1d(4, {weight_init = "zeros", bias_init = "ones"})
    H.assert_values(bn.weight, {0, 0, 0, 0})
    H.assert_values(bn.bias, {1, 1, 1, 1})
    nn.no_grad(function() bn.weight:fill_(3) end)
    bn:reset_parameters()
    H.assert_values(bn.weight, {0, 0, 0, 0})
    H.assert_values(nn.BatchNorm2d(2).weight, {1, 1})
    H.assert_error(function() nn.BatchNorm2d(2, {weight_init = "one"}) end, "BatchNorm2d", "unknown weight_init 'one'")
  end)

  it("an unknown name is an error listing the known names", function()
    H.assert_error(function() nn.Linear(2, 3, {weight_init = "glorot"}) end, "Linear", "unknown weight_init 'glorot'",
                   "glorot_uniform", "he_normal", "kaiming_uniform", "xavier_normal", "zeros")
    H.assert_error(function() nn.Conv2d(1, 2, 3, {bias_init = "one"}) end, "Conv2d", "unknown bias_init 'one'", "ones")
    H.assert_error(function() nn.Linear(2, 3, {weight_init = 3}) end, "Linear", "weight_init", "number")
    H.assert_error(function() nn.init.get("nope") end, "init.get", "nope")
    -- PyTorch's fan-based names need a weight of 2 dims or more
    H.assert_error(function() nn.Linear(2, 3, {bias_init = "xavier_uniform"}) end, "xavier_uniform_", "[3]")
  end)

  it("orthogonal_ gives orthonormal rows or columns times gain", function()
    nn.manual_seed(34)
    local w = nn.init.orthogonal_(nn.empty(4, 9))
    H.assert_close(w:matmul(w:t()), nn.eye(4), 1e-5, "rows")
    local tall = nn.init.orthogonal_(nn.empty(8, 2, 1, 2), 2)
    local f = tall:view(8, 4)
    H.assert_close(f:t():matmul(f), nn.eye(4) * 4, 1e-5, "columns, gain 2")
    local q = nn.Linear(6, 6, {weight_init = "orthogonal"}).weight
    H.assert_close(q:matmul(q:t()), nn.eye(6), 1e-5, "square")
    H.assert_error(function() nn.init.orthogonal_(nn.empty(3)) end, "orthogonal_", "2 or more dims", "[3]")
    H.assert_error(function() nn.init.orthogonal_(nn.empty(3, 3), "x") end, "orthogonal_", "gain")
  end)
end)

describe("Unflatten and the new activation layers", function()
  it("Unflatten splits one dim, infers a -1, and keeps gradients", function()
    local x = nn.randn(2, 12):requires_grad_()
    local u = nn.Unflatten(2, {3, -1})
    H.assert_shape(u(x), {2, 3, 4})
    H.assert_shape(nn.Unflatten(-1, {2, 2, 3})(x), {2, 2, 2, 3})
    H.assert_shape(nn.Unflatten(1, {1, 2})(x), {1, 2, 12})
    u(x):sum():backward()
    H.assert_shape(x.grad, {2, 12})
    assert.are.equal("Unflatten(dim=2, unflattened_size={3, -1})", tostring(u))
    -- the inverse of Flatten in a decoder
    local m = nn.Sequential{nn.Flatten(), nn.Unflatten(2, {3, 2, 2})}
    H.assert_shape(m(nn.zeros(5, 3, 2, 2)), {5, 3, 2, 2})
  end)

  it("Unflatten checks its sizes", function()
    H.assert_error(function() nn.Unflatten(2, {3, 5})(nn.zeros(2, 12)) end, "Unflatten", "{3, 5}", "product 15",
                   "size 12", "[2,12]")
    H.assert_error(function() nn.Unflatten(2, {5, -1})(nn.zeros(2, 12)) end, "Unflatten", "{5, -1}", "size 12")
    H.assert_error(function() nn.Unflatten(3, {2, 6})(nn.zeros(2, 12)) end, "Unflatten", "dim 3", "[2,12]")
    H.assert_error(function() nn.Unflatten(2, {0, 12}) end, "Unflatten", "positive", "0 at position 1")
    H.assert_error(function() nn.Unflatten(2, {-1, -1}) end, "Unflatten", "position 2")
    H.assert_error(function() nn.Unflatten(2, {2.5, 2}) end, "Unflatten", "2.5")
    H.assert_error(function() nn.Unflatten(2, {}) end, "Unflatten", "non-empty list")
    H.assert_error(function() nn.Unflatten(2, 6) end, "Unflatten", "sizes", "6")
    H.assert_error(function() nn.Unflatten(0, {2, 6}) end, "Unflatten", "dim", "0")
    H.assert_error(function() nn.Unflatten(2, {2, 6})({}) end, "Unflatten", "tensor")
  end)

  it("print as PyTorch", function()
    assert.are.equal("ReLU6()", tostring(nn.ReLU6()))
    assert.are.equal("Hardtanh(min_val=-1.0, max_val=1.0)", tostring(nn.Hardtanh()))
    assert.are.equal("Hardtanh(min_val=0.0, max_val=2.5)", tostring(nn.Hardtanh{min_val = 0, max_val = 2.5}))
    assert.are.equal("GELU(approximate='none')", tostring(nn.GELU()))
    assert.are.equal("GELU(approximate='tanh')", tostring(nn.GELU('tanh')))
    assert.are.equal("SiLU()", tostring(nn.SiLU()))
    assert.are.equal("Softplus(beta=1.0, threshold=20.0)", tostring(nn.Softplus()))
    assert.are.equal("Softplus(beta=2.0, threshold=5.0)", tostring(nn.Softplus(2, 5)))
  end)

  it("check their arguments", function()
    H.assert_error(function() nn.Hardtanh(1, -1) end, "Hardtanh", "max_val -1", "min_val 1")
    H.assert_error(function() nn.Hardtanh{min = 0} end, "Hardtanh", "min")
    H.assert_error(function() nn.GELU{approximate = "exact"} end, "GELU", "approximate", "exact")
    H.assert_error(function() nn.GELU{aprox = "tanh"} end, "GELU", "aprox")
    H.assert_error(function() nn.Softplus(0) end, "Softplus", "beta")
    H.assert_error(function() nn.Softplus{beta = 1, treshold = 3} end, "Softplus", "treshold")
  end)
end)
