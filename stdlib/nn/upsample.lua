-- nn.Upsample{size= | scale_factor=, mode='nearest'|'bilinear',
-- align_corners=false}: resamples [N, C, H, W] inputs to [N, C, OH, OW],
-- OH = size or floor(H * scale_factor), as PyTorch's nn.Upsample
-- (nn.interpolate is the functional form). size is a number or a pair
-- {h, w}; scale_factor a positive number or a pair; align_corners is for
-- 'bilinear' only. No parameters.

local nn = require "nn"
local Module = require "nn.module"
local A = require "nn.args"

local Upsample = Module:extend("Upsample")

local OPTIONS = {size = true, scale_factor = true, mode = true, align_corners = true}

-- A positive number or a pair of them; returns a fresh pair.
local function scale_pair(v)
  local p = type(v) == "table" and {v[1], v[2]} or {v, v}
  if type(v) == "table" and #v ~= 2 then
    A.fail("Upsample", "scale_factor must be a number or a pair {h, w}, got a table of %d values", #v)
  end
  for k = 1, 2 do
    if type(p[k]) ~= "number" or not (p[k] > 0) or p[k] == math.huge then
      A.fail("Upsample", "scale_factor must be a positive number or a pair of them, got %s", tostring(p[k]))
    end
  end
  return p
end

function Upsample:init(opts)
  opts = A.options("Upsample", opts, OPTIONS)
  if (opts.size == nil) == (opts.scale_factor == nil) then
    A.fail("Upsample", "give exactly one of size and scale_factor")
  end
  if opts.size ~= nil then self.size = A.pair("Upsample", "size", opts.size) end
  if opts.scale_factor ~= nil then self.scale_factor = scale_pair(opts.scale_factor) end
  self.mode = A.choice("Upsample", "mode", opts.mode or "nearest", {"nearest", "bilinear"})
  if opts.align_corners ~= nil and self.mode ~= "bilinear" then
    A.fail("Upsample", "align_corners is only for mode 'bilinear'")
  end
  self.align_corners = A.bool("Upsample", "align_corners", opts.align_corners, false)
  self.opts = {size = self.size, scale_factor = self.scale_factor, mode = self.mode,
               align_corners = self.mode == "bilinear" and self.align_corners or nil}
end

function Upsample:forward(x)
  if not nn.is_tensor(x) or x:dim() ~= 4 then
    A.fail("Upsample", "expected a 4-D input [N,C,H,W], got %s", nn.is_tensor(x) and A.shape_str(x) or type(x))
  end
  return nn.interpolate(x, self.opts)
end

local function pair_str(p)
  if p[1] == p[2] then return tostring(p[1]) end
  return ("{%s, %s}"):format(p[1], p[2])
end

function Upsample:extra_repr()
  local s = self.size and "size=" .. pair_str(self.size) or "scale_factor=" .. pair_str(self.scale_factor)
  s = s .. ", mode='" .. self.mode .. "'"
  if self.align_corners then s = s .. ", align_corners=true" end
  return s
end

return {Upsample = Upsample}
