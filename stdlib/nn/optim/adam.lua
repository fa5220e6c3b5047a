-- nn.optim.Adam and nn.optim.AdamW (torch.optim.Adam, AdamW), with
-- AMSGrad as an option. They differ only in the weight decay: Adam adds
-- it to the gradient, AdamW decays the weights (p *= 1 - lr * wd). Adam
-- also takes l1 = lambda: after each update, the proximal L1 step
-- p = sign(p) * max(|p| - lr * lambda, 0) (exact zeros).

local core = require "nn.core"
local O = require "nn.optim.options"
local define = require("nn.optim.optimizer").define

local checks = {lr = O.nonneg "lr", betas = O.betas, eps = O.nonneg "eps",
                weight_decay = O.nonneg "weight_decay", amsgrad = O.boolean "amsgrad"}
-- step counts from 1; max_exp_avg_sq only with amsgrad.
local state_names = {step = true, exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = true}

local adam_checks = {l1 = O.nonneg "l1"}
for k, v in pairs(checks) do adam_checks[k] = v end

--- nn.optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
-- weight_decay=0, amsgrad=false, l1=0}): weight decay is added to the
-- gradient.
local Adam = define {
  name = "Adam",
  defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, amsgrad = false, l1 = 0},
  checks = adam_checks, state_names = state_names, _kernel = core._adam_step,
}

--- nn.optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
-- weight_decay=1e-2, amsgrad=false}): decoupled weight decay, p *= 1 - lr * wd.
local AdamW = define {
  name = "AdamW",
  defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2, amsgrad = false},
  checks = checks, state_names = state_names, _kernel = core._adamw_step,
}

return {Adam = Adam, AdamW = AdamW}
