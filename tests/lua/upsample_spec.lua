-- Resampling: nn.interpolate and nn.Upsample — nearest and bilinear (with
-- and without align_corners), by size and by scale factor; PyTorch
-- reference values for the forward and the gradient
-- (tests/fixtures/conv/reference.lua), gradcheck, strided inputs, errors.
local nn = require "nn"
local H = require "helpers"

local function args_of(src)
  return load("return " .. src)()
end

describe("interpolate", function()
  it("repeats cells in nearest mode", function()
    local x = nn.tensor({{1, 2}, {3, 4}}):view(1, 1, 2, 2)
    H.assert_values(nn.interpolate(x, {scale_factor = 2}),
                    nn.tensor({{1, 1, 2, 2}, {1, 1, 2, 2}, {3, 3, 4, 4}, {3, 3, 4, 4}}):view(1, 1, 4, 4))
  end)

  it("blends neighbours in bilinear mode", function()
    local x = nn.tensor({{0, 4}}):view(1, 1, 1, 2)
    -- align_corners: the corners stay, the middle is the mean
    H.assert_close(nn.interpolate(x, {size = {1, 3}, mode = 'bilinear', align_corners = true}),
                   nn.tensor({0, 2, 4}):view(1, 1, 1, 3), 1e-6)
    -- half-pixel centres: 0, 1, 3, 4
    H.assert_close(nn.interpolate(x, {size = {1, 4}, mode = 'bilinear'}),
                   nn.tensor({0, 1, 3, 4}):view(1, 1, 1, 4), 1e-6)
  end)

  it("sizes the output by size or floor(H * scale_factor)", function()
    local x = nn.randn(2, 3, 5, 4)
    H.assert_shape(nn.interpolate(x, {size = 7}), {2, 3, 7, 7})
    H.assert_shape(nn.interpolate(x, {size = {2, 9}, mode = 'bilinear'}), {2, 3, 2, 9})
    H.assert_shape(nn.interpolate(x, {scale_factor = {1.5, 0.5}}), {2, 3, 7, 2})
  end)

  it("reads strided inputs, sending gradients to the base", function()
    for _, mode in ipairs({"nearest", "bilinear"}) do
      local base = nn.randn(2, 2, 4, 5):requires_grad_()
      local y = nn.interpolate(base:transpose(3, 4), {scale_factor = 1.5, mode = mode})
      local expect = base:detach():clone():requires_grad_()
      local z = nn.interpolate(expect:transpose(3, 4):contiguous(), {scale_factor = 1.5, mode = mode})
      H.assert_close(y, z, 0)
      local g = nn.randn(y.shape)
      y:backward(g)
      z:backward(g)
      H.assert_close(base.grad, expect.grad, 1e-6)
    end
  end)

  it("records the node only when the input requires grad", function()
    local x = nn.randn(1, 1, 2, 2)
    assert.is_nil(nn.interpolate(x, {scale_factor = 2}).grad_fn)
    assert.are.equal("upsample2d", nn.interpolate(x:requires_grad_(), {scale_factor = 2}).grad_fn)
  end)
end)

describe("gradcheck", function()
  nn.manual_seed(13)
  local cases = {
    ["nearest x2"] = {{2, 2, 3, 3}, {scale_factor = 2}},
    ["nearest to size, down"] = {{1, 2, 5, 4}, {size = {3, 3}}},
    ["bilinear x1.5"] = {{1, 2, 3, 4}, {scale_factor = 1.5, mode = 'bilinear'}},
    ["bilinear to size"] = {{2, 1, 4, 3}, {size = {6, 5}, mode = 'bilinear'}},
    ["bilinear align_corners"] = {{1, 2, 3, 3}, {size = {5, 4}, mode = 'bilinear', align_corners = true}},
  }
  for name, c in pairs(cases) do
    it(name, function()
      local x = nn.randn(c[1]):requires_grad_()
      assert.is_true(nn.gradcheck(function(a) return nn.interpolate(a, c[2]) end, {x}))
    end)
  end
end)

describe("PyTorch reference values", function()
  for _, c in ipairs(H.reference("conv")) do
    if c.op == "interpolate" then
      it(c.name, function()
        local x = H.from_spec(c.inputs[1]):requires_grad_()
        local out = nn.interpolate(x, args_of(c.args))
        H.assert_close(out, H.from_spec(c.out), 1e-5, "output")
        out:backward(H.from_spec(c.gout))
        H.assert_close(x.grad, H.from_spec(c.grads[1]), 1e-5, "gradient of input 1")
      end)
    end
  end
end)

describe("Upsample", function()
  it("is interpolate with its options", function()
    local x = nn.randn(2, 3, 4, 5)
    local m = nn.Upsample{scale_factor = 2, mode = 'bilinear'}
    H.assert_close(m(x), nn.interpolate(x, {scale_factor = 2, mode = 'bilinear'}), 0)
    assert.are.equal("Upsample(scale_factor=2, mode='bilinear')", tostring(m))
    local s = nn.Upsample{size = {3, 7}}
    H.assert_shape(s(x), {2, 3, 3, 7})
    assert.are.equal("Upsample(size={3, 7}, mode='nearest')", tostring(s))
    assert.are.same({}, nn.Sequential{m}:parameters())
  end)

  it("checks its options and input", function()
    H.assert_error(function() nn.Upsample{} end, "Upsample", "size", "scale_factor")
    H.assert_error(function() nn.Upsample{size = 2, scale_factor = 2} end, "Upsample", "exactly one")
    H.assert_error(function() nn.Upsample{scale_factor = 2, mode = 'bicubic'} end, "Upsample", "mode", "bicubic")
    H.assert_error(function() nn.Upsample{scale_factor = 2, align_corners = true} end,
                   "Upsample", "align_corners", "bilinear")
    H.assert_error(function() nn.Upsample{scale_factor = -1} end, "Upsample", "scale_factor", "-1")
    H.assert_error(function() nn.Upsample{scale = 2} end, "Upsample", "scale")
    H.assert_error(function() nn.Upsample{scale_factor = 2}(nn.randn(3, 4, 4)) end, "Upsample", "4-D", "[3,4,4]")
  end)
end)

describe("errors", function()
  local x = nn.randn(2, 3, 4, 4)
  it("interpolate names the bad value", function()
    H.assert_error(function() nn.interpolate(x) end, "interpolate", "exactly one of size and scale_factor")
    H.assert_error(function() nn.interpolate(x, {size = 2, scale_factor = 2}) end, "interpolate", "exactly one")
    H.assert_error(function() nn.interpolate(x, {size = 0}) end, "interpolate", "size", "0")
    H.assert_error(function() nn.interpolate(x, {scale_factor = 0}) end, "interpolate", "scale_factor", "positive")
    H.assert_error(function() nn.interpolate(x, {scale_factor = 0.1}) end, "interpolate", "scale_factor", "0x0")
    H.assert_error(function() nn.interpolate(x, {scale_factor = {2, 'a'}}) end, "interpolate", "scale_factor")
    H.assert_error(function() nn.interpolate(x, {scale_factor = 2, mode = 'cubic'}) end, "interpolate", "mode", "cubic")
    H.assert_error(function() nn.interpolate(x, {scale_factor = 2, mode = 3}) end, "interpolate", "mode", "number")
    H.assert_error(function() nn.interpolate(x, {scale_factor = 2, align_corners = true}) end,
                   "interpolate", "align_corners", "bilinear")
    H.assert_error(function() nn.interpolate(x, {scale_factor = 2, modes = 'nearest'}) end, "interpolate", "modes")
    H.assert_error(function() nn.interpolate(nn.randn(3, 4, 4), {size = 2}) end, "interpolate", "4-D", "[3,4,4]")
    H.assert_error(function() nn.interpolate(x:to("int64"), {size = 2}) end, "interpolate", "input", "int64")
    H.assert_error(function() nn.interpolate(nn.randn(1, 1, 0, 3), {size = 2}) end, "interpolate", "no cells")
  end)
end)
