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
