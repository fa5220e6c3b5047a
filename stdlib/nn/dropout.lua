-- nn.Dropout(p=0.5, {mode='inverted'|'classic'}): zeroes each element with
-- probability p in training mode.
--   inverted (default, PyTorch's): survivors are scaled by 1/(1-p) in
--     training, and eval is the identity;
--   classic (the original paper's): survivors are kept as they are, and
--     eval multiplies by the keep probability 1-p.
-- Either way the expected output is the same in both modes.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local Dropout = Module:extend("Dropout")

function Dropout:init(p, opts)
  self.p = p == nil and 0.5 or A.number("Dropout", "p", p, 0, 1)
  opts = A.options("Dropout", opts, {mode = true})
  self.mode = A.choice("Dropout", "mode", opts.mode or "inverted", {"inverted", "classic"})
end

function Dropout:forward(x)
  return nn.dropout(x, self.p, self.training, self.mode)
end

function Dropout:extra_repr()
  local s = "p=" .. tostring(self.p + 0.0)
  if self.mode == "classic" then s = s .. ", mode='classic'" end
  return s
end

return Dropout
