-- nn: the module users see. The engine is the C module nn.core; this file
-- gathers its public names with the parts of the library written in Lua.
--
-- Every part takes the module with `local nn = require "nn"` (registered
-- below before any part loads) and the engine's private entry points
-- (names starting with "_") with `local core = require "nn.core"`: they
-- stay out of nn, so nn and the REPL's completion show only public names.
local core = require "nn.core"
-- C errors skip the library's own frames for their position (bindings/check.c).
core._set_library_dir(debug.getinfo(1, "S").source:match("^@(.+)/[^/]+$") or "")

local nn = {}
for name, value in pairs(core) do
  if name:sub(1, 1) ~= "_" then nn[name] = value end
end

package.loaded.nn = nn
-- Scripts run by stock lua find nn as a global, as under nnlua.
rawset(_G, "nn", rawget(_G, "nn") or nn)

nn.gradcheck = require("nn.autograd").gradcheck

-- Layers (one file per family), losses, initializers and optimizers.
nn.init = require "nn.initializers"
nn.Module = require "nn.module"
local containers = require "nn.container"
nn.Sequential, nn.ModuleList, nn.ModuleDict = containers.Sequential, containers.ModuleList, containers.ModuleDict
nn.Linear = require "nn.linear"
nn.Dropout = require "nn.dropout"
nn.KNeighborsClassifier = require "nn.neighbors"
nn.attacks = require "nn.attacks"
for _, family in ipairs({"nn.conv", "nn.upsample", "nn.activation", "nn.pool", "nn.norm", "nn.loss"}) do
  for name, class in pairs(require(family)) do nn[name] = class end
end

nn.optim = require "nn.optim"
nn.data = require "nn.data"
local image = require "nn.image" -- its image_folder is nn.data's
nn.image = {load = image.load, save = image.save}
nn.transforms = require "nn.transforms"
nn.plot = require "nn.plot"
nn.metrics = require "nn.metrics"
nn.evaluate = nn.metrics.evaluate
local fit = require "nn.fit"
nn.fit, nn.callbacks = fit.fit, fit.callbacks
local checkpoint = require "nn.checkpoint"
nn.save_checkpoint, nn.load_checkpoint = checkpoint.save_checkpoint, checkpoint.load_checkpoint
nn.models = require "nn.models"

-- nn.distributed loads MPI (stdlib/nn/distributed): only when first used.
setmetatable(nn, {__index = function(t, k)
  if k == "distributed" then
    rawset(t, k, require "nn.distributed")
    return rawget(t, k)
  end
end})

-- help(x) prints x's entry of the manual (docs/), in the REPL and in scripts.
rawset(_G, "help", rawget(_G, "help") or require("nn.help").help)

return nn
