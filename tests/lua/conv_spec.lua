-- Convolution and pooling: nn.conv2d, nn.max_pool2d, nn.avg_pool2d —
-- shapes and options, gradcheck of every op and option, PyTorch reference
-- values for the forward and every gradient
-- (tests/fixtures/conv/reference.lua), autograd bookkeeping, and errors.
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

describe("conv2d", function()
  it("computes output shapes from stride, padding and dilation", function()
    local x, w = nn.randn(2, 3, 28, 28), nn.randn(8, 3, 3, 3)
    H.assert_shape(nn.conv2d(x, w), {2, 8, 26, 26})
    H.assert_shape(nn.conv2d(x, w, nil, {padding = 1}), {2, 8, 28, 28})
    H.assert_shape(nn.conv2d(x, w, nil, {stride = 2, padding = 1}), {2, 8, 14, 14})
    H.assert_shape(nn.conv2d(x, w, nil, {stride = {2, 1}, padding = {0, 1}}), {2, 8, 13, 28})
    H.assert_shape(nn.conv2d(x, w, nil, {dilation = 2}), {2, 8, 24, 24})
    H.assert_shape(nn.conv2d(x, w, nil, {padding = 'same', dilation = {2, 3}}), {2, 8, 28, 28})
    H.assert_shape(nn.conv2d(x, nn.randn(8, 3, 4, 2), nil, {padding = 'same'}), {2, 8, 28, 28})
    H.assert_shape(nn.conv2d(x, w, nil, {padding = 'valid'}), {2, 8, 26, 26})
  end)

  it("takes the options table in the bias's place", function()
    local x, w = nn.randn(1, 2, 5, 5), nn.randn(3, 2, 3, 3)
    H.assert_close(nn.conv2d(x, w, {padding = 1}), nn.conv2d(x, w, nil, {padding = 1}), 0)
  end)

  it("adds the bias to every position", function()
    local x, w, b = nn.randn(2, 2, 4, 4), nn.randn(3, 2, 3, 3), nn.tensor({1, -2, 0.5})
    local diff = nn.conv2d(x, w, b) - nn.conv2d(x, w)
    H.assert_close(diff, b:view(1, 3, 1, 1):expand(2, 3, 2, 2):contiguous(), 1e-5)
  end)

  it("matches a hand-computed 1-channel example", function()
    local x = nn.arange(1, 10):to("float32"):view(1, 1, 3, 3)
    local w = nn.ones(1, 1, 2, 2)
    H.assert_values(nn.conv2d(x, w), nn.tensor({12, 16, 24, 28}):view(1, 1, 2, 2))
    -- padding 1: the corners see one cell
    local y = nn.conv2d(x, w, nil, {padding = 1})
    H.assert_shape(y, {1, 1, 4, 4})
    assert.are.equal(1, y[1][1][1][1])
    assert.are.equal(9, y[1][1][4][4])
  end)

  it("reads non-contiguous inputs", function()
    local x = nn.randn(2, 3, 6, 5)
    local w = nn.randn(4, 3, 3, 3)
    local xt = x:transpose(3, 4) -- [2, 3, 5, 6], strided
    H.assert_close(nn.conv2d(xt, w, nil, {padding = 1}),
                   nn.conv2d(xt:contiguous(), w, nil, {padding = 1}), 1e-6)
  end)

  it("works on an empty batch", function()
    local y = nn.conv2d(nn.zeros(0, 2, 5, 5), nn.randn(3, 2, 3, 3), nn.randn(3))
    H.assert_shape(y, {0, 3, 3, 3})
  end)
end)

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
  local conv_cases = {
    ["3x3 pad 1"] = {{2, 3, 5, 5}, {4, 3, 3, 3}, true, {padding = 1}},
    ["no bias"] = {{1, 2, 5, 4}, {3, 2, 3, 2}, false, {}},
    ["stride {2,1}, padding {1,0}"] = {{2, 2, 6, 5}, {2, 2, 3, 3}, true, {stride = {2, 1}, padding = {1, 0}}},
    ["dilation 2"] = {{1, 2, 7, 7}, {2, 2, 3, 3}, true, {dilation = 2, padding = 2}},
    ["same, even kernel"] = {{2, 2, 5, 4}, {2, 2, 2, 4}, true, {padding = 'same'}},
    ["same, dilated {1,2}"] = {{1, 2, 5, 6}, {2, 2, 3, 2}, true, {padding = 'same', dilation = {1, 2}}},
    ["1x1"] = {{2, 3, 3, 4}, {2, 3, 1, 1}, true, {}},
    ["1x1 stride 2"] = {{2, 3, 5, 4}, {2, 3, 1, 1}, false, {stride = 2}},
    ["stride 3, 1 channel"] = {{3, 1, 8, 7}, {2, 1, 2, 2}, true, {stride = 3, padding = 1}},
    -- channels in whole tiles of 8: the direct kernel's path on AVX-512 CPUs
    ["8->8 channels"] = {{1, 8, 4, 5}, {8, 8, 3, 3}, true, {padding = 1}},
  }
  for name, c in pairs(conv_cases) do
    it("conv2d " .. name, function()
      local x = nn.randn(c[1]):requires_grad_()
      local w = nn.randn(c[2]):requires_grad_()
      local inputs = {x, w}
      if c[3] then inputs[3] = nn.randn(c[2][1]):requires_grad_() end
      local opts = c[4]
      assert.is_true(nn.gradcheck(function(a, b, bias) return nn.conv2d(a, b, bias, opts) end, inputs))
    end)
  end

  it("conv2d with only some inputs requiring grad", function()
    local x, w, b = nn.randn(2, 2, 4, 4), nn.randn(3, 2, 3, 3):requires_grad_(), nn.randn(3)
    assert.is_true(nn.gradcheck(function(a) return nn.conv2d(x, a, b, {padding = 1}) end, {w}))
    assert.is_nil(x.grad)
    local xi = nn.randn(2, 2, 4, 4):requires_grad_()
    assert.is_true(nn.gradcheck(function(a) return nn.conv2d(a, w:detach(), nil, {stride = 2}) end, {xi}))
  end)

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

  it("a network of conv, relu and pooling", function()
    local x = nn.randn(2, 1, 8, 8):requires_grad_()
    local w1, w2 = nn.randn(3, 1, 3, 3):requires_grad_(), nn.randn(2, 3, 3, 3):requires_grad_()
    assert.is_true(nn.gradcheck(function(a, k1, k2)
      local h = nn.max_pool2d(nn.conv2d(a, k1, nil, {padding = 1}):tanh(), 2)
      return nn.avg_pool2d(nn.conv2d(h, k2, nil, {padding = 1}), 2)
    end, {x, w1, w2}))
  end)
end)

describe("PyTorch reference values", function()
  for _, c in ipairs(H.reference("conv")) do
    it(c.op .. ": " .. c.name, function()
      local inputs = {}
      for i, spec in ipairs(c.inputs) do inputs[i] = H.from_spec(spec):requires_grad_() end
      local call = {}
      if c.op == "conv2d" then
        call = {inputs[1], inputs[2]}
        local extra = {args_of(c.args)} -- "nil, {...}" when there is no bias
        if inputs[3] then call[3] = inputs[3]; call[4] = extra[1]
        else call[3] = extra[1]; call[4] = extra[2] end
      else
        call = {inputs[1], args_of(c.args)} -- kernel [, opts]
      end
      local out = nn[c.op](table.unpack(call, 1, 4))
      H.assert_close(out, H.from_spec(c.out), 1e-4, "output")
      out:backward(H.from_spec(c.gout))
      for i, g in ipairs(c.grads) do
        H.assert_close(inputs[i].grad, H.from_spec(g), 1e-4, "gradient of input " .. i)
      end
    end)
  end
end)

describe("autograd", function()
  it("records conv2d and the pools only when an input requires grad", function()
    local x, w = nn.randn(1, 1, 4, 4), nn.randn(1, 1, 3, 3)
    assert.is_nil(nn.conv2d(x, w).grad_fn)
    assert.is_nil(nn.max_pool2d(x, 2).grad_fn)
    w:requires_grad_()
    assert.are.equal("conv2d", nn.conv2d(x, w).grad_fn)
    x:requires_grad_()
    assert.are.equal("max_pool2d", nn.max_pool2d(x, 2).grad_fn)
    assert.are.equal("avg_pool2d", nn.avg_pool2d(x, 2).grad_fn)
    nn.no_grad(function()
      assert.is_nil(nn.conv2d(x, w).grad_fn)
      assert.is_nil(nn.max_pool2d(x, 2).grad_fn)
    end)
  end)

  it("gives only the gradients that are wanted", function()
    local x, w, b = nn.randn(2, 2, 5, 5), nn.randn(3, 2, 3, 3):requires_grad_(), nn.randn(3):requires_grad_()
    nn.conv2d(x, w, b, {padding = 1}):sum():backward()
    assert.is_nil(x.grad)
    H.assert_shape(w.grad, {3, 2, 3, 3})
    -- d(sum)/d(bias) = number of output positions per channel
    H.assert_close(b.grad, nn.ones(3) * (2 * 5 * 5), 1e-6)
  end)

  it("accumulates into .grad across backward calls", function()
    local x, w = nn.randn(1, 2, 4, 4):requires_grad_(), nn.randn(2, 2, 3, 3):requires_grad_()
    nn.conv2d(x, w):sum():backward()
    local g1 = x.grad:clone()
    nn.conv2d(x, w):sum():backward()
    H.assert_close(x.grad, g1 * 2, 1e-5)
  end)

  it("sends the gradient of a strided input back to its base", function()
    local base = nn.randn(2, 2, 5, 6):requires_grad_()
    local w = nn.randn(3, 2, 3, 3)
    nn.conv2d(base:transpose(3, 4), w, nil, {padding = 1}):sum():backward()
    local expect = base:detach():clone():requires_grad_()
    nn.conv2d(expect:transpose(3, 4):contiguous(), w, nil, {padding = 1}):sum():backward()
    H.assert_close(base.grad, expect.grad, 1e-5)
  end)

  it("max_pool2d routes tied gradients to the first maximum", function()
    local x = nn.ones(1, 1, 2, 2):requires_grad_()
    nn.max_pool2d(x, 2):sum():backward()
    H.assert_values(x.grad, nn.tensor({1, 0, 0, 0}):view(1, 1, 2, 2))
  end)

  -- Leaks only: the collector runs after every step, since how soon it
  -- frees a step's tensors on its own is not this file's business.
  it("keeps memory steady over repeated training steps", function()
    local x = nn.randn(8, 3, 12, 12)
    local w1, b1 = nn.randn(4, 3, 3, 3):requires_grad_(), nn.randn(4):requires_grad_()
    local w2 = nn.randn(5, 4, 3, 3):requires_grad_()
    local function step()
      local h = nn.max_pool2d(nn.conv2d(x, w1, b1, {padding = 1}):relu(), 2)
      local y = nn.avg_pool2d(nn.conv2d(h, w2, nil, {padding = 'same'}), 2)
      y:sum():backward()
      w1.grad, b1.grad, w2.grad = nil, nil, nil
      collectgarbage()
    end
    for _ = 1, 3 do step() end
    collectgarbage()
    collectgarbage()
    local before = nn.memory_stats()
    for _ = 1, 10 do step() end
    collectgarbage()
    collectgarbage()
    local after = nn.memory_stats()
    assert.are.equal(before.count, after.count)
    assert.are.equal(before.live_bytes, after.live_bytes)
  end)
end)

describe("errors", function()
  local x, w = nn.randn(2, 3, 8, 8), nn.randn(4, 3, 3, 3)

  it("conv2d names shapes and channels", function()
    H.assert_error(function() nn.conv2d(nn.randn(3, 28, 28), nn.randn(4, 1, 3, 3)) end,
                   "conv2d", "4-D input", "[3,28,28]")
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 3, 3)) end, "conv2d", "weight", "[4,3,3]")
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 1, 3, 3)) end,
                   "conv2d", "input has 3 channels, weight expects 1")
    H.assert_error(function() nn.conv2d(x, w, nn.randn(5)) end, "conv2d", "bias", "[4]", "[5]")
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 3, 9, 3)) end, "conv2d", "9x3", "8x8")
    H.assert_error(function() nn.conv2d(x, w, nil, {dilation = 4}) end, "conv2d", "9x9", "8x8")
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 3, 0, 3)) end, "conv2d", "0x3")
  end)

  it("conv2d checks option values", function()
    H.assert_error(function() nn.conv2d(x, w, nil, {padding = -1}) end, "conv2d", "padding", "-1")
    H.assert_error(function() nn.conv2d(x, w, nil, {stride = 0}) end, "conv2d", "stride", "0")
    H.assert_error(function() nn.conv2d(x, w, nil, {stride = {1, 0}}) end, "conv2d", "stride", "0")
    H.assert_error(function() nn.conv2d(x, w, nil, {dilation = 0}) end, "conv2d", "dilation", "0")
    H.assert_error(function() nn.conv2d(x, w, nil, {stride = 1.5}) end, "conv2d", "stride", "1.5")
    H.assert_error(function() nn.conv2d(x, w, nil, {stride = {1, 2, 3}}) end, "conv2d", "stride", "pair")
    H.assert_error(function() nn.conv2d(x, w, nil, {padding = 'full'}) end, "conv2d", "padding", "full")
    H.assert_error(function() nn.conv2d(x, w, nil, {padding = 'same', stride = 2}) end,
                   "conv2d", "same", "stride")
    H.assert_error(function() nn.conv2d(x, w, nil, {strides = 2}) end, "conv2d", "strides")
    H.assert_error(function() nn.conv2d(x, w, nil, 3) end, "conv2d", "options")
  end)

  it("conv2d wants float32 tensors", function()
    H.assert_error(function() nn.conv2d(x:to("int64"), w) end, "conv2d", "input", "int64")
    H.assert_error(function() nn.conv2d(x, w:to("int64")) end, "conv2d", "weight", "int64")
    H.assert_error(function() nn.conv2d(x, w, nn.zeros(4):to("int64")) end, "conv2d", "bias", "int64")
    H.assert_error(function() nn.conv2d("x", w) end, "conv2d", "tensor")
  end)

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
    assert.is_false(pcall(nn.conv2d, x, nn.randn(4, 1, 3, 3)))
    H.assert_shape(nn.conv2d(x, w), {2, 4, 6, 6})
  end)
end)
