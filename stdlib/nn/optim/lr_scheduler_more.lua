-- More learning-rate schedulers of nn.optim, each with the interface of
-- lr_scheduler.lua (step(), get_last_lr(), state_dict(),
-- load_state_dict()): LambdaLR, MultiStepLR, LinearLR and OneCycleLR as
-- torch.optim.lr_scheduler in PyTorch 1.13 (the chainable forms where
-- PyTorch uses them, so the lrs agree to the last bit), and
-- InverseTimeDecay, Keras's lr0 / (1 + decay_rate * step / decay_steps).
-- As in PyTorch, construction counts as the first step (step 0).
--
--   local sched = nn.optim.OneCycleLR(opt, {max_lr=0.1, total_steps=1000})
--   for each batch: opt:step(); sched:step()

local fail = require("nn.args").fail
local O = require "nn.optim.options"
local I = require("nn.optim.lr_scheduler")._internals

local REQUIRED = O.REQUIRED
local define, plain_state, load_plain_state, current_lrs = I.define, I.plain_state, I.load_plain_state, I.current_lrs

local M = {}

-- A check for a factor in [lo, hi] (lo excluded when open).
local function factor(opt_name, lo, hi, open)
  return function(cls, v, where)
    O.number(cls.name, opt_name, v, where)
    if not ((open and v > lo or not open and v >= lo) and v <= hi) then
      fail(cls.name, "%s must be in %s%s, %s], got %s", opt_name, open and "(" or "[", tostring(lo), tostring(hi),
           tostring(v))
    end
  end
end

-- A number, or a list of numbers with one per parameter group (checked
-- against the groups by per_group); each > 0 when positive.
local function number_or_list(opt_name, positive)
  return function(cls, v, where)
    local list = type(v) == "table" and v or {v}
    if type(v) == "table" and #v == 0 then
      fail(cls.name, "%s must be a number or a list of numbers, got an empty table", opt_name)
    end
    for i, x in ipairs(list) do
      local what = type(v) == "table" and ("%s %d"):format(opt_name, i) or opt_name
      O.number(cls.name, what, x, where)
      if positive and not (x > 0) then fail(cls.name, "%s must be > 0, got %s", what, tostring(x)) end
    end
  end
end

-- The value of option opt_name for each group: v repeated, or the list v
-- with one value per group.
local function per_group(self, opt_name, v)
  local n = #self.optimizer.param_groups
  if type(v) ~= "table" then
    local list = {}
    for i = 1, n do list[i] = v end
    return list
  end
  if #v ~= n then fail(self.name, "expected %d values for %s (one per parameter group), got %d", n, opt_name, #v) end
  return v
end

-- ---- LambdaLR ----

--- nn.optim.LambdaLR(opt, {lr_lambda=fn}): lr = initial lr * fn(k), k the
-- number of scheduler steps so far (0 at construction); lr_lambda may be a
-- list of functions, one per parameter group. state_dict() leaves the
-- functions out (as PyTorch does): the scheduler loading it keeps its own.
M.LambdaLR = define {
  name = "LambdaLR",
  defaults = {lr_lambda = REQUIRED},
  checks = {
    lr_lambda = function(cls, v)
      local list = type(v) == "table" and v or {v}
      for i, fn in ipairs(list) do
        if type(fn) ~= "function" then
          fail(cls.name, "lr_lambda must be a function or a list of functions, got %s%s", type(fn),
               type(v) == "table" and (" at index %d"):format(i) or "")
        end
      end
    end,
  },
  _setup = function(self)
    local fns = self.lr_lambda
    if type(fns) == "table" and #fns ~= #self.optimizer.param_groups then
      fail(self.name, "expected %d lr_lambdas (one per parameter group), got %d", #self.optimizer.param_groups, #fns)
    end
  end,
  get_lr = function(self)
    local lrs, k = {}, self.last_epoch
    for i, base in ipairs(self.base_lrs) do
      local fn = type(self.lr_lambda) == "table" and self.lr_lambda[i] or self.lr_lambda
      local f = fn(k)
      if type(f) ~= "number" then
        fail(self.name, "lr_lambda returned %s at step %d, expected a number", type(f), k)
      end
      lrs[i] = base * f
    end
    return lrs
  end,
  state_dict = function(self)
    local s = plain_state(self)
    s.lr_lambda = nil
    return s
  end,
  load_state_dict = function(self, s)
    if type(s) ~= "table" then fail(self.name, "load_state_dict: expected a table, got %s", type(s)) end
    local keep = self.lr_lambda
    load_plain_state(self, s)
    self.lr_lambda = keep
  end,
}

-- ---- MultiStepLR ----

--- nn.optim.MultiStepLR(opt, {milestones={...}, gamma=0.1}): lr *= gamma
-- when the step count reaches each milestone (increasing integers >= 1).
M.MultiStepLR = define {
  name = "MultiStepLR",
  defaults = {milestones = REQUIRED, gamma = 0.1},
  checks = {
    gamma = O.any_number "gamma",
    milestones = function(cls, v)
      if type(v) ~= "table" then fail(cls.name, "milestones must be a list of integers, got %s", type(v)) end
      local prev
      for i, m in ipairs(v) do
        if math.type(m) ~= "integer" and not (type(m) == "number" and m == math.floor(m)) or m < 1 then
          fail(cls.name, "milestone %d must be an integer >= 1, got %s", i, tostring(m))
        end
        if prev and m <= prev then
          fail(cls.name, "milestones must be increasing, got %s after %s", tostring(m), tostring(prev))
        end
        prev = m
      end
    end,
  },
  -- PyTorch's chainable form: the current lr times gamma at a milestone.
  get_lr = function(self)
    local lrs = current_lrs(self)
    for _, m in ipairs(self.milestones) do
      if m == self.last_epoch then
        for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma end
        break
      end
    end
    return lrs
  end,
}

-- ---- LinearLR ----

--- nn.optim.LinearLR(opt, {start_factor=1/3, end_factor=1, total_iters=5}):
-- the lr factor goes linearly from start_factor to end_factor over
-- total_iters steps, then stays (warm-up with the defaults). Its
-- load_state_dict also restores the groups' lrs (see below).
M.LinearLR = define {
  name = "LinearLR",
  defaults = {start_factor = 1 / 3, end_factor = 1.0, total_iters = 5},
  checks = {start_factor = factor("start_factor", 0, 1, true), end_factor = factor("end_factor", 0, 1),
            total_iters = O.positive("total_iters", true)},
  -- PyTorch's chainable form.
  get_lr = function(self)
    local lrs, e = current_lrs(self), self.last_epoch
    local s, f, T = self.start_factor, self.end_factor, self.total_iters
    if e == 0 then
      for i, lr in ipairs(lrs) do lrs[i] = lr * s end
    elseif e <= T then
      for i, lr in ipairs(lrs) do lrs[i] = lr * (1. + (f - s) / (T * s + (e - 1) * (f - s))) end
    end
    return lrs
  end,
  -- Also sets each group's lr back to the saved last lr: constructing the
  -- scheduler that loads the state multiplied it by start_factor again
  -- (PyTorch keeps that product).
  load_state_dict = function(self, s)
    load_plain_state(self, s)
    for i, group in ipairs(self.optimizer.param_groups) do
      if type(self._last_lr) == "table" and type(self._last_lr[i]) == "number" then group.lr = self._last_lr[i] end
    end
  end,
}

-- ---- OneCycleLR ----

local function anneal_cos(start, stop, pct)
  return stop + (start - stop) / 2.0 * (math.cos(math.pi * pct) + 1)
end

local function anneal_linear(start, stop, pct)
  return (stop - start) * pct + start
end

local function optional_count(opt_name)
  local check = O.positive(opt_name, true)
  return function(cls, v, where)
    if v ~= false then check(cls, v, where) end
  end
end

--- nn.optim.OneCycleLR(opt, {max_lr=, total_steps= (or epochs= and
-- steps_per_epoch=), pct_start=0.3, anneal_strategy='cos',
-- cycle_momentum=true, base_momentum=0.85, max_momentum=0.95,
-- div_factor=25, final_div_factor=1e4, three_phase=false}): the 1cycle
-- policy, stepped after every batch: the lr rises from max_lr / div_factor
-- to max_lr over pct_start of the steps, then falls to
-- max_lr / div_factor / final_div_factor (three_phase: back down to the
-- initial lr symmetrically, then to the minimum). With cycle_momentum, the
-- momentum (SGD, RMSprop) or beta1 (Adam, AdamW) moves inversely between
-- max_momentum and base_momentum; an optimizer with neither needs
-- cycle_momentum=false. max_lr, base_momentum and max_momentum may be
-- lists, one value per parameter group. As PyTorch, it writes initial_lr,
-- max_lr, min_lr (and max_momentum, base_momentum) into each group, and
-- stepping more than total_steps times is an error.
M.OneCycleLR = define {
  name = "OneCycleLR",
  defaults = {max_lr = REQUIRED, total_steps = false, epochs = false, steps_per_epoch = false, pct_start = 0.3,
              anneal_strategy = "cos", cycle_momentum = true, base_momentum = 0.85, max_momentum = 0.95,
              div_factor = 25.0, final_div_factor = 1e4, three_phase = false},
  checks = {max_lr = number_or_list("max_lr", true), total_steps = optional_count "total_steps",
            epochs = optional_count "epochs", steps_per_epoch = optional_count "steps_per_epoch",
            pct_start = factor("pct_start", 0, 1), anneal_strategy = O.one_of("anneal_strategy", "cos", "linear"),
            cycle_momentum = O.boolean "cycle_momentum", three_phase = O.boolean "three_phase",
            base_momentum = number_or_list("base_momentum"), max_momentum = number_or_list("max_momentum"),
            div_factor = O.positive("div_factor"), final_div_factor = O.positive("final_div_factor")},
  _setup = function(self)
    local name = self.name
    if not self.total_steps then
      if not (self.epochs and self.steps_per_epoch) then
        fail(name, "give total_steps, or epochs and steps_per_epoch")
      end
      self.total_steps = self.epochs * self.steps_per_epoch
    end
    local total, pct = self.total_steps, self.pct_start
    if self.three_phase then
      self._phases = {
        {end_step = pct * total - 1, start_lr = "initial_lr", end_lr = "max_lr",
         start_momentum = "max_momentum", end_momentum = "base_momentum"},
        {end_step = 2 * pct * total - 2, start_lr = "max_lr", end_lr = "initial_lr",
         start_momentum = "base_momentum", end_momentum = "max_momentum"},
        {end_step = total - 1, start_lr = "initial_lr", end_lr = "min_lr",
         start_momentum = "max_momentum", end_momentum = "max_momentum"},
      }
    else
      self._phases = {
        {end_step = pct * total - 1, start_lr = "initial_lr", end_lr = "max_lr",
         start_momentum = "max_momentum", end_momentum = "base_momentum"},
        {end_step = total - 1, start_lr = "max_lr", end_lr = "min_lr",
         start_momentum = "base_momentum", end_momentum = "max_momentum"},
      }
    end
    -- Step 0 divides by the first phase's length: PyTorch's
    -- ZeroDivisionError (a negative length just skips the phase).
    if self._phases[1].end_step == 0 then
      fail(name, "pct_start %s of total_steps %d leaves phase 1 empty", tostring(pct), total)
    end
    local groups = self.optimizer.param_groups
    local max_lrs = per_group(self, "max_lr", self.max_lr)
    for i, group in ipairs(groups) do
      group.initial_lr = max_lrs[i] / self.div_factor
      group.max_lr = max_lrs[i]
      group.min_lr = group.initial_lr / self.final_div_factor
    end
    if self.cycle_momentum then
      local defaults = self.optimizer.defaults
      if defaults.momentum == nil and defaults.betas == nil then
        fail(name, "%s has no momentum nor betas to cycle: pass cycle_momentum=false", self.optimizer.name)
      end
      self._use_beta1 = defaults.betas ~= nil
      local maxs = per_group(self, "max_momentum", self.max_momentum)
      local bases = per_group(self, "base_momentum", self.base_momentum)
      for i, group in ipairs(groups) do
        self:_set_momentum(group, maxs[i])
        group.max_momentum, group.base_momentum = maxs[i], bases[i]
      end
    end
  end,
  _set_momentum = function(self, group, m)
    if self._use_beta1 then group.betas = {m, group.betas[2]} else group.momentum = m end
  end,
  step = function(self)
    if self.last_epoch + 1 > self.total_steps then
      fail(self.name, "tried to step %d times; total_steps is %d", self.last_epoch + 2, self.total_steps)
    end
    I.LRScheduler.step(self)
  end,
  get_lr = function(self)
    local anneal = self.anneal_strategy == "cos" and anneal_cos or anneal_linear
    local k, phases, lrs = self.last_epoch, self._phases, {}
    for gi, group in ipairs(self.optimizer.param_groups) do
      local start = 0
      for i, phase in ipairs(phases) do
        if k <= phase.end_step or i == #phases then
          local pct = (k - start) / (phase.end_step - start)
          lrs[gi] = anneal(group[phase.start_lr], group[phase.end_lr], pct)
          if self.cycle_momentum then
            self:_set_momentum(group, anneal(group[phase.start_momentum], group[phase.end_momentum], pct))
          end
          break
        end
        start = phase.end_step
      end
    end
    return lrs
  end,
}

-- ---- InverseTimeDecay ----

--- nn.optim.InverseTimeDecay(opt, {decay_steps=, decay_rate=,
-- staircase=false}): Keras's inverse time decay, lr = lr0 / (1 +
-- decay_rate * k / decay_steps) after k steps (k / decay_steps floored
-- with staircase), lr0 the group's initial lr; computed in double.
M.InverseTimeDecay = define {
  name = "InverseTimeDecay",
  defaults = {decay_steps = REQUIRED, decay_rate = REQUIRED, staircase = false},
  checks = {decay_steps = O.positive("decay_steps", false), decay_rate = O.nonneg "decay_rate",
            staircase = O.boolean "staircase"},
  get_lr = function(self)
    local p = self.last_epoch / self.decay_steps
    if self.staircase then p = math.floor(p) end
    local lrs = {}
    for i, lr0 in ipairs(self.base_lrs) do lrs[i] = lr0 / (1 + self.decay_rate * p) end
    return lrs
  end,
}

return M
