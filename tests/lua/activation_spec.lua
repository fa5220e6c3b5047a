-- Activations: leaky_relu, elu, softmax, log_softmax as functions and
-- methods — PyTorch reference values and gradients
-- (tests/fixtures/loss/reference.lua), gradchecks, dims, strided and int64
-- inputs, extreme values, graph memory and error messages.
local nn = require "nn"
local H = require "helpers"

local REF = H.reference("loss")

local assert_close = H.assert_flat_close

local ACTIVATIONS = {leaky_relu = true, elu = true, softmax = true, log_softmax = true}

describe("PyTorch reference values", function()
  for _, c in ipairs(REF.cases) do
    if ACTIVATIONS[c.fn] then
      it(("%s(%s)"):format(c.fn, c.args), function() H.run_fixture_case(REF, c) end)
    end
  end
end)

describe("gradcheck", function()
  nn.manual_seed(3)
  -- Values away from the kink at 0 (further than gradcheck's eps).
  local x = (nn.randn(3, 4):sign() * (nn.rand(3, 4) + 0.1)):requires_grad_()
  local x3 = nn.randn(2, 3, 4):requires_grad_()
  local cases = {
    leaky_relu = function(a) return nn.leaky_relu(a) end,
    leaky_relu_slope = function(a) return a:leaky_relu(0.3) end,
    leaky_relu_negative_slope = function(a) return nn.leaky_relu(a, -0.5) end,
    elu = function(a) return nn.elu(a) end,
    elu_alpha = function(a) return a:elu(0.4) end,
    softmax = function(a) return nn.softmax(a) end,
    softmax_dim1 = function(a) return a:softmax(1) end,
    log_softmax = function(a) return nn.log_softmax(a, -1) end,
    log_softmax_dim1 = function(a) return a:log_softmax(1) end,
    softmax_transposed = function(a) return a:t():softmax(2) end,
    leaky_relu_transposed = function(a) return a:t():leaky_relu(0.2) end,
  }
  for name, f in pairs(cases) do
    it(name, function() assert.is_true(nn.gradcheck(f, {x})) end)
  end
  for _, dim in ipairs({1, 2, 3, -2}) do
    it("softmax and log_softmax along dim " .. dim, function()
      assert.is_true(nn.gradcheck(function(a) return nn.softmax(a, dim) * nn.arange(24):view(2, 3, 4) end, {x3}))
      assert.is_true(nn.gradcheck(function(a) return nn.log_softmax(a, dim) end, {x3}))
    end)
  end
end)

describe("values", function()
  it("leaky_relu and elu default to slope 0.01 and alpha 1, as PyTorch", function()
    local x = nn.tensor({-2, 0, 3})
    assert_close(nn.leaky_relu(x), {-0.02, 0, 3}, 1e-7)
    assert_close(x:elu(), {math.exp(-2) - 1, 0, 3}, 1e-7)
    assert_close(x:leaky_relu(0.5), {-1, 0, 3}, 1e-7)
  end)

  it("softmax rows sum to 1 along the chosen dim, on strided input", function()
    local x = nn.randn(4, 6):t() -- [6, 4], not contiguous
    local s = x:softmax(1)
    assert.are.same({6, 4}, s.shape)
    assert_close(s:sum(1), {1, 1, 1, 1}, 1e-6)
    assert_close(nn.log_softmax(x, 1), H.flat(s:log()), 1e-5)
    assert_close(nn.softmax(x), H.flat(nn.softmax(x, 2)), 0)
  end)

  it("converts int64 input to float32", function()
    local s = nn.softmax(nn.tensor({1, 2, 3}, "int64"))
    assert.are.equal("float32", s.dtype)
    assert_close(s, H.flat(nn.softmax(nn.tensor({1, 2, 3}))), 0)
    assert.are.equal("float32", nn.leaky_relu(nn.tensor({-1, 2}, "int64")).dtype)
  end)

  it("keeps log_softmax finite and exact for logits of +-1000", function()
    local y = nn.log_softmax(nn.tensor({1000, -1000, 0}))
    assert_close(y, {0, -2000, -1000}, 1e-6)
    assert_close(nn.softmax(nn.tensor({1000, -1000, 0})), {1, 0, 0}, 0)
  end)

  it("handles a 0-dim tensor and empty rows", function()
    assert.are.equal(1, nn.softmax(nn.tensor(5)):item())
    assert.are.equal(0, nn.log_softmax(nn.tensor(5), 1):item())
    assert.are.same({0, 3}, nn.softmax(nn.zeros(0, 3)).shape)
  end)
end)

describe("graphs", function()
  it("record under grad mode and name their op", function()
    local x = nn.randn(2, 3):requires_grad_()
    assert.are.equal("softmax", x:softmax().grad_fn)
    assert.are.equal("log_softmax", x:log_softmax().grad_fn)
    assert.are.equal("leaky_relu", x:leaky_relu().grad_fn)
    assert.are.equal("elu", nn.elu(x).grad_fn)
    assert.is_false(nn.no_grad(function() return x:softmax() end).requires_grad)
  end)

  it("free a softmax graph that is never backpropagated (no reference cycle)", function()
    local x = nn.randn(256, 256):requires_grad_()
    collectgarbage()
    collectgarbage()
    local before = nn.memory_stats().live_bytes
    for _ = 1, 20 do local _ = x:softmax() + x:log_softmax() end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, nn.memory_stats().live_bytes)
  end)
end)

describe("errors", function()
  it("name the function and the bad argument", function()
    H.assert_error(function() nn.softmax(nn.zeros(2, 3), 3) end, "softmax:", "dim 3", "2-D")
    H.assert_error(function() nn.log_softmax(nn.zeros(2, 3), 0) end, "log_softmax:", "dim 0")
    H.assert_error(function() nn.leaky_relu(nn.zeros(2), "x") end, "leaky_relu:", "negative_slope", "string")
    H.assert_error(function() nn.elu({1, 2}) end, "elu:", "tensor", "table")
  end)
end)

-- ReLU6, hardtanh, GELU (erf and tanh forms), SiLU, softplus: the C ops
-- on a strided (transposed) input against PyTorch
-- (tests/fixtures/module/reference.lua, `functions`; the layer classes are
-- checked in layers_spec.lua), gradchecks and errors.
describe("ReLU6, hardtanh, GELU, SiLU, softplus", function()
  local MREF = H.reference("module")
  for _, c in ipairs(MREF.functions) do
    it(c.name .. " on a strided input matches PyTorch", function()
      local x = H.from_spec(c.input):t():requires_grad_()
      assert.is_false(x:is_contiguous())
      local f = assert(load("local nn, x = ...; return " .. c.expr, "=" .. c.name))
      local out = f(nn, x)
      H.assert_close(out, H.from_spec(c.out), 1e-5, "output")
      ;(out * H.from_spec(c.grad_out)):sum():backward()
      H.assert_close(x.grad, H.from_spec(c.grad_input), 1e-5, "input gradient")
      -- the contiguous input gives the same values
      H.assert_close(f(nn, x:detach():contiguous()), H.from_spec(c.out), 1e-5, "contiguous output")
    end)
  end

  -- Values away from the kinks of hardtanh/relu6 (gradcheck's eps is 1e-3).
  local x = nn.tensor({{-2.9, -1.7, -0.8, -0.2}, {0.3, 1.1, 2.2, 2.9},
                       {3.6, 4.7, 5.5, 6.8}}):requires_grad_()
  local cases = {
    relu6 = function(a) return nn.relu6(a) end,
    hardtanh = function(a) return a:hardtanh(-1.5, 2.5) end,
    gelu = function(a) return nn.gelu(a) end,
    gelu_tanh = function(a) return a:gelu{approximate = "tanh"} end,
    silu = function(a) return nn.silu(a) end,
    softplus = function(a) return nn.softplus(a) end,
    softplus_beta = function(a) return a:softplus(3, 4) end,
    gelu_transposed = function(a) return a:t():gelu() end,
  }
  for name, f in pairs(cases) do
    it("gradcheck " .. name, function() assert.is_true(nn.gradcheck(f, {x})) end)
  end

  it("keep PyTorch's defaults and edge values", function()
    local v = nn.tensor({-2, -1, 0, 1, 6, 7, 30})
    assert_close(nn.relu6(v), {0, 0, 0, 1, 6, 6, 6}, 0)
    assert_close(nn.hardtanh(v), {-1, -1, 0, 1, 1, 1, 1}, 0)
    assert_close(nn.softplus(nn.tensor({0, 21})), {math.log(2), 21}, 1e-7)
    assert_close(nn.gelu(nn.tensor({0, 30, -30})), {0, 30, 0}, 0)
    assert.are.equal("float32", nn.silu(nn.tensor({-1, 2}, "int64")).dtype)
    local r = nn.tensor({0, 6}):requires_grad_()
    nn.relu6(r):sum():backward()
    assert_close(r.grad, {0, 0}, 0) -- 0 at the bounds, as PyTorch
  end)

  it("pass the gradient of NaN and of the inside, in the vectorized and the strided loop", function()
    local v = nn.cat({nn.tensor({0 / 0, -1, 0, 0.5, 6, 7}), nn.tensor({0 / 0, -1, 0, 0.5, 6, 7}),
                      nn.tensor({0 / 0, -1, 0, 0.5, 6, 7})}):requires_grad_() -- 18 values: full vectors
    nn.relu6(v):backward(nn.full({18}, 2))
    assert_close(v.grad, {2, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0}, 0)
    local t = nn.tensor({{0 / 0, 3}, {-2, 6}}):requires_grad_()
    nn.relu6(t:t()):sum():backward()
    assert_close(t.grad, {1, 1, 0, 0}, 0) -- as PyTorch: NaN passes, bounds do not
  end)

  it("record their op names", function()
    local a = nn.randn(2, 3):requires_grad_()
    assert.are.equal("hardtanh", nn.relu6(a).grad_fn)
    assert.are.equal("hardtanh", a:hardtanh().grad_fn)
    assert.are.equal("gelu", a:gelu().grad_fn)
    assert.are.equal("silu", a:silu().grad_fn)
    assert.are.equal("softplus", a:softplus().grad_fn)
  end)

  it("check their arguments", function()
    H.assert_error(function() nn.hardtanh(nn.zeros(2), 2, 1) end, "hardtanh:", "min_val 2", "max_val 1")
    H.assert_error(function() nn.hardtanh(nn.zeros(2), 3) end, "hardtanh:", "min_val 3", "max_val 1")
    H.assert_error(function() nn.hardtanh(nn.zeros(2), "a") end, "hardtanh:", "min_val", "string")
    H.assert_error(function() nn.gelu(nn.zeros(2), {approximate = "erf"}) end, "gelu:", "approximate", "erf")
    H.assert_error(function() nn.gelu(nn.zeros(2), {aproximate = "tanh"}) end, "gelu:", "unknown option 'aproximate'")
    H.assert_error(function() nn.softplus(nn.zeros(2), 0) end, "softplus:", "beta")
    H.assert_error(function() nn.softplus(nn.zeros(2), 1, "x") end, "softplus:", "threshold")
    H.assert_error(function() nn.silu({1}) end, "silu:", "tensor")
    H.assert_error(function() nn.relu6("x") end, "relu6:", "tensor")
  end)
end)
