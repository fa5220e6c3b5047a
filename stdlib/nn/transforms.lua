-- nn.transforms: data augmentation for image batches [N,C,H,W] (or one
-- image [C,H,W]) of float32. Each transform is a callable object that
-- returns a new tensor; the random ones give every sample its own draw
-- from the engine generator (so nn.manual_seed makes them reproducible),
-- and the work runs in C over the whole batch (bindings/transforms.c).
--
--   local T = nn.transforms
--   local aug = T.Compose{T.RandomHorizontalFlip(), T.RandomRotation(10),
--                         T.RandomCrop(28, {padding = 4})}
--   x = aug(x)

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"

local transforms = {}

-- A transform class: T(...) builds one with init, t(x) calls forward.
local function class(name)
  local cls = {name = name}
  cls.__index = cls
  cls.__call = function(self, x) return self:forward(x) end
  cls.__tostring = function(self) return name .. "(" .. self:extra_repr() .. ")" end
  cls.__name = name
  function cls.extra_repr() return "" end
  transforms[name] = setmetatable(cls, {
    __call = function(c, ...)
      local self = setmetatable({}, c)
      self:init(...)
      return self
    end,
  })
  return cls
end

--- Compose{t1, t2, ...}: applies each transform in order. A flip, a
-- rotation or zoom and a crop that follow one another (RandomHorizontalFlip,
-- then RandomRotation or RandomScale, then RandomCrop; the flip and the crop
-- optional) run as one pass over the batch (core._warp), which draws the same
-- numbers in the same order and gives the same result as running them one
-- by one, without the images in between.
local Compose = class("Compose")
function Compose:init(list)
  if type(list) ~= "table" then A.fail("Compose", "expected an array of transforms, got %s", A.show(list)) end
  self.transforms = {}
  for i, t in ipairs(list) do
    if type(t) ~= "function" and not (getmetatable(t) or {}).__call then
      A.fail("Compose", "transform %d must be callable, got %s", i, type(t))
    end
    self.transforms[i] = t
  end
end

-- The class of t when it is a plain instance of it (an instance with its
-- own forward does something else and must run as itself).
local function kind(t)
  return type(t) == "table" and rawget(t, "forward") == nil and getmetatable(t) or nil
end

-- The end of the run of transforms from list[i] that core._warp does in one
-- pass, or nil when list[i] starts none.
local function warp_run(list, i)
  local j = i
  if kind(list[j]) == transforms.RandomHorizontalFlip then j = j + 1 end
  local warp = kind(list[j])
  if warp ~= transforms.RandomRotation and warp ~= transforms.RandomScale then return nil end
  if kind(list[j + 1]) == transforms.RandomCrop then j = j + 1 end
  return j
end

-- The spec of core._warp for list[i..last].
local function warp_spec(list, i, last)
  local spec = {}
  for k = i, last do
    local t, cls = list[k], getmetatable(list[k])
    if cls == transforms.RandomHorizontalFlip then
      spec.flip = t.p
    elseif cls == transforms.RandomRotation then
      spec.degrees = t.degrees
    elseif cls == transforms.RandomScale then
      spec.scale_min, spec.scale_max = t.min, t.max
    else
      spec.crop_h, spec.crop_w, spec.padding = t.size[1], t.size[2], t.padding
    end
  end
  return spec
end

function Compose:forward(x)
  local list, i = self.transforms, 1
  while list[i] do
    local last = warp_run(list, i)
    local y = last and core._warp(x, warp_spec(list, i, last), "Compose")
    if y then
      x, i = y, last + 1
    else
      x, i = list[i](x), i + 1
    end
  end
  return x
end
function Compose:extra_repr()
  local parts = {}
  for i, t in ipairs(self.transforms) do parts[i] = tostring(t) end
  return table.concat(parts, ", ")
end

local function show_values(v)
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for i, x in ipairs(v) do parts[i] = tostring(x) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

--- Normalize(mean, std): (x - mean) / std per channel; mean and std are
-- numbers or arrays with one value per channel.
local Normalize = class("Normalize")
function Normalize:init(mean, std)
  for what, v in pairs({mean = mean, std = std}) do
    if type(v) ~= "number" and type(v) ~= "table" then
      A.fail("Normalize", "%s must be a number or an array of numbers, got %s", what, A.show(v))
    end
  end
  self.mean, self.std = mean, std
end
function Normalize:forward(x) return core._normalize(x, self.mean, self.std, "Normalize") end
function Normalize:extra_repr()
  return "mean=" .. show_values(self.mean) .. ", std=" .. show_values(self.std)
end

--- RandomHorizontalFlip(p=0.5): each sample mirrored with probability p.
local RandomHorizontalFlip = class("RandomHorizontalFlip")
function RandomHorizontalFlip:init(p)
  self.p = p == nil and 0.5 or A.number("RandomHorizontalFlip", "p", p, 0, 1)
end
function RandomHorizontalFlip:forward(x) return core._hflip(x, self.p, "RandomHorizontalFlip") end
function RandomHorizontalFlip:extra_repr() return "p=" .. tostring(self.p) end

--- RandomRotation(degrees): each sample rotated about its centre by an
-- angle uniform in [-degrees, degrees] (counter-clockwise positive),
-- bilinear, zeros outside.
local RandomRotation = class("RandomRotation")
function RandomRotation:init(degrees)
  self.degrees = A.number("RandomRotation", "degrees", degrees, 0, 360)
end
function RandomRotation:forward(x) return core._rotate(x, self.degrees, "RandomRotation") end
function RandomRotation:extra_repr() return "degrees=" .. tostring(self.degrees) end

--- RandomCrop(size, {padding=0}): zero-pads each side by padding, then
-- crops a random size x size (or {h, w}) window from each sample.
local RandomCrop = class("RandomCrop")
function RandomCrop:init(size, opts)
  self.size = A.pair("RandomCrop", "size", size)
  opts = A.options("RandomCrop", opts, {padding = true})
  self.padding = A.int("RandomCrop", "padding", opts.padding or 0, 0)
end
function RandomCrop:forward(x)
  return core._random_crop(x, self.size[1], self.size[2], self.padding, "RandomCrop")
end
function RandomCrop:extra_repr()
  return ("size={%d, %d}, padding=%d"):format(self.size[1], self.size[2], self.padding)
end

--- GaussianNoise(std): adds independent N(0, std^2) noise to each element.
local GaussianNoise = class("GaussianNoise")
function GaussianNoise:init(std)
  self.std = A.number("GaussianNoise", "std", std, 0, math.huge)
end
function GaussianNoise:forward(x) return core._gaussian_noise(x, self.std, "GaussianNoise") end
function GaussianNoise:extra_repr() return "std=" .. tostring(self.std) end

--- RandomScale({min, max}): zooms each sample about its centre by a factor
-- uniform in [min, max] (> 1 enlarges), bilinear, same output size, zeros
-- outside.
local RandomScale = class("RandomScale")
function RandomScale:init(range)
  if type(range) ~= "table" or #range ~= 2 then
    A.fail("RandomScale", "range must be a pair {min, max}, got %s", A.show(range))
  end
  local lo = A.number("RandomScale", "min", range[1])
  local hi = A.number("RandomScale", "max", range[2])
  if lo <= 0 or lo > hi then
    A.fail("RandomScale", "range must satisfy 0 < min <= max, got {%g, %g}", lo, hi)
  end
  self.min, self.max = lo, hi
end
function RandomScale:forward(x) return core._random_scale(x, self.min, self.max, "RandomScale") end
function RandomScale:extra_repr() return ("{%g, %g}"):format(self.min, self.max) end

return transforms
