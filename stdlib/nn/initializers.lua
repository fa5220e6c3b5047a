-- nn.init: weight initializers, with PyTorch's formulas (torch.nn.init).
-- Each fills its tensor in place without recording gradients and returns
-- it. Options are positional, as in `nn.init.normal_(t, mean, std)`; the
-- ones with several options also take a table:
-- `nn.init.kaiming_normal_(w, {mode='fan_out', nonlinearity='relu'})`.
--
-- Fans follow PyTorch: for a weight [out, in, k...] fan_in = in * prod(k)
-- and fan_out = out * prod(k), so Linear [out, in] and Conv2d
-- [out, in, kh, kw] weights both work.
--
-- nn.init.get(name) gives the initializer a layer's {weight_init=,
-- bias_init=} option names: PyTorch's names with PyTorch's definitions
-- (defaults of the functions above) and Keras's names with Keras's
-- definitions (glorot_normal, he_normal and lecun_normal are Keras's
-- normals truncated at 2 stddev, redrawn beyond; for a 1-D tensor Keras
-- takes fan_in = fan_out = its size).

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

--- Orthogonal (Saxe et al.), as PyTorch: the tensor viewed as
-- [size(1), numel / size(1)] gets orthonormal rows or columns (whichever
-- are fewer) from the QR decomposition of a N(0, 1) draw, with R's
-- diagonal made positive, times gain.
function init.orthogonal_(t, gain)
  check_tensor("orthogonal_", t)
  if t:dim() < 2 then
    A.fail("orthogonal_", "only tensors with 2 or more dims are supported, got %s", A.shape_str(t))
  end
  gain = gain == nil and 1 or A.number("orthogonal_", "gain", gain)
  local rows = t:size(1)
  local cols = t:numel() // rows
  if t:numel() == 0 then return t end
  local a = nn.randn(rows, cols):totable()
  -- The vectors to orthonormalize: columns when rows >= cols, else rows.
  local by_cols = rows >= cols
  local k, len = by_cols and cols or rows, by_cols and rows or cols
  local v = {}
  for j = 1, k do
    local x = {}
    for i = 1, len do x[i] = by_cols and a[i][j] or a[j][i] end
    v[j] = x
  end
  -- Modified Gram-Schmidt, twice (in double precision): Q with R's
  -- diagonal positive, the matrix PyTorch gets after its sign fix.
  for j = 1, k do
    local x = v[j]
    for _ = 1, 2 do
      for p = 1, j - 1 do
        local q, d = v[p], 0
        for i = 1, len do d = d + q[i] * x[i] end
        for i = 1, len do x[i] = x[i] - d * q[i] end
      end
    end
    local n = 0
    for i = 1, len do n = n + x[i] * x[i] end
    n = math.sqrt(n)
    for i = 1, len do x[i] = x[i] / n end
  end
  local out = {}
  for i = 1, rows do
    local r = {}
    for j = 1, cols do r[j] = gain * (by_cols and v[j][i] or v[i][j]) end
    out[i] = r
  end
  nn.no_grad(function() t:copy_(nn.tensor(out):view(t:size())) end)
  return t
end

-- ---- named initializers (a layer's weight_init= and bias_init=) ----

-- Keras's fans: a 1-D tensor (a bias) counts its size for both.
local function keras_fans(fname, t)
  if t:dim() == 0 then return 1, 1 end
  if t:dim() == 1 then return t:size(1), t:size(1) end
  return fans(fname, t)
end

-- Keras's truncated normal: N(0, stddev^2) with values beyond 2 stddev
-- redrawn (tf.random.truncated_normal).
local function truncated_normal(t, stddev)
  if t:numel() == 0 then return t end
  local shape = t:size()
  local x = nn.randn(shape)
  while true do
    local out = x:abs():gt(2)
    if out:sum():item() == 0 then break end
    x = nn.where(out, nn.randn(shape), x)
  end
  nn.no_grad(function() t:copy_(x * stddev) end)
  return t
end

-- Keras's VarianceScaling: scale / fan with fan = fan_in, fan_out or
-- their mean; 'uniform' draws U(-sqrt(3 var), sqrt(3 var)), 'normal' the
-- truncated normal with stddev sqrt(var) / 0.87962566103423978 (the
-- stddev of a standard normal truncated at 2).
local function variance_scaling(name, scale, mode, distribution)
  return function(t)
    local fan_in, fan_out = keras_fans(name, t)
    local fan = mode == "fan_in" and fan_in or mode == "fan_out" and fan_out or (fan_in + fan_out) / 2
    local var = scale / math.max(1, fan)
    if distribution == "uniform" then
      local limit = math.sqrt(3 * var)
      return fill(t, "uniform_", -limit, limit)
    end
    return truncated_normal(t, math.sqrt(var) / 0.87962566103423978)
  end
end

local NAMED = {
  -- PyTorch's (torch.nn.init with its defaults)
  xavier_uniform = function(t) return init.xavier_uniform_(t) end,
  xavier_normal = function(t) return init.xavier_normal_(t) end,
  kaiming_uniform = function(t) return init.kaiming_uniform_(t) end,
  kaiming_normal = function(t) return init.kaiming_normal_(t) end,
  orthogonal = function(t) return init.orthogonal_(t) end,
  normal = function(t) return init.normal_(t) end,
  uniform = function(t) return init.uniform_(t) end,
  -- Keras's (keras.initializers)
  glorot_uniform = variance_scaling("glorot_uniform", 1, "fan_avg", "uniform"),
  glorot_normal = variance_scaling("glorot_normal", 1, "fan_avg", "normal"),
  he_uniform = variance_scaling("he_uniform", 2, "fan_in", "uniform"),
  he_normal = variance_scaling("he_normal", 2, "fan_in", "normal"),
  lecun_uniform = variance_scaling("lecun_uniform", 1, "fan_in", "uniform"),
  lecun_normal = variance_scaling("lecun_normal", 1, "fan_in", "normal"),
  -- both
  zeros = function(t) return init.zeros_(t) end,
  ones = function(t) return init.ones_(t) end,
}

--- The names nn.init.get knows, sorted.
function init.names()
  local list = {}
  for name in pairs(NAMED) do list[#list + 1] = name end
  table.sort(list)
  return list
end

--- The initializer called `name` (a function(t) filling t in place), or
-- name itself when it is a function. fname and what name the caller in
-- errors ("Linear", "weight_init").
function init.get(name, fname, what)
  if type(name) == "function" then return name end
  local f = NAMED[name]
  if f then return f end
  fname, what = fname or "init.get", what or "name"
  if type(name) ~= "string" then
    A.fail(fname, "%s must be an initializer name or a function, got %s", what, type(name))
  end
  A.fail(fname, "unknown %s '%s' (known: %s)", what, name, table.concat(init.names(), ", "))
end

return init
