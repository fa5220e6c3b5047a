-- nn.optim: optimizers and learning-rate schedulers, as torch.optim in
-- PyTorch 1.13.
--
--   local opt = nn.optim.SGD(model:parameters(), {lr=0.1, momentum=0.9})
--   local sched = nn.optim.StepLR(opt, {step_size=10, gamma=0.5})
--   opt:zero_grad(); loss:backward(); opt:step(); sched:step()
--
-- optimizer.lua is the base class (parameter groups, step, state dicts);
-- one file per optimizer family; lr_scheduler.lua the schedulers;
-- options.lua the option checks they share.

local adam = require "nn.optim.adam"

local optim = {
  SGD = require "nn.optim.sgd",
  Adam = adam.Adam,
  AdamW = adam.AdamW,
  RMSprop = require "nn.optim.rmsprop",
  Adagrad = require "nn.optim.adagrad",
}
for _, file in ipairs {"nn.optim.lr_scheduler", "nn.optim.lr_scheduler_more"} do
  for name, class in pairs(require(file)) do
    if name:sub(1, 1) ~= "_" then optim[name] = class end
  end
end

return optim
