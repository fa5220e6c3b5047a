-- nn.models.lenet5{num_classes=10}: LeNet-5 for 1x28x28 images (MNIST,
-- Fashion-MNIST), in the form most courses teach it: ReLU and max pooling
-- where LeCun's 1998 network had tanh and subsampling. 61,706 parameters
-- for 10 classes.
--
--   features:   Conv2d(1, 6, 5, padding=2), ReLU, MaxPool2d(2),
--               Conv2d(6, 16, 5), ReLU, MaxPool2d(2)     -> [N, 16, 5, 5]
--   classifier: Linear(400, 120), ReLU, Linear(120, 84), ReLU,
--               Linear(84, num_classes)
--
-- The two children are named as in torchvision's VGG and AlexNet, so a new
-- head is `model.classifier[5] = nn.Linear(84, k)` there as here. The
-- layers keep PyTorch's default initialization.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local LeNet5 = Module:extend("LeNet5")

function LeNet5:init(num_classes)
  self.features = nn.Sequential{
    nn.Conv2d(1, 6, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
  }
  self.classifier = nn.Sequential{
    nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
    nn.Linear(120, 84), nn.ReLU(),
    nn.Linear(84, num_classes),
  }
end

function LeNet5:forward(x)
  if not nn.is_tensor(x) or x:dim() ~= 4 or x:size(2) ~= 1 or x:size(3) ~= 28 or x:size(4) ~= 28 then
    A.fail("LeNet5", "expected an input [N, 1, 28, 28], got %s",
           nn.is_tensor(x) and A.shape_str(x) or type(x))
  end
  return self.classifier(nn.flatten(self.features(x), 2))
end

local function lenet5(opts)
  opts = A.options("lenet5", opts, {num_classes = true})
  return LeNet5(A.int("lenet5", "num_classes", opts.num_classes or 10))
end

return {lenet5 = lenet5, LeNet5 = LeNet5}
