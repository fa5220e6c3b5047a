-- nn.models.resnet18{num_classes=1000, zero_init_residual=false}:
-- ResNet-18 (He et al. 2016) as torchvision 0.14 builds it, child for
-- child, so its state dict is torchvision's up to the numbering of
-- Sequential children (load_state_dict(sd, {keys='torch'}) converts):
--
--   conv1 (7x7, stride 2), bn1, relu, maxpool (3x3, stride 2),
--   layer1..layer4: Sequentials of two BasicBlocks each, 64, 128, 256 and
--     512 channels; the first block of layer2..4 halves the size,
--   avgpool (global), fc (Linear 512 -> num_classes).
--
-- A BasicBlock is conv1, bn1, relu, conv2, bn2 and, where the shape
-- changes, downsample (1x1 convolution with the stride and a BatchNorm)
-- on the skip path: relu(bn2(conv2(relu(bn1(conv1(x))))) + skip(x)).
-- 11,689,512 parameters for 1000 classes. Initialization as torchvision:
-- convolutions kaiming_normal_ with mode 'fan_out' and the ReLU gain,
-- BatchNorm weight 1 and bias 0 (with zero_init_residual, each block's
-- bn2 weight 0, so every block starts as the identity), fc PyTorch's
-- Linear default; each layer is built with its initializer, so its
-- reset_parameters() draws torchvision's values again.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

-- torchvision's initializer of ResNet's convolutions.
local function kaiming_fan_out_relu(w)
  return nn.init.kaiming_normal_(w, {mode = "fan_out", nonlinearity = "relu"})
end

local function conv(in_planes, out_planes, kernel_size, stride)
  return nn.Conv2d(in_planes, out_planes, kernel_size, {stride = stride, padding = (kernel_size - 1) // 2,
                                                        bias = false, weight_init = kaiming_fan_out_relu})
end

local BasicBlock = Module:extend("BasicBlock")

-- zero_init: bn2's weight starts at 0 (ResNet's zero_init_residual).
function BasicBlock:init(inplanes, planes, stride, zero_init)
  self.conv1 = conv(inplanes, planes, 3, stride)
  self.bn1 = nn.BatchNorm2d(planes)
  self.relu = nn.ReLU()
  self.conv2 = conv(planes, planes, 3, 1)
  self.bn2 = nn.BatchNorm2d(planes, {weight_init = zero_init and "zeros" or nil})
  if stride ~= 1 or inplanes ~= planes then
    self.downsample = nn.Sequential{conv(inplanes, planes, 1, stride), nn.BatchNorm2d(planes)}
  end
  self.stride, self.planes = stride, planes
end

function BasicBlock:forward(x)
  local out = self.relu(self.bn1(self.conv1(x)))
  out = self.bn2(self.conv2(out))
  local identity = self.downsample and self.downsample(x) or x
  return self.relu(out + identity)
end

function BasicBlock:short_repr()
  return ("BasicBlock ->%d stride %d"):format(self.planes, self.stride)
end

local ResNet = Module:extend("ResNet")

-- layers: the number of BasicBlocks of each stage ({2, 2, 2, 2}: ResNet-18).
function ResNet:init(layers, num_classes, zero_init_residual)
  self.conv1 = conv(3, 64, 7, 2)
  self.bn1 = nn.BatchNorm2d(64)
  self.relu = nn.ReLU()
  self.maxpool = nn.MaxPool2d(3, {stride = 2, padding = 1})
  local inplanes = 64
  for stage, planes in ipairs({64, 128, 256, 512}) do
    local blocks = {BasicBlock(inplanes, planes, stage == 1 and 1 or 2, zero_init_residual)}
    for i = 2, layers[stage] do blocks[i] = BasicBlock(planes, planes, 1, zero_init_residual) end
    self["layer" .. stage] = nn.Sequential(blocks)
    inplanes = planes
  end
  self.avgpool = nn.AdaptiveAvgPool2d(1)
  self.fc = nn.Linear(512, num_classes)
end

function ResNet:forward(x)
  x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
  x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
  return self.fc(nn.flatten(self.avgpool(x), 2))
end

local function resnet18(opts)
  opts = A.options("resnet18", opts, {num_classes = true, zero_init_residual = true})
  local num_classes = A.int("resnet18", "num_classes", opts.num_classes or 1000)
  local zero_init = A.bool("resnet18", "zero_init_residual", opts.zero_init_residual, false)
  return ResNet({2, 2, 2, 2}, num_classes, zero_init)
end

return {resnet18 = resnet18, ResNet = ResNet, BasicBlock = BasicBlock}
