-- Pooling: nn.max_pool2d, nn.avg_pool2d — window values, PyTorch's output
-- sizes and options, gradcheck of every option, PyTorch reference values
-- for the forward and the gradient (tests/fixtures/conv/reference.lua),
-- autograd bookkeeping, and errors.
local nn = require "nn"
local H = require "helpers"

-- Lua source of an argument list -> its values.
local function args_of(src)
  return load("return " .. src)()
end

-- Distinct values far apart compared to gradcheck's eps, so a max's
-- winner never changes under the perturbation.
local function distinct(...)
  local shape = {...}
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return (nn.randperm(n):to("float32") * 0.05):reshape(shape)
end

describe("pooling", function()
  it("max_pool2d takes each window's maximum", function()
    local x = nn.tensor({1, 5, 2, 0, 3, 4, 9, 8, 7, 6, 1, 1, 2, 2, 3, 1}):view(1, 1, 4, 4)
    H.assert_values(nn.max_pool2d(x, 2), nn.tensor({5, 9, 7, 3}):view(1, 1, 2, 2))
    H.assert_values(nn.max_pool2d(x, 3, {stride = 1}), nn.tensor({9, 9, 9, 9}):view(1, 1, 2, 2))
    H.assert_values(nn.max_pool2d(x, {1, 2}, {stride = {3, 1}}),
                    nn.tensor({5, 5, 2, 2, 3, 3}):view(1, 1, 2, 3))
  end)

  it("avg_pool2d averages each window", function()
    local x = nn.arange(16):to("float32"):view(1, 1, 4, 4)
    H.assert_values(nn.avg_pool2d(x, 2), nn.tensor({2.5, 4.5, 10.5, 12.5}):view(1, 1, 2, 2))
    -- padded corner: 4 cells over 9 (count_include_pad) or over 4
    local y = nn.avg_pool2d(x, 3, {stride = 2, padding = 1})
    H.assert_close(y[1][1][1][1], (0 + 1 + 4 + 5) / 9, 1e-6)
    local z = nn.avg_pool2d(x, 3, {stride = 2, padding = 1, count_include_pad = false})
    H.assert_close(z[1][1][1][1], (0 + 1 + 4 + 5) / 4, 1e-6)
  end)

  it("follows PyTorch's output sizes, ceil_mode included", function()
    local x = nn.randn(2, 3, 7, 9)
    H.assert_shape(nn.max_pool2d(x, 2), {2, 3, 3, 4})
    H.assert_shape(nn.max_pool2d(x, 2, {ceil_mode = true}), {2, 3, 4, 5})
    H.assert_shape(nn.max_pool2d(x, 3, {stride = 2, padding = 1}), {2, 3, 4, 5})
    H.assert_shape(nn.max_pool2d(x, {2, 3}, {dilation = 2}), {2, 3, 3, 2})
    H.assert_shape(nn.avg_pool2d(x, 3, {stride = 1}), {2, 3, 5, 7})
    H.assert_shape(nn.avg_pool2d(x, 2, {stride = {1, 2}, ceil_mode = true}), {2, 3, 6, 5})
  end)

  it("accepts 3-D input [C,H,W]", function()
    local x = nn.randn(3, 6, 6)
    H.assert_shape(nn.max_pool2d(x, 2), {3, 3, 3})
    H.assert_close(nn.avg_pool2d(x, 2), nn.avg_pool2d(x:view(1, 3, 6, 6), 2):view(3, 3, 3), 0)
  end)

  it("reads non-contiguous inputs, sending gradients to the base", function()
    for _, name in ipairs({"max_pool2d", "avg_pool2d"}) do
      local base = distinct(2, 3, 6, 8):requires_grad_()
      local copy = base:detach():clone():requires_grad_()
      local y = nn[name](base:transpose(3, 4), 2, {stride = 1})
      H.assert_close(y, nn[name](copy:transpose(3, 4):contiguous(), 2, {stride = 1}), 0)
      local g = nn.randn(y.shape)
      y:backward(g)
      nn[name](copy:transpose(3, 4):contiguous(), 2, {stride = 1}):backward(g)
      H.assert_close(base.grad, copy.grad, 1e-6)
    end
  end)

  it("propagates NaN through max_pool2d", function()
    local x = nn.tensor({1, 0 / 0, 2, 3}):view(1, 1, 2, 2)
    local y = nn.max_pool2d(x, 2)
    assert.is_true(y:item() ~= y:item())
  end)
end)

describe("gradcheck", function()
  nn.manual_seed(11)
  local pool_cases = {
    {"max_pool2d", {2, 2, 6, 6}, 2, nil},
    {"max_pool2d", {1, 2, 7, 9}, 3, {stride = 2, padding = 1, ceil_mode = true}},
    {"max_pool2d", {2, 1, 7, 8}, {3, 2}, {stride = 1, dilation = {2, 1}, padding = {1, 0}}},
    {"max_pool2d", {2, 5, 5}, 2, {stride = 1}},
    {"avg_pool2d", {2, 2, 6, 6}, 2, nil},
    {"avg_pool2d", {1, 2, 7, 9}, 3, {stride = 2, padding = 1, ceil_mode = true}},
    {"avg_pool2d", {1, 2, 7, 9}, 3, {stride = 2, padding = 1, ceil_mode = true, count_include_pad = false}},
    {"avg_pool2d", {2, 1, 5, 6}, {2, 3}, {stride = {1, 2}, divisor_override = 5}},
    {"avg_pool2d", {2, 5, 5}, 2, {stride = 1}},
  }
  for i, c in ipairs(pool_cases) do
    it(("%s case %d"):format(c[1], i), function()
      local x = distinct(table.unpack(c[2])):requires_grad_()
      local f = nn[c[1]]
      assert.is_true(nn.gradcheck(function(a) return f(a, c[3], c[4]) end, {x}))
    end)
  end
end)

describe("PyTorch reference values", function()
  local pools = {max_pool2d = true, avg_pool2d = true, adaptive_avg_pool2d = true}
  for _, c in ipairs(H.reference("conv")) do
    if pools[c.op] then -- the convolutions' cases are conv_spec's, interpolate's upsample_spec's
      it(c.op .. ": " .. c.name, function()
        local x = H.from_spec(c.inputs[1]):requires_grad_()
        local out = nn[c.op](x, args_of(c.args)) -- kernel [, opts]
        H.assert_close(out, H.from_spec(c.out), 1e-4, "output")
        out:backward(H.from_spec(c.gout))
        assert.are.equal(1, #c.grads) -- x is the only input
        H.assert_close(x.grad, H.from_spec(c.grads[1]), 1e-4, "gradient of input 1")
      end)
    end
  end
end)

describe("autograd", function()
  it("max_pool2d routes tied gradients to the first maximum", function()
    local x = nn.ones(1, 1, 2, 2):requires_grad_()
    nn.max_pool2d(x, 2):sum():backward()
    H.assert_values(x.grad, nn.tensor({1, 0, 0, 0}):view(1, 1, 2, 2))
  end)
end)

describe("errors", function()
  local x = nn.randn(2, 3, 8, 8)

  it("pools check their input, kernel and options", function()
    for _, name in ipairs({"max_pool2d", "avg_pool2d"}) do
      local f = nn[name]
      H.assert_error(function() f(nn.randn(8, 8), 2) end, name, "[8,8]")
      H.assert_error(function() f(x) end, name, "kernel")
      H.assert_error(function() f(x, 0) end, name, "kernel", "0")
      H.assert_error(function() f(x, 2, {stride = 0}) end, name, "stride", "0")
      H.assert_error(function() f(x, 2, {padding = -1}) end, name, "padding", "-1")
      H.assert_error(function() f(x, 3, {padding = 2}) end, name, "padding", "2", "3")
      H.assert_error(function() f(x, 9) end, name, "too small", "[2,3,8,8]")
      H.assert_error(function() f(x:to("int64"), 2) end, name, "float32", "int64")
      H.assert_error(function() f(x, 2, {ceil_mode = 1}) end, name, "ceil_mode", "boolean")
    end
    H.assert_error(function() nn.max_pool2d(x, 2, {count_include_pad = true}) end,
                   "max_pool2d", "count_include_pad")
    H.assert_error(function() nn.avg_pool2d(x, 2, {dilation = 2}) end, "avg_pool2d", "dilation")
    H.assert_error(function() nn.avg_pool2d(x, 2, {divisor_override = 0}) end,
                   "avg_pool2d", "divisor_override", "0")
    H.assert_error(function() nn.max_pool2d(x, 3, {dilation = 4}) end, "max_pool2d", "too small")
  end)

  it("leaves the runtime working after an error", function()
    assert.is_false(pcall(nn.max_pool2d, x, 9))
    H.assert_shape(nn.max_pool2d(x, 2), {2, 3, 4, 4})
  end)
end)

describe("adaptive_avg_pool2d", function()
  it("averages PyTorch's windows, overlapping for non-divisors", function()
    local x = nn.arange(1, 6):to("float32"):view(1, 1, 1, 5)
    -- windows of 5 into 3: [0,2), [1,4), [3,5)
    H.assert_close(nn.adaptive_avg_pool2d(x, {1, 3}), nn.tensor({1.5, 3, 4.5}):view(1, 1, 1, 3), 1e-6)
    local y = nn.randn(2, 3, 6, 8)
    H.assert_close(nn.adaptive_avg_pool2d(y, {3, 2}), nn.avg_pool2d(y, {2, 4}), 1e-6)
    H.assert_close(nn.adaptive_avg_pool2d(y, 1), y:mean(4, true):mean(3, true), 1e-5)
  end)

  it("reads strided inputs, sending gradients to the base", function()
    local base = nn.randn(2, 2, 5, 7):requires_grad_()
    local y = nn.adaptive_avg_pool2d(base:transpose(3, 4), {3, 2})
    local expect = base:detach():clone():requires_grad_()
    local z = nn.adaptive_avg_pool2d(expect:transpose(3, 4):contiguous(), {3, 2})
    H.assert_close(y, z, 0)
    y:sum():backward()
    z:sum():backward()
    H.assert_close(base.grad, expect.grad, 1e-6)
  end)

  it("passes gradcheck", function()
    for _, size in ipairs({{2, 3}, 4, {7, 1}}) do
      local x = nn.randn(2, 2, 5, 6):requires_grad_()
      assert.is_true(nn.gradcheck(function(a) return nn.adaptive_avg_pool2d(a, size) end, {x}))
    end
  end)

  it("has a layer", function()
    local m = nn.AdaptiveAvgPool2d({2, 3})
    local x = nn.randn(2, 4, 7, 9)
    H.assert_close(m(x), nn.adaptive_avg_pool2d(x, {2, 3}), 0)
    assert.are.equal("AdaptiveAvgPool2d(output_size={2, 3})", tostring(m))
    assert.are.equal("AdaptiveAvgPool2d(output_size=1)", tostring(nn.AdaptiveAvgPool2d(1)))
    assert.are.equal("adaptive_avg_pool2d", m(x:requires_grad_()).grad_fn)
    H.assert_error(function() nn.AdaptiveAvgPool2d(0) end, "AdaptiveAvgPool2d", "output_size", "0")
    H.assert_error(function() m(nn.randn(4, 4)) end, "AdaptiveAvgPool2d", "4-D", "[4,4]")
  end)

  it("names the bad value", function()
    local x = nn.randn(2, 3, 5, 5)
    H.assert_error(function() nn.adaptive_avg_pool2d(x) end, "adaptive_avg_pool2d", "output_size", "missing")
    H.assert_error(function() nn.adaptive_avg_pool2d(x, 0) end, "adaptive_avg_pool2d", "output_size", "0")
    H.assert_error(function() nn.adaptive_avg_pool2d(x, {1, 2, 3}) end, "adaptive_avg_pool2d", "output_size")
    H.assert_error(function() nn.adaptive_avg_pool2d(nn.randn(5, 5), 2) end, "adaptive_avg_pool2d", "[5,5]")
    H.assert_error(function() nn.adaptive_avg_pool2d(x:to("int64"), 2) end, "adaptive_avg_pool2d", "int64")
    H.assert_error(function() nn.adaptive_avg_pool2d(nn.randn(1, 2, 0, 4), 2) end,
                   "adaptive_avg_pool2d", "no cells")
  end)
end)
