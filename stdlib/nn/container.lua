-- nn.Sequential: runs its children one after the other.
--
--   local model = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)}
--   model[1]        -- the first child (1-based, as state-dict keys: "1.weight")
--   #model          -- the number of children
--   model:add(m)    -- appends a child, returns the container
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
  local n = self.n + 1
  self[n] = m
  self.n = n
  return self
end

Sequential.__len = function(self)
  return self.n
end

-- Runs the children in order; self.at tracks the one running, for errors.
local function run(self, x)
  for i = 1, self.n do
    self.at = i
    x = self[i]:forward(x)
  end
  return x
end

-- "Sequential[3] (Linear 256->128): " before msg; a message that already
-- starts with the child's own path ("Sequential[1] ...") is merged.
local function with_path(self, i, msg)
  local child = self[i]
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

return Sequential
