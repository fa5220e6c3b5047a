-- nn.optim.Adam and nn.optim.AdamW (torch.optim.Adam, AdamW), with
-- AMSGrad as an option. They differ only in the weight decay: Adam adds
-- it to the gradient, AdamW decays the weights (p *= 1 - lr * wd).

local core = require "nn.core"
local O = require "nn.optim.options"
local define = require("nn.optim.optimizer").define

local checks = {lr = O.nonneg "lr", betas = O.betas, eps = O.nonneg "eps",
                weight_decay = O.nonneg "weight_decay", amsgrad = O.boolean "amsgrad"}
-- step counts from 1; max_exp_avg_sq only with amsgrad.
local state_names = {step = true, exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = true}

--- nn.optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
-- weight_decay=0, amsgrad=false}): weight decay is added to the gradient.
local Adam = define {
  name = "Adam",
  defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, amsgrad = false},
  checks = checks, state_names = state_names, _kernel = core._adam_step,
}

--- nn.optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
-- weight_decay=1e-2, amsgrad=false}): decoupled weight decay, p *= 1 - lr * wd.
local AdamW = define {
  name = "AdamW",
  defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2, amsgrad = false},
  checks = checks, state_names = state_names, _kernel = core._adamw_step,
}

return {Adam = Adam, AdamW = AdamW}
