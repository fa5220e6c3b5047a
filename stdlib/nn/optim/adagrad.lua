-- nn.optim.Adagrad (torch.optim.Adagrad).

local nn = require "nn"
local core = require "nn.core"
local O = require "nn.optim.options"
local define = require("nn.optim.optimizer").define

--- nn.optim.Adagrad(params, {lr=1e-2, lr_decay=0, weight_decay=0,
-- initial_accumulator_value=0, eps=1e-10}): the state exists from the
-- start, as in PyTorch.
return define {
  name = "Adagrad",
  defaults = {lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10},
  checks = {lr = O.nonneg "lr", lr_decay = O.nonneg "lr_decay", weight_decay = O.nonneg "weight_decay",
            initial_accumulator_value = O.nonneg "initial_accumulator_value", eps = O.nonneg "eps"},
  state_names = {step = true, sum = true},
  _init_state = function(_, group, p, s)
    s.step, s.sum = 0, nn.full_like(p, group.initial_accumulator_value)
  end,
  _kernel = core._adagrad_step,
}
