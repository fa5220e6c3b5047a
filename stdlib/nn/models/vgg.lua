-- nn.models.vgg11{num_classes=1000, batch_norm=false, dropout=0.5}: VGG-11
-- (Simonyan & Zisserman 2015, configuration "A") as torchvision 0.14
-- builds it, child for child, so its state dict is torchvision's up to
-- the numbering of Sequential children (load_state_dict(sd, {keys='torch'})
-- converts):
--
--   features    Sequential: eight 3x3 convolutions (64, 128, 256, 256,
--               512, 512, 512, 512 channels, padding 1), each followed by
--               ReLU (BatchNorm2d then ReLU with batch_norm), and five
--               MaxPool2d(2) (after the 1st, 2nd, 4th, 6th and 8th)
--   avgpool     AdaptiveAvgPool2d(7)
--   classifier  Linear(25088, 4096), ReLU, Dropout, Linear(4096, 4096),
--               ReLU, Dropout, Linear(4096, num_classes)
--
-- 132,863,336 parameters for 1000 classes (132,868,840 with batch_norm),
-- about 0.5 GB of float32. Initialization as torchvision: convolutions
-- kaiming_normal_ with mode 'fan_out' and the ReLU gain and bias 0,
-- BatchNorm weight 1 and bias 0, Linear N(0, 0.01) with bias 0; each
-- layer is built with its initializer, so its reset_parameters() draws
-- torchvision's values again.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

-- Configuration "A": channel counts, and "M" for a max pooling.
local CFG_A = {64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"}

-- torchvision's initializers of VGG's layers.
local function kaiming_fan_out_relu(w)
  return nn.init.kaiming_normal_(w, {mode = "fan_out", nonlinearity = "relu"})
end
local CONV_INIT = {padding = 1, weight_init = kaiming_fan_out_relu, bias_init = "zeros"}

local function linear(in_features, out_features)
  return nn.Linear(in_features, out_features,
                   {weight_init = function(w) return nn.init.normal_(w, 0, 0.01) end, bias_init = "zeros"})
end

local function make_layers(cfg, batch_norm)
  local layers, in_channels = {}, 3
  for _, v in ipairs(cfg) do
    if v == "M" then
      layers[#layers + 1] = nn.MaxPool2d(2, {stride = 2})
    else
      layers[#layers + 1] = nn.Conv2d(in_channels, v, 3, CONV_INIT)
      if batch_norm then layers[#layers + 1] = nn.BatchNorm2d(v) end
      layers[#layers + 1] = nn.ReLU()
      in_channels = v
    end
  end
  return nn.Sequential(layers)
end

local VGG = Module:extend("VGG")

function VGG:init(features, num_classes, dropout)
  self.features = features
  self.avgpool = nn.AdaptiveAvgPool2d(7)
  self.classifier = nn.Sequential{
    linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
    linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
    linear(4096, num_classes),
  }
end

function VGG:forward(x)
  x = self.avgpool(self.features(x))
  return self.classifier(nn.flatten(x, 2))
end

local function vgg11(opts)
  opts = A.options("vgg11", opts, {num_classes = true, batch_norm = true, dropout = true})
  local num_classes = A.int("vgg11", "num_classes", opts.num_classes or 1000)
  local batch_norm = A.bool("vgg11", "batch_norm", opts.batch_norm, false)
  local dropout = A.number("vgg11", "dropout", opts.dropout or 0.5, 0, 1)
  return VGG(make_layers(CFG_A, batch_norm), num_classes, dropout)
end

return {vgg11 = vgg11, VGG = VGG}
