-- Every public name of nnlua, as the manual spells it: the nn table walked
-- recursively ("nn.optim.Adam"), tensor methods and fields ("t:sum",
-- "t.shape"), and the methods of modules, containers, optimizers,
-- schedulers and the other objects the library makes ("module:parameters",
-- "seq:add", "opt:step", "sched:step", "knn:fit", "loader:iter", "ds:get").
-- Shared by docs_spec.lua (each needs an entry) and the help tests.
local nn = require "nn"
-- nn.distributed loads on first use: load it so its names are walked.
local _ = nn.distributed

local M = {}

-- The receiver a class's methods are written with in the manual.
local RECEIVER = {Module = "module", Sequential = "seq", ModuleList = "list", ModuleDict = "dict",
                  KNeighborsClassifier = "knn", ["nn.data.Dataset"] = "ds",
                  ["nn.data.DataLoader"] = "loader"}
-- The protocol every layer, loss and transform implements (documented
-- once, under module:).
local PROTOCOL = {init = true, forward = true, extra_repr = true, short_repr = true}

local function public(k) return type(k) == "string" and k:sub(1, 1) ~= "_" end

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- The class a value's methods come from, and its chain of ancestors.
local function class_chain(obj)
  local chain = {}
  local mt = getmetatable(obj)
  local cls = (type(obj) == "table" and rawget(obj, "__index") == obj) and obj or (mt and rawget(mt, "__index"))
  while type(cls) == "table" and #chain < 10 do
    chain[#chain + 1] = cls
    local m = getmetatable(cls)
    cls = m and rawget(m, "__index")
  end
  return chain
end

-- Methods called on the class nn.Module itself, not on a module.
local CLASS_LEVEL = {extend = "nn.Module:extend", is_module = "nn.Module.is_module",
                     is_class = "nn.Module.is_class", ordered = "nn.Module.ordered"}

-- Adds receiver:method for each public method of obj's classes, named
-- after each class that defines it (ModuleList:extend is not Module's).
local function add_methods(out, obj, receiver_of)
  for _, cls in ipairs(class_chain(obj)) do
    for k, v in pairs(cls) do
      if public(k) and type(v) == "function" then
        local receiver = PROTOCOL[k] and "module" or receiver_of(cls)
        out[receiver == "module" and CLASS_LEVEL[k] or receiver .. ":" .. k] = true
      end
    end
  end
end

local function class_name(cls) return rawget(cls, "__name") end

function M.names()
  local out = {}
  local classes = {}
  local seen = {}
  local function walk(t, prefix)
    if seen[t] then return end
    seen[t] = true
    for k, v in pairs(t) do
      if public(k) then
        local name = prefix .. "." .. k
        if type(v) == "function" then
          out[name] = true
        elseif type(v) == "table" and getmetatable(v) == nil then
          walk(v, name) -- a namespace: nn.optim, nn.data.synthetic
        elseif type(v) == "table" then
          out[name] = true -- a class
          classes[name] = v
        end
      end
    end
  end
  walk(nn, "nn")

  -- Tensors.
  local reg = debug.getregistry()
  for k in pairs(reg["nn.Tensor.methods"]) do if public(k) then out["t:" .. k] = true end end
  for k in pairs(reg["nn.Tensor.props"]) do if public(k) then out["t." .. k] = true end end

  -- Classes of nn: modules, losses, transforms, optimizers, schedulers, KNN.
  for name, cls in pairs(classes) do
    local group = name:match("^nn%.optim%.") and (rawget(cls, "defaults") and cls.step and cls.zero_grad and "opt" or "sched")
    add_methods(out, cls, function(c)
      if group then return group end
      local cname = class_name(c)
      return RECEIVER[cname] or cname or name:match("([%w_]+)$")
    end)
  end
  -- Objects made by functions: datasets and loaders.
  local ds = nn.data.tensor_dataset(nn.zeros(2, 1), nn.zeros(2))
  for _, obj in ipairs({ds, nn.data.DataLoader(ds)}) do
    add_methods(out, obj, function(c) return RECEIVER[class_name(c)] or class_name(c) end)
  end
  return sorted(out)
end

return M
