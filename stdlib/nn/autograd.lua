-- Autograd helpers written in Lua: zero_grads (below), and gradient
-- checking, which compares autograd's gradients with central finite
-- differences, as torch.autograd.gradcheck in its fast mode: the output is
-- projected on a fixed random direction v, so one backward pass gives the
-- analytic gradient of sum(out * v) for every input element, and two
-- forward passes per element give the numeric one.

local nn = require "nn"
local A = require "nn.args"
local fail = A.fail

local M = {}

local function check_inputs(inputs)
  if type(inputs) ~= "table" or #inputs == 0 then
    fail("gradcheck", "inputs must be a non-empty list of tensors")
  end
  for i, x in ipairs(inputs) do
    if not nn.is_tensor(x) then fail("gradcheck", "input %d must be a tensor, got %s", i, type(x)) end
    if x.dtype ~= "float32" then fail("gradcheck", "input %d must be float32, got %s", i, x.dtype) end
  end
end

-- sum(fn(inputs) * v) as a Lua number, without recording a graph. The
-- sum runs in Lua's doubles: rounding it to float32 would put an error of
-- about ulp(sum) / (2 eps) into every numeric derivative.
local function projected(fn, inputs, v)
  local out = nn.no_grad(function() return fn(table.unpack(inputs)) end)
  local values, total = out:reshape(-1):totable(), 0
  for i = 1, #values do total = total + values[i] * v[i] end
  return total
end

--- nn.gradcheck(fn, inputs, {eps=1e-3, atol=1e-2, rtol=1e-2, raise=true})
-- fn takes the inputs and returns a tensor. Inputs with requires_grad are
-- checked. Returns true, or raises (or, with raise=false, returns false and
-- a message) naming the input, the element and both values.
function M.gradcheck(fn, inputs, opts)
  opts = A.options("gradcheck", opts, {eps = true, atol = true, rtol = true, raise = true})
  local eps, atol, rtol = opts.eps or 1e-3, opts.atol or 1e-2, opts.rtol or 1e-2
  if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
    fail("gradcheck", "fn must be callable, got %s", type(fn))
  end
  check_inputs(inputs)
  local out = fn(table.unpack(inputs))
  if not nn.is_tensor(out) then fail("gradcheck", "fn must return a tensor, got %s", type(out)) end
  local v = nn.randn(out.shape)
  local v_flat = v:reshape(-1):totable()
  for _, x in ipairs(inputs) do if x.requires_grad then x.grad = nil end end
  local any = false
  for _, x in ipairs(inputs) do any = any or x.requires_grad end
  if not any then fail("gradcheck", "no input requires grad") end
  ;(out * v):sum():backward()
  for i, x in ipairs(inputs) do
    if x.requires_grad then
      local analytic = x.grad and x.grad:reshape(-1) or nn.zeros(x:numel())
      -- Perturb a contiguous copy's elements through a flat view of it.
      local flat = x:detach():view(-1)
      for j = 1, x:numel() do
        local orig = flat[j]
        flat[j] = orig + eps
        local plus = projected(fn, inputs, v_flat)
        flat[j] = orig - eps
        local minus = projected(fn, inputs, v_flat)
        flat[j] = orig
        local numeric, a = (plus - minus) / (2 * eps), analytic[j]
        if math.abs(a - numeric) > atol + rtol * math.abs(numeric) then
          local msg = ("input %d element %d: analytic gradient %.6g, numeric %.6g"):format(i, j, a, numeric)
          if opts.raise == false then return false, "gradcheck: " .. msg end
          fail("gradcheck", "%s", msg)
        end
      end
    end
  end
  return true
end

--- Zeroes the .grad of each tensor of params in place (keeping the
-- buffers for the next backward), or drops them (p.grad = nil) when
-- set_to_none is true or a table {set_to_none=true}: what Module and
-- optimizer zero_grad do.
function M.zero_grads(params, set_to_none)
  if type(set_to_none) == "table" then
    set_to_none = A.options("zero_grad", set_to_none, {set_to_none = true}).set_to_none
  end
  for _, p in ipairs(params) do
    if set_to_none then
      p.grad = nil
    else
      local g = p.grad
      if g then g:zero_() end
    end
  end
end

return M
