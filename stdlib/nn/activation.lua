-- Activation layers, and the shape-only layers Identity and Flatten. None
-- has parameters; each forward is one call of the matching nn function.
--   ReLU(), LeakyReLU(negative_slope=0.01), ELU(alpha=1), Sigmoid(), Tanh(),
--   Softmax(dim=-1), LogSoftmax(dim=-1), ReLU6(), Hardtanh(min_val=-1, max_val=1),
--   GELU{approximate='none'|'tanh'}, SiLU(), Softplus(beta=1, threshold=20),
--   Identity(), Flatten(start_dim=2, end_dim=-1), Unflatten(dim, sizes)
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

M.ReLU6 = Module:extend("ReLU6")
function M.ReLU6:forward(x) return nn.relu6(x) end

-- Hardtanh(min_val, max_val) or Hardtanh{min_val=, max_val=}.
M.Hardtanh = Module:extend("Hardtanh")
function M.Hardtanh:init(min_val, max_val)
  if type(min_val) == "table" then
    local o = A.options("Hardtanh", min_val, {min_val = true, max_val = true})
    min_val, max_val = o.min_val, o.max_val
  end
  self.min_val = min_val == nil and -1.0 or A.number("Hardtanh", "min_val", min_val)
  self.max_val = max_val == nil and 1.0 or A.number("Hardtanh", "max_val", max_val)
  if not (self.max_val > self.min_val) then
    A.fail("Hardtanh", "max_val %s must be greater than min_val %s", A.show(self.max_val), A.show(self.min_val))
  end
end
function M.Hardtanh:forward(x) return nn.hardtanh(x, self.min_val, self.max_val) end
function M.Hardtanh:extra_repr()
  return ("min_val=%s, max_val=%s"):format(float_str(self.min_val), float_str(self.max_val))
end

-- GELU() or GELU{approximate='tanh'} (also GELU('tanh')).
M.GELU = Module:extend("GELU")
function M.GELU:init(approximate)
  if type(approximate) == "table" then approximate = A.options("GELU", approximate, {approximate = true}).approximate end
  self.approximate = A.choice("GELU", "approximate", approximate or "none", {"none", "tanh"})
  self.gelu_opts = {approximate = self.approximate}
end
function M.GELU:forward(x) return nn.gelu(x, self.gelu_opts) end
function M.GELU:extra_repr() return "approximate='" .. self.approximate .. "'" end

M.SiLU = Module:extend("SiLU")
function M.SiLU:forward(x) return nn.silu(x) end

-- Softplus(beta, threshold) or Softplus{beta=, threshold=}.
M.Softplus = Module:extend("Softplus")
function M.Softplus:init(beta, threshold)
  if type(beta) == "table" then
    local o = A.options("Softplus", beta, {beta = true, threshold = true})
    beta, threshold = o.beta, o.threshold
  end
  self.beta = beta == nil and 1.0 or A.number("Softplus", "beta", beta)
  if self.beta == 0 then A.fail("Softplus", "beta must not be 0") end
  self.threshold = threshold == nil and 20.0 or A.number("Softplus", "threshold", threshold)
end
function M.Softplus:forward(x) return nn.softplus(x, self.beta, self.threshold) end
function M.Softplus:extra_repr()
  return ("beta=%s, threshold=%s"):format(float_str(self.beta), float_str(self.threshold))
end

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

-- Unflatten(dim, sizes): dim (1-based, negative from the end) becomes
-- the dims `sizes` (a list of positive integers whose product is its size;
-- one entry may be -1, inferred). Unflatten(2, {8, 7, 7}) turns [N, 392]
-- into [N, 8, 7, 7].
M.Unflatten = Module:extend("Unflatten")
function M.Unflatten:init(dim, sizes)
  self.dim = dim_arg("Unflatten", "dim", dim, nil)
  if self.dim == nil then A.fail("Unflatten", "dim must be a non-zero integer, got nil") end
  if type(sizes) ~= "table" or nn.is_tensor(sizes) or #sizes == 0 then
    A.fail("Unflatten", "sizes must be a non-empty list of integers, got %s", A.show(sizes))
  end
  local list, inferred = {}, false
  for i = 1, #sizes do
    local n = sizes[i]
    if math.type(n) == "float" and n == math.floor(n) then n = math.tointeger(n) end
    if math.type(n) ~= "integer" or (n < 1 and n ~= -1) or (n == -1 and inferred) then
      A.fail("Unflatten", "sizes must be positive integers (at most one -1), got %s at position %d in {%s}",
             A.show(sizes[i]), i, table.concat(sizes, ", "))
    end
    inferred = inferred or n == -1
    list[i] = n
  end
  self.sizes = list
end
function M.Unflatten:forward(x)
  if not nn.is_tensor(x) then A.fail("Unflatten", "input must be a tensor, got %s", type(x)) end
  local nd, d = x:dim(), self.dim
  if d < 0 then d = nd + 1 + d end
  if d < 1 or d > nd then
    A.fail("Unflatten", "dim %d is out of range for input %s", self.dim, A.shape_str(x))
  end
  local n, known, free = x:size(d), 1, nil
  for i, s in ipairs(self.sizes) do
    if s == -1 then free = i else known = known * s end
  end
  local sizes = self.sizes
  if free then
    if known == 0 or n % known ~= 0 then
      A.fail("Unflatten", "sizes {%s} cannot unflatten dim %d of size %d (input %s)",
             table.concat(self.sizes, ", "), self.dim, n, A.shape_str(x))
    end
    sizes = {table.unpack(self.sizes)}
    sizes[free] = n // known
  elseif known ~= n then
    A.fail("Unflatten", "sizes {%s} have product %d, but dim %d has size %d (input %s)",
           table.concat(self.sizes, ", "), known, self.dim, n, A.shape_str(x))
  end
  local shape = {}
  for i = 1, d - 1 do shape[#shape + 1] = x:size(i) end
  for _, s in ipairs(sizes) do shape[#shape + 1] = s end
  for i = d + 1, nd do shape[#shape + 1] = x:size(i) end
  return x:reshape(shape)
end
function M.Unflatten:extra_repr()
  return ("dim=%d, unflattened_size={%s}"):format(self.dim, table.concat(self.sizes, ", "))
end

return M
