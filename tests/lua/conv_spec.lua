-- Convolution: nn.conv2d — shapes and options, gradcheck of every option
-- (and of a network of conv and pooling), PyTorch reference values for
-- the forward and every gradient (tests/fixtures/conv/reference.lua),
-- autograd bookkeeping, and errors. The pools alone are pool_spec.lua.
local nn = require "nn"
local H = require "helpers"

-- Lua source of an argument list -> its values.
local function args_of(src)
  return load("return " .. src)()
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
    if c.op == "conv2d" then -- the pools' cases are pool_spec's
      it(c.op .. ": " .. c.name, function()
        local inputs = {}
        for i, spec in ipairs(c.inputs) do inputs[i] = H.from_spec(spec):requires_grad_() end
        local call = {inputs[1], inputs[2]}
        local extra = {args_of(c.args)} -- "nil, {...}" when there is no bias
        if inputs[3] then call[3] = inputs[3]; call[4] = extra[1]
        else call[3] = extra[1]; call[4] = extra[2] end
        local out = nn.conv2d(table.unpack(call, 1, 4))
        H.assert_close(out, H.from_spec(c.out), 1e-4, "output")
        out:backward(H.from_spec(c.gout))
        for i, g in ipairs(c.grads) do
          H.assert_close(inputs[i].grad, H.from_spec(g), 1e-4, "gradient of input " .. i)
        end
      end)
    end
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

  it("leaves the runtime working after an error", function()
    assert.is_false(pcall(nn.conv2d, x, nn.randn(4, 1, 3, 3)))
    H.assert_shape(nn.conv2d(x, w), {2, 4, 6, 6})
  end)
end)
