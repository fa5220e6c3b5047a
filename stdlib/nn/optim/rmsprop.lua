-- nn.optim.RMSprop (torch.optim.RMSprop), centered or not, with momentum.

local core = require "nn.core"
local O = require "nn.optim.options"
local define = require("nn.optim.optimizer").define

--- nn.optim.RMSprop(params, {lr=1e-2, alpha=0.99, eps=1e-8,
-- weight_decay=0, momentum=0, centered=false})
return define {
  name = "RMSprop",
  defaults = {lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false},
  checks = {lr = O.nonneg "lr", alpha = O.nonneg "alpha", eps = O.nonneg "eps",
            weight_decay = O.nonneg "weight_decay", momentum = O.nonneg "momentum",
            centered = O.boolean "centered"},
  -- momentum_buffer only with momentum > 0, grad_avg only when centered.
  state_names = {step = true, square_avg = true, momentum_buffer = true, grad_avg = true},
  _kernel = core._rmsprop_step,
}
