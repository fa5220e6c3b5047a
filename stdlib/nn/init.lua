-- nn: the module users see. The engine is the C module nn.core; this file
-- gathers it with the parts of the library written in Lua.
local core = require "nn.core"

local nn = {}
for name, value in pairs(core) do nn[name] = value end

-- The Lua parts find the module as the global `nn`, as user code does.
package.loaded.nn = nn
rawset(_G, "nn", rawget(_G, "nn") or nn)

nn.gradcheck = require("nn.autograd").gradcheck

return nn
