-- nn.init: weight initializers, with PyTorch's formulas (torch.nn.init).
-- Each fills its tensor in place without recording gradients and returns
-- it. Options are positional, as in `nn.init.normal_(t, mean, std)`; the
-- ones with several options also take a table:
-- `nn.init.kaiming_normal_(w, {mode='fan_out', nonlinearity='relu'})`.
--
-- Fans follow PyTorch: for a weight [out, in, k...] fan_in = in * prod(k)
-- and fan_out = out * prod(k), so Linear [out, in] and Conv2d
-- [out, in, kh, kw] weights both work.

local nn = require "nn"
local A = require "nn.args"

local init = {}

local function check_tensor(fname, t)
  if not nn.is_tensor(t) then A.fail(fname, "tensor must be a tensor, got %s", type(t)) end
  if t.dtype ~= "float32" then A.fail(fname, "tensor must be float32, got %s", t.dtype) end
  return t
end

--- The recommended gain for a nonlinearity ('linear', 'conv2d',
-- 'sigmoid', 'tanh', 'relu', 'leaky_relu' (param = negative slope,
-- default 0.01), 'selu').
function init.calculate_gain(nonlinearity, param)
  local linear = {linear = true, conv1d = true, conv2d = true, conv3d = true, conv_transpose1d = true,
                  conv_transpose2d = true, conv_transpose3d = true, sigmoid = true}
  if linear[nonlinearity] then return 1 end
  if nonlinearity == "tanh" then return 5 / 3 end
  if nonlinearity == "relu" then return math.sqrt(2) end
  if nonlinearity == "selu" then return 3 / 4 end
  if nonlinearity == "leaky_relu" then
    local slope = param == nil and 0.01 or A.number("calculate_gain", "param", param)
    return math.sqrt(2 / (1 + slope * slope))
  end
  A.fail("calculate_gain", "unsupported nonlinearity %s", A.show(nonlinearity))
end

-- fan_in, fan_out of a weight with at least 2 dims.
local function fans(fname, t)
  if t:dim() < 2 then
    A.fail(fname, "fan in and fan out need a tensor of at least 2 dims, got %s", A.shape_str(t))
  end
  local receptive = 1
  for d = 3, t:dim() do receptive = receptive * t:size(d) end
  return t:size(2) * receptive, t:size(1) * receptive
end

-- Fills t under no_grad by one of the tensor's in-place random methods.
local function fill(t, method, a, b)
  nn.no_grad(t[method], t, a, b)
  return t
end

--- U(a, b), default U(0, 1).
function init.uniform_(t, a, b)
  check_tensor("uniform_", t)
  return fill(t, "uniform_", a or 0, b or 1)
end

--- N(mean, std^2), default N(0, 1).
function init.normal_(t, mean, std)
  check_tensor("normal_", t)
  return fill(t, "normal_", mean or 0, std or 1)
end

function init.constant_(t, v)
  check_tensor("constant_", t)
  return fill(t, "fill_", A.number("constant_", "value", v))
end

function init.zeros_(t)
  check_tensor("zeros_", t)
  return fill(t, "fill_", 0)
end

function init.ones_(t)
  check_tensor("ones_", t)
  return fill(t, "fill_", 1)
end

-- The gain argument of the xavier initializers: a number or {gain=}.
local function gain_of(fname, g)
  if type(g) == "table" then g = A.options(fname, g, {gain = true}).gain end
  return g == nil and 1 or A.number(fname, "gain", g)
end

--- Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).
function init.xavier_uniform_(t, gain)
  check_tensor("xavier_uniform_", t)
  local fan_in, fan_out = fans("xavier_uniform_", t)
  if t:numel() == 0 then return t end
  local a = math.sqrt(3) * gain_of("xavier_uniform_", gain) * math.sqrt(2 / (fan_in + fan_out))
  return fill(t, "uniform_", -a, a)
end

--- Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
function init.xavier_normal_(t, gain)
  check_tensor("xavier_normal_", t)
  local fan_in, fan_out = fans("xavier_normal_", t)
  if t:numel() == 0 then return t end
  return fill(t, "normal_", 0, gain_of("xavier_normal_", gain) * math.sqrt(2 / (fan_in + fan_out)))
end

-- std = gain / sqrt(fan) for the kaiming initializers, from positional
-- (a, mode, nonlinearity) or a table {a=, mode=, nonlinearity=}.
local function kaiming_std(fname, t, a, mode, nonlinearity)
  if type(a) == "table" then
    local o = A.options(fname, a, {a = true, mode = true, nonlinearity = true})
    a, mode, nonlinearity = o.a, o.mode, o.nonlinearity
  end
  a = a == nil and 0 or A.number(fname, "a", a)
  mode = A.choice(fname, "mode", mode or "fan_in", {"fan_in", "fan_out"})
  nonlinearity = nonlinearity or "leaky_relu"
  local fan_in, fan_out = fans(fname, t)
  local fan = mode == "fan_in" and fan_in or fan_out
  return init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
end

--- He: U(-b, b) with b = sqrt(3) * gain / sqrt(fan); defaults as
-- PyTorch's: a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu'.
function init.kaiming_uniform_(t, a, mode, nonlinearity)
  check_tensor("kaiming_uniform_", t)
  local std = kaiming_std("kaiming_uniform_", t, a, mode, nonlinearity)
  if t:numel() == 0 then return t end
  local bound = math.sqrt(3) * std
  return fill(t, "uniform_", -bound, bound)
end

--- He: N(0, std^2) with std = gain / sqrt(fan).
function init.kaiming_normal_(t, a, mode, nonlinearity)
  check_tensor("kaiming_normal_", t)
  local std = kaiming_std("kaiming_normal_", t, a, mode, nonlinearity)
  if t:numel() == 0 then return t end
  return fill(t, "normal_", 0, std)
end

return init
