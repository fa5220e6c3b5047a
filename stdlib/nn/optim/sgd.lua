-- nn.optim.SGD: stochastic gradient descent with momentum, dampening,
-- weight decay and Nesterov momentum (torch.optim.SGD), and a proximal L1
-- step: with l1 = lambda > 0, each update is followed by the
-- soft-threshold p = sign(p) * max(|p| - lr * lambda, 0), which sets small
-- weights to exactly 0 (plain subgradient descent on lambda * |p| never
-- does).

local core = require "nn.core"
local fail = require("nn.args").fail
local O = require "nn.optim.options"
local define = require("nn.optim.optimizer").define

--- nn.optim.SGD(params, {lr=, momentum=0, dampening=0, weight_decay=0,
-- nesterov=false, l1=0}): lr is required.
return define {
  name = "SGD",
  defaults = {lr = O.REQUIRED, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false, l1 = 0},
  checks = {lr = O.nonneg "lr", momentum = O.nonneg "momentum", dampening = O.any_number "dampening",
            weight_decay = O.nonneg "weight_decay", nesterov = O.boolean "nesterov", l1 = O.nonneg "l1"},
  _check_all = function(cls, g, where)
    if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
      fail(cls.name, "nesterov momentum requires a momentum and zero dampening%s (momentum %s, dampening %s)",
           where, tostring(g.momentum), tostring(g.dampening))
    end
  end,
  -- momentum_buffer: only with momentum; the first step sets it to the gradient.
  state_names = {momentum_buffer = true},
  _kernel = core._sgd_step,
}
