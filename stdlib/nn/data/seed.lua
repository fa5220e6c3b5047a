-- nn.data.seed: with_seed(seed, fn), shared by the splits of nn.data and
-- the synthetic sets (nn.data.synthetic).

local nn = require "nn"

-- fn() run with the global generator seeded by seed (state restored after),
-- so a seed gives the same result whatever nn.manual_seed said. Without a
-- seed, fn uses the global generator.
local function with_seed(seed, fn)
  if seed == nil then return fn() end
  local saved = nn.get_rng_state()
  nn.manual_seed(seed)
  local ok, r = pcall(fn)
  nn.set_rng_state(saved)
  if not ok then error(r, 0) end -- passed on as it is
  return r
end

return with_seed
