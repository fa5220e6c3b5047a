-- Loss modules: `crit(input, target)` returns the loss, a 0-dim tensor
-- (or per-element losses with reduction='none'). Each wraps one nn
-- function and is built with an options table:
--
--   nn.CrossEntropyLoss{weight=, reduction='mean', label_smoothing=0, ignore_index=}
--       logits [N, C] (or [N, C, d...]) and 1-based class indices
--       (an int64 tensor or a Lua array), or class probabilities
--   nn.NLLLoss{weight=, reduction=, ignore_index=}   log-probabilities, class indices
--   nn.MultiMarginLoss{p=1, margin=1, weight=, reduction=}
--       the multi-class SVM hinge: scores [N, C] (or [C]) and 1-based class
--       indices; per sample w[y]/C sum_{c~=y} max(0, margin - x[y] + x[c])^p,
--       p 1 or 2, margin >= 0; 'mean' averages over the samples
--   nn.MSELoss{reduction=}, nn.L1Loss{reduction=}
--   nn.SmoothL1Loss{beta=1, reduction=}   |d| < beta ? d^2/(2 beta) : |d| - beta/2,
--       beta >= 0 (0: L1)
--   nn.HuberLoss{delta=1, reduction=}     |d| <= delta ? d^2/2 : delta (|d| - delta/2),
--       delta > 0
--   nn.BCELoss{weight=, reduction=}                   probabilities in [0, 1]
--   nn.BCEWithLogitsLoss{weight=, pos_weight=, reduction=}
--   nn.KLDivLoss{reduction=, log_target=false}        input: log-probabilities;
--       reduction may also be 'batchmean' (the sum divided by the batch size)
--
-- reduction is 'mean' (default), 'sum' or 'none'. Class weights are
-- registered as a buffer, so they are part of the module's state_dict.
--
-- Targets of the binary losses (BCELoss, BCEWithLogitsLoss): float 0/1 (or
-- probabilities) of the input's shape; besides, a target [N] is accepted
-- for an input [N,1] and a target [N,1] for an input [N] (as Keras models
-- write one output per sample), read element for element. The loss (with
-- 'none') then has the input's shape and the target's gradient the
-- target's. Any other shape is an error: nothing else is broadcast. The
-- other regression losses (MSE, L1, SmoothL1, Huber) broadcast input and
-- target together as PyTorch does, except into a shape larger than both
-- (input [N,1], target [N]), which raises with the fix.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local Loss = Module:extend("Loss")

local REDUCTIONS = {"mean", "sum", "none"}

-- What each loss accepts. `fn` is the nn function; `options` the allowed
-- keys (beyond reduction); `class_target` converts a Lua array target to
-- int64 class indices (others become float32).
local SPECS = {
  CrossEntropyLoss = {fn = "cross_entropy", class_target = true,
                      options = {weight = true, label_smoothing = true, ignore_index = true}},
  NLLLoss = {fn = "nll_loss", class_target = true, options = {weight = true, ignore_index = true}},
  MultiMarginLoss = {fn = "multi_margin_loss", class_target = true,
                     options = {weight = true, p = true, margin = true}},
  MSELoss = {fn = "mse_loss", options = {}, regression = true},
  L1Loss = {fn = "l1_loss", options = {}, regression = true},
  SmoothL1Loss = {fn = "smooth_l1_loss", options = {beta = true}, regression = true},
  HuberLoss = {fn = "huber_loss", options = {delta = true}, regression = true},
  BCELoss = {fn = "bce_loss", options = {weight = true}},
  BCEWithLogitsLoss = {fn = "bce_with_logits", options = {weight = true, pos_weight = true}},
  KLDivLoss = {fn = "kl_div", options = {log_target = true},
               reductions = {"mean", "batchmean", "sum", "none"}},
}

local function check_weight(name, what, w)
  if w == nil then return nil end
  if not nn.is_tensor(w) then w = nn.tensor(w) end
  if w:dim() ~= 1 then A.fail(name, "%s must be a 1-D tensor, got %s", what, A.shape_str(w)) end
  return w
end

function Loss:init(opts)
  local name, spec = self.__name, self.spec
  local allowed = {reduction = true}
  for k in pairs(spec.options) do allowed[k] = true end
  opts = A.options(name, opts, allowed)
  self.reduction = A.choice(name, "reduction", opts.reduction or "mean", spec.reductions or REDUCTIONS)
  -- The options the nn function takes, built once rather than per call.
  local fopts = {reduction = self.reduction}
  if opts.label_smoothing ~= nil then
    fopts.label_smoothing = A.number(name, "label_smoothing", opts.label_smoothing, 0, 1)
  end
  if opts.ignore_index ~= nil then
    fopts.ignore_index = A.int(name, "ignore_index", opts.ignore_index, math.mininteger)
  end
  if opts.log_target ~= nil then fopts.log_target = A.bool(name, "log_target", opts.log_target, false) end
  if opts.p ~= nil then
    if opts.p ~= 1 and opts.p ~= 2 then A.fail(name, "p must be 1 or 2, got %s", tostring(opts.p)) end
    fopts.p = math.tointeger(opts.p)
  end
  if opts.margin ~= nil then fopts.margin = A.number(name, "margin", opts.margin, 0) end
  if opts.beta ~= nil then fopts.beta = A.number(name, "beta", opts.beta, 0) end
  if opts.delta ~= nil then
    fopts.delta = A.number(name, "delta", opts.delta)
    if not (fopts.delta > 0) then A.fail(name, "delta must be > 0, got %g", fopts.delta) end
  end
  for _, key in ipairs({"weight", "pos_weight"}) do
    local w = check_weight(name, key, opts[key])
    if w then
      self:register_buffer(key, w)
      fopts[key] = w
    end
  end
  self.loss_opts = fopts
end

-- The shape input and target broadcast to, or nil when they do not.
local function broadcast_shape(a, b)
  local out = {}
  local n = math.max(#a, #b)
  for i = 1, n do
    local x, y = a[#a - n + i] or 1, b[#b - n + i] or 1
    if x ~= y and x ~= 1 and y ~= 1 then return nil end
    out[i] = x == 1 and y or x
  end
  return out
end

local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

-- A regression target that broadcasts against the input into something
-- larger than both ([N,1] against [N] gives [N,N]) averages a wrong loss
-- that still trains: PyTorch only warns. Raise, and say the fix.
local function check_regression_shapes(name, input, target)
  if not (nn.is_tensor(input) and nn.is_tensor(target)) then return end
  local a, b = input.shape, target.shape
  local both = broadcast_shape(a, b)
  if both == nil or numel(both) <= math.max(numel(a), numel(b)) then return end
  local fix
  if #a == #b + 1 and a[#a] == 1 then
    fix = "target:view(-1, 1) (or input:view(-1))"
  elseif #b == #a + 1 and b[#b] == 1 then
    fix = "target:view(-1) (or input:view(-1, 1))"
  else
    fix = "a target of the input's shape"
  end
  A.fail(name, "input %s and target %s would broadcast to %s, a loss over every pair; use %s",
         A.shape_str(input), A.shape_str(target), "[" .. table.concat(both, ",") .. "]", fix)
end

function Loss:forward(input, target)
  if type(target) == "table" and not nn.is_tensor(target) then
    target = nn.tensor(target, self.spec.class_target and "int64" or "float32")
  end
  if self.spec.regression then check_regression_shapes(self.__name, input, target) end
  return nn[self.spec.fn](input, target, self.loss_opts)
end

function Loss:extra_repr()
  local parts = {}
  if self.reduction ~= "mean" then parts[#parts + 1] = ("reduction='%s'"):format(self.reduction) end
  local o = self.loss_opts
  if o.label_smoothing and o.label_smoothing ~= 0 then
    parts[#parts + 1] = "label_smoothing=" .. tostring(o.label_smoothing + 0.0)
  end
  if o.ignore_index then parts[#parts + 1] = "ignore_index=" .. o.ignore_index end
  if o.log_target then parts[#parts + 1] = "log_target=true" end
  for _, key in ipairs({"p", "margin", "beta", "delta"}) do
    if o[key] ~= nil then parts[#parts + 1] = key .. "=" .. tostring(o[key]) end
  end
  if o.weight then parts[#parts + 1] = "weight=" .. A.shape_str(o.weight) end
  if o.pos_weight then parts[#parts + 1] = "pos_weight=" .. A.shape_str(o.pos_weight) end
  return table.concat(parts, ", ")
end

local M = {}
for name, spec in pairs(SPECS) do
  M[name] = Loss:extend(name)
  M[name].spec = spec
end
return M
