-- Module:state_dict and Module:load_state_dict, as PyTorch's.
--
--   local sd = model:state_dict()                  -- "1.weight", "3.running_mean", ...
--   nn.save(model:state_dict{keys='torch'}, path)  -- "0.weight": loads into torch.nn
--   model:load_state_dict(nn.load(path), {keys='torch'})  -- e.g. torchvision's weights
--
-- keys='nnlua' (the default) names children of Sequential and ModuleList
-- from 1, as Lua indexes them; keys='torch' from 0, as PyTorch does, so
-- one model's weights move both ways between the two.
--
-- Loading checks everything before copying anything. Under strict (the
-- default) missing and unexpected keys are errors; a shape mismatch always
-- is. The error names the first few offending keys with their shapes
-- (a state dict of another architecture can differ in hundreds) and says
-- when the state dict would match under the other keys= style.
--
-- A module class may list state that older checkpoints lack in
-- `optional_state` (key -> value to set): such a key absent from the state
-- dict is not missing, and loading sets it, as PyTorch does for
-- BatchNorm's num_batches_tracked in checkpoints from before it existed.

local nn = require "nn"
local A = require "nn.args"
local Module = require "nn.module"

local M = {}

local STYLES = {"nnlua", "torch"}
local SHOWN = 5 -- keys named per kind of problem

-- keys= as the torch flag of Module:named_state.
local function torch_keys(fname, keys)
  if keys == nil then return false end
  return A.choice(fname, "keys", keys, STYLES) == "torch"
end

function M.state_dict(model, opts)
  opts = A.options("state_dict", opts, {keys = true})
  local list = model:named_state(torch_keys("state_dict", opts.keys))
  for i, entry in ipairs(list) do list[i] = {entry[1], entry[2]:detach()} end
  return Module.ordered(list)
end

-- "features.10.weight" sorts after "features.9.weight": digit runs compare
-- as numbers (the order PyTorch's state dicts list them in).
local function natural_key(s)
  return (s:gsub("%d+", function(d) return ("%012d"):format(tonumber(d)) end))
end

local function natural_sort(list)
  local key = {}
  for _, s in ipairs(list) do key[s] = natural_key(s) end
  table.sort(list, function(a, b) return key[a] < key[b] end)
  return list
end

-- "a [2,3], b [3] and 12 more": the first SHOWN of items, joined by sep
-- (", " by default).
local function first_few(items, sep)
  local shown = {}
  for i = 1, math.min(#items, SHOWN) do shown[i] = items[i] end
  local text = table.concat(shown, sep or ", ")
  if #items > SHOWN then text = text .. (" and %d more"):format(#items - SHOWN) end
  return text
end

local function with_shape(name, t)
  return name .. " " .. A.shape_str(t)
end

-- Would the keys of sd all be the model's under the other keys= style?
-- (A PyTorch state dict loaded without keys='torch', or the reverse.)
local function other_style_hint(model, sd, torch)
  local names = {}
  for _, entry in ipairs(model:named_state(not torch)) do names[entry[1]] = true end
  local any = false
  for k in pairs(sd) do
    if not names[k] then return "" end
    any = true
  end
  if not any then return "" end
  return torch and " (the state dict numbers children from 1, as nnlua does: load it without keys='torch')"
         or " (the state dict numbers children from 0, as PyTorch does: load it with {keys='torch'})"
end

--- Copies the tensors of sd (name -> tensor) into the module's parameters
-- and buffers, in place and without recording gradients.
-- opts: strict (true), keys ('nnlua' or 'torch'). Returns
-- {missing_keys=, unexpected_keys=} (the lists PyTorch returns).
function M.load_state_dict(model, sd, opts)
  local fname = "load_state_dict"
  if type(sd) ~= "table" or nn.is_tensor(sd) then
    A.fail(fname, "state_dict must be a table name -> tensor, got %s", nn.is_tensor(sd) and "a tensor" or type(sd))
  end
  opts = A.options(fname, opts, {strict = true, keys = true})
  local strict = A.bool(fname, "strict", opts.strict, true)
  local torch = torch_keys(fname, opts.keys)
  local own = model:named_state(torch)
  local known, missing, missing_shown, unexpected, problems, defaults = {}, {}, {}, {}, {}, {}
  for _, entry in ipairs(own) do
    local name, t, owner, key = entry[1], entry[2], entry[3], entry[4]
    known[name] = true
    local v = sd[name]
    local optional = owner.optional_state and owner.optional_state[key]
    if v == nil and optional ~= nil then
      defaults[#defaults + 1] = {t, optional}
    elseif v == nil then
      missing[#missing + 1] = name
      missing_shown[#missing_shown + 1] = with_shape(name, t)
    elseif not nn.is_tensor(v) then
      problems[#problems + 1] = ("%s is a %s, not a tensor"):format(name, type(v))
    elseif A.shape_str(v) ~= A.shape_str(t) then
      problems[#problems + 1] = ("size mismatch for %s: %s in the state dict, %s in the model")
                                :format(name, A.shape_str(v), A.shape_str(t))
    end
  end
  for k in pairs(sd) do
    if not known[k] then unexpected[#unexpected + 1] = tostring(k) end
  end
  -- In the state dict's order when it has one (a state_dict() result), as
  -- PyTorch lists them; a loaded file's table has none: sorted.
  local mt = getmetatable(sd)
  if not (mt and mt.__pairs) then natural_sort(unexpected) end
  local report = {}
  if strict and #missing > 0 then report[#report + 1] = "missing keys: " .. first_few(missing_shown) end
  if strict and #unexpected > 0 then
    local shown = {}
    for i, k in ipairs(unexpected) do
      local v = sd[k]
      shown[i] = nn.is_tensor(v) and with_shape(k, v) or k
    end
    report[#report + 1] = "unexpected keys: " .. first_few(shown)
  end
  if #problems > 0 then report[#report + 1] = first_few(problems, "; ") end
  if #report > 0 then
    local hint = (#missing > 0 or #unexpected > 0) and other_style_hint(model, sd, torch) or ""
    A.fail(fname, "%s%s", table.concat(report, "; "), hint)
  end
  nn.no_grad(function()
    for _, entry in ipairs(own) do
      local v = sd[entry[1]]
      if v ~= nil then entry[2]:copy_(v) end
    end
    for _, d in ipairs(defaults) do d[1]:fill_(d[2]) end
  end)
  return {missing_keys = missing, unexpected_keys = unexpected}
end

return M
