-- nn.optim.RandomSearch and nn.optim.RandomLocalSearch: the gradient-free
-- baselines of the course's optimisation notes (CS231n's "strategy #1:
-- random search" and "strategy #2: random local search"), with the
-- optimizer interface (parameter groups with their own options,
-- state_dict / load_state_dict).
--
--   local opt = nn.optim.RandomSearch({W}, {std=1e-4})
--   for i = 1, 1000 do
--     local loss = opt:step(function() return loss_fn(X, Y, W) end)
--   end
--   -- W now holds the best weights tried, opt.best_loss their loss
--
-- The algorithm of step(closure), one attempt:
--   1. every parameter p, in group order, is saved and replaced by a
--      candidate drawn with the global generator (nn.manual_seed):
--        RandomSearch:      p = std * z
--        RandomLocalSearch: p = p + step_size * z
--      z ~ N(0, 1) elementwise, drawn as t:normal_(0, std) into p (a scratch
--      tensor for the local search, then added), parameter by parameter;
--      std and step_size come from p's group;
--   2. loss = closure() under nn.no_grad (a number or a one-element tensor);
--   3. if loss < best_loss, the candidate is kept and best_loss = loss;
--      otherwise (a NaN loss included) every parameter is restored;
--   4. attempts counts the attempts; step returns this attempt's loss.
-- A closure that raises (or returns something else) leaves the parameters
-- and the counts as they were, and the error propagates.
-- best_loss starts at +inf, so the first candidate is always kept, as in
-- the notes (bestloss = float("inf")): the starting weights are not
-- evaluated. After each step the parameters hold the best weights found.
-- The draws depend only on the seed and the parameters' shapes, so runs
-- are reproducible.

local nn = require "nn"
local fail = require("nn.args").fail
local O = require "nn.optim.options"
local base = require "nn.optim.optimizer"

local Optimizer, define = base.Optimizer, base.define

-- The loss returned by closure as a number.
local function loss_value(self, v)
  if nn.is_tensor(v) then
    if v:numel() ~= 1 then
      fail(self.name, "the closure must return the loss (a number or a one-element tensor), got a tensor of %d "
           .. "elements", v:numel())
    end
    return v:item()
  end
  if type(v) ~= "number" then
    fail(self.name, "the closure must return the loss (a number or a one-element tensor), got %s", type(v))
  end
  return v
end

-- The scratch tensor of p (p's shape), allocated on first use; not state.
local function scratch(self, p)
  local t = self._scratch[p]
  if not t then
    t = nn.empty(p.shape)
    self._scratch[p] = t
  end
  return t
end

local function make_step(local_search)
  return function(self, closure)
    if type(closure) ~= "function" then
      fail(self.name, "step needs a closure that returns the loss, got %s", type(closure))
    end
    local saved = {}
    nn.no_grad(function()
      for _, group in ipairs(self.param_groups) do
        local scale = local_search and group.step_size or group.std
        for _, p in ipairs(group.params) do
          local keep = scratch(self, p)
          keep:copy_(p)
          saved[#saved + 1] = {p, keep}
          if local_search then
            local noise = self._noise[p] or nn.empty(p.shape)
            self._noise[p] = noise
            p:add_(noise:normal_(0, scale))
          else
            p:normal_(0, scale)
          end
        end
      end
    end)
    local ok, loss = pcall(function() return loss_value(self, nn.no_grad(closure)) end)
    if ok and loss < self.best_loss then
      self.best_loss = loss
    else -- rejected, or the closure failed: the parameters are restored
      nn.no_grad(function()
        for _, s in ipairs(saved) do s[1]:copy_(s[2]) end
      end)
      if not ok then error(loss, 0) end
    end
    self.attempts = self.attempts + 1
    return loss
  end
end

-- state_dict(): the optimizer's dict plus best_loss and attempts.
local function state_dict(self)
  local s = Optimizer.state_dict(self)
  s.best_loss, s.attempts = self.best_loss, self.attempts
  return s
end

local function load_state_dict(self, s)
  Optimizer.load_state_dict(self, s)
  if s.best_loss ~= nil then
    O.number(self.name, "load_state_dict: best_loss", s.best_loss, "")
    self.best_loss = s.best_loss
  end
  if s.attempts ~= nil then
    O.number(self.name, "load_state_dict: attempts", s.attempts, "")
    self.attempts = math.tointeger(s.attempts) or s.attempts
  end
end

local function searcher(spec, local_search)
  spec.state_names = {}
  spec.step = make_step(local_search)
  spec.state_dict, spec.load_state_dict = state_dict, load_state_dict
  local cls = define(spec)
  local new = getmetatable(cls).__call
  getmetatable(cls).__call = function(c, params, opts)
    local self = new(c, params, opts)
    self.best_loss, self.attempts = math.huge, 0
    self._scratch, self._noise = setmetatable({}, {__mode = "k"}), setmetatable({}, {__mode = "k"})
    return self
  end
  return cls
end

--- nn.optim.RandomSearch(params, {std=}): each step(closure) tries fresh
-- random weights std * N(0, 1) and keeps them if the loss is the best so
-- far.
local RandomSearch = searcher({
  name = "RandomSearch",
  defaults = {std = O.REQUIRED},
  checks = {std = O.nonneg "std"},
}, false)

--- nn.optim.RandomLocalSearch(params, {step_size=}): each step(closure)
-- tries the current weights plus step_size * N(0, 1) and keeps them if
-- the loss falls below the best so far.
local RandomLocalSearch = searcher({
  name = "RandomLocalSearch",
  defaults = {step_size = O.REQUIRED},
  checks = {step_size = O.nonneg "step_size"},
}, true)

return {RandomSearch = RandomSearch, RandomLocalSearch = RandomLocalSearch}
