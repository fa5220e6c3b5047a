-- nn.models: ready-made architectures, each built by a function taking an
-- options table (unknown options are errors):
--
--   nn.models.lenet5{num_classes=10}                      LeNet-5, 1x28x28 inputs
--   nn.models.mlp{sizes={784, 256, 10}, activation='relu', dropout=0}
--   nn.models.mobilenet_v2{num_classes=1000, width_mult=1.0, dropout=0.2}
--   nn.models.resnet18{num_classes=1000, zero_init_residual=false}
--   nn.models.vgg11{num_classes=1000, batch_norm=false, dropout=0.5}
--
-- The last three are torchvision 0.14's, child for child and with its
-- initialization, so torchvision's weights load into them with
-- model:load_state_dict(nn.load(FILE), {keys='torch'}). One file per
-- family; each also exports its classes (nn.models.MobileNetV2, ...).

local models = {}
for _, family in ipairs({"nn.models.lenet", "nn.models.mlp", "nn.models.mobilenet", "nn.models.resnet",
                         "nn.models.vgg"}) do
  for name, value in pairs(require(family)) do models[name] = value end
end
return models
