-- The child of test_stale_temporaries.sh: checks the checkpoint at path
-- (when there is one) holds one whole save: every weight equals the
-- generation stored with it; prints that generation (the parent's signal
-- that saving starts), then saves generations gen+1, gen+2, ... until
-- killed (or once with --once).
--
--   nnlua stale_saver.lua <path> [--once]
local nn = require "nn"

local path, once = arg[1], arg[2] == "--once"
-- 2 MB of weights: a save takes a few ms, long enough to be killed inside.
local model = nn.Linear(512, 1024)

local gen = 0
local f = io.open(path, "rb")
if f then
  f:close()
  local fields = nn.load_checkpoint(path, {model = model})
  gen = fields.gen
  for name, p in pairs(model:state_dict()) do
    if not p:eq(gen):all():item() then
      error(("'%s' is torn: %s is not all %d"):format(path, name, gen))
    end
  end
end
print(gen)
io.stdout:flush()

repeat
  gen = gen + 1
  nn.no_grad(function()
    for _, p in ipairs(model:parameters()) do p:fill_(gen) end
  end)
  nn.save_checkpoint(path, {model = model, gen = gen})
until once
