-- Pooling over 2-D windows of [N, C, H, W] inputs:
--   nn.MaxPool2d(kernel_size, {stride=kernel_size, padding=0, dilation=1, ceil_mode=false})
--   nn.AvgPool2d(kernel_size, {stride=kernel_size, padding=0, ceil_mode=false,
--                              count_include_pad=true})
--   nn.AdaptiveAvgPool2d(output_size): the mean over PyTorch's windows
--   [floor(i*H/OH), ceil((i+1)*H/OH)), any output size
-- Sizes are a number or a pair {h, w}; [C, H, W] inputs work too. Neither
-- layer has parameters.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

-- "2" for {2, 2}, "{2, 3}" otherwise.
local function size_str(p)
  if p[1] == p[2] then return tostring(p[1]) end
  return ("{%d, %d}"):format(p[1], p[2])
end

-- The options common to both poolings, checked and stored on self.
local function init_window(self, name, kernel_size, opts)
  self.kernel_size = A.pair(name, "kernel_size", kernel_size)
  self.stride = A.pair(name, "stride", opts.stride or self.kernel_size)
  self.padding = A.pair(name, "padding", opts.padding or 0, 0)
  self.ceil_mode = A.bool(name, "ceil_mode", opts.ceil_mode, false)
end

local function check_input(self, x)
  if not nn.is_tensor(x) or x:dim() < 3 or x:dim() > 4 then
    A.fail(self.__name, "expected a 4-D input [N,C,H,W] (or 3-D [C,H,W]), got %s",
           nn.is_tensor(x) and A.shape_str(x) or type(x))
  end
end

local MaxPool2d = Module:extend("MaxPool2d")

function MaxPool2d:init(kernel_size, opts)
  opts = A.options("MaxPool2d", opts, {stride = true, padding = true, dilation = true, ceil_mode = true})
  init_window(self, "MaxPool2d", kernel_size, opts)
  self.dilation = A.pair("MaxPool2d", "dilation", opts.dilation or 1)
  self.pool_opts = {stride = self.stride, padding = self.padding, dilation = self.dilation,
                    ceil_mode = self.ceil_mode}
end

function MaxPool2d:forward(x)
  check_input(self, x)
  return nn.max_pool2d(x, self.kernel_size, self.pool_opts)
end

function MaxPool2d:extra_repr()
  return ("kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s")
         :format(size_str(self.kernel_size), size_str(self.stride), size_str(self.padding),
                 size_str(self.dilation), tostring(self.ceil_mode))
end

local AvgPool2d = Module:extend("AvgPool2d")

function AvgPool2d:init(kernel_size, opts)
  opts = A.options("AvgPool2d", opts, {stride = true, padding = true, ceil_mode = true, count_include_pad = true})
  init_window(self, "AvgPool2d", kernel_size, opts)
  self.count_include_pad = A.bool("AvgPool2d", "count_include_pad", opts.count_include_pad, true)
  self.pool_opts = {stride = self.stride, padding = self.padding, ceil_mode = self.ceil_mode,
                    count_include_pad = self.count_include_pad}
end

function AvgPool2d:forward(x)
  check_input(self, x)
  return nn.avg_pool2d(x, self.kernel_size, self.pool_opts)
end

function AvgPool2d:extra_repr()
  local s = ("kernel_size=%s, stride=%s, padding=%s"):format(size_str(self.kernel_size), size_str(self.stride),
                                                            size_str(self.padding))
  if self.ceil_mode then s = s .. ", ceil_mode=true" end
  if not self.count_include_pad then s = s .. ", count_include_pad=false" end
  return s
end

local AdaptiveAvgPool2d = Module:extend("AdaptiveAvgPool2d")

function AdaptiveAvgPool2d:init(output_size)
  self.output_size = A.pair("AdaptiveAvgPool2d", "output_size", output_size)
end

function AdaptiveAvgPool2d:forward(x)
  check_input(self, x)
  return nn.adaptive_avg_pool2d(x, self.output_size)
end

function AdaptiveAvgPool2d:extra_repr()
  return "output_size=" .. size_str(self.output_size)
end

return {MaxPool2d = MaxPool2d, AvgPool2d = AvgPool2d, AdaptiveAvgPool2d = AdaptiveAvgPool2d}
