-- nn.Linear(in_features, out_features, {bias=true, weight_init=, bias_init=}):
-- y = x W^T + b.
--
-- weight is [out, in] and bias [out], as in PyTorch, both initialized as
-- PyTorch does: U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with
-- a = sqrt(5) gives exactly this bound for the weight). The input may
-- have any leading dims: [*, in] -> [*, out]. weight_init and bias_init
-- name another initializer (nn.init.get: 'glorot_uniform', 'zeros', ...)
-- or are a function(t) filling t.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local Linear = Module:extend("Linear")

function Linear:init(in_features, out_features, opts)
  self.in_features = A.int("Linear", "in_features", in_features)
  self.out_features = A.int("Linear", "out_features", out_features)
  opts = A.options("Linear", opts, {bias = true, weight_init = true, bias_init = true})
  self.weight_init = opts.weight_init and nn.init.get(opts.weight_init, "Linear", "weight_init")
  self.bias_init = opts.bias_init and nn.init.get(opts.bias_init, "Linear", "bias_init")
  self.weight = nn.empty(self.out_features, self.in_features):requires_grad_()
  if A.bool("Linear", "bias", opts.bias, true) then
    self.bias = nn.empty(self.out_features):requires_grad_()
  end
  self:reset_parameters()
end

--- Draws fresh initial values, as a newly built layer has.
function Linear:reset_parameters()
  if self.weight_init then self.weight_init(self.weight) else nn.init.kaiming_uniform_(self.weight, math.sqrt(5)) end
  if self.bias and self.bias_init then
    self.bias_init(self.bias)
  elseif self.bias then
    local bound = 1 / math.sqrt(self.in_features)
    nn.init.uniform_(self.bias, -bound, bound)
  end
end

local function bad_input(self, x)
  if not nn.is_tensor(x) then A.fail("Linear", "input must be a tensor, got %s", type(x)) end
  if x:dim() == 0 then A.fail("Linear", "input must have at least 1 dim, got a 0-dim tensor") end
  A.fail("Linear", "input has %d features, expected %d (input %s)", x:size(-1), self.in_features, A.shape_str(x))
end

function Linear:forward(x)
  if not nn.is_tensor(x) or x:dim() == 0 or x:size(-1) ~= self.in_features then bad_input(self, x) end
  return nn.linear(x, self.weight, self.bias)
end

function Linear:extra_repr()
  return ("in_features=%d, out_features=%d, bias=%s"):format(self.in_features, self.out_features,
                                                             tostring(self.bias ~= nil))
end

function Linear:short_repr()
  return ("Linear %d->%d"):format(self.in_features, self.out_features)
end

return Linear
