-- Convolution: nn.conv2d (groups included) and nn.conv_transpose2d, and
-- their layers nn.Conv2d and nn.ConvTranspose2d — shapes and options, gradcheck of every option
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
    if c.op == "conv2d" or c.op == "conv_transpose2d" then -- the pools' cases are pool_spec's
      it(c.op .. ": " .. c.name, function()
        local inputs = {}
        for i, spec in ipairs(c.inputs) do inputs[i] = H.from_spec(spec):requires_grad_() end
        local call = {inputs[1], inputs[2]}
        local extra = {args_of(c.args)} -- "nil, {...}" when there is no bias
        if inputs[3] then call[3] = inputs[3]; call[4] = extra[1]
        else call[3] = extra[1]; call[4] = extra[2] end
        local out = nn[c.op](table.unpack(call, 1, 4))
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

describe("groups", function()
  it("computes each group from its own channels", function()
    local x, w, b = nn.randn(2, 6, 5, 5), nn.randn(4, 3, 3, 3), nn.randn(4)
    local y = nn.conv2d(x, w, b, {padding = 1, groups = 2})
    H.assert_shape(y, {2, 4, 5, 5})
    for k = 0, 1 do
      local part = nn.conv2d(x:narrow(2, 3 * k + 1, 3), w:narrow(1, 2 * k + 1, 2), b:narrow(1, 2 * k + 1, 2),
                             {padding = 1})
      H.assert_close(y:narrow(2, 2 * k + 1, 2), part, 1e-5)
    end
  end)

  it("depthwise: each channel by its own filters, strided inputs too", function()
    local x, w = nn.randn(3, 4, 7, 6), nn.randn(8, 1, 3, 3)
    local xt = x:transpose(3, 4) -- [3, 4, 6, 7], strided
    local y = nn.conv2d(xt, w, nil, {stride = 2, padding = 1, groups = 4})
    H.assert_close(y, nn.conv2d(xt:contiguous(), w, nil, {stride = 2, padding = 1, groups = 4}), 1e-6)
    for c = 1, 4 do
      local part = nn.conv2d(xt:narrow(2, c, 1):contiguous(), w:narrow(1, 2 * c - 1, 2), nil,
                             {stride = 2, padding = 1})
      H.assert_close(y:narrow(2, 2 * c - 1, 2), part, 1e-5)
    end
  end)

  it("sends the gradients of strided operands back to their bases", function()
    for _, groups in ipairs({2, 4}) do -- few channels per group, depthwise
      local base, wbase = nn.randn(2, 4, 5, 6):requires_grad_(), nn.randn(4, 4 // groups, 3, 3):requires_grad_()
      local opts = {padding = 1, stride = {1, 2}, groups = groups}
      local y = nn.conv2d(base:transpose(3, 4), wbase:transpose(3, 4), nil, opts)
      local x2, w2 = base:detach():clone():requires_grad_(), wbase:detach():clone():requires_grad_()
      local z = nn.conv2d(x2:transpose(3, 4):contiguous(), w2:transpose(3, 4):contiguous(), nil, opts)
      H.assert_close(y, z, 1e-6)
      local g = nn.randn(y.shape)
      y:backward(g)
      z:backward(g)
      H.assert_close(base.grad, x2.grad, 1e-5)
      H.assert_close(wbase.grad, w2.grad, 1e-5)
    end
  end)

  it("splits many channels per group into one product each", function()
    local x, w = nn.randn(2, 32, 6, 6), nn.randn(8, 16, 3, 3)
    local y = nn.conv2d(x, w, nil, {groups = 2})
    H.assert_close(y:narrow(2, 5, 4), nn.conv2d(x:narrow(2, 17, 16), w:narrow(1, 5, 4)), 1e-4)
  end)
end)

describe("conv_transpose2d", function()
  it("computes PyTorch's output sizes", function()
    local x = nn.randn(2, 4, 14, 14)
    H.assert_shape(nn.conv_transpose2d(x, nn.randn(4, 3, 4, 4), nil, {stride = 2, padding = 1}), {2, 3, 28, 28})
    H.assert_shape(nn.conv_transpose2d(x, nn.randn(4, 3, 3, 3), nil, {stride = 2, padding = 1, output_padding = 1}),
                   {2, 3, 28, 28})
    H.assert_shape(nn.conv_transpose2d(x, nn.randn(4, 2, 3, 3), nil, {groups = 2, dilation = {2, 1}}), {2, 4, 18, 16})
  end)

  it("is the input gradient of conv2d", function()
    local x, w = nn.randn(2, 3, 7, 6):requires_grad_(), nn.randn(4, 3, 3, 3)
    local y = nn.conv2d(x, w, nil, {stride = 2, padding = 1})
    local g = nn.randn(y.shape)
    y:backward(g)
    local t = nn.conv_transpose2d(g, w, {stride = 2, padding = 1, output_padding = {0, 1}})
    H.assert_close(t, x.grad, 1e-5)
  end)

  it("reads strided inputs and weights, sending their gradients back", function()
    local x, w = nn.randn(2, 4, 5, 6):requires_grad_(), nn.randn(3, 4, 3, 2):requires_grad_()
    local opts = {stride = 2, padding = 1}
    local y = nn.conv_transpose2d(x:transpose(3, 4), w:transpose(1, 2), opts) -- weight [4, 3, 3, 2]
    local x2, w2 = x:detach():clone():requires_grad_(), w:detach():clone():requires_grad_()
    local z = nn.conv_transpose2d(x2:transpose(3, 4):contiguous(), w2:transpose(1, 2):contiguous(), opts)
    H.assert_close(y, z, 1e-6)
    local g = nn.randn(y.shape)
    y:backward(g)
    z:backward(g)
    H.assert_close(x.grad, x2.grad, 1e-5)
    H.assert_close(w.grad, w2.grad, 1e-5)
  end)

  it("fits in a model with the other new layers", function()
    local model = nn.Sequential{nn.Conv2d(3, 8, 3, {padding = 1}), nn.Conv2d(8, 8, 3, {padding = 1, groups = 8}),
                                nn.AdaptiveAvgPool2d(4), nn.ConvTranspose2d(8, 4, 2, {stride = 2}),
                                nn.Upsample{scale_factor = 2, mode = 'bilinear'}}
    local x = nn.randn(2, 3, 10, 10)
    H.assert_shape(model(x), {2, 4, 16, 16})
    model(x):sum():backward()
    for _, p in ipairs(model:parameters()) do H.assert_shape(p.grad, p.shape) end
    local keys = {}
    for k in pairs(model:state_dict()) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({"1.bias", "1.weight", "2.bias", "2.weight", "4.bias", "4.weight"}, keys)
  end)
end)

describe("gradcheck of groups and transposed convolution", function()
  nn.manual_seed(12)
  local cases = {
    {"conv2d", "depthwise", {2, 3, 5, 5}, {3, 1, 3, 3}, 3, {padding = 1, groups = 3}},
    {"conv2d", "depthwise x2, stride 2", {1, 2, 6, 5}, {4, 1, 3, 3}, 4, {stride = 2, padding = 1, groups = 2}},
    {"conv2d", "depthwise dilated", {1, 2, 7, 7}, {2, 1, 3, 3}, nil, {dilation = 2, padding = 1, groups = 2}},
    {"conv2d", "groups 2", {2, 4, 4, 5}, {6, 2, 3, 2}, 6, {padding = 'same', groups = 2}},
    {"conv2d", "groups 2, 12 per group", {1, 24, 4, 4}, {4, 12, 3, 3}, 4, {groups = 2}},
    {"conv_transpose2d", "3x3", {2, 3, 3, 4}, {3, 2, 3, 3}, 2, {}},
    {"conv_transpose2d", "stride 2, output_padding", {1, 2, 3, 3}, {2, 3, 3, 3}, 3,
     {stride = 2, padding = 1, output_padding = 1}},
    {"conv_transpose2d", "dilated, rect", {1, 2, 4, 3}, {2, 2, 2, 3}, nil, {dilation = {2, 1}, stride = {1, 2}}},
    {"conv_transpose2d", "groups 2", {2, 4, 3, 3}, {4, 1, 2, 2}, 2, {stride = 2, groups = 2}},
    {"conv_transpose2d", "8->8 stride 1", {1, 8, 3, 4}, {8, 8, 3, 3}, 8, {padding = 1}},
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " " .. c[2], function()
      local inputs = {nn.randn(c[3]):requires_grad_(), nn.randn(c[4]):requires_grad_()}
      if c[5] then inputs[3] = nn.randn(c[5]):requires_grad_() end
      assert.is_true(nn.gradcheck(function(a, k, b) return nn[c[1]](a, k, b, c[6]) end, inputs))
    end)
  end
end)

describe("layers", function()
  it("Conv2d with groups: weight [out, in/groups, kh, kw], PyTorch's bound", function()
    local m = nn.Conv2d(8, 16, 3, {groups = 4, padding = 1})
    H.assert_shape(m.weight, {16, 2, 3, 3})
    assert.is_true(m.bias:abs():max():item() <= 1 / math.sqrt(2 * 9))
    local x = nn.randn(2, 8, 5, 5)
    H.assert_close(m(x), nn.conv2d(x, m.weight, m.bias, {padding = 1, groups = 4}), 0)
    assert.are.equal("Conv2d(8, 16, kernel_size={3, 3}, stride={1, 1}, padding={1, 1}, groups=4)",
                     tostring(m))
  end)

  it("ConvTranspose2d: weight [in, out/groups, kh, kw], output sizes, state_dict", function()
    local m = nn.ConvTranspose2d(6, 4, 4, {stride = 2, padding = 1, groups = 2})
    H.assert_shape(m.weight, {6, 2, 4, 4})
    H.assert_shape(m.bias, {4})
    local bound = 1 / math.sqrt(2 * 16)
    assert.is_true(m.weight:abs():max():item() <= bound)
    assert.is_true(m.bias:abs():max():item() <= bound)
    local x = nn.randn(3, 6, 7, 7)
    local y = m(x)
    H.assert_shape(y, {3, 4, 14, 14})
    H.assert_close(y, nn.conv_transpose2d(x, m.weight, m.bias, {stride = 2, padding = 1, groups = 2}), 0)
    local keys = {}
    for k in pairs(m:state_dict()) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({"bias", "weight"}, keys)
    assert.are.equal("ConvTranspose2d(6, 4, kernel_size={4, 4}, stride={2, 2}, padding={1, 1}, groups=2)",
                     tostring(m))
    local o = nn.ConvTranspose2d(2, 2, 3, {stride = 2, output_padding = 1, bias = false})
    H.assert_shape(o(nn.randn(1, 2, 4, 4)), {1, 2, 10, 10})
    assert.is_nil(o.bias)
  end)

  it("check their options", function()
    H.assert_error(function() nn.Conv2d(6, 4, 3, {groups = 4}) end, "Conv2d", "groups 4", "in_channels 6")
    H.assert_error(function() nn.Conv2d(4, 6, 3, {groups = 4}) end, "Conv2d", "groups 4", "out_channels 6")
    H.assert_error(function() nn.Conv2d(4, 4, 3, {groups = 0}) end, "Conv2d", "groups")
    H.assert_error(function() nn.ConvTranspose2d(4, 4, 3, {stride = 2, output_padding = 2}) end,
                   "ConvTranspose2d", "output_padding", "stride")
    H.assert_error(function() nn.ConvTranspose2d(4, 6, 3, {groups = 4}) end, "ConvTranspose2d", "groups 4")
    H.assert_error(function() nn.ConvTranspose2d(4, 6, 3, {outpadding = 1}) end, "ConvTranspose2d", "outpadding")
    H.assert_error(function() nn.ConvTranspose2d(4, 6, 3)(nn.randn(1, 3, 5, 5)) end,
                   "ConvTranspose2d", "3 channels", "expected 4")
  end)
end)

describe("errors of groups and conv_transpose2d", function()
  it("conv2d checks groups against the channels", function()
    local x = nn.randn(2, 6, 5, 5)
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 2, 3, 3), nil, {groups = 4}) end,
                   "conv2d", "groups 4", "6 channels")
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 3, 3, 3), nil, {groups = 3}) end,
                   "conv2d", "input has 6 channels, weight expects 9")
    H.assert_error(function() nn.conv2d(x, nn.randn(4, 2, 3, 3), nil, {groups = 3}) end,
                   "conv2d", "groups 3", "4 output channels")
    H.assert_error(function() nn.conv2d(x, nn.randn(6, 1, 3, 3), nil, {groups = 0}) end, "conv2d", "groups", "0")
    H.assert_error(function() nn.conv2d(x, nn.randn(6, 1, 3, 3), nil, {groups = 1.5}) end, "conv2d", "groups")
  end)

  it("conv_transpose2d checks shapes and options", function()
    local x, w = nn.randn(2, 4, 5, 5), nn.randn(4, 3, 3, 3)
    H.assert_error(function() nn.conv_transpose2d(x, nn.randn(3, 3, 3, 3)) end,
                   "conv_transpose2d", "input has 4 channels, weight expects 3")
    H.assert_error(function() nn.conv_transpose2d(x, w, nil, {groups = 3}) end,
                   "conv_transpose2d", "groups 3", "4 channels")
    H.assert_error(function() nn.conv_transpose2d(x, w, nn.randn(4)) end, "conv_transpose2d", "bias", "[3]")
    H.assert_error(function() nn.conv_transpose2d(x, w, nil, {stride = 2, output_padding = 2}) end,
                   "conv_transpose2d", "output_padding {2,2}", "stride {2,2}", "dilation {1,1}")
    H.assert_error(function() nn.conv_transpose2d(x, w, nil, {output_padding = 1}) end,
                   "conv_transpose2d", "output_padding")
    H.assert_error(function() nn.conv_transpose2d(x, w, nil, {padding = 4}) end,
                   "conv_transpose2d", "output size", "too small")
    H.assert_error(function() nn.conv_transpose2d(x, w, nil, {outpad = 1}) end, "conv_transpose2d", "outpad")
    H.assert_error(function() nn.conv_transpose2d(x:to("int64"), w) end, "conv_transpose2d", "input", "int64")
    H.assert_error(function() nn.conv_transpose2d(nn.randn(4, 5, 5), w) end, "conv_transpose2d", "4-D input")
  end)

  it("records conv_transpose2d", function()
    local x, w = nn.randn(1, 2, 3, 3), nn.randn(2, 2, 3, 3):requires_grad_()
    assert.are.equal("conv_transpose2d", nn.conv_transpose2d(x, w).grad_fn)
  end)
end)
