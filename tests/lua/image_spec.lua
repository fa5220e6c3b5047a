-- nn.image (PNG load/save) and nn.data.image_folder, on small files this
-- spec writes itself: PNGs from nn.image.save and hand-made ones with
-- stored deflate.
local nn = require "nn"
local core = require "nn.core" -- the private entry points
local H = require "helpers"

local tmpdir, write, rmrf, near = H.tmpdir, H.write_file, H.rmrf, H.near

-- The error of f(...), which must fail, after its position: the line of
-- this file that called f (errors name the user's line, never the
-- library's), so the pcall must stay in this file.
local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok)
  local message = tostring(e):match("^[^\n]-image_spec%.lua:%d+: (.*)$")
  assert(message, "no position of the caller in " .. tostring(e))
  return message
end

-- ---- hand-made PNGs (tests/lua/png_bytes.lua: stored deflate, no zlib needed) ----

local make_png = require("png_bytes").make

describe("image", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir) end)

  it("saves and loads RGB, gray, gray+alpha and RGBA", function()
    for _, c in ipairs{1, 2, 3, 4} do
      local t = nn.rand(c, 5, 7)
      local p = dir .. "/im" .. c .. ".png"
      nn.image.save(t, p)
      local u = nn.image.load(p)
      assert.are.same({c, 5, 7}, u.shape)
      assert.are.equal("float32", u.dtype)
      assert(((u - t):abs():max()):item() <= 0.5 / 255 + 1e-6)
    end
    local g = nn.rand(4, 3)
    nn.image.save(g, dir .. "/g.png")
    assert.are.same({1, 4, 3}, nn.image.load(dir .. "/g.png").shape)
  end)

  it("clamps on save and saves non-contiguous and int tensors", function()
    local t = nn.tensor{{{-1, 0.5, 2}}}
    nn.image.save(t, dir .. "/c.png")
    local u = nn.image.load(dir .. "/c.png")
    near(u[1][1][1], 0); near(u[1][1][2], 128 / 255); near(u[1][1][3], 1)
    local w = nn.rand(3, 4, 6)
    nn.image.save(w:transpose(2, 3), dir .. "/tr.png")
    assert.are.same({3, 6, 4}, nn.image.load(dir .. "/tr.png").shape)
  end)

  it("loads 8-bit and 16-bit hand-made PNGs exactly", function()
    write(dir .. "/g8.png", make_png(2, 1, 8, 0, {"\0\255"}))
    local u = nn.image.load(dir .. "/g8.png")
    assert.are.same({1, 1, 2}, u.shape)
    near(u[1][1][1], 0); near(u[1][1][2], 1)
    write(dir .. "/rgb.png", make_png(1, 2, 8, 2, {"\10\20\30", "\40\50\60"}))
    u = nn.image.load(dir .. "/rgb.png")
    assert.are.same({3, 2, 1}, u.shape)
    near(u[2][1][1], 20 / 255); near(u[3][2][1], 60 / 255)
    write(dir .. "/g16.png", make_png(2, 1, 16, 0, {"\0\0\255\255"}))
    u = nn.image.load(dir .. "/g16.png")
    assert.are.same({1, 1, 2}, u.shape)
    near(u[1][1][1], 0); near(u[1][1][2], 1)
  end)

  it("reports missing, corrupt and truncated files and bad shapes", function()
    local e = errmsg(nn.image.load, dir .. "/none.png")
    assert.matches("^image.load: ", e); assert.matches("none.png", e, 1, true)
    write(dir .. "/bad.png", "not a png at all")
    e = errmsg(nn.image.load, dir .. "/bad.png")
    assert.matches("^image.load: ", e); assert.matches("not a PNG", e)
    local good = make_png(4, 4, 8, 2, {string.rep("\1", 12), string.rep("\2", 12),
                                       string.rep("\3", 12), string.rep("\4", 12)})
    for _, cut in ipairs{12, 40, #good - 30, #good - 20} do
      write(dir .. "/cut.png", good:sub(1, cut))
      e = errmsg(nn.image.load, dir .. "/cut.png")
      assert.matches("^image.load: ", e); assert.matches("cut.png", e, 1, true)
    end
    local flipped = good:sub(1, 60) .. string.char((good:byte(61) + 1) % 256) .. good:sub(62)
    write(dir .. "/crc.png", flipped)
    assert.matches("^image.load: ", errmsg(nn.image.load, dir .. "/crc.png"))
    -- (a file cut after its image data, missing only IEND, loads: libpng stops reading there)
    -- the runtime keeps working after libpng errors
    write(dir .. "/ok.png", good)
    assert.are.same({3, 4, 4}, nn.image.load(dir .. "/ok.png").shape)

    e = errmsg(nn.image.save, nn.rand(5, 2, 2), dir .. "/x.png")
    assert.matches("^image.save: ", e); assert.matches("[5,2,2]", e, 1, true)
    e = errmsg(nn.image.save, nn.rand(2), dir .. "/x.png")
    assert.matches("[2]", e, 1, true)
    e = errmsg(nn.image.save, nn.rand(1, 0, 3), dir .. "/x.png")
    assert.matches("empty", e)
    e = errmsg(nn.image.save, nn.rand(1, 2, 2), dir .. "/no/such/dir/x.png")
    assert.matches("^image.save: ", e); assert.matches("x.png", e, 1, true)
    assert.matches("must be a tensor", errmsg(nn.image.save, {}, dir .. "/x.png"))
  end)
end)

describe("image_folder", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir) end)

  it("loads one sub-folder per class in sorted order", function()
    for _, c in ipairs{"dog", "cat"} do os.execute("mkdir -p '" .. dir .. "/" .. c .. "'") end
    nn.image.save(nn.full({3, 2, 2}, 0.2), dir .. "/dog/b.png")
    nn.image.save(nn.full({3, 2, 2}, 0.4), dir .. "/dog/a.png")
    nn.image.save(nn.full({3, 2, 2}, 1.0), dir .. "/cat/z.png")
    write(dir .. "/cat/notes.txt", "ignored")
    write(dir .. "/README", "ignored")
    local ds = nn.data.image_folder(dir)
    assert.are.same({"cat", "dog"}, ds.classes)
    assert.are.equal(3, #ds)
    assert.are.same({3, 3, 2, 2}, ds.x.shape)
    assert.are.equal("int64", ds.y.dtype)
    assert.are.same({1, 2, 2}, {ds.y[1], ds.y[2], ds.y[3]})
    near(ds.x[1][1][1][1], 1); near(ds.x[2][1][1][1], 102 / 255); near(ds.x[3][1][1][1], 51 / 255)
    assert.matches("dog/a.png$", ds.files[2])
  end)

  it("resizes to size= bilinearly as PyTorch (align_corners=False)", function()
    os.execute("mkdir -p '" .. dir .. "/a' '" .. dir .. "/b'")
    nn.image.save(nn.rand(2, 7, 3), dir .. "/a/1.png")
    nn.image.save(nn.rand(2, 3, 4), dir .. "/b/1.png")
    local ds = nn.data.image_folder(dir, {size = {5, 2}})
    assert.are.same({2, 2, 5, 2}, ds.x.shape)
    ds = nn.data.image_folder(dir, {size = 4})
    assert.are.same({2, 2, 4, 4}, ds.x.shape)
    -- reference: torch.nn.functional.interpolate(arange(24).view(1,2,3,4)/23,
    -- size, mode='bilinear', align_corners=False) with torch 1.13
    local x = (nn.arange(24):view(2, 3, 4)) / 23
    local ref = {
      [{5, 2}] = {0.0217391, 0.1086957, 0.0913044, 0.1782609, 0.1956522, 0.2826087, 0.3, 0.3869565,
                  0.3695652, 0.4565217, 0.5434783, 0.6304348, 0.6130435, 0.7, 0.7173913, 0.8043478,
                  0.8217392, 0.9086957, 0.8913044, 0.9782609},
      [{2, 6}] = {0.0434783, 0.0652174, 0.0942029, 0.1231884, 0.1521739, 0.173913, 0.3043478,
                  0.3260869, 0.3550724, 0.3840579, 0.4130435, 0.4347826, 0.5652174, 0.5869565,
                  0.615942, 0.6449275, 0.6739131, 0.6956522, 0.8260869, 0.8478261, 0.8768116,
                  0.9057971, 0.9347826, 0.9565217},
    }
    for size, want in pairs(ref) do
      local y = core._image_resize(x, size[1], size[2]):reshape(-1)
      assert.are.equal(#want, #y)
      for i = 1, #want do near(y[i], want[i], 1e-6) end
    end
    assert.matches("size", errmsg(nn.data.image_folder, dir, {size = {0, 2}}))
    assert.matches("size", errmsg(nn.data.image_folder, dir, {size = "big"}))
  end)

  it("reports mismatched shapes, corrupt files and missing folders", function()
    os.execute("mkdir -p '" .. dir .. "/a' '" .. dir .. "/b'")
    nn.image.save(nn.rand(3, 2, 2), dir .. "/a/1.png")
    nn.image.save(nn.rand(1, 2, 2), dir .. "/b/1.png")
    local e = errmsg(nn.data.image_folder, dir)
    assert.matches("^image_folder: ", e); assert.matches("b/1.png", e, 1, true)
    assert.matches("[1,2,2]", e, 1, true); assert.matches("[3,2,2]", e, 1, true)
    write(dir .. "/b/1.png", "garbage")
    e = errmsg(nn.data.image_folder, dir)
    assert.matches("^image_folder: ", e); assert.matches("b/1.png", e, 1, true)
    e = errmsg(nn.data.image_folder, dir .. "/nope")
    assert.matches("^image_folder: ", e); assert.matches("nope", e)
    local empty = dir .. "/a"
    assert.matches("no class sub%-folders", errmsg(nn.data.image_folder, empty))
  end)
end)
