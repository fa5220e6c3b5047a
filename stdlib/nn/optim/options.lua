-- What the optimizers and the schedulers share: options with defaults,
-- their checks, and plain-value copies. A check(cls, value, where) raises
-- unless value suits its option; the message starts with the class name,
-- and where says which parameter group the value came from ("" for the
-- options table).

local A = require "nn.args"
local fail = A.fail

local O = {}

--- Marks an option with no default (SGD's lr, StepLR's step_size).
O.REQUIRED = setmetatable({}, {__tostring = function() return "<required>" end})

--- A copy of a plain value (options such as betas are small tables).
local function copy(v)
  if type(v) ~= "table" or v == O.REQUIRED then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end
O.copy = copy

function O.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- A class table: instances get its methods; calling it builds one.
function O.class(parent, new)
  local cls = {}
  cls.__index = cls
  setmetatable(cls, {__index = parent, __call = new})
  return cls
end

-- ---- checks ----

--- Raises unless v is a number: "SGD: lr must be a number, got string".
local function number(fname, what, v, where)
  if type(v) ~= "number" then fail(fname, "%s must be a number%s, got %s", what, where, type(v)) end
end
O.number = number

function O.nonneg(opt_name)
  return function(cls, v, where)
    number(cls.name, opt_name, v, where)
    if not (v >= 0) then fail(cls.name, "invalid %s %s%s (must be >= 0)", opt_name, tostring(v), where) end
  end
end

function O.any_number(opt_name)
  return function(cls, v, where) number(cls.name, opt_name, v, where) end
end

function O.boolean(opt_name)
  return function(cls, v, where)
    if type(v) ~= "boolean" then fail(cls.name, "%s must be true or false%s, got %s", opt_name, where, type(v)) end
  end
end

function O.betas(cls, v, where)
  if type(v) ~= "table" or #v ~= 2 then
    fail(cls.name, "betas must be a pair {beta1, beta2}%s, got %s", where,
         type(v) == "table" and ("%d values"):format(#v) or type(v))
  end
  for i = 1, 2 do
    number(cls.name, "beta " .. i, v[i], where)
    if not (v[i] >= 0 and v[i] < 1) then
      fail(cls.name, "invalid beta parameter at index %d: %s%s (must be in [0, 1))", i, tostring(v[i]), where)
    end
  end
end

function O.positive(opt_name, integer)
  return function(cls, v, where)
    number(cls.name, opt_name, v, where)
    if not (v > 0) or (integer and math.type(v) ~= "integer" and v ~= math.floor(v)) then
      fail(cls.name, "%s must be a positive %s, got %s", opt_name, integer and "integer" or "number", tostring(v))
    end
  end
end

function O.nonneg_integer(opt_name)
  return function(cls, v, where)
    number(cls.name, opt_name, v, where)
    if not (v >= 0) or v ~= math.floor(v) then
      fail(cls.name, "%s must be an integer >= 0, got %s", opt_name, tostring(v))
    end
  end
end

function O.one_of(opt_name, a, b)
  return function(cls, v)
    if v ~= a and v ~= b then fail(cls.name, "%s must be '%s' or '%s', got %s", opt_name, a, b, tostring(v)) end
  end
end

--- Runs every check of cls on the options in t (in name order, so the
-- first bad option reported does not vary); nil and REQUIRED are skipped.
function O.check(cls, t, where)
  for _, name in ipairs(O.sorted_keys(cls.checks)) do
    local v = t[name]
    if v ~= nil and v ~= O.REQUIRED then cls.checks[name](cls, v, where) end
  end
end

--- opts (nil or a table) checked against cls.defaults: the unknown option
-- named, copies of the given values in a fresh table (defaults not
-- filled in).
function O.given(cls, opts)
  if opts ~= nil and type(opts) ~= "table" then fail(cls.name, "options must be a table, got %s", type(opts)) end
  local o = {}
  for k, v in pairs(opts or {}) do
    if cls.defaults[k] == nil then A.unknown_option(cls.name, k, cls.defaults) end
    o[k] = copy(v)
  end
  return o
end

return O
