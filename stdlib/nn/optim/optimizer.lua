-- The optimizer base class: parameter groups, step(), zero_grad(), and
-- the state dicts. Each optimizer (sgd.lua, adam.lua, ...) is a spec given
-- to define(): its name, option defaults and checks, the names of the
-- state it keeps, and its _kernel, nn.core._<name>_step(p, grad, state,
-- group), which updates one parameter in place with a single C kernel
-- (bindings/optim.c, runtime/optim.c) reading the options from the group
-- and creating the state tensors it needs in state. A group whose lr is 0
-- is frozen: step() skips it entirely, so, unlike PyTorch (which still
-- updates momentum buffers and step counts with lr 0), its state does not
-- advance either.
--
-- state_dict() is checkpoint-friendly: all tensors sit in one flat table
-- (name -> tensor, ready for nn.save), everything else is plain Lua data.

local nn = require "nn"
local fail = require("nn.args").fail
local zero_grads = require("nn.autograd").zero_grads
local O = require "nn.optim.options"

local REQUIRED, copy = O.REQUIRED, O.copy

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer._is_optimizer = true

-- Validates every option of group against the class's checks.
local function check_group(cls, group, where)
  O.check(cls, group, where)
  if cls._check_all then cls._check_all(cls, group, where) end
end

local function new_optimizer(cls, params, opts)
  local name = cls.name
  -- Before the options: Adam(model, {lr=...}) is the usual slip.
  if require("nn.module").is_module(params) then
    fail(name, "params must be a list of tensors or of parameter groups, got a Module (%s); pass model:parameters()",
         params.__name)
  end
  local defaults = O.given(cls, opts)
  for k, v in pairs(cls.defaults) do
    if defaults[k] == nil then defaults[k] = copy(v) end
  end
  check_group(cls, defaults, "")

  if nn.is_tensor(params) then
    fail(name, "params must be a list of tensors or of parameter groups, got a tensor (pass {t})")
  end
  if type(params) ~= "table" then
    fail(name, "params must be a list of tensors or of parameter groups, got %s", type(params))
  end
  local groups = params
  if #params == 0 and params.params ~= nil then
    groups = {params}      -- a single group
  elseif #params == 0 then
    fail(name, "optimizer got an empty parameter list")
  elseif nn.is_tensor(params[1]) then
    groups = {{params = params}}
  end

  local self = setmetatable({defaults = defaults, state = {}, param_groups = {}}, cls)
  for _, group in ipairs(groups) do self:add_param_group(group) end
  return self
end

-- The checked list of tensors of group index (the params of a group).
local function group_params(self, group, index)
  local name = self.name
  if type(group) ~= "table" or nn.is_tensor(group) then
    fail(name, "parameter group %d must be a table {params=..., ...}, got %s", index,
         nn.is_tensor(group) and "a tensor" or type(group))
  end
  local ps = group.params
  if nn.is_tensor(ps) then ps = {ps} end
  if type(ps) ~= "table" then fail(name, "parameter group %d needs a params list, got %s", index, type(ps)) end
  local seen = {}
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do seen[p] = true end
  end
  local list = {}
  for i = 1, #ps do
    local p = ps[i]
    if not nn.is_tensor(p) then
      fail(name, "parameter %d of group %d must be a tensor, got %s", i, index, type(p))
    end
    if p.dtype ~= "float32" then
      fail(name, "parameter %d of group %d must be a float32 tensor, got %s", i, index, p.dtype)
    end
    if not p.is_leaf then
      fail(name, "can't optimize a non-leaf tensor (parameter %d of group %d): optimize the tensor it was computed from",
           i, index)
    end
    if not p:is_contiguous() then fail(name, "parameter %d of group %d is not contiguous", i, index) end
    if seen[p] then fail(name, "parameter %d of group %d appears more than once in the optimizer", i, index) end
    seen[p] = true
    list[i] = p
  end
  return list
end

--- opt:add_param_group({params=..., lr=...}): adds a group; options it
-- leaves out come from the optimizer's defaults.
function Optimizer:add_param_group(group)
  local name, index = self.name, #self.param_groups + 1
  local list = group_params(self, group, index)
  local g = {}
  for k, v in pairs(group) do g[k] = copy(v) end
  g.params = list
  for k, v in pairs(self.defaults) do
    if g[k] == nil then
      if v == REQUIRED then
        fail(name, "%s is required (parameter group %d does not give it, and there is no default)", k, index)
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

-- The state table of parameter p, created empty on first use.
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
  if closure ~= nil then loss = nn.enable_grad(closure) end
  local kernel = self._kernel
  for _, group in ipairs(self.param_groups) do
    if group.lr ~= 0 then
      for _, p in ipairs(group.params) do
        local g = p.grad
        if g then kernel(p, g, self:_state(p), group) end
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

-- ---- state dicts ----

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
        if nn.is_tensor(v) then tensors[key] = v else scalars[key] = v end
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
    fail(name, "load_state_dict: the state has %d parameter groups, the optimizer %d", #saved, #self.param_groups)
  end
  local by_position = {}
  for gi, group in ipairs(self.param_groups) do
    local sg = saved[gi]
    if type(sg) ~= "table" or type(sg.params) ~= "table" then
      fail(name, "load_state_dict: parameter group %d has no params list", gi)
    end
    if #sg.params ~= #group.params then
      fail(name, "load_state_dict: parameter group %d has %d parameters in the state, %d in the optimizer",
           gi, #sg.params, #group.params)
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
  if not p then fail(self.name, "load_state_dict: unexpected state key '%s'", tostring(key)) end
  if not self.state_names[field] then
    fail(self.name, "load_state_dict: unknown state '%s' for parameter %s (is this state from another optimizer?)",
         field, pos)
  end
  return p, field
end

--- opt:load_state_dict(s): restores options and state saved by
-- state_dict() (possibly through nn.save / nn.load of s.tensors). The
-- tensors are copied. Nothing changes if s does not fit.
function Optimizer:load_state_dict(s)
  local name = self.name
  if type(s) ~= "table" or type(s.param_groups) ~= "table" then
    fail(name, "load_state_dict: expected a table from state_dict() with param_groups, got %s", type(s))
  end
  local by_position = map_positions(self, s.param_groups)
  local state = {}
  local function state_of(p)
    state[p] = state[p] or {}
    return state[p]
  end
  for key, t in pairs(s.tensors or {}) do
    local p, field = state_key(self, key, by_position)
    if not nn.is_tensor(t) or t:numel() ~= p:numel() then
      fail(name, "load_state_dict: %s must be a tensor of %d elements (the parameter's %s), got %s", key,
           p:numel(), "[" .. table.concat(p.shape, ",") .. "]",
           nn.is_tensor(t) and "[" .. table.concat(t.shape, ",") .. "]" or type(t))
    end
    local c = nn.zeros_like(p)
    c:copy_(t:detach():reshape(p.shape))
    state_of(p)[field] = c
  end
  for key, v in pairs(s.scalars or {}) do
    local p, field = state_key(self, key, by_position)
    if type(v) ~= "number" then fail(name, "load_state_dict: %s must be a number, got %s", key, type(v)) end
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
    if g.lr == nil and self.defaults.lr ~= nil then
      fail(name, "load_state_dict: parameter group %d has no lr", gi)
    end
    check_group(self, g, (" in parameter group %d"):format(gi))
    groups[gi] = g
  end
  self.param_groups, self.state = groups, state
end

function Optimizer:__tostring()
  local lines = {self.name .. " ("}
  for i, group in ipairs(self.param_groups) do
    lines[#lines + 1] = ("Parameter Group %d"):format(i)
    for _, k in ipairs(O.sorted_keys(group)) do
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

--- Defines an optimizer class from spec: name, defaults (REQUIRED for
-- an option without one), checks (option name -> check), _check_all
-- (optional, on a whole group), state_names (the set of state it keeps),
-- _kernel, and optionally _init_state(group, p, state) for state that
-- exists from the start.
local function define(spec)
  local cls = O.class(Optimizer, new_optimizer)
  for k, v in pairs(spec) do cls[k] = v end
  cls.__tostring = Optimizer.__tostring
  return cls
end

return {Optimizer = Optimizer, define = define}
