-- nn.optim: optimizers and learning-rate schedulers, as torch.optim in
-- PyTorch 1.13.
--
--   local opt = nn.optim.SGD(model:parameters(), {lr=0.1, momentum=0.9})
--   local sched = nn.optim.StepLR(opt, {step_size=10, gamma=0.5})
--   opt:zero_grad(); loss:backward(); opt:step(); sched:step()
--
-- optimizer.lua is the base class (parameter groups, step, state dicts);
-- one file per optimizer family (random_search.lua: the gradient-free
-- RandomSearch and RandomLocalSearch); lr_scheduler.lua and
-- lr_scheduler_more.lua the schedulers;
-- options.lua the option checks they share.

local adam = require "nn.optim.adam"
local random_search = require "nn.optim.random_search"

local optim = {
  SGD = require "nn.optim.sgd",
  Adam = adam.Adam,
  AdamW = adam.AdamW,
  RMSprop = require "nn.optim.rmsprop",
  Adagrad = require "nn.optim.adagrad",
  RandomSearch = random_search.RandomSearch,
  RandomLocalSearch = random_search.RandomLocalSearch,
}
for _, file in ipairs {"nn.optim.lr_scheduler", "nn.optim.lr_scheduler_more"} do
  for name, class in pairs(require(file)) do
    if name:sub(1, 1) ~= "_" then optim[name] = class end
  end
end

return optim
