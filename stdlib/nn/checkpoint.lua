-- Checkpoints: one safetensors file (written to a temporary file, synced
-- and renamed by nn.save, so a crash never leaves a half-written one)
-- holding the model's and the optimizer's tensors, the generator's state,
-- and in its __metadata__ everything else as JSON (optimizer options and
-- step counts, scheduler state, epoch, history, any other field).
--
--   nn.save_checkpoint(path, {model=, optimizer=, scheduler=, epoch=, history=, ...})
--   local fields = nn.load_checkpoint(path, {model=, optimizer=, scheduler=})
--
-- Loading restores the states into the given objects and the random
-- generator, and returns the other fields: training resumes exactly.
local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail

local M = {}

local function copy_prefixed(dst, prefix, tensors)
  for name, t in pairs(tensors) do dst[prefix .. name] = t end
end

-- The tensors whose names start with prefix, without it.
local function strip_prefixed(tensors, prefix)
  local out, n = {}, #prefix
  for name, t in pairs(tensors) do
    if name:sub(1, n) == prefix then out[name:sub(n + 1)] = t end
  end
  return out
end

function M.save_checkpoint(path, fields)
  local fname = "save_checkpoint"
  if type(path) ~= "string" then fail(fname, "path must be a string, got %s", type(path)) end
  if type(fields) ~= "table" then fail(fname, "argument 2 must be a table of fields, got %s", type(fields)) end
  local tensors, meta = {rng = nn.get_rng_state()}, {fields = {}}
  for key, value in pairs(fields) do
    if type(key) ~= "string" then fail(fname, "field names must be strings, got a %s", type(key)) end
    if key == "model" then
      copy_prefixed(tensors, "model.", value:state_dict())
    elseif key == "optimizer" then
      local s = value:state_dict()
      copy_prefixed(tensors, "optimizer.", s.tensors)
      meta.optimizer = {scalars = s.scalars, param_groups = s.param_groups}
    elseif key == "scheduler" then
      meta.scheduler = value:state_dict()
    elseif nn.is_tensor(value) then
      tensors["field." .. key] = value
    else
      meta.fields[key] = value
    end
  end
  local ok, json = pcall(core._json_encode, meta)
  if not ok then fail(fname, "%s", (A.message(json):gsub("^json: ", ""))) end
  nn.save(tensors, path, {nnlua_checkpoint = json})
  return path
end

function M.load_checkpoint(path, objects)
  local fname = "load_checkpoint"
  objects = A.options(fname, objects, {model = true, optimizer = true, scheduler = true})
  if type(path) ~= "string" then fail(fname, "path must be a string, got %s", type(path)) end
  local tensors, metadata = nn.load(path)
  if not metadata or not metadata.nnlua_checkpoint then
    fail(fname, "'%s' is a safetensors file but not an nnlua checkpoint", path)
  end
  local meta = core._json_decode(metadata.nnlua_checkpoint)
  if objects.model then
    local ok, err = pcall(objects.model.load_state_dict, objects.model, strip_prefixed(tensors, "model."))
    if not ok then
      fail(fname, "'%s' does not fit this model (a checkpoint of another model?): %s", path, A.message(err))
    end
  end
  if objects.optimizer then
    if not meta.optimizer then fail(fname, "'%s' holds no optimizer state", path) end
    objects.optimizer:load_state_dict({tensors = strip_prefixed(tensors, "optimizer."),
                                       scalars = meta.optimizer.scalars,
                                       param_groups = meta.optimizer.param_groups})
  end
  if objects.scheduler then
    if not meta.scheduler then fail(fname, "'%s' holds no scheduler state", path) end
    objects.scheduler:load_state_dict(meta.scheduler)
  end
  nn.set_rng_state(tensors.rng)
  local fields = meta.fields or {}
  for name, t in pairs(strip_prefixed(tensors, "field.")) do fields[name] = t end
  return fields
end

return M
