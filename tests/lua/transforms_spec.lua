-- nn.transforms: each transform against a naive Lua computation, the
-- per-sample draws (independent across samples, reproducible by seed),
-- Compose, and the error messages.
local nn = require "nn"
local core = require "nn.core" -- the private entry points
local T = require "nn.transforms"
local H = require "helpers"

-- images[s][c][i][j] as a tensor [N,C,H,W] of distinct values
local function batch(n, c, h, w)
  return nn.rand(n, c, h, w)
end

-- n copies of one random image [C,H,W]: differences then come from the draws
local function copies(n, c, h, w)
  return nn.rand(1, c, h, w):expand(n, c, h, w):contiguous()
end

local function sample(x, s) return x:totable()[s] end

-- how many of the n samples differ from sample 1
local function distinct(x)
  local t = x:totable()
  local count = 0
  for s = 2, #t do
    if not H.equal(t[s], t[1]) then count = count + 1 end
  end
  return count
end

local function same_under_seed(tr, x)
  nn.manual_seed(123)
  local a = tr(x)
  nn.manual_seed(123)
  local b = tr(x)
  H.assert_values(a, b)
  local c = tr(x)
  assert(not H.equal(a, c), "a second call should draw again")
end

describe("Normalize", function()
  it("subtracts the mean and divides by the std of each channel", function()
    local x = batch(2, 3, 2, 2)
    local y = T.Normalize({0.1, 0.2, 0.3}, {0.5, 2, 4})(x)
    local xt, yt, m, sd = x:totable(), y:totable(), {0.1, 0.2, 0.3}, {0.5, 2, 4}
    for s = 1, 2 do for c = 1, 3 do for i = 1, 2 do for j = 1, 2 do
      local want = (xt[s][c][i][j] - m[c]) / sd[c]
      assert(math.abs(yt[s][c][i][j] - want) < 1e-5)
    end end end end
  end)
  it("accepts numbers and single images", function()
    local x = nn.rand(1, 3, 3)
    local want = ((x - 0.5) / 0.25)
    H.assert_close(T.Normalize(0.5, 0.25)(x), want, 1e-5)
  end)
  it("rejects a zero std and a wrong channel count", function()
    H.assert_error(function() T.Normalize(0, 0)(nn.rand(1, 1, 2, 2)) end, "Normalize", "std", "0")
    H.assert_error(function() T.Normalize({0, 0}, 1)(nn.rand(1, 3, 2, 2)) end,
                   "Normalize", "mean", "2", "3")
    H.assert_error(function() T.Normalize("a", 1) end, "Normalize", "mean")
  end)
end)

describe("RandomHorizontalFlip", function()
  it("mirrors every sample with p = 1 and none with p = 0", function()
    local x = batch(3, 2, 4, 5)
    local xt, yt = x:totable(), T.RandomHorizontalFlip(1)(x):totable()
    for s = 1, 3 do for c = 1, 2 do for i = 1, 4 do for j = 1, 5 do
      assert(yt[s][c][i][j] == xt[s][c][i][6 - j])
    end end end end
    H.assert_values(T.RandomHorizontalFlip(0)(x), x)
  end)
  it("flips each sample on its own draw", function()
    local x = copies(64, 1, 3, 3)
    local y = T.RandomHorizontalFlip(0.5)(x)
    local flipped = T.RandomHorizontalFlip(1)(x):totable()[1]
    local n = 0
    for s, img in ipairs(y:totable()) do
      if H.equal(img, flipped) then n = n + 1 else H.assert_values(img, sample(x, s)) end
    end
    assert(n > 10 and n < 54, "flipped " .. n .. " of 64")
    same_under_seed(T.RandomHorizontalFlip(), x)
  end)
  it("takes a single image [C,H,W]", function()
    local x = nn.rand(2, 3, 4)
    local y = T.RandomHorizontalFlip(1)(x)
    H.assert_shape(y, {2, 3, 4})
    H.assert_values(y:totable()[1][1], {x:totable()[1][1][4], x:totable()[1][1][3],
                                         x:totable()[1][1][2], x:totable()[1][1][1]})
  end)
  it("rejects a bad p", function()
    H.assert_error(function() T.RandomHorizontalFlip(1.5) end, "RandomHorizontalFlip", "p", "1.5")
  end)
end)

describe("RandomRotation", function()
  it("is the identity for 0 degrees", function()
    local x = batch(2, 3, 5, 6)
    H.assert_values(T.RandomRotation(0)(x), x)
  end)
  it("keeps the shape and the centre of an odd-sized image", function()
    local x = copies(16, 1, 7, 7)
    local y = T.RandomRotation(30)(x)
    H.assert_shape(y, {16, 1, 7, 7})
    local centre = x:totable()[1][1][4][4]
    for _, img in ipairs(y:totable()) do assert(math.abs(img[1][4][4] - centre) < 1e-5) end
  end)
  it("draws an angle per sample, reproducibly", function()
    local x = copies(16, 1, 8, 8)
    local y = T.RandomRotation(45)(x)
    assert(distinct(y) == 15)
    same_under_seed(T.RandomRotation(45), x)
  end)
  it("fills the corners with zeros when rotated", function()
    local x = nn.ones(32, 1, 9, 9)
    local yt = T.RandomRotation(180)(x):totable()
    local zeros = 0
    for _, img in ipairs(yt) do if img[1][1][1] < 0.5 then zeros = zeros + 1 end end
    assert(zeros > 0)
  end)
  it("rejects bad degrees", function()
    H.assert_error(function() T.RandomRotation(-5) end, "RandomRotation", "degrees", "-5")
    H.assert_error(function() T.RandomRotation("x") end, "RandomRotation", "degrees")
  end)
end)

describe("RandomCrop", function()
  -- the crop of padded image img at offsets (r, c) (0-based), size oh x ow
  local function window(img, r, c, oh, ow, pad)
    local out = {}
    for ch = 1, #img do
      out[ch] = {}
      for i = 1, oh do
        out[ch][i] = {}
        for j = 1, ow do
          local y, x = r + i - pad, c + j - pad
          out[ch][i][j] = (img[ch][y] and img[ch][y][x]) or 0
        end
      end
    end
    return out
  end

  it("returns a window of the zero-padded image, one offset per sample", function()
    local n, pad, oh, ow = 32, 2, 4, 5
    local x = copies(n, 2, 5, 6)
    local y = T.RandomCrop({oh, ow}, {padding = pad})(x)
    H.assert_shape(y, {n, 2, oh, ow})
    local img, offsets = x:totable()[1], {}
    for s, out in ipairs(y:totable()) do
      local found
      for r = 0, 5 + 2 * pad - oh do
        for c = 0, 6 + 2 * pad - ow do
          if not found and H.equal(out, window(img, r, c, oh, ow, pad)) then found = r .. "," .. c end
        end
      end
      assert(found, "sample " .. s .. " is no window of the padded image")
      offsets[found] = true
    end
    local kinds = 0
    for _ in pairs(offsets) do kinds = kinds + 1 end
    assert(kinds > 5, "only " .. kinds .. " distinct offsets")
    same_under_seed(T.RandomCrop(3, {padding = 1}), x)
  end)
  it("gives zeros where the window lies wholly in a wide padding", function()
    local n, pad = 64, 4
    local x = copies(n, 1, 3, 3)
    local y = T.RandomCrop(2, {padding = pad})(x)
    local img, zeros = x:totable()[1], 0
    for s, out in ipairs(y:totable()) do
      local found = false
      for r = 0, 3 + 2 * pad - 2 do
        for c = 0, 3 + 2 * pad - 2 do
          found = found or H.equal(out, window(img, r, c, 2, 2, pad))
        end
      end
      assert(found, "sample " .. s .. " is no window of the padded image")
      if H.equal(out, {{{0, 0}, {0, 0}}}) then zeros = zeros + 1 end
    end
    assert(zeros > 10, "only " .. zeros .. " windows in the padding")
  end)
  it("is the identity at full size without padding", function()
    local x = batch(2, 1, 4, 4)
    H.assert_values(T.RandomCrop(4)(x), x)
  end)
  it("names the shapes in its errors", function()
    H.assert_error(function() T.RandomCrop(3)(nn.zeros(28, 28)) end, "RandomCrop",
                   "expected an image batch [N,C,H,W] or image [C,H,W], got [28,28]")
    H.assert_error(function() T.RandomCrop(40, {padding = 4})(nn.zeros(1, 1, 28, 28)) end,
                   "RandomCrop", "40x40", "36x36")
    H.assert_error(function() T.RandomCrop(3)(nn.zeros(1, 1, 28, 28):long()) end,
                   "RandomCrop", "float32", "int64")
    H.assert_error(function() T.RandomCrop(0) end, "RandomCrop", "size", "0")
    H.assert_error(function() T.RandomCrop(3, {padding = -1}) end, "RandomCrop", "padding", "-1")
    H.assert_error(function() T.RandomCrop(3, {pading = 1}) end, "RandomCrop", "pading")
  end)
end)

describe("GaussianNoise", function()
  it("adds noise of the given std per element", function()
    local x = nn.ones(64, 1, 32, 32)
    local d = (T.GaussianNoise(0.5)(x) - x)
    local t, sum, sq, n = d:view(-1):totable(), 0, 0, 0
    for _, v in ipairs(t) do sum, sq, n = sum + v, sq + v * v, n + 1 end
    local mean = sum / n
    local sd = math.sqrt(sq / n - mean * mean)
    assert(math.abs(mean) < 0.01, "mean " .. mean)
    assert(math.abs(sd - 0.5) < 0.01, "std " .. sd)
    same_under_seed(T.GaussianNoise(0.1), x)
    H.assert_values(T.GaussianNoise(0)(x), x)
  end)
  it("rejects a negative std", function()
    H.assert_error(function() T.GaussianNoise(-1) end, "GaussianNoise", "std", "-1")
  end)
end)

describe("RandomScale", function()
  it("is the identity at scale 1", function()
    local x = batch(2, 2, 5, 6)
    H.assert_values(T.RandomScale{1, 1}(x), x)
  end)
  it("zooms about the centre: in keeps the image full, out leaves a zero border", function()
    local x = nn.ones(4, 1, 8, 8)
    H.assert_close(T.RandomScale{1.5, 2}(x), x, 1e-6)
    local y = T.RandomScale{0.5, 0.5}(x):totable()[1][1]
    assert(y[1][1] == 0 and y[8][8] == 0)
    assert(math.abs(y[4][4] - 1) < 1e-6 and math.abs(y[5][5] - 1) < 1e-6)
  end)
  it("draws a factor per sample, reproducibly", function()
    local x = copies(16, 1, 8, 8)
    assert(distinct(T.RandomScale{0.7, 1.3}(x)) == 15)
    same_under_seed(T.RandomScale{0.7, 1.3}, x)
  end)
  it("rejects a bad range", function()
    H.assert_error(function() T.RandomScale{2, 1} end, "RandomScale", "2", "1")
    H.assert_error(function() T.RandomScale{0, 1} end, "RandomScale", "0")
    H.assert_error(function() T.RandomScale(1) end, "RandomScale", "range")
  end)
end)

describe("Compose", function()
  it("applies the transforms in order", function()
    local x = batch(2, 1, 4, 4)
    local tr = T.Compose{T.RandomHorizontalFlip(1), T.Normalize(0.5, 2), function(t) return t * 3 end}
    H.assert_close(tr(x), (T.RandomHorizontalFlip(1)(x) - 0.5) / 2 * 3, 1e-6)
    assert(tostring(tr):find("Compose(RandomHorizontalFlip(p=1)", 1, true))
  end)
  it("runs an MNIST-sized augmentation batch quickly", function()
    local tr = T.Compose{T.RandomHorizontalFlip(), T.RandomRotation(10), T.RandomCrop(28, {padding = 4})}
    local x = nn.rand(64, 1, 28, 28)
    local y = tr(x)
    H.assert_shape(y, {64, 1, 28, 28})
    local reps, t0 = 200, os.clock()
    for _ = 1, reps do tr(x) end
    local ms = (os.clock() - t0) / reps * 1000
    print(("\n64x1x28x28 flip+rotation(10)+crop(28, padding 4): %.3f ms"):format(ms))
  end)
  it("runs a flip, a warp and a crop in one pass, as if one by one", function()
    local lists = {
      {T.RandomHorizontalFlip(0.5), T.RandomRotation(10), T.RandomCrop(28, {padding = 4})},
      {T.RandomRotation(30), T.RandomCrop({20, 25}, {padding = 2})},
      {T.RandomHorizontalFlip(0.3), T.RandomScale{0.5, 1.5}},
      {T.RandomScale{0.8, 1.2}, T.RandomCrop({40, 12}, {padding = 7}), T.Normalize(0.5, 2)},
      {T.Normalize(0, 1), T.RandomHorizontalFlip(0.7), T.RandomRotation(180),
       T.RandomCrop(3, {padding = 6}), T.RandomHorizontalFlip(1)},
    }
    for _, x in ipairs{nn.rand(32, 3, 28, 30), nn.rand(2, 28, 30), nn.rand(8, 1, 29, 27)} do
      for k, list in ipairs(lists) do
        nn.manual_seed(k)
        local fused, after_fused = T.Compose(list)(x), nn.rand(3)
        nn.manual_seed(k)
        local y = x
        for _, t in ipairs(list) do y = t(y) end
        H.assert_shape(fused, y:size())
        H.assert_values(fused, y)
        H.assert_values(after_fused, nn.rand(3)) -- the same numbers were drawn
      end
    end
  end)
  it("crops empty images into zeros and refuses absurd sizes", function()
    for _, x in ipairs{nn.zeros(3, 1, 0, 5), nn.zeros(3, 2, 5, 0)} do
      local y = T.Compose{T.RandomRotation(10), T.RandomCrop(2, {padding = 1})}(x)
      H.assert_values(y, nn.zeros(3, x:size(2), 2, 2))
    end
    local huge = nn.zeros(1, 0, 3037000498, 3037000498)
    H.assert_error(function() T.RandomRotation(10)(huge) end, "RandomRotation", "too large")
  end)
  it("fuses only plain instances and whole specs", function()
    local rot = T.RandomRotation(10)
    rot.forward = function(_, x) return x * 2 end -- a user's own rotation
    local x = nn.ones(2, 1, 4, 4)
    H.assert_values(T.Compose{T.RandomHorizontalFlip(), rot}(x), nn.full({2, 1, 4, 4}, 2))
    assert.is_nil(core._warp(x, {flip = 0.5}))                -- neither a rotation nor a zoom
    assert.is_nil(core._warp(x, {degrees = 5, scale_min = 1, scale_max = 2}))
    assert.is_nil(core._warp(x, {scale_min = 1}))
  end)
  it("runs them one by one, with their errors, where one pass cannot", function()
    local tr = T.Compose{T.RandomHorizontalFlip(), T.RandomRotation(10),
                         T.RandomCrop(40, {padding = 4})}
    H.assert_error(function() tr(nn.zeros(2, 1, 28, 28)) end, "RandomCrop", "40x40", "36x36")
    H.assert_error(function() tr(nn.zeros(2, 1, 28, 28):long()) end,
                   "RandomHorizontalFlip", "float32")
    H.assert_error(function() tr(nn.zeros(28, 28)) end, "RandomHorizontalFlip", "[28,28]")
    H.assert_error(function() tr("x") end, "RandomHorizontalFlip")
    H.assert_error(function() T.Compose{T.RandomScale{1e-7, 1}}(nn.rand(1, 1, 4, 4)) end,
                   "RandomScale", "min scale", "1e-07")
    -- a crop that fits only after the first transforms changed the size
    local grow = T.Compose{T.RandomCrop(10, {padding = 3}), T.RandomRotation(5),
                           T.RandomCrop(9, {padding = 0})}
    H.assert_shape(grow(nn.rand(4, 1, 6, 6)), {4, 1, 9, 9})
  end)
  it("rejects what is not callable", function()
    H.assert_error(function() T.Compose{T.GaussianNoise(1), 5} end, "Compose", "2", "number")
  end)
end)
