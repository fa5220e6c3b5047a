-- Batch normalization (Ioffe & Szegedy), as PyTorch's:
--   nn.BatchNorm1d(num_features, opts) for [N, C] or [N, C, L] inputs,
--   nn.BatchNorm2d(num_features, opts) for [N, C, H, W],
-- opts = {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true,
-- weight_init='ones', bias_init='zeros'} (initializer names: nn.init.get).
--
-- In training each channel is normalized by its batch mean and (biased)
-- variance, and the running estimates are updated in place:
-- running = (1 - momentum) * running + momentum * batch, with the
-- unbiased batch variance. momentum=false makes them cumulative averages
-- (1/num_batches_tracked), PyTorch's momentum=None. In eval the running
-- estimates normalize. Then y = x_hat * weight + bias per channel (affine).
-- Buffers: running_mean (0), running_var (1), num_batches_tracked (int64).

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local OPTIONS = {eps = true, momentum = true, affine = true, track_running_stats = true, weight_init = true,
                 bias_init = true}

local BatchNorm = Module:extend("BatchNorm")

-- Checkpoints from before num_batches_tracked lack it: they still load
-- (strict too), with the count reset to 0, as PyTorch loads them.
BatchNorm.optional_state = {num_batches_tracked = 0}

function BatchNorm:init(num_features, opts)
  local name = self.__name
  self.num_features = A.int(name, "num_features", num_features)
  opts = A.options(name, opts, OPTIONS)
  self.eps = opts.eps == nil and 1e-5 or A.number(name, "eps", opts.eps, 0)
  if opts.momentum == false then
    self.momentum = false
  else
    self.momentum = opts.momentum == nil and 0.1 or A.number(name, "momentum", opts.momentum, 0, 1)
  end
  self.affine = A.bool(name, "affine", opts.affine, true)
  self.weight_init = opts.weight_init and nn.init.get(opts.weight_init, name, "weight_init")
  self.bias_init = opts.bias_init and nn.init.get(opts.bias_init, name, "bias_init")
  self.track_running_stats = A.bool(name, "track_running_stats", opts.track_running_stats, true)
  local C = self.num_features
  if self.affine then
    self.weight = nn.ones(C):requires_grad_()
    self.bias = nn.zeros(C):requires_grad_()
    if self.weight_init then self.weight_init(self.weight) end
    if self.bias_init then self.bias_init(self.bias) end
  end
  if self.track_running_stats then
    self:register_buffer("running_mean", nn.zeros(C))
    self:register_buffer("running_var", nn.ones(C))
    self:register_buffer("num_batches_tracked", nn.tensor(0, "int64"))
  end
end

--- Running mean 0, running variance 1, no batches seen.
function BatchNorm:reset_running_stats()
  if not self.track_running_stats then return end
  nn.no_grad(function()
    self.running_mean:zero_()
    self.running_var:fill_(1)
    self.num_batches_tracked:zero_()
  end)
end

function BatchNorm:reset_parameters()
  self:reset_running_stats()
  if self.affine then
    ;(self.weight_init or nn.init.ones_)(self.weight)
    ;(self.bias_init or nn.init.zeros_)(self.bias)
  end
end

function BatchNorm:forward(x)
  self:check_input(x)
  local momentum = self.momentum
  if self.training and self.track_running_stats then
    local count = self.num_batches_tracked
    count:add_(1)
    if momentum == false then momentum = 1 / count:item() end
  end
  -- Batch statistics in training, and always when there are no running ones.
  local use_batch = self.training or not self.track_running_stats
  return nn.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_batch,
                       momentum or 0, self.eps)
end

-- Checks x's rank against the class's and its channel count.
function BatchNorm:check_input(x)
  local name = self.__name
  if not nn.is_tensor(x) then A.fail(name, "input must be a tensor, got %s", type(x)) end
  local d = x:dim()
  if d < self.min_dim or d > self.max_dim then
    A.fail(name, "expected %s input, got %s", self.expected, A.shape_str(x))
  end
  if x:size(2) ~= self.num_features then
    A.fail(name, "input has %d %s, expected %d (input %s)", x:size(2), self.unit, self.num_features,
           A.shape_str(x))
  end
end

function BatchNorm:extra_repr()
  local momentum = self.momentum == false and "false" or tostring(self.momentum + 0.0)
  return ("%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s")
         :format(self.num_features, tostring(self.eps + 0.0), momentum, tostring(self.affine),
                 tostring(self.track_running_stats))
end

function BatchNorm:short_repr()
  return ("%s %d"):format(self.__name, self.num_features)
end

local BatchNorm1d = BatchNorm:extend("BatchNorm1d")
BatchNorm1d.min_dim, BatchNorm1d.max_dim = 2, 3
BatchNorm1d.expected, BatchNorm1d.unit = "a 2-D or 3-D [N,C] or [N,C,L]", "features"

local BatchNorm2d = BatchNorm:extend("BatchNorm2d")
BatchNorm2d.min_dim, BatchNorm2d.max_dim = 4, 4
BatchNorm2d.expected, BatchNorm2d.unit = "a 4-D [N,C,H,W]", "channels"

return {BatchNorm1d = BatchNorm1d, BatchNorm2d = BatchNorm2d}
