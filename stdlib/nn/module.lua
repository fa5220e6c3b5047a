-- nn.Module: the base class of every layer and model, as torch.nn.Module.
--
--   local Net = nn.Module:extend('Net')
--   function Net:init(n) self.fc1 = nn.Linear(n, 10) end
--   function Net:forward(x) return self.fc1(x) end
--   local model = Net(784)        -- a new instance; init runs
--   local y = model(x)            -- runs forward
--
-- A class is a table that serves as the metatable of its instances, with
-- its parent class as __index. Instances are plain tables: a field
-- assignment that creates a new field goes through __newindex, which
-- registers modules and parameters (float tensors that require grad) in
-- assignment order. The registry holds names, not values, and values are
-- read from the instance when enumerated, so replacing a registered field
-- (model.fc = nn.Linear(512, 10)) keeps its place, as in PyTorch.
-- Buffers (tensors that are state but not parameters, such as BatchNorm's
-- running mean) are registered with register_buffer.
--
-- Enumeration follows PyTorch: a module's own parameters, then its own
-- buffers, then its children recursively; names are dotted paths, with
-- 1-based indices for the children of a Sequential ("1.weight"), or
-- 0-based as PyTorch's under state_dict{keys='torch'} (state_dict.lua).

local nn = require "nn"
local A = require "nn.args"
local autograd = require "nn.autograd"

local Module = {__name = "Module"}
Module.__index = Module

-- Metamethods live in the metatable itself (Lua does not look them up
-- through __index), so each class copies them from its parent.
local INHERITED = {"__newindex", "__call", "__tostring", "__len"}

local function is_module(v)
  return type(v) == "table" and rawget(v, "_kinds") ~= nil
end
Module.is_module = is_module

local function is_class(v)
  return type(v) == "table" and rawget(v, "__index") == v and rawget(v, "__name") ~= nil
end

-- Instance creation: the registry first, then the class's init.
local function new(class, ...)
  local self = setmetatable({training = true, _keys = {}, _kinds = {}}, class)
  self:init(...)
  return self
end

local function class_tostring(class)
  return "class " .. rawget(class, "__name")
end

setmetatable(Module, {__call = new, __tostring = class_tostring})

--- Module:extend(name): a new class deriving from this one.
function Module:extend(name)
  if is_module(self) then
    A.fail("extend", "call it on a class (nn.Module:extend('Net')), not on a module")
  end
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    A.fail("extend", "the class name must be an identifier such as 'Net', got %s", A.show(name))
  end
  local class = {__name = name}
  class.__index = class
  for _, k in ipairs(INHERITED) do class[k] = self[k] end
  return setmetatable(class, {__index = self, __call = new, __tostring = class_tostring})
end

--- The constructor; classes override it. Arguments are the class call's.
function Module:init() end

function Module:forward()
  A.fail(self.__name, "forward is not defined (write function %s:forward(x) ... end)", self.__name)
end

-- ---- calls and forward hooks ----
-- Hooks live in two instance fields, _forward_pre_hooks and
-- _forward_hooks (lists of functions), with _hooked = true, present only
-- while a hook is registered: without hooks a call costs one field lookup
-- more than forward (Sequential runs such children by forward directly).

-- Runs the pre-hooks, forward and the hooks. A hook sees the call's first
-- argument as `input`; a non-nil return replaces it (pre-hook) or the
-- output (forward hook); further arguments pass unchanged.
local function call_hooked(self, pre, post, x, ...)
  if pre then
    for _, h in ipairs({table.unpack(pre)}) do
      local r = h(self, x)
      if r ~= nil then x = r end
    end
  end
  local out = self:forward(x, ...)
  if post then
    for _, h in ipairs({table.unpack(post)}) do
      local r = h(self, x, out)
      if r ~= nil then out = r end
    end
  end
  return out
end

-- model(x) runs model:forward(x), through the hooks when there are any
-- (then the instance's _hooked is true; Module._hooked is false).
Module._hooked = false
function Module.__call(self, ...)
  if not self._hooked then return self:forward(...) end
  return call_hooked(self, rawget(self, "_forward_pre_hooks"), rawget(self, "_forward_hooks"), ...)
end

-- A removable handle: handle:remove() takes the hook out (once; later
-- calls do nothing).
local Handle = {}
Handle.__index = Handle
function Handle:remove()
  local m, field, fn = self.module, self.field, self.fn
  local list = rawget(m, field)
  if not list then return end
  for i = #list, 1, -1 do
    if list[i] == fn then
      table.remove(list, i)
      break
    end
  end
  if #list == 0 then rawset(m, field, nil) end
  if rawget(m, "_forward_pre_hooks") == nil and rawget(m, "_forward_hooks") == nil then rawset(m, "_hooked", nil) end
end

local function add_hook(self, fname, field, fn)
  if not is_module(self) then A.fail(fname, "call it on a module (m:%s(fn))", fname) end
  if type(fn) ~= "function" then A.fail(fname, "hook must be a function, got %s", type(fn)) end
  local list = rawget(self, field)
  if not list then
    list = {}
    rawset(self, field, list)
  end
  list[#list + 1] = fn
  rawset(self, "_hooked", true)
  return setmetatable({module = self, field = field, fn = fn}, Handle)
end

--- fn(module, input, output) after every call's forward (a non-nil
-- return replaces the output). Returns a handle with :remove().
function Module:register_forward_hook(fn)
  return add_hook(self, "register_forward_hook", "_forward_hooks", fn)
end

--- fn(module, input) before every call's forward (a non-nil return
-- replaces the input). Returns a handle with :remove().
function Module:register_forward_pre_hook(fn)
  return add_hook(self, "register_forward_pre_hook", "_forward_pre_hooks", fn)
end

-- Registers a new field that holds a module or a parameter, then stores it.
function Module.__newindex(self, key, value)
  local kind
  if is_module(value) then
    kind = "module"
  elseif nn.is_tensor(value) and value.requires_grad and value.is_leaf then
    kind = "param"
  end
  if kind then
    local kinds = self._kinds
    if kinds[key] == nil then
      local keys = self._keys
      keys[#keys + 1] = key
    end
    kinds[key] = kind
  end
  rawset(self, key, value)
end

local function register(self, fname, name, value, kind)
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    A.fail(fname, "name must be a non-empty string without dots, got %s", A.show(name))
  end
  local kinds = self._kinds
  if kinds[name] == nil then
    local keys = self._keys
    keys[#keys + 1] = name
  end
  kinds[name] = kind
  rawset(self, name, value)
end

--- Registers t (a float tensor, made to require grad) as parameter `name`.
function Module:register_parameter(name, t)
  if t ~= nil and not nn.is_tensor(t) then
    A.fail("register_parameter", "%s must be a tensor, got %s", A.show(name), type(t))
  end
  if t ~= nil and not t.requires_grad then t:requires_grad_(true) end
  register(self, "register_parameter", name, t, "param")
end

--- Registers t (a tensor or nil) as buffer `name`: saved in state_dict,
-- not returned by parameters().
function Module:register_buffer(name, t)
  if t ~= nil and not nn.is_tensor(t) then
    A.fail("register_buffer", "%s must be a tensor, got %s", A.show(name), type(t))
  end
  register(self, "register_buffer", name, t, "buffer")
end

-- ---- enumeration ----

-- Does the registered field hold a value of its kind (not nil or replaced
-- by something else)?
local function holds(kind, v)
  if kind == "module" then return is_module(v) end
  return nn.is_tensor(v)
end

-- The name of a registry key in a dotted path: integer keys (children of
-- Sequential and ModuleList) count from 1, or from 0 as PyTorch's when
-- torch is true.
local function component(key, torch)
  if torch and math.type(key) == "integer" then return tostring(key - 1) end
  return tostring(key)
end

-- Appends {name, value, owner, key} for the entries of `kinds` (a list)
-- of self and, when recurse, of its descendants: own entries first, kind
-- by kind, then each child's. With `seen`, a tensor or module met twice is
-- listed once. torch: children numbered from 0 (component).
local function collect(self, kinds, recurse, prefix, out, seen, torch)
  local own = self._kinds
  for _, kind in ipairs(kinds) do
    for _, key in ipairs(self._keys) do
      local v = rawget(self, key)
      if own[key] == kind and holds(kind, v) and not (seen and seen[v]) then
        if seen then seen[v] = true end
        out[#out + 1] = {prefix .. component(key, torch), v, self, key}
      end
    end
  end
  if not recurse then return out end
  for _, key in ipairs(self._keys) do
    local child = rawget(self, key)
    if own[key] == "module" and is_module(child) and not (seen and seen[child]) then
      if seen then seen[child] = true end
      collect(child, kinds, true, prefix .. component(key, torch) .. ".", out, seen, torch)
    end
  end
  return out
end

-- A table name -> value that also iterates in order: `pairs(t)`, and
-- `for name, v in t do` (it is callable as an iterator); #t is the count.
-- Keys added later come after the original ones, removed ones are skipped.
local function ordered(list)
  local keys, pos, map = {}, {}, {}
  for i, kv in ipairs(list) do
    keys[i], pos[kv[1]], map[kv[1]] = kv[1], i, kv[2]
  end
  local function step(t, key)
    local i = key == nil and 0 or pos[key]
    if i then -- within the original keys
      for j = i + 1, #keys do
        local k = keys[j]
        if rawget(t, k) ~= nil then return k, rawget(t, k) end
      end
      key = nil
    end
    local k, v = next(t, key)
    while k ~= nil and pos[k] do k, v = next(t, k) end
    return k, v
  end
  local function count(t)
    local n = 0
    for _ in step, t, nil do n = n + 1 end
    return n
  end
  return setmetatable(map, {
    __call = function(t, _, key) return step(t, key) end,
    __pairs = function(t) return step, t, nil end,
    __len = count,
  })
end

Module.ordered = ordered

local function values(list)
  for i, kv in ipairs(list) do list[i] = kv[2] end
  return list
end

local PARAM, BUFFER, MODULE, STATE = {"param"}, {"buffer"}, {"module"}, {"param", "buffer"}

-- Appends the parameters of m and its descendants to out, in collect's
-- order, without building names: parameters() and zero_grad() run every
-- step in some loops, and this walk costs a few microseconds less.
local function param_list(m, out, seen)
  local keys, kinds = m._keys, m._kinds
  for i = 1, #keys do
    local key = keys[i]
    local v = rawget(m, key)
    if kinds[key] == "param" and v ~= nil and not seen[v] and nn.is_tensor(v) then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  for i = 1, #keys do
    local key = keys[i]
    local child = rawget(m, key)
    if kinds[key] == "module" and is_module(child) and not seen[child] then
      seen[child] = true
      param_list(child, out, seen)
    end
  end
  return out
end

--- The parameters of the module and its descendants, in order, each once.
function Module:parameters()
  return param_list(self, {}, {})
end

--- name -> parameter ("fc1.weight"), iterable in order.
function Module:named_parameters()
  return ordered(collect(self, PARAM, true, "", {}, {}))
end

function Module:buffers()
  return values(collect(self, BUFFER, true, "", {}, {}))
end

function Module:named_buffers()
  return ordered(collect(self, BUFFER, true, "", {}, {}))
end

--- The direct children, in order.
function Module:children()
  return values(collect(self, MODULE, false, "", {}, {}))
end

function Module:named_children()
  return ordered(collect(self, MODULE, false, "", {}, {}))
end

-- {name, module} for self ("") and every descendant, depth first.
local function all_modules(self)
  local out, seen = {{"", self}}, {[self] = true}
  local function walk(m, prefix)
    for _, kv in ipairs(collect(m, MODULE, false, prefix, {}, nil)) do
      if not seen[kv[2]] then
        seen[kv[2]] = true
        out[#out + 1] = kv
        walk(kv[2], kv[1] .. ".")
      end
    end
  end
  walk(self, "")
  return out
end

--- self and all its descendants, depth first, each once.
function Module:modules()
  return values(all_modules(self))
end

--- name -> module, self under "" first.
function Module:named_modules()
  return ordered(all_modules(self))
end

--- fn(m) on every descendant, children before parents, then on self.
function Module:apply(fn)
  if type(fn) ~= "function" then A.fail("apply", "fn must be a function, got %s", type(fn)) end
  for _, child in ipairs(self:children()) do child:apply(fn) end
  fn(self)
  return self
end

-- ---- modes and gradients ----

--- Training mode (mode=true, the default) or evaluation mode, recursively.
function Module:train(mode)
  if mode == nil then mode = true end
  if type(mode) ~= "boolean" then A.fail("train", "mode must be true or false, got %s", A.show(mode)) end
  for _, m in ipairs(self:modules()) do rawset(m, "training", mode) end
  return self
end

function Module:eval()
  return self:train(false)
end

--- Zeroes each parameter's .grad in place (keeping the buffers for the
-- next backward), or drops them with zero_grad(true) or
-- zero_grad{set_to_none=true} (as opt:zero_grad).
function Module:zero_grad(set_to_none)
  autograd.zero_grads(self:parameters(), set_to_none)
end

--- Turns gradient tracking of every parameter on or off (freezing): a
-- frozen parameter collects no gradient, so optimizers (which update only
-- parameters that have one) leave it as it is.
function Module:requires_grad_(on)
  if on == nil then on = true end
  for _, p in ipairs(self:parameters()) do p:requires_grad_(on) end
  return self
end

-- ---- state ----

--- {name, tensor, owner module, registry key} for every parameter and
-- buffer, in state-dict order; torch=true numbers children from 0.
-- state_dict.lua builds state_dict and load_state_dict on it.
function Module:named_state(torch)
  return collect(self, STATE, true, "", {}, nil, torch)
end

--- name -> tensor for every parameter and buffer (detached views sharing
-- the module's storage), iterable in order; {keys='torch'} numbers
-- children from 0 as PyTorch does.
function Module:state_dict(opts)
  return require("nn.state_dict").state_dict(self, opts)
end

--- Copies a state dict into the parameters and buffers (in place, checked
-- first); {strict=true, keys='nnlua'|'torch'}. See state_dict.lua.
function Module:load_state_dict(sd, opts)
  return require("nn.state_dict").load_state_dict(self, sd, opts)
end

-- ---- printing ----

--- The layer's settings shown inside its parentheses; layers override.
function Module:extra_repr()
  return ""
end

--- A short label used in error paths: "Linear 256->128"; layers override.
function Module:short_repr()
  return self.__name
end

local function indent(s)
  return (s:gsub("\n", "\n  "))
end

-- PyTorch's nested repr: "Name(extra)" for a leaf, and one "(name): child"
-- line per child otherwise.
function Module.__tostring(self)
  local extra = self:extra_repr()
  local lines = {}
  if extra ~= "" then lines[1] = "  " .. indent(extra) end
  for _, kv in ipairs(collect(self, MODULE, false, "", {}, nil)) do
    lines[#lines + 1] = "  (" .. kv[1] .. "): " .. indent(tostring(kv[2]))
  end
  if #lines == 0 or (#lines == 1 and extra ~= "") then
    return self.__name .. "(" .. extra .. ")"
  end
  return self.__name .. "(\n" .. table.concat(lines, "\n") .. "\n)"
end

--- Prints a table of the layers, their output shapes for an input of the
-- given shape (batch dim included), and parameter counts; with
-- {print=false} returns it instead.
function Module:summary(input_shape, opts)
  return require("nn.summary")(self, input_shape, opts)
end

Module.is_class = is_class

return Module
