-- nn.Conv2d(in_channels, out_channels, kernel_size, {stride=1, padding=0,
-- dilation=1, groups=1, bias=true, weight_init=, bias_init=}): 2-D
-- convolution (cross-correlation, as PyTorch) of [N, C_in, H, W] into
-- [N, C_out, H_out, W_out]. With groups, each of groups slices of the
-- output channels sees only its slice of the input channels (depthwise
-- when groups == C_in).
--
-- nn.ConvTranspose2d(in_channels, out_channels, kernel_size, {stride=1,
-- padding=0, output_padding=0, dilation=1, groups=1, bias=true,
-- weight_init=, bias_init=}): the transposed convolution (the gradient of
-- a convolution with respect to its input), H_out = (H-1)*stride -
-- 2*padding + dilation*(k-1) + output_padding + 1; weight
-- [C_in, C_out/groups, kh, kw] as PyTorch.
--
-- kernel_size, stride, padding and dilation are a number or a pair
-- {h, w}; padding may also be 'valid' (0) or 'same' (output as large as
-- the input, stride 1 only; an even kernel pads one more row/column at
-- the bottom/right, as PyTorch). weight is [C_out, C_in, kh, kw] and bias
-- [C_out], initialized as PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
-- with fan_in = C_in/groups * kh * kw (ConvTranspose2d: C_out/groups * kh * kw),
-- unless weight_init / bias_init name another initializer (nn.init.get).

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local Conv2d = Module:extend("Conv2d")

local OPTIONS = {stride = true, padding = true, dilation = true, groups = true, bias = true,
                 weight_init = true, bias_init = true}

-- opts.groups, which must divide both channel counts.
local function groups_of(name, opts, in_channels, out_channels)
  local groups = A.int(name, "groups", opts.groups or 1, 1)
  if in_channels % groups ~= 0 then
    A.fail(name, "groups %d does not divide in_channels %d", groups, in_channels)
  end
  if out_channels % groups ~= 0 then
    A.fail(name, "groups %d does not divide out_channels %d", groups, out_channels)
  end
  return groups
end

-- {ph, pw} or 'same' from the padding option.
local function padding_of(p, stride)
  if p == "valid" then return {0, 0} end
  if p == "same" then
    if stride[1] ~= 1 or stride[2] ~= 1 then
      A.fail("Conv2d", "padding='same' needs stride 1, got stride {%d, %d}", stride[1], stride[2])
    end
    return "same"
  end
  if type(p) == "string" then A.fail("Conv2d", "padding must be a number, a pair, 'same' or 'valid', got '%s'", p) end
  return A.pair("Conv2d", "padding", p, 0)
end

function Conv2d:init(in_channels, out_channels, kernel_size, opts)
  self.in_channels = A.int("Conv2d", "in_channels", in_channels)
  self.out_channels = A.int("Conv2d", "out_channels", out_channels)
  self.kernel_size = A.pair("Conv2d", "kernel_size", kernel_size)
  opts = A.options("Conv2d", opts, OPTIONS)
  self.weight_init = opts.weight_init and nn.init.get(opts.weight_init, "Conv2d", "weight_init")
  self.bias_init = opts.bias_init and nn.init.get(opts.bias_init, "Conv2d", "bias_init")
  self.stride = A.pair("Conv2d", "stride", opts.stride or 1)
  self.padding = padding_of(opts.padding or 0, self.stride)
  self.dilation = A.pair("Conv2d", "dilation", opts.dilation or 1)
  self.groups = groups_of("Conv2d", opts, self.in_channels, self.out_channels)
  -- The options nn.conv2d takes, built once rather than per call.
  self.conv_opts = {stride = self.stride, padding = self.padding, dilation = self.dilation,
                    groups = self.groups > 1 and self.groups or nil}
  local kh, kw = self.kernel_size[1], self.kernel_size[2]
  self.weight = nn.empty(self.out_channels, self.in_channels // self.groups, kh, kw):requires_grad_()
  if A.bool("Conv2d", "bias", opts.bias, true) then
    self.bias = nn.empty(self.out_channels):requires_grad_()
  end
  self:reset_parameters()
end

function Conv2d:reset_parameters()
  if self.weight_init then self.weight_init(self.weight) else nn.init.kaiming_uniform_(self.weight, math.sqrt(5)) end
  if self.bias and self.bias_init then
    self.bias_init(self.bias)
  elseif self.bias then
    local fan_in = self.weight:size(2) * self.kernel_size[1] * self.kernel_size[2]
    local bound = 1 / math.sqrt(fan_in)
    nn.init.uniform_(self.bias, -bound, bound)
  end
end

local function bad_input(self, x)
  local name = self.__name
  if not nn.is_tensor(x) then A.fail(name, "input must be a tensor, got %s", type(x)) end
  if x:dim() ~= 4 then A.fail(name, "expected a 4-D input [N,C,H,W], got %s", A.shape_str(x)) end
  A.fail(name, "input has %d channels, expected %d (input %s)", x:size(2), self.in_channels, A.shape_str(x))
end

function Conv2d:forward(x)
  if not nn.is_tensor(x) or x:dim() ~= 4 or x:size(2) ~= self.in_channels then bad_input(self, x) end
  return nn.conv2d(x, self.weight, self.bias, self.conv_opts)
end

local function pair_str(p)
  return ("{%d, %d}"):format(p[1], p[2])
end

-- What both convolutions' tostring ends with: the options not at their default.
local function repr_tail(self)
  local s = ""
  if self.dilation[1] ~= 1 or self.dilation[2] ~= 1 then s = s .. ", dilation=" .. pair_str(self.dilation) end
  if self.groups > 1 then s = s .. ", groups=" .. self.groups end
  if not self.bias then s = s .. ", bias=false" end
  return s
end

function Conv2d:extra_repr()
  local s = ("%d, %d, kernel_size=%s, stride=%s"):format(self.in_channels, self.out_channels,
                                                        pair_str(self.kernel_size), pair_str(self.stride))
  if self.padding == "same" then
    s = s .. ", padding='same'"
  elseif self.padding[1] ~= 0 or self.padding[2] ~= 0 then
    s = s .. ", padding=" .. pair_str(self.padding)
  end
  return s .. repr_tail(self)
end

function Conv2d:short_repr()
  return ("%s %d->%d %dx%d"):format(self.__name, self.in_channels, self.out_channels,
                                     self.kernel_size[1], self.kernel_size[2])
end

local ConvTranspose2d = Module:extend("ConvTranspose2d")

local TRANSPOSE_OPTIONS = {stride = true, padding = true, output_padding = true, dilation = true,
                           groups = true, bias = true, weight_init = true, bias_init = true}

function ConvTranspose2d:init(in_channels, out_channels, kernel_size, opts)
  local name = "ConvTranspose2d"
  self.in_channels = A.int(name, "in_channels", in_channels)
  self.out_channels = A.int(name, "out_channels", out_channels)
  self.kernel_size = A.pair(name, "kernel_size", kernel_size)
  opts = A.options(name, opts, TRANSPOSE_OPTIONS)
  self.weight_init = opts.weight_init and nn.init.get(opts.weight_init, name, "weight_init")
  self.bias_init = opts.bias_init and nn.init.get(opts.bias_init, name, "bias_init")
  self.stride = A.pair(name, "stride", opts.stride or 1)
  self.padding = A.pair(name, "padding", opts.padding or 0, 0)
  self.output_padding = A.pair(name, "output_padding", opts.output_padding or 0, 0)
  self.dilation = A.pair(name, "dilation", opts.dilation or 1)
  for k = 1, 2 do
    local op = self.output_padding[k]
    if op >= self.stride[k] and op >= self.dilation[k] then
      A.fail(name, "output_padding %s must be smaller than either stride %s or dilation %s",
             pair_str(self.output_padding), pair_str(self.stride), pair_str(self.dilation))
    end
  end
  self.groups = groups_of(name, opts, self.in_channels, self.out_channels)
  self.conv_opts = {stride = self.stride, padding = self.padding, output_padding = self.output_padding,
                    dilation = self.dilation, groups = self.groups}
  local kh, kw = self.kernel_size[1], self.kernel_size[2]
  self.weight = nn.empty(self.in_channels, self.out_channels // self.groups, kh, kw):requires_grad_()
  if A.bool(name, "bias", opts.bias, true) then
    self.bias = nn.empty(self.out_channels):requires_grad_()
  end
  self:reset_parameters()
end

-- As Conv2d: PyTorch's fan_in is the weight's second dim times the kernel.
ConvTranspose2d.reset_parameters = Conv2d.reset_parameters

function ConvTranspose2d:forward(x)
  if not nn.is_tensor(x) or x:dim() ~= 4 or x:size(2) ~= self.in_channels then bad_input(self, x) end
  return nn.conv_transpose2d(x, self.weight, self.bias, self.conv_opts)
end

function ConvTranspose2d:extra_repr()
  local s = ("%d, %d, kernel_size=%s, stride=%s"):format(self.in_channels, self.out_channels,
                                                        pair_str(self.kernel_size), pair_str(self.stride))
  for _, k in ipairs({"padding", "output_padding"}) do
    if self[k][1] ~= 0 or self[k][2] ~= 0 then s = s .. ", " .. k .. "=" .. pair_str(self[k]) end
  end
  return s .. repr_tail(self)
end

ConvTranspose2d.short_repr = Conv2d.short_repr

return {Conv2d = Conv2d, ConvTranspose2d = ConvTranspose2d}
