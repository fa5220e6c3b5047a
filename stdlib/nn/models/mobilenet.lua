-- nn.models.mobilenet_v2{num_classes=1000, width_mult=1.0, dropout=0.2}:
-- MobileNetV2 (Sandler et al. 2018) as torchvision 0.14 builds it, child
-- for child, so its state dict is torchvision's up to the numbering of
-- Sequential children (load_state_dict(sd, {keys='torch'}) converts):
--
--   features    Sequential of 19 blocks:
--     [1]       Conv2dNormActivation(3, 32, stride 2): Conv 3x3, BatchNorm, ReLU6
--     [2..18]   InvertedResidual blocks (conv: expand 1x1, depthwise 3x3,
--               project 1x1 with its BatchNorm), with a skip connection
--               when the block keeps the shape
--     [19]      Conv2dNormActivation(320, 1280, kernel 1)
--   classifier  Sequential{Dropout(0.2), Linear(1280, num_classes)}
--
-- forward: features, global average pooling, flatten, classifier.
-- width_mult scales every channel count (rounded to a multiple of 8, as
-- torchvision's _make_divisible; the last 1280 only grows). 3,504,872
-- parameters for 1000 classes at width 1. Initialization as torchvision:
-- convolutions kaiming_normal_ with mode 'fan_out', BatchNorm weight 1 and
-- bias 0, Linear N(0, 0.01) with bias 0; each layer is built with its
-- initializer, so its reset_parameters() draws torchvision's values again.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

-- v rounded to the nearest multiple of divisor (at least divisor), one
-- multiple more when that falls over 10% below v (torchvision's
-- _make_divisible, from TensorFlow's MobileNet code).
local function make_divisible(v, divisor)
  local new_v = math.max(divisor, math.floor(v + divisor / 2) // divisor * divisor)
  if new_v < 0.9 * v then new_v = new_v + divisor end
  return math.tointeger(new_v)
end

-- torchvision's initializers of MobileNetV2's layers.
local function kaiming_fan_out(w)
  return nn.init.kaiming_normal_(w, {mode = "fan_out"})
end

local function normal_001(w)
  return nn.init.normal_(w, 0, 0.01)
end

-- torchvision.ops.Conv2dNormActivation: Conv (no bias, "same" padding),
-- BatchNorm2d and ReLU6 as a Sequential (state-dict keys "1.weight",
-- "2.running_mean"; torchvision's "0.weight", "1.running_mean").
local Conv2dNormActivation = nn.Sequential:extend("Conv2dNormActivation")

function Conv2dNormActivation:init(in_channels, out_channels, opts)
  local kernel = opts.kernel_size or 3
  nn.Sequential.init(self, {
    nn.Conv2d(in_channels, out_channels, kernel, {stride = opts.stride or 1, padding = (kernel - 1) // 2,
                                                   groups = opts.groups, bias = false,
                                                   weight_init = kaiming_fan_out}),
    nn.BatchNorm2d(out_channels),
    nn.ReLU6(),
  })
end

-- The inverted residual block: 1x1 expansion by expand_ratio (absent
-- when it is 1), 3x3 depthwise convolution with the block's stride, 1x1
-- linear projection; x + conv(x) when stride is 1 and the channels match.
local InvertedResidual = Module:extend("InvertedResidual")

function InvertedResidual:init(inp, oup, stride, expand_ratio)
  local hidden = inp * expand_ratio
  self.stride = stride
  self.use_res_connect = stride == 1 and inp == oup
  local layers = {}
  if expand_ratio ~= 1 then
    layers[#layers + 1] = Conv2dNormActivation(inp, hidden, {kernel_size = 1})
  end
  layers[#layers + 1] = Conv2dNormActivation(hidden, hidden, {stride = stride, groups = hidden})
  layers[#layers + 1] = nn.Conv2d(hidden, oup, 1, {bias = false, weight_init = kaiming_fan_out})
  layers[#layers + 1] = nn.BatchNorm2d(oup)
  self.conv = nn.Sequential(layers)
  self.out_channels = oup
end

function InvertedResidual:forward(x)
  if self.use_res_connect then return x + self.conv(x) end
  return self.conv(x)
end

function InvertedResidual:short_repr()
  return ("InvertedResidual ->%d stride %d"):format(self.out_channels, self.stride)
end

-- t (expansion), c (channels), n (blocks), s (stride of the first block).
local SETTINGS = {
  {1, 16, 1, 1},
  {6, 24, 2, 2},
  {6, 32, 3, 2},
  {6, 64, 4, 2},
  {6, 96, 3, 1},
  {6, 160, 3, 2},
  {6, 320, 1, 1},
}

local MobileNetV2 = Module:extend("MobileNetV2")

function MobileNetV2:init(num_classes, width_mult, dropout)
  local input_channel = make_divisible(32 * width_mult, 8)
  self.last_channel = make_divisible(1280 * math.max(1.0, width_mult), 8)
  local blocks = {Conv2dNormActivation(3, input_channel, {stride = 2})}
  for _, row in ipairs(SETTINGS) do
    local t, c, n, s = table.unpack(row)
    local output_channel = make_divisible(c * width_mult, 8)
    for i = 1, n do
      blocks[#blocks + 1] = InvertedResidual(input_channel, output_channel, i == 1 and s or 1, t)
      input_channel = output_channel
    end
  end
  blocks[#blocks + 1] = Conv2dNormActivation(input_channel, self.last_channel, {kernel_size = 1})
  self.features = nn.Sequential(blocks)
  self.classifier = nn.Sequential{
    nn.Dropout(dropout),
    nn.Linear(self.last_channel, num_classes, {weight_init = normal_001, bias_init = "zeros"}),
  }
end

function MobileNetV2:forward(x)
  x = self.features(x)
  x = nn.flatten(nn.adaptive_avg_pool2d(x, {1, 1}), 2)
  return self.classifier(x)
end

local function mobilenet_v2(opts)
  opts = A.options("mobilenet_v2", opts, {num_classes = true, width_mult = true, dropout = true})
  local num_classes = A.int("mobilenet_v2", "num_classes", opts.num_classes or 1000)
  local width_mult = opts.width_mult or 1.0
  if type(width_mult) ~= "number" or not (width_mult > 0) or width_mult == math.huge then
    A.fail("mobilenet_v2", "width_mult must be a positive number such as 0.35 or 1.0, got %s", A.show(width_mult))
  end
  local dropout = A.number("mobilenet_v2", "dropout", opts.dropout or 0.2, 0, 1)
  return MobileNetV2(num_classes, width_mult, dropout)
end

return {mobilenet_v2 = mobilenet_v2, MobileNetV2 = MobileNetV2, InvertedResidual = InvertedResidual,
        Conv2dNormActivation = Conv2dNormActivation}
