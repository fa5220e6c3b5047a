-- nn.attacks: adversarial examples by the sign of the input gradient.
--
--   nn.attacks.fgsm(model, x, y, {eps=, loss=, clamp=})
--   nn.attacks.pgd(model, x, y, {eps=, alpha=, steps=10, random_start=false, loss=, clamp=})
--   (also SPEC's forms: fgsm(model, loss_fn, x, y, eps [, {clamp=}]) and
--    pgd(model, loss_fn, x, y, {eps=, ...}))
--
-- FGSM: x + eps * sign(d loss(model(x), y) / dx).
-- PGD: from x (or x + U(-eps, eps) with random_start), steps times
--   x' <- clip_{x, eps}(x' + alpha * sign(d loss(model(x'), y) / dx')),
--   the projection onto the L-inf ball of radius eps around x; alpha
--   defaults to 2.5 * eps / steps.
-- loss is a function (or loss module) of (output, y) returning a scalar,
-- nn.cross_entropy by default; clamp = {lo, hi} clips every result (after
-- each PGD step too). The model runs in evaluation mode and every module's
-- train/eval mode is restored afterwards; its parameters get no gradient
-- (their .grad is left as it was). The results are new tensors that do not
-- require grad.

local nn = require "nn"
local A = require "nn.args"

local M = {}

local function callable(v)
  return type(v) == "function" or (type(v) == "table" and getmetatable(v) ~= nil and getmetatable(v).__call ~= nil)
end

-- model's callable and a function restoring its parameters and modes.
local function prepare(fname, model)
  if not callable(model) then A.fail(fname, "model must be a module or a function, got %s", A.show(model)) end
  if type(model) ~= "table" or type(model.modules) ~= "function" then return function() end end
  local modes, params = {}, {}
  for i, m in ipairs(model:modules()) do modes[i] = {m, m.training} end
  for i, p in ipairs(model:parameters()) do
    params[i] = {p, p.requires_grad}
    if p.is_leaf and p.requires_grad then p:requires_grad_(false) end
  end
  model:eval()
  return function()
    for _, m in ipairs(modes) do rawset(m[1], "training", m[2]) end
    for _, p in ipairs(params) do
      if p[1].is_leaf and p[2] then p[1]:requires_grad_(true) end
    end
  end
end

-- The sign of d loss(model(x), y) / dx.
local function grad_sign(fname, model, loss, x, y)
  local xi = x:detach():clone():requires_grad_()
  local l = loss(model(xi), y)
  if not nn.is_tensor(l) or l:numel() ~= 1 then
    A.fail(fname, "loss must return a scalar tensor, got %s", nn.is_tensor(l) and A.shape_str(l) or A.show(l))
  end
  l:backward()
  return xi.grad:sign()
end

-- SPEC's forms take the loss as argument 2, the others x.
local function check_second(fname, a)
  if not nn.is_tensor(a) and not callable(a) then
    A.fail(fname, "argument 2 must be x (a tensor) or a loss function, got %s", A.show(a))
  end
end

local function check_common(fname, x, y, opts)
  if not nn.is_tensor(x) then A.fail(fname, "x must be a tensor, got %s", A.show(x)) end
  if x.dtype ~= "float32" then A.fail(fname, "x must be float32, got %s", x.dtype) end
  if y == nil then A.fail(fname, "y must be given (the labels or targets of x)") end
  local eps = A.number(fname, "eps", opts.eps, 0)
  local loss = opts.loss or nn.cross_entropy
  if not callable(loss) then
    A.fail(fname, "loss must be a function or a loss module, got %s", A.show(loss))
  end
  local clamp = opts.clamp
  if clamp ~= nil then
    if type(clamp) ~= "table" or type(clamp[1]) ~= "number" or type(clamp[2]) ~= "number" or clamp[1] > clamp[2] then
      A.fail(fname, "clamp must be a pair {lo, hi} with lo <= hi, got %s", A.show(clamp))
    end
  end
  return eps, loss, clamp
end

-- body(sign) with the model prepared, sign(x') the sign of the loss's
-- gradient at x'; the model restored even when body raises.
local function run(fname, model, x, y, loss, body)
  local restore = prepare(fname, model)
  local ok, res = pcall(nn.enable_grad, function()
    return body(function(xa) return grad_sign(fname, model, loss, xa, y) end)
  end)
  restore()
  if not ok then error(res, 0) end
  return res
end

function M.fgsm(model, a, b, c, d, e)
  local F = "fgsm"
  check_second(F, a)
  local x, y, opts
  if nn.is_tensor(a) then
    x, y, opts = a, b, c
    if d ~= nil then A.fail(F, "too many arguments: use fgsm(model, x, y, {eps=, loss=, clamp=})") end
  else
    -- SPEC's fgsm(model, loss_fn, x, y, eps [, {clamp=}])
    if e ~= nil and type(e) ~= "table" then A.fail(F, "options must be a table, got %s", A.show(e)) end
    x, y, opts = b, c, {}
    for k, v in pairs(A.options(F, e, {clamp = true})) do opts[k] = v end
    opts.eps, opts.loss = d, a
  end
  opts = A.options(F, opts, {eps = true, loss = true, clamp = true})
  local eps, loss, clamp = check_common(F, x, y, opts)
  return run(F, model, x, y, loss, function(sign)
    local adv = x:detach() + sign(x) * eps
    if clamp then adv = adv:clamp(clamp[1], clamp[2]) end
    return adv
  end)
end

function M.pgd(model, a, b, c, d)
  local F = "pgd"
  check_second(F, a)
  local x, y, opts
  if nn.is_tensor(a) then
    x, y, opts = a, b, c
    if d ~= nil then A.fail(F, "too many arguments: use pgd(model, x, y, {eps=, alpha=, steps=, ...})") end
  else
    -- SPEC's pgd(model, loss_fn, x, y, {eps=, ...})
    x, y, opts = b, c, {}
    if d ~= nil and type(d) ~= "table" then A.fail(F, "options must be a table, got %s", A.show(d)) end
    for k, v in pairs(d or {}) do opts[k] = v end
    if opts.loss ~= nil then A.fail(F, "loss given twice (argument 2 and option loss)") end
    opts.loss = a
  end
  opts = A.options(F, opts, {eps = true, alpha = true, steps = true, random_start = true, loss = true,
                             clamp = true})
  local eps, loss, clamp = check_common(F, x, y, opts)
  local steps = A.int(F, "steps", opts.steps or 10, 0)
  local alpha = opts.alpha == nil and (steps > 0 and 2.5 * eps / steps or 0) or A.number(F, "alpha", opts.alpha, 0)
  local random_start = A.bool(F, "random_start", opts.random_start, false)
  return run(F, model, x, y, loss, function(sign)
    local x0 = x:detach()
    local lo, hi = x0 - eps, x0 + eps
    local adv = x0:clone()
    if random_start then adv = adv + (nn.rand_like(x0) * 2 - 1) * eps end
    if clamp then adv = adv:clamp(clamp[1], clamp[2]) end
    for _ = 1, steps do
      adv = (adv + sign(adv) * alpha):maximum(lo):minimum(hi)
      if clamp then adv = adv:clamp(clamp[1], clamp[2]) end
    end
    return adv
  end)
end

return M
