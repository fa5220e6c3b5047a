-- Activation layers, and the shape-only layers Identity and Flatten. None
-- has parameters; each forward is one call of the matching nn function.
--   ReLU(), LeakyReLU(negative_slope=0.01), ELU(alpha=1), Sigmoid(), Tanh(),
--   Softmax(dim=-1), LogSoftmax(dim=-1), Identity(), Flatten(start_dim=2, end_dim=-1)
-- Dims are 1-based (negative counts from the end): PyTorch's Flatten()
-- starts at its dim 1, the first after the batch; here that is dim 2.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local M = {}

-- A dim argument: a non-zero integer, default `default`.
local function dim_arg(fname, what, d, default)
  if d == nil then return default end
  if math.type(d) == "float" and d == math.floor(d) then d = math.tointeger(d) end
  if math.type(d) ~= "integer" or d == 0 then
    A.fail(fname, "%s must be a non-zero integer (1-based, negative from the end), got %s", what, A.show(d))
  end
  return d
end

-- Python-style float text: 1 -> "1.0", 0.01 -> "0.01".
local function float_str(x)
  return tostring(x + 0.0)
end

M.ReLU = Module:extend("ReLU")
function M.ReLU:forward(x) return nn.relu(x) end

M.Sigmoid = Module:extend("Sigmoid")
function M.Sigmoid:forward(x) return nn.sigmoid(x) end

M.Tanh = Module:extend("Tanh")
function M.Tanh:forward(x) return nn.tanh(x) end

M.Identity = Module:extend("Identity")
function M.Identity:forward(x) return x end

M.LeakyReLU = Module:extend("LeakyReLU")
function M.LeakyReLU:init(negative_slope)
  self.negative_slope = negative_slope == nil and 0.01 or A.number("LeakyReLU", "negative_slope", negative_slope)
end
function M.LeakyReLU:forward(x) return nn.leaky_relu(x, self.negative_slope) end
function M.LeakyReLU:extra_repr() return "negative_slope=" .. float_str(self.negative_slope) end

M.ELU = Module:extend("ELU")
function M.ELU:init(alpha)
  self.alpha = alpha == nil and 1.0 or A.number("ELU", "alpha", alpha)
end
function M.ELU:forward(x) return nn.elu(x, self.alpha) end
function M.ELU:extra_repr() return "alpha=" .. float_str(self.alpha) end

M.Softmax = Module:extend("Softmax")
function M.Softmax:init(dim) self.dim = dim_arg("Softmax", "dim", dim, -1) end
function M.Softmax:forward(x) return nn.softmax(x, self.dim) end
function M.Softmax:extra_repr() return "dim=" .. self.dim end

M.LogSoftmax = Module:extend("LogSoftmax")
function M.LogSoftmax:init(dim) self.dim = dim_arg("LogSoftmax", "dim", dim, -1) end
function M.LogSoftmax:forward(x) return nn.log_softmax(x, self.dim) end
function M.LogSoftmax:extra_repr() return "dim=" .. self.dim end

M.Flatten = Module:extend("Flatten")
function M.Flatten:init(start_dim, end_dim)
  self.start_dim = dim_arg("Flatten", "start_dim", start_dim, 2)
  self.end_dim = dim_arg("Flatten", "end_dim", end_dim, -1)
end
function M.Flatten:forward(x) return nn.flatten(x, self.start_dim, self.end_dim) end
function M.Flatten:extra_repr() return ("start_dim=%d, end_dim=%d"):format(self.start_dim, self.end_dim) end

return M
