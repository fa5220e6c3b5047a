-- nn.optim: optimizers and learning-rate schedulers, as torch.optim in
-- PyTorch 1.13.
--
--   local opt = nn.optim.SGD(model:parameters(), {lr=0.1, momentum=0.9})
--   local sched = nn.optim.StepLR(opt, {step_size=10, gamma=0.5})
--   opt:zero_grad(); loss:backward(); opt:step(); sched:step()
--
-- An optimizer keeps parameter groups (lists of tensors with their own
-- options) and per-parameter state tensors. step() walks the parameters in
-- Lua and updates each one with a single C kernel (nn._sgd_step and
-- friends, runtime/optim.c), which reproduces PyTorch's arithmetic op by
-- op. A group whose lr is 0 is frozen: step() skips it entirely, so,
-- unlike PyTorch (which still updates momentum buffers and step counts
-- with lr 0), its state does not advance either.
--
-- state_dict() is checkpoint-friendly: all tensors sit in one flat table
-- (name -> tensor, ready for nn.save), everything else is plain Lua data.

local core = require "nn.core"
local zero_grads = require("nn.autograd").zero_grads

local optim = {}

-- ---- errors ----

-- Errors point at the user's code: the first caller outside this file.
local THIS_FILE = debug.getinfo(1, "S").source

local function raise(fmt, ...)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info or info.source ~= THIS_FILE then break end
    level = level + 1
  end
  error(fmt:format(...), level)
end

-- ---- small helpers ----

-- Marks an option with no default (SGD's lr).
local REQUIRED = setmetatable({}, {__tostring = function() return "<required>" end})

-- A copy of a plain value (options such as betas are small tables).
local function copy(v)
  if type(v) ~= "table" or v == REQUIRED then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- A class table: instances get its methods; calling it builds one.
local function class(parent, new)
  local cls = {}
  cls.__index = cls
  setmetatable(cls, {__index = parent, __call = new})
  return cls
end

-- ---- option checks ----

-- A check(cls, value, where) raises unless value suits its option; the
-- message starts with the class name, and where says which parameter
-- group the value came from ("" for the options table).

local function number(name, v, where)
  if type(v) ~= "number" then raise("%s must be a number%s, got %s", name, where, type(v)) end
end

local function nonneg(opt_name)
  return function(cls, v, where)
    number(cls.name .. ": " .. opt_name, v, where)
    if not (v >= 0) then raise("%s: invalid %s %s%s (must be >= 0)", cls.name, opt_name, tostring(v), where) end
  end
end

local function any_number(opt_name)
  return function(cls, v, where) number(cls.name .. ": " .. opt_name, v, where) end
end

local function boolean(opt_name)
  return function(cls, v, where)
    if type(v) ~= "boolean" then
      raise("%s: %s must be true or false%s, got %s", cls.name, opt_name, where, type(v))
    end
  end
end

local function betas(cls, v, where)
  if type(v) ~= "table" or #v ~= 2 then
    raise("%s: betas must be a pair {beta1, beta2}%s, got %s", cls.name, where,
          type(v) == "table" and ("%d values"):format(#v) or type(v))
  end
  for i = 1, 2 do
    number(cls.name .. ": beta " .. i, v[i], where)
    if not (v[i] >= 0 and v[i] < 1) then
      raise("%s: invalid beta parameter at index %d: %s%s (must be in [0, 1))", cls.name, i,
            tostring(v[i]), where)
    end
  end
end

-- ---- the optimizer base ----

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer._is_optimizer = true

-- Validates every option of group against the class's checks (in name
-- order, so the first bad option reported does not vary).
local function check_group(cls, group, where)
  for _, name in ipairs(sorted_keys(cls.checks)) do
    local v = group[name]
    if v ~= nil and v ~= REQUIRED then cls.checks[name](cls, v, where) end
  end
  if cls.check_all then cls.check_all(cls, group, where) end
end

local function new_optimizer(cls, params, opts)
  local name = cls.name
  if opts ~= nil and type(opts) ~= "table" then
    raise("%s: options must be a table, got %s", name, type(opts))
  end
  opts = opts or {}
  local defaults = {}
  for k, v in pairs(cls.defaults) do defaults[k] = copy(v) end
  for k, v in pairs(opts) do
    if cls.defaults[k] == nil then raise("%s: unknown option '%s'", name, tostring(k)) end
    defaults[k] = copy(v)
  end
  check_group(cls, defaults, "")

  if core.is_tensor(params) then
    raise("%s: params must be a list of tensors or of parameter groups, got a tensor (pass {t})", name)
  end
  if type(params) ~= "table" then
    raise("%s: params must be a list of tensors or of parameter groups, got %s", name, type(params))
  end
  local groups = params
  if #params == 0 and params.params ~= nil then
    groups = {params}      -- a single group
  elseif #params == 0 then
    raise("%s: optimizer got an empty parameter list", name)
  elseif core.is_tensor(params[1]) then
    groups = {{params = params}}
  end

  local self = setmetatable({defaults = defaults, state = {}, param_groups = {}}, cls)
  for _, group in ipairs(groups) do self:add_param_group(group) end
  return self
end

--- opt:add_param_group({params=..., lr=...}): adds a group; options it
-- leaves out come from the optimizer's defaults.
function Optimizer:add_param_group(group)
  local name, index = self.name, #self.param_groups + 1
  if type(group) ~= "table" or core.is_tensor(group) then
    raise("%s: parameter group %d must be a table {params=..., ...}, got %s", name, index,
          core.is_tensor(group) and "a tensor" or type(group))
  end
  local ps = group.params
  if core.is_tensor(ps) then ps = {ps} end
  if type(ps) ~= "table" then
    raise("%s: parameter group %d needs a params list, got %s", name, index, type(ps))
  end
  local seen = {}
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do seen[p] = true end
  end
  local list = {}
  for i = 1, #ps do
    local p = ps[i]
    if not core.is_tensor(p) then
      raise("%s: parameter %d of group %d must be a tensor, got %s", name, i, index, type(p))
    end
    if p.dtype ~= "float32" then
      raise("%s: parameter %d of group %d must be a float32 tensor, got %s", name, i, index, p.dtype)
    end
    if not p.is_leaf then
      raise("%s: can't optimize a non-leaf tensor (parameter %d of group %d): optimize the tensor it was computed from",
            name, i, index)
    end
    if not p:is_contiguous() then
      raise("%s: parameter %d of group %d is not contiguous", name, i, index)
    end
    if seen[p] then
      raise("%s: parameter %d of group %d appears more than once in the optimizer", name, i, index)
    end
    seen[p] = true
    list[i] = p
  end

  local g = {}
  for k, v in pairs(group) do g[k] = copy(v) end
  g.params = list
  for k, v in pairs(self.defaults) do
    if g[k] == nil then
      if v == REQUIRED then
        raise("%s: %s is required (parameter group %d does not give it, and there is no default)",
              name, k, index)
      end
      g[k] = copy(v)
    end
  end
  check_group(self, g, (" in parameter group %d"):format(index))
  self.param_groups[index] = g
  if self._init_state then
    for _, p in ipairs(list) do self:_init_state(g, p, self:_state(p)) end
  end
end

-- The state table of p, created empty on first use.
function Optimizer:_state(p)
  local s = self.state[p]
  if not s then
    s = {}
    self.state[p] = s
  end
  return s
end

--- opt:step([closure]): one update of every parameter that has a
-- gradient. closure, if given, is called first (with gradients enabled)
-- and its result returned, as in PyTorch.
function Optimizer:step(closure)
  local loss
  if closure ~= nil then loss = core.enable_grad(closure) end
  local update = self._update
  for _, group in ipairs(self.param_groups) do
    if group.lr ~= 0 then
      for _, p in ipairs(group.params) do
        local g = p.grad
        if g then update(self, group, p, g, self:_state(p)) end
      end
    end
  end
  return loss
end

--- opt:zero_grad([{set_to_none=true}]): zeroes every gradient in place,
-- or drops them (p.grad = nil) with set_to_none.
function Optimizer:zero_grad(opts)
  for _, group in ipairs(self.param_groups) do zero_grads(group.params, opts) end
end

--- opt:state_dict() -> {tensors=, scalars=, param_groups=}
-- tensors: "state.<i>.<name>" -> tensor, i the parameter's 1-based
--   position over all groups in order (the optimizer's own buffers, not
--   copies: save them, or clone them to keep a snapshot);
-- scalars: "state.<i>.<name>" -> number (the step counts);
-- param_groups: one plain table per group, its options and params = the
--   positions of its parameters.
function Optimizer:state_dict()
  local tensors, scalars, groups, index = {}, {}, {}, 0
  for gi, group in ipairs(self.param_groups) do
    local packed = {}
    for k, v in pairs(group) do
      if k ~= "params" then packed[k] = copy(v) end
    end
    packed.params = {}
    for j, p in ipairs(group.params) do
      index = index + 1
      packed.params[j] = index
      for k, v in pairs(self.state[p] or {}) do
        local key = ("state.%d.%s"):format(index, k)
        if core.is_tensor(v) then tensors[key] = v else scalars[key] = v end
      end
    end
    groups[gi] = packed
  end
  return {tensors = tensors, scalars = scalars, param_groups = groups}
end

-- The parameter each saved position stands for, checking that the saved
-- groups have the optimizer's shape.
local function map_positions(self, saved)
  local name = self.name
  if #saved ~= #self.param_groups then
    raise("%s: load_state_dict: the state has %d parameter groups, the optimizer %d", name, #saved,
          #self.param_groups)
  end
  local by_position = {}
  for gi, group in ipairs(self.param_groups) do
    local sg = saved[gi]
    if type(sg) ~= "table" or type(sg.params) ~= "table" then
      raise("%s: load_state_dict: parameter group %d has no params list", name, gi)
    end
    if #sg.params ~= #group.params then
      raise("%s: load_state_dict: parameter group %d has %d parameters in the state, %d in the optimizer",
            name, gi, #sg.params, #group.params)
    end
    for j, pos in ipairs(sg.params) do
      if math.type(pos) == "float" then pos = math.tointeger(pos) or pos end
      by_position[pos] = group.params[j]
    end
  end
  return by_position
end

-- Parses "state.<i>.<name>" into the parameter and the state's name.
local function state_key(self, key, by_position)
  local pos, field = tostring(key):match("^state%.(%d+)%.([%w_]+)$")
  local p = pos and by_position[tonumber(pos)]
  if not p then raise("%s: load_state_dict: unexpected state key '%s'", self.name, tostring(key)) end
  if not self.state_names[field] then
    raise("%s: load_state_dict: unknown state '%s' for parameter %s (is this state from another optimizer?)",
          self.name, field, pos)
  end
  return p, field
end

--- opt:load_state_dict(s): restores options and state saved by
-- state_dict() (possibly through nn.save / nn.load of s.tensors). The
-- tensors are copied. Nothing changes if s does not fit.
function Optimizer:load_state_dict(s)
  local name = self.name
  if type(s) ~= "table" or type(s.param_groups) ~= "table" then
    raise("%s: load_state_dict: expected a table from state_dict() with param_groups, got %s", name, type(s))
  end
  local by_position = map_positions(self, s.param_groups)
  local state = {}
  local function state_of(p)
    state[p] = state[p] or {}
    return state[p]
  end
  for key, t in pairs(s.tensors or {}) do
    local p, field = state_key(self, key, by_position)
    if not core.is_tensor(t) or t:numel() ~= p:numel() then
      raise("%s: load_state_dict: %s must be a tensor of %d elements (the parameter's %s), got %s", name, key,
            p:numel(), "[" .. table.concat(p.shape, ",") .. "]",
            core.is_tensor(t) and "[" .. table.concat(t.shape, ",") .. "]" or type(t))
    end
    local c = core.zeros_like(p)
    c:copy_(t:detach():reshape(p.shape))
    state_of(p)[field] = c
  end
  for key, v in pairs(s.scalars or {}) do
    local p, field = state_key(self, key, by_position)
    if type(v) ~= "number" then raise("%s: load_state_dict: %s must be a number, got %s", name, key, type(v)) end
    state_of(p)[field] = math.tointeger(v) or v
  end
  local groups = {}
  for gi, group in ipairs(self.param_groups) do
    local g = {}
    for k, v in pairs(s.param_groups[gi]) do g[k] = copy(v) end
    g.params = group.params
    for k, v in pairs(self.defaults) do
      if g[k] == nil and v ~= REQUIRED then g[k] = copy(v) end
    end
    if g.lr == nil then raise("%s: load_state_dict: parameter group %d has no lr", name, gi) end
    check_group(self, g, (" in parameter group %d"):format(gi))
    groups[gi] = g
  end
  self.param_groups, self.state = groups, state
end

function Optimizer:__tostring()
  local lines = {self.name .. " ("}
  for i, group in ipairs(self.param_groups) do
    lines[#lines + 1] = ("Parameter Group %d"):format(i)
    for _, k in ipairs(sorted_keys(group)) do
      local v = group[k]
      if k ~= "params" then
        if type(v) == "table" then v = "{" .. table.concat(v, ", ") .. "}" end
        lines[#lines + 1] = ("    %s: %s"):format(k, tostring(v))
      end
    end
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

-- Defines an optimizer: spec has name, defaults, checks (option name ->
-- check), state_names (the state it keeps) and the _update method.
local function define(spec)
  local cls = class(Optimizer, new_optimizer)
  for k, v in pairs(spec) do cls[k] = v end
  cls.__tostring = Optimizer.__tostring
  return cls
end

-- ---- SGD ----

--- nn.optim.SGD(params, {lr=, momentum=0, dampening=0, weight_decay=0,
-- nesterov=false}): lr is required.
optim.SGD = define {
  name = "SGD",
  defaults = {lr = REQUIRED, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false},
  checks = {lr = nonneg "lr", momentum = nonneg "momentum", dampening = any_number "dampening",
            weight_decay = nonneg "weight_decay", nesterov = boolean "nesterov"},
  check_all = function(cls, g, where)
    if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
      raise("%s: nesterov momentum requires a momentum and zero dampening%s (momentum %s, dampening %s)",
            cls.name, where, tostring(g.momentum), tostring(g.dampening))
    end
  end,
  state_names = {momentum_buffer = true},
}

function optim.SGD:_update(group, p, g, s)
  local buf, first = nil, false
  if group.momentum ~= 0 then
    buf = s.momentum_buffer
    if not buf then
      buf, first = core.zeros_like(p), true
      s.momentum_buffer = buf
    end
  end
  core._sgd_step(p, g, buf, group.lr, group.momentum, group.dampening, group.nesterov,
                 group.weight_decay, first)
end

-- ---- Adam and AdamW ----

local adam_checks = {lr = nonneg "lr", betas = betas, eps = nonneg "eps",
                     weight_decay = nonneg "weight_decay", amsgrad = boolean "amsgrad"}
local adam_state = {step = true, exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = true}

local function adam_update(self, group, p, g, s)
  if not s.exp_avg then
    s.step, s.exp_avg, s.exp_avg_sq = 0, core.zeros_like(p), core.zeros_like(p)
  end
  local vmax
  if group.amsgrad then
    vmax = s.max_exp_avg_sq or core.zeros_like(p)
    s.max_exp_avg_sq = vmax
  end
  s.step = (s.step or 0) + 1
  core._adam_step(p, g, s.exp_avg, s.exp_avg_sq, vmax, s.step, group.lr, group.betas[1],
                  group.betas[2], group.eps, group.weight_decay, self.decoupled)
end

--- nn.optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
-- weight_decay=0, amsgrad=false}): weight decay is added to the gradient.
optim.Adam = define {
  name = "Adam",
  defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, amsgrad = false},
  checks = adam_checks, state_names = adam_state, decoupled = false, _update = adam_update,
}

--- nn.optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
-- weight_decay=1e-2, amsgrad=false}): decoupled weight decay, p *= 1 - lr * wd.
optim.AdamW = define {
  name = "AdamW",
  defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2, amsgrad = false},
  checks = adam_checks, state_names = adam_state, decoupled = true, _update = adam_update,
}

-- ---- RMSprop ----

--- nn.optim.RMSprop(params, {lr=1e-2, alpha=0.99, eps=1e-8,
-- weight_decay=0, momentum=0, centered=false})
optim.RMSprop = define {
  name = "RMSprop",
  defaults = {lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false},
  checks = {lr = nonneg "lr", alpha = nonneg "alpha", eps = nonneg "eps",
            weight_decay = nonneg "weight_decay", momentum = nonneg "momentum",
            centered = boolean "centered"},
  state_names = {step = true, square_avg = true, momentum_buffer = true, grad_avg = true},
}

function optim.RMSprop:_update(group, p, g, s)
  if not s.square_avg then s.step, s.square_avg = 0, core.zeros_like(p) end
  local buf, avg
  if group.momentum > 0 then
    buf = s.momentum_buffer or core.zeros_like(p)
    s.momentum_buffer = buf
  end
  if group.centered then
    avg = s.grad_avg or core.zeros_like(p)
    s.grad_avg = avg
  end
  s.step = (s.step or 0) + 1
  core._rmsprop_step(p, g, s.square_avg, avg, buf, group.lr, group.alpha, group.eps,
                     group.weight_decay, group.momentum)
end

-- ---- Adagrad ----

--- nn.optim.Adagrad(params, {lr=1e-2, lr_decay=0, weight_decay=0,
-- initial_accumulator_value=0, eps=1e-10}): the state exists from the
-- start, as in PyTorch.
optim.Adagrad = define {
  name = "Adagrad",
  defaults = {lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10},
  checks = {lr = nonneg "lr", lr_decay = nonneg "lr_decay", weight_decay = nonneg "weight_decay",
            initial_accumulator_value = nonneg "initial_accumulator_value", eps = nonneg "eps"},
  state_names = {step = true, sum = true},
}

function optim.Adagrad:_init_state(group, p, s)
  s.step, s.sum = 0, core.full_like(p, group.initial_accumulator_value)
end

function optim.Adagrad:_update(group, p, g, s)
  if not s.sum then self:_init_state(group, p, s) end
  s.step = (s.step or 0) + 1
  core._adagrad_step(p, g, s.sum, s.step, group.lr, group.lr_decay, group.weight_decay, group.eps)
end

-- ---- learning-rate schedulers ----

-- Scheduler options: spec.defaults (REQUIRED for required ones) and
-- spec.checks; returns the merged options.
local function scheduler_options(cls, optimizer, opts)
  local name = cls.name
  if type(optimizer) ~= "table" or not optimizer._is_optimizer then
    raise("%s: argument 1 must be an optimizer, got %s", name,
          core.is_tensor(optimizer) and "a tensor" or type(optimizer))
  end
  if opts ~= nil and type(opts) ~= "table" then raise("%s: options must be a table, got %s", name, type(opts)) end
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do
    if cls.defaults[k] == nil then raise("%s: unknown option '%s'", name, tostring(k)) end
    o[k] = copy(v)
  end
  for k, v in pairs(cls.defaults) do
    if o[k] == nil then
      if v == REQUIRED then raise("%s: option %s is required", name, k) end
      o[k] = copy(v)
    end
  end
  for _, k in ipairs(sorted_keys(cls.checks)) do cls.checks[k](cls, o[k], "") end
  return o
end

local function positive(opt_name, integer)
  return function(cls, v, where)
    number(cls.name .. ": " .. opt_name, v, where)
    if not (v > 0) or (integer and math.type(v) ~= "integer" and v ~= math.floor(v)) then
      raise("%s: %s must be a positive %s, got %s", cls.name, opt_name, integer and "integer" or "number",
            tostring(v))
    end
  end
end

local function plain_state(self)
  local s = {}
  for k, v in pairs(self) do
    if k ~= "optimizer" then s[k] = copy(v) end
  end
  return s
end

local function load_plain_state(self, s)
  if type(s) ~= "table" then raise("%s: load_state_dict: expected a table, got %s", self.name, type(s)) end
  for k, v in pairs(s) do
    if k ~= "optimizer" then self[k] = copy(v) end
  end
end

-- The epoch-based schedulers (PyTorch's _LRScheduler): step() advances
-- last_epoch and sets each group's lr from get_lr(), in PyTorch's
-- recursive ("chainable") form.
local LRScheduler = {}
LRScheduler.__index = LRScheduler

local function new_scheduler(cls, optimizer, opts)
  local o = scheduler_options(cls, optimizer, opts)
  local self = setmetatable(o, cls)
  self.optimizer = optimizer
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

local function define_scheduler(spec)
  local cls = class(LRScheduler, new_scheduler)
  for k, v in pairs(spec) do cls[k] = v end
  return cls
end

-- The current lr of every group.
local function current_lrs(self)
  local lrs = {}
  for i, group in ipairs(self.optimizer.param_groups) do lrs[i] = group.lr end
  return lrs
end

--- nn.optim.StepLR(opt, {step_size=, gamma=0.1}): lr *= gamma every
-- step_size epochs.
optim.StepLR = define_scheduler {
  name = "StepLR",
  defaults = {step_size = REQUIRED, gamma = 0.1},
  checks = {step_size = positive("step_size", true), gamma = any_number "gamma"},
  get_lr = function(self)
    local lrs = current_lrs(self)
    if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return lrs end
    for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma end
    return lrs
  end,
}

--- nn.optim.ExponentialLR(opt, {gamma=}): lr *= gamma every epoch.
optim.ExponentialLR = define_scheduler {
  name = "ExponentialLR",
  defaults = {gamma = REQUIRED},
  checks = {gamma = any_number "gamma"},
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
optim.CosineAnnealingLR = define_scheduler {
  name = "CosineAnnealingLR",
  defaults = {T_max = REQUIRED, eta_min = 0},
  checks = {T_max = positive("T_max", false), eta_min = any_number "eta_min"},
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

local function one_of(opt_name, a, b)
  return function(cls, v)
    if v ~= a and v ~= b then
      raise("%s: %s must be '%s' or '%s', got %s", cls.name, opt_name, a, b, tostring(v))
    end
  end
end

local function nonneg_integer(opt_name)
  return function(cls, v, where)
    number(cls.name .. ": " .. opt_name, v, where)
    if not (v >= 0) or v ~= math.floor(v) then
      raise("%s: %s must be an integer >= 0, got %s", cls.name, opt_name, tostring(v))
    end
  end
end

local ReduceLROnPlateau = class(nil, function(cls, optimizer, opts)
  local self = setmetatable(scheduler_options(cls, optimizer, opts), cls)
  self.optimizer = optimizer
  local n = #optimizer.param_groups
  if type(self.min_lr) == "table" then
    if #self.min_lr ~= n then
      raise("ReduceLROnPlateau: expected %d min_lrs (one per parameter group), got %d", n, #self.min_lr)
    end
    self.min_lrs = self.min_lr
  else
    self.min_lrs = {}
    for i = 1, n do self.min_lrs[i] = self.min_lr end
  end
  for i, v in ipairs(self.min_lrs) do number("ReduceLROnPlateau: min_lr " .. i, v, "") end
  self.min_lr = nil
  self.last_epoch = 0
  self:_reset()
  return self
end)

ReduceLROnPlateau.name = "ReduceLROnPlateau"
ReduceLROnPlateau.defaults = {mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
                              threshold_mode = "rel", cooldown = 0, min_lr = 0, eps = 1e-8}
ReduceLROnPlateau.checks = {
  mode = one_of("mode", "min", "max"),
  threshold_mode = one_of("threshold_mode", "rel", "abs"),
  factor = function(cls, v, where)
    number("ReduceLROnPlateau: factor", v, where)
    if not (v >= 0 and v < 1) then raise("ReduceLROnPlateau: factor must be in [0, 1), got %s", tostring(v)) end
  end,
  patience = nonneg_integer "patience",
  cooldown = nonneg_integer "cooldown",
  threshold = any_number "threshold",
  eps = any_number "eps",
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
  if core.is_tensor(metric) then metric = metric:item() end
  if type(metric) ~= "number" then
    raise("ReduceLROnPlateau: step needs the monitored metric (a number), got %s", type(metric))
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
optim.ReduceLROnPlateau = ReduceLROnPlateau

return optim
