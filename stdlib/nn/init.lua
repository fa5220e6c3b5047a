-- nn: the module users see. The engine is the C module nn.core; this file
-- gathers it with the parts of the library written in Lua.
local core = require "nn.core"

local nn = {}
for name, value in pairs(core) do nn[name] = value end

return nn
