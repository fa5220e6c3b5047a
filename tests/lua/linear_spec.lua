-- nn.linear, the functional form behind nn.Linear: x W^T + b for any
-- leading dims and strides, and its argument checks. The layer itself is
-- in layers_spec.lua (PyTorch fixtures, gradcheck), its initialization in
-- initializers_spec.lua.
local nn = require "nn"
local H = require "helpers"

describe("nn.linear", function()
  it("is x W^T + b over the leading dims, for strided operands too", function()
    nn.manual_seed(16)
    local x, w, b = nn.randn(2, 3, 4), nn.randn(5, 4), nn.randn(5)
    local want = x:matmul(w:t()) + b
    H.assert_close(nn.linear(x, w, b), want, 1e-5)
    H.assert_close(nn.linear(x:permute(2, 1, 3):contiguous():permute(2, 1, 3), w:t():contiguous():t(), b), want, 1e-5)
    H.assert_close(nn.linear(x, w), x:matmul(w:t()), 1e-5)
  end)

  it("passes gradients to the input, weight and bias", function()
    nn.manual_seed(17)
    local x, w, b = nn.randn(4, 3):requires_grad_(), nn.randn(2, 3):requires_grad_(), nn.randn(2):requires_grad_()
    assert.is_true(nn.gradcheck(function(a, c, d) return nn.linear(a, c, d) end, {x, w, b}))
  end)

  it("checks its arguments", function()
    local x, w = nn.zeros(2, 4), nn.zeros(3, 4)
    H.assert_error(function() nn.linear(x:long(), w) end, "linear: input must be a float32 tensor, got int64")
    H.assert_error(function() nn.linear(x, nn.zeros(12)) end, "linear: weight must be 2-D [out, in], got [12]")
    H.assert_error(function() nn.linear(nn.tensor(1), w) end, "linear: input must have at least 1 dim")
    H.assert_error(function() nn.linear(x, nn.zeros(3, 5)) end, "linear: input has 4 features, expected 5 (input [2,4])")
    H.assert_error(function() nn.linear(x, w, nn.zeros(4)) end, "linear: bias must be [3], got [4]")
  end)
end)
