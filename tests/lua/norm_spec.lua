-- nn.BatchNorm1d/2d and nn.batch_norm: the running statistics in training
-- and eval, and the argument checks of the functional form.
local nn = require "nn"
local H = require "helpers"

describe("BatchNorm", function()
  it("counts batches and updates the running statistics only in training", function()
    nn.manual_seed(12)
    local bn = nn.BatchNorm1d(2)
    local x = nn.randn(8, 2)
    bn(x)
    bn(x)
    assert.are.equal(2, bn.num_batches_tracked:item())
    local mean = bn.running_mean:clone()
    bn:eval()
    bn(x)
    assert.are.equal(2, bn.num_batches_tracked:item())
    H.assert_values(bn.running_mean, mean)
  end)

  it("refuses a single value per channel in training", function()
    H.assert_error(function() nn.BatchNorm1d(3)(nn.randn(1, 3)) end, "batch_norm", "[1,3]")
  end)

  it("reset_running_stats", function()
    local bn = nn.BatchNorm2d(2)
    bn(nn.randn(3, 2, 2, 2))
    bn:reset_running_stats()
    H.assert_values(bn.running_mean, {0, 0})
    H.assert_values(bn.running_var, {1, 1})
    assert.are.equal(0, bn.num_batches_tracked:item())
  end)
end)

describe("nn.batch_norm", function()
  it("normalizes strided input as its contiguous copy", function()
    nn.manual_seed(15)
    local x, w, b = nn.randn(2, 3, 5, 4):permute(1, 2, 4, 3), nn.randn(3), nn.randn(3)
    local rm1, rv1, rm2, rv2 = nn.zeros(3), nn.ones(3), nn.zeros(3), nn.ones(3)
    H.assert_values(nn.batch_norm(x, rm1, rv1, w, b, true), nn.batch_norm(x:contiguous(), rm2, rv2, w, b, true))
    H.assert_values(rm1, rm2)
    H.assert_values(rv1, rv2)
    H.assert_values(nn.batch_norm(x, rm1, rv1, w, b, false), nn.batch_norm(x:contiguous(), rm1, rv1, w, b, false))
  end)

  it("checks its arguments", function()
    local x = nn.randn(4, 3)
    H.assert_error(function() nn.batch_norm(nn.ones(4, 3):long(), nil, nil, nil, nil, true) end,
                   "batch_norm: input must be a float32 tensor, got int64")
    H.assert_error(function() nn.batch_norm(nn.ones(4), nil, nil, nil, nil, true) end,
                   "batch_norm: expected a 2-D to 4-D input [N, C, ...], got [4]")
    H.assert_error(function() nn.batch_norm(x, nn.zeros(4)) end,
                   "batch_norm: running_mean must be a contiguous [3] tensor, got [4]")
    H.assert_error(function() nn.batch_norm(x, nil, nil, nn.ones(3, 2):select(2, 1), nil, true) end,
                   "batch_norm: weight must be a contiguous [3] tensor")
    H.assert_error(function() nn.batch_norm(x, nil, nil, nil, nil, true, 0.1, 0) end,
                   "batch_norm: eps must be positive, got 0")
    H.assert_error(function() nn.batch_norm(x, nn.zeros(3), nil, nil, nil, false) end,
                   "batch_norm: eval mode needs running_mean and running_var")
  end)
end)
