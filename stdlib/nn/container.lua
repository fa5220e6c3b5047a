-- nn.Sequential: runs its children one after the other.
--
--   local model = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)}
--   model[1]        -- the first child (1-based, as state-dict keys: "1.weight")
--   #model          -- the number of children
--   model:add(m)    -- appends a child, returns the container
--   model[i] = m    -- replaces child i (a new head), or appends at #model + 1
--
-- An error raised inside a child comes out prefixed with the child's
-- place, "Sequential[3] (Linear 256->128): Linear: input has 255
-- features, expected 256"; nested containers join their indices
-- ("Sequential[2][1] (...)"), after the user's file:line as every error of
-- the library. One pcall per forward pass costs well under a microsecond,
-- so the path is always there.

local Module = require "nn.module"
local A = require "nn.args"

local Sequential = Module:extend("Sequential")

local function check_child(m, i)
  if Module.is_module(m) then return m end
  if Module.is_class(m) then
    A.fail("Sequential", "element %d is the class %s, not a module: call it, as in nn.%s()",
           i, m.__name, m.__name)
  end
  A.fail("Sequential", "element %d must be a module, got %s", i, type(m))
end

--- Sequential{m1, m2, ...} or Sequential(m1, m2, ...).
function Sequential:init(...)
  local list = {...}
  local first = list[1]
  if select("#", ...) == 1 and type(first) == "table" and not Module.is_module(first)
     and not Module.is_class(first) then
    list = first
  end
  self.n = 0
  for i = 1, #list do self:add(check_child(list[i], i)) end
end

--- Appends module m; returns the container so calls can chain.
function Sequential:add(m)
  check_child(m, self.n + 1)
  self[self.n + 1] = m
  return self
end

Sequential.__len = function(self)
  return self.n
end

-- seq[i] = m for a new integer key: i = #seq + 1 appends (replacing an
-- existing child is a plain assignment, kept in its place by the module
-- registry; a forward through a child that is not a module says so).
function Sequential.__newindex(self, key, value)
  if math.type(key) == "integer" then
    local n = rawget(self, "n")
    if key ~= n + 1 then
      A.fail("Sequential", "index %d is out of range: assign to 1..%d to replace a child or %d to append",
             key, n, n + 1)
    end
    check_child(value, key)
    Module.__newindex(self, key, value)
    rawset(self, "n", key)
    return
  end
  Module.__newindex(self, key, value)
end

-- Runs the children in order; self.at tracks the one running, for errors.
-- A child without hooks is run by its forward directly (a call through
-- __call costs more than the forward of a cheap layer).
local function run(self, x)
  for i = 1, self.n do
    self.at = i
    local m = self[i]
    if m._hooked then x = m(x) else x = m:forward(x) end
  end
  return x
end

-- "Sequential[3] (Linear 256->128): " before msg; a message that already
-- starts with the child's own path ("Sequential[1] ...") is merged.
local function with_path(self, i, msg)
  local child = self[i]
  if not Module.is_module(child) then
    return ("%s[%d] is not a module (a %s was assigned to it)"):format(self.__name, i, type(child))
  end
  local own = self.__name .. "[" .. i .. "]"
  local inner = child.__name .. "["
  if rawget(child, "at") and msg:sub(1, #inner) == inner then
    return own .. msg:sub(#child.__name + 1)
  end
  return own .. " (" .. child:short_repr() .. "): " .. msg
end

function Sequential:forward(x)
  local ok, y = pcall(run, self, x)
  if ok then return y end
  if type(y) ~= "string" then error(y, 0) end -- an error object: passed on as it is
  A.fail(nil, "%s", with_path(self, self.at, A.message(y)))
end

-- ---- ModuleList and ModuleDict ----
-- Containers that register their children (parameters, state_dict keys
-- "1.weight" / "name.weight", modes, printing) but define no forward: the
-- parent module calls them as it likes.

--- nn.ModuleList{m1, m2, ...}: list[i], #list, ipairs(list),
-- list:append(m), list:extend{...}, list[#list + 1] = m, list[i] = m.
local ModuleList = Module:extend("ModuleList")

local function check_module(fname, m, what)
  if Module.is_module(m) then return m end
  if Module.is_class(m) then
    A.fail(fname, "%s is the class %s, not a module: call it, as in nn.%s()", what, m.__name, m.__name)
  end
  A.fail(fname, "%s must be a module, got %s", what, type(m))
end

function ModuleList:init(list)
  if list ~= nil and (type(list) ~= "table" or Module.is_module(list)) then
    A.fail("ModuleList", "expected a list of modules, got %s", Module.is_module(list) and "a module" or type(list))
  end
  rawset(self, "n", 0)
  for i = 1, #(list or {}) do self:append(check_module("ModuleList", list[i], "element " .. i)) end
end

--- Appends m; returns the list.
function ModuleList:append(m)
  self[self.n + 1] = m
  return self
end

--- Appends every module of a list; returns the list.
function ModuleList:extend(list)
  if type(list) ~= "table" or Module.is_module(list) then
    A.fail("extend", "expected a list of modules, got %s", Module.is_module(list) and "a module" or type(list))
  end
  for i = 1, #list do self:append(check_module("extend", list[i], "element " .. i)) end
  return self
end

ModuleList.__len = function(self) return self.n end

function ModuleList.__newindex(self, key, value)
  if math.type(key) ~= "integer" then return Module.__newindex(self, key, value) end
  local n = rawget(self, "n")
  if key ~= n + 1 then
    A.fail("ModuleList", "index %d is out of range: assign to 1..%d to replace a module or %d to append",
           key, n, n + 1)
  end
  Module.__newindex(self, key, check_module("ModuleList", value, "element " .. key))
  rawset(self, "n", key)
end

function ModuleList:forward()
  A.fail("ModuleList", "a ModuleList has no forward: iterate over it (for _, m in ipairs(list) do x = m(x) end)")
end

--- nn.ModuleDict{name = m, ...} (names sorted, as a Lua table has no
-- order) or nn.ModuleDict{{'name', m}, ...} (in that order): dict.name or
-- dict['name'], dict.name = m, #dict, dict:keys(), dict:values(),
-- dict:items() (name -> module, iterable in order).
local ModuleDict = Module:extend("ModuleDict")

local function check_name(self, name)
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    A.fail("ModuleDict", "names must be non-empty strings without dots, got %s", A.show(name))
  end
  local kinds = rawget(self, "_kinds")
  if kinds[name] == nil and (rawget(self, name) ~= nil or ModuleDict[name] ~= nil) then
    A.fail("ModuleDict", "name '%s' is taken by the ModuleDict itself; choose another", name)
  end
end

function ModuleDict.__newindex(self, key, value)
  check_name(self, key)
  Module.__newindex(self, key, check_module("ModuleDict", value, "'" .. tostring(key) .. "'"))
end

function ModuleDict:init(t)
  if t == nil then return end
  if type(t) ~= "table" or Module.is_module(t) then
    A.fail("ModuleDict", "expected a table name -> module, got %s", Module.is_module(t) and "a module" or type(t))
  end
  if #t > 0 then
    for i, kv in ipairs(t) do
      if type(kv) ~= "table" or Module.is_module(kv) then
        A.fail("ModuleDict", "element %d must be a pair {name, module}, got %s", i, A.show(kv))
      end
      self[kv[1]] = kv[2]
    end
    return
  end
  local names = {}
  for k in pairs(t) do
    if type(k) ~= "string" then A.fail("ModuleDict", "names must be strings, got %s", A.show(k)) end
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do self[k] = t[k] end
end

--- Replaces a module or adds one under a new name; returns the dict.
function ModuleDict:update(name, m)
  self[name] = m
  return self
end

function ModuleDict:keys()
  local out = {}
  for name in self:named_children() do out[#out + 1] = name end
  return out
end

function ModuleDict:values()
  return self:children()
end

function ModuleDict:items()
  return self:named_children()
end

ModuleDict.__len = function(self) return #self:children() end

function ModuleDict:forward()
  A.fail("ModuleDict", "a ModuleDict has no forward: call its modules (dict.name(x))")
end

return {Sequential = Sequential, ModuleList = ModuleList, ModuleDict = ModuleDict}
