-- The learning-rate schedulers of nn.optim (torch.optim.lr_scheduler):
-- StepLR, ExponentialLR and CosineAnnealingLR, which follow epochs, and
-- ReduceLROnPlateau, which follows a monitored metric.
--
--   local sched = nn.optim.StepLR(opt, {step_size=10, gamma=0.5})
--   opt:step(); sched:step()
--
-- lr_scheduler_more.lua defines the others (LambdaLR, MultiStepLR,
-- LinearLR, OneCycleLR, InverseTimeDecay) with the helpers in M._internals.

local nn = require "nn"
local fail = require("nn.args").fail
local O = require "nn.optim.options"

local REQUIRED, copy = O.REQUIRED, O.copy

local M = {}

-- The options of a scheduler of class cls: spec.defaults (REQUIRED for
-- required ones) filled in, every check passed.
local function scheduler_options(cls, optimizer, opts)
  local name = cls.name
  if type(optimizer) ~= "table" or not optimizer._is_optimizer then
    fail(name, "argument 1 must be an optimizer, got %s", nn.is_tensor(optimizer) and "a tensor" or type(optimizer))
  end
  local o = O.given(cls, opts)
  for k, v in pairs(cls.defaults) do
    if o[k] == nil then
      if v == REQUIRED then fail(name, "option %s is required", k) end
      o[k] = copy(v)
    end
  end
  O.check(cls, o, "")
  return o
end

local function plain_state(self)
  local s = {}
  for k, v in pairs(self) do
    if k ~= "optimizer" then s[k] = copy(v) end
  end
  return s
end

local function load_plain_state(self, s)
  if type(s) ~= "table" then fail(self.name, "load_state_dict: expected a table, got %s", type(s)) end
  for k, v in pairs(s) do
    if k ~= "optimizer" then self[k] = copy(v) end
  end
end

-- The current lr of every group.
local function current_lrs(self)
  local lrs = {}
  for i, group in ipairs(self.optimizer.param_groups) do lrs[i] = group.lr end
  return lrs
end

-- ---- epoch-based schedulers ----

-- PyTorch's _LRScheduler: step() advances last_epoch and sets each
-- group's lr from get_lr(), in PyTorch's recursive ("chainable") form.
local LRScheduler = {}
LRScheduler.__index = LRScheduler

local function new_scheduler(cls, optimizer, opts)
  local o = scheduler_options(cls, optimizer, opts)
  local self = setmetatable(o, cls)
  self.optimizer = optimizer
  if cls._setup then cls._setup(self) end -- before base_lrs (OneCycleLR sets initial_lr)
  self.base_lrs = {}
  for i, group in ipairs(optimizer.param_groups) do
    if group.initial_lr == nil then group.initial_lr = group.lr end
    self.base_lrs[i] = group.initial_lr
  end
  self.last_epoch, self._step_count = -1, 0
  self:step()
  return self
end

--- sched:step(): advances one epoch and updates the optimizer's lrs.
function LRScheduler:step()
  self._step_count = self._step_count + 1
  self.last_epoch = self.last_epoch + 1
  local lrs = self:get_lr()
  local last = {}
  for i, group in ipairs(self.optimizer.param_groups) do
    group.lr = lrs[i]
    last[i] = lrs[i]
  end
  self._last_lr = last
end

--- sched:get_last_lr(): the lr of each group set by the last step().
function LRScheduler:get_last_lr()
  return copy(self._last_lr)
end

--- sched:state_dict(): every field but the optimizer, as plain values.
LRScheduler.state_dict = plain_state
LRScheduler.load_state_dict = load_plain_state

local function define(spec)
  local cls = O.class(LRScheduler, new_scheduler)
  for k, v in pairs(spec) do cls[k] = v end
  return cls
end

--- nn.optim.StepLR(opt, {step_size=, gamma=0.1}): lr *= gamma every
-- step_size epochs.
M.StepLR = define {
  name = "StepLR",
  defaults = {step_size = REQUIRED, gamma = 0.1},
  checks = {step_size = O.positive("step_size", true), gamma = O.any_number "gamma"},
  get_lr = function(self)
    local lrs = current_lrs(self)
    if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return lrs end
    for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma end
    return lrs
  end,
}

--- nn.optim.ExponentialLR(opt, {gamma=}): lr *= gamma every epoch.
M.ExponentialLR = define {
  name = "ExponentialLR",
  defaults = {gamma = REQUIRED},
  checks = {gamma = O.any_number "gamma"},
  get_lr = function(self)
    local lrs = current_lrs(self)
    if self.last_epoch == 0 then return lrs end
    for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma end
    return lrs
  end,
}

--- nn.optim.CosineAnnealingLR(opt, {T_max=, eta_min=0}): cosine from the
-- initial lr down to eta_min over T_max epochs (then back up), computed
-- recursively from the current lr as PyTorch's get_lr does.
M.CosineAnnealingLR = define {
  name = "CosineAnnealingLR",
  defaults = {T_max = REQUIRED, eta_min = 0},
  checks = {T_max = O.positive("T_max", false), eta_min = O.any_number "eta_min"},
  get_lr = function(self)
    local e, T, eta_min, pi = self.last_epoch, self.T_max, self.eta_min, math.pi
    local lrs = current_lrs(self)
    if e == 0 then return lrs end
    for i, lr in ipairs(lrs) do
      if (e - 1 - T) % (2 * T) == 0 then -- the restart after a minimum
        lrs[i] = lr + (self.base_lrs[i] - eta_min) * (1 - math.cos(pi / T)) / 2
      else
        lrs[i] = (1 + math.cos(pi * e / T)) / (1 + math.cos(pi * (e - 1) / T)) * (lr - eta_min) + eta_min
      end
    end
    return lrs
  end,
}

-- ---- ReduceLROnPlateau ----

local ReduceLROnPlateau = O.class(nil, function(cls, optimizer, opts)
  local self = setmetatable(scheduler_options(cls, optimizer, opts), cls)
  self.optimizer = optimizer
  local n = #optimizer.param_groups
  if type(self.min_lr) == "table" then
    if #self.min_lr ~= n then
      fail(cls.name, "expected %d min_lrs (one per parameter group), got %d", n, #self.min_lr)
    end
    self.min_lrs = self.min_lr
  else
    self.min_lrs = {}
    for i = 1, n do self.min_lrs[i] = self.min_lr end
  end
  for i, v in ipairs(self.min_lrs) do O.number(cls.name, "min_lr " .. i, v, "") end
  self.min_lr = nil
  self.last_epoch = 0
  self:_reset()
  return self
end)

ReduceLROnPlateau.name = "ReduceLROnPlateau"
ReduceLROnPlateau.defaults = {mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
                              threshold_mode = "rel", cooldown = 0, min_lr = 0, eps = 1e-8}
ReduceLROnPlateau.checks = {
  mode = O.one_of("mode", "min", "max"),
  threshold_mode = O.one_of("threshold_mode", "rel", "abs"),
  factor = function(cls, v, where)
    O.number(cls.name, "factor", v, where)
    if not (v >= 0 and v < 1) then fail(cls.name, "factor must be in [0, 1), got %s", tostring(v)) end
  end,
  patience = O.nonneg_integer "patience",
  cooldown = O.nonneg_integer "cooldown",
  threshold = O.any_number "threshold",
  eps = O.any_number "eps",
}

function ReduceLROnPlateau:_reset()
  self.best = self.mode == "min" and math.huge or -math.huge
  self.cooldown_counter = 0
  self.num_bad_epochs = 0
end

function ReduceLROnPlateau:_is_better(a, best)
  local threshold = self.threshold
  if self.mode == "min" and self.threshold_mode == "rel" then
    return a < best * (1 - threshold)
  elseif self.mode == "min" then
    return a < best - threshold
  elseif self.threshold_mode == "rel" then
    return a > best * (threshold + 1)
  end
  return a > best + threshold
end

--- sched:step(metric): metric is the monitored value (a number or a
-- one-element tensor). After more than patience epochs without
-- improvement, every lr is multiplied by factor (not below min_lr).
function ReduceLROnPlateau:step(metric)
  if nn.is_tensor(metric) then metric = metric:item() end
  if type(metric) ~= "number" then
    fail(self.name, "step needs the monitored metric (a number), got %s", type(metric))
  end
  self.last_epoch = self.last_epoch + 1
  if self:_is_better(metric, self.best) then
    self.best, self.num_bad_epochs = metric, 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0 -- bad epochs in cooldown do not count
  end
  if self.num_bad_epochs > self.patience then
    for i, group in ipairs(self.optimizer.param_groups) do
      local old = group.lr
      local new = math.max(old * self.factor, self.min_lrs[i])
      if old - new > self.eps then group.lr = new end
    end
    self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
  end
  self._last_lr = current_lrs(self)
end

--- sched:get_last_lr(): the lrs after the last step (the current ones
-- before any step).
function ReduceLROnPlateau:get_last_lr()
  return copy(self._last_lr or current_lrs(self))
end

ReduceLROnPlateau.state_dict = plain_state
ReduceLROnPlateau.load_state_dict = load_plain_state
M.ReduceLROnPlateau = ReduceLROnPlateau

-- For lr_scheduler_more.lua (names starting with _ stay out of nn.optim).
M._internals = {define = define, LRScheduler = LRScheduler, plain_state = plain_state,
                load_plain_state = load_plain_state, current_lrs = current_lrs}

return M
