-- nn.Dropout and nn.dropout: the inverted and classic modes in training
-- and eval, the gradient through the kept elements, and the argument
-- checks of the functional form.
local nn = require "nn"
local H = require "helpers"

describe("Dropout", function()
  it("inverted: zeroes about p, scales survivors by 1/(1-p), identity in eval", function()
    nn.manual_seed(9)
    local d = nn.Dropout(0.25)
    local y = d(nn.ones(200, 100))
    local zeros = y:eq(0):sum():item()
    assert.is_true(math.abs(zeros / 20000 - 0.25) < 0.02)
    H.assert_close(y:max(), 1 / 0.75, 1e-6)
    d:eval()
    local x = nn.randn(3, 4)
    H.assert_values(d(x), x)
  end)

  it("classic: survivors unscaled in training, times 1-p in eval", function()
    nn.manual_seed(10)
    local d = nn.Dropout(0.4, {mode = "classic"})
    local y = d(nn.ones(100, 100))
    H.assert_values(y:max(), 1)
    assert.is_true(math.abs(y:eq(0):sum():item() / 10000 - 0.4) < 0.03)
    d:eval()
    H.assert_close(d(nn.ones(2, 2)), {{0.6, 0.6}, {0.6, 0.6}}, 1e-6)
  end)

  it("passes the gradient through the kept elements", function()
    nn.manual_seed(11)
    local x = nn.ones(10, 10):requires_grad_()
    local y = nn.Dropout(0.5)(x)
    y:sum():backward()
    H.assert_values(x.grad, y:detach())
  end)

  it("p = 0 keeps everything, p = 1 drops everything", function()
    local x = nn.randn(4, 4)
    H.assert_values(nn.Dropout(0)(x), x)
    H.assert_values(nn.Dropout(1)(x), nn.zeros(4, 4))
  end)
end)

describe("nn.dropout", function()
  it("returns the input itself when it is the identity", function()
    local x = nn.randn(3, 4)
    assert.are.equal(x, nn.dropout(x, 0.5, false))
    assert.are.equal(x, nn.dropout(x, 0, true, "classic"))
    assert.are_not.equal(x, nn.dropout(x, 0.5, false, "classic"))
  end)

  it("reads strided input", function()
    nn.manual_seed(13)
    local x = nn.randn(6, 5):t()
    nn.manual_seed(14)
    local y = nn.dropout(x, 0.5, true)
    nn.manual_seed(14)
    H.assert_values(y, nn.dropout(x:contiguous(), 0.5, true))
  end)

  it("checks its arguments", function()
    H.assert_error(function() nn.dropout(nn.ones(2):long()) end, "dropout: input must be a float32 tensor, got int64")
    H.assert_error(function() nn.dropout(nn.ones(2), 1.5) end, "dropout: p must be in [0, 1], got 1.5")
    H.assert_error(function() nn.dropout(nn.ones(2), 0.5, true, "gaussian") end,
                   "dropout: mode must be 'inverted' or 'classic', got 'gaussian'")
  end)
end)
