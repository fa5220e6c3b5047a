-- nn.plot: line charts, learning curves and image grids are written as
-- valid PNGs of the expected size (read back from the file's IHDR), odd
-- data (NaN, one point, constant) draws, and bad arguments and unwritable
-- paths raise naming the function, the values and the path, leaving no
-- file behind.
local nn = require "nn"
local plot = require "nn.plot"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local function tmp(name) return dir .. "/" .. name end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Width and height of the PNG at path, after checking its signature and
-- that its first chunk is IHDR.
local function png_size(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  assert.are.equal("\137PNG\r\n\26\n", data:sub(1, 8))
  assert.are.equal("IHDR", data:sub(13, 16))
  return string.unpack(">I4I4", data, 17)
end

-- Names in dir (to see that no temporary file was left).
local function listing()
  local p = assert(io.popen("ls -A '" .. dir .. "'"))
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  return names
end

local function raises(fn, ...)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  err = tostring(err)
  for _, s in ipairs({...}) do
    assert.is_truthy(err:find(s, 1, true), ("expected %q in: %s"):format(s, err))
  end
end

teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

describe("plot.lines", function()
  it("writes an 800x500 PNG and returns the path", function()
    local path = tmp("lines.png")
    local r = plot.lines({{name = "a", y = {3, 1, 2}}, {name = "b", x = {1, 2, 4}, y = {0.5, 0.25, 1}}},
                         path, {title = "T", xlabel = "x", ylabel = "y"})
    assert.are.equal(path, r)
    local w, h = png_size(path)
    assert.are.equal(800, w)
    assert.are.equal(500, h)
  end)

  it("takes the size from the options and overwrites an existing file", function()
    local path = tmp("sized.png")
    plot.lines({{y = {1, 2}}}, path)
    plot.lines({{y = {1, 2}}}, path, {width = 300, height = 200})
    local w, h = png_size(path)
    assert.are.equal(300, w)
    assert.are.equal(200, h)
  end)

  it("accepts 1-D tensors for x and y", function()
    local path = tmp("tensor.png")
    local x = nn.linspace(0, 1, 50)
    plot.lines({{name = "sq", x = x, y = x * x}, {y = nn.tensor({1, 2, 3}, "int64")}}, path)
    assert.are.equal(800, (png_size(path)))
  end)

  it("draws NaN, infinite, single-point, constant and all-NaN series", function()
    local nan = 0 / 0
    local cases = {
      {{y = {1, nan, 3, math.huge, 2}}},
      {{y = {5}}},
      {{x = {7}, y = {-2}}},
      {{y = {4, 4, 4, 4}}},
      {{y = {0, 0}}},
      {{y = {nan, nan}}},
      {{y = {1e-9, 2e-9}}, {y = {1e-9, 3e-9}}},
      {{x = {1e9, 2e9}, y = {-1e12, 1e12}}},
    }
    for i, series in ipairs(cases) do
      local path = tmp("odd" .. i .. ".png")
      plot.lines(series, path)
      assert.are.equal(800, (png_size(path)))
    end
  end)

  it("raises on bad series naming the function and values", function()
    local path = tmp("bad.png")
    raises(function() plot.lines({}, path) end, "plot.lines", "empty")
    raises(function() plot.lines("x", path) end, "plot.lines", "string")
    raises(function() plot.lines({{y = {}}}, path) end, "plot.lines", "series 1", "empty")
    raises(function() plot.lines({{y = {1}}, {name = "b"}}, path) end, "plot.lines", "series 2", "no y")
    raises(function() plot.lines({{x = {1, 2, 3}, y = {1, 2}}}, path) end,
           "plot.lines", "3 x values", "2 y values")
    raises(function() plot.lines({{y = {1, "a"}}}, path) end, "plot.lines", "series 1 y[2]", "string")
    raises(function() plot.lines({{y = nn.zeros(2, 2)}}, path) end, "plot.lines", "1-D", "[2,2]")
    raises(function() plot.lines({{y = {1}, name = 3}}, path) end, "plot.lines", "name", "number")
    raises(function() plot.lines({{y = {1}}}, 42) end, "plot.lines", "path", "number")
    raises(function() plot.lines({{y = {1}}}, path, {title = 5}) end, "plot.lines", "title")
    raises(function() plot.lines({{y = {1}}}, path, {width = 10}) end, "plot.lines", "width", "10")
    raises(function() plot.lines({{y = {1}}}, path, 7) end, "plot.lines", "options")
    assert.is_false(exists(path))
  end)

  it("raises naming an unwritable path and leaves no file", function()
    local missing = tmp("no/such/dir/p.png")
    raises(function() plot.lines({{y = {1, 2}}}, missing) end, "plot.lines", missing)
    assert.is_false(exists(missing))
    -- The target is a directory: the temporary is written, the rename
    -- fails, and the temporary is removed.
    local sub = tmp("adir")
    assert(os.execute("mkdir -p '" .. sub .. "'"))
    local before = #listing()
    raises(function() plot.lines({{y = {1, 2}}}, sub) end, "plot.lines", sub)
    assert.are.equal(before, #listing())
  end)
end)

describe("plot.history", function()
  local history = {loss = {1.0, 0.6, 0.4, 0.3}, val_loss = {1.1, 0.8, 0.7, 0.75},
                   accuracy = {0.5, 0.7, 0.8, 0.85}, time = {1, 1, 1, 1}, epochs = 4}

  it("draws loss and val_loss by default", function()
    local path = tmp("hist.png")
    assert.are.equal(path, plot.history(history, path, {title = "curves"}))
    assert.are.equal(800, (png_size(path)))
  end)

  it("draws the metrics asked for", function()
    local path = tmp("acc.png")
    plot.history(history, path, {metrics = {"accuracy"}})
    assert.are.equal(500, select(2, png_size(path)))
  end)

  it("raises naming a missing metric and the ones present", function()
    raises(function() plot.history(history, tmp("h.png"), {metrics = {"val_accuracy"}}) end,
           "plot.history", "val_accuracy", "accuracy, loss")
    raises(function() plot.history({}, tmp("h.png")) end, "plot.history", "no metrics")
    raises(function() plot.history(3, tmp("h.png")) end, "plot.history", "number")
    raises(function() plot.history({loss = {}}, tmp("h.png")) end, "plot.history", "empty")
  end)
end)

describe("plot.images", function()
  -- 28x28 images are zoomed 3x to 84 pixels, with 6 pixels of padding.
  it("lays out nrow images per row", function()
    local path = tmp("grid.png")
    assert.are.equal(path, plot.images(nn.rand(10, 1, 28, 28), path, {nrow = 5}))
    local w, h = png_size(path)
    assert.are.equal(6 + 5 * 90, w)
    assert.are.equal(6 + 2 * 90, h)
  end)

  it("takes [N,H,W] and RGB [N,3,H,W], 8 per row by default", function()
    local path = tmp("nhw.png")
    plot.images(nn.rand(10, 28, 28), path)
    local w, h = png_size(path)
    assert.are.equal(6 + 8 * 90, w)
    assert.are.equal(6 + 2 * 90, h)
    plot.images(nn.rand(2, 3, 64, 32), path, {title = "rgb"})
    w, h = png_size(path)
    assert.are.equal(6 + 2 * 38, w)
    assert.are.equal(32 + 6 + 70, h)
  end)

  it("draws captions from labels, predictions and class names", function()
    local path = tmp("captions.png")
    local names = {"cat", "dog", "bird"}
    plot.images(nn.rand(3, 1, 8, 8), path, {labels = nn.tensor({1, 2, 3}, "int64"),
                predicted = {1, 3, 3}, class_names = names, title = "pets"})
    local w, h = png_size(path)
    assert.is_true(w >= 6 + 3 * 70) -- 8x8 zoomed 8x to 64, cells widened to fit captions
    assert.are.equal(32 + 6 + (64 + 18 + 6), h)
    plot.images(nn.rand(3, 8, 8), path, {labels = {1, 2, 3}})
    plot.images(nn.rand(3, 8, 8), path, {predicted = {3, 2, 1}, class_names = names})
  end)

  it("draws constant and NaN images", function()
    local path = tmp("flat.png")
    local t = nn.zeros(2, 4, 4)
    t[2]:fill_(0 / 0)
    plot.images(t, path)
    assert.are.equal(6 + 2 * 70, (png_size(path)))
  end)

  it("raises on bad tensors and options", function()
    local path = tmp("badgrid.png")
    raises(function() plot.images(nn.rand(4, 5), path) end, "plot.images", "[4,5]")
    raises(function() plot.images(nn.rand(2, 2, 4, 4), path) end, "plot.images", "[2,2,4,4]")
    raises(function() plot.images(nn.rand(0, 4, 4), path) end, "plot.images", "[0,4,4]")
    raises(function() plot.images({1, 2}, path) end, "plot.images", "tensor")
    raises(function() plot.images(nn.rand(2, 4, 4), path, {labels = {1}}) end,
           "plot.images", "labels", "1 entries", "2 images")
    raises(function() plot.images(nn.rand(2, 4, 4), path, {labels = {1, 4}, class_names = {"a", "b"}}) end,
           "plot.images", "label 4", "2 names")
    raises(function() plot.images(nn.rand(2, 4, 4), path, {nrow = 0}) end, "plot.images", "nrow", "0")
    raises(function() plot.images(nn.rand(2, 4, 4), tmp("none/x.png")) end,
           "plot.images", tmp("none/x.png"))
    assert.is_false(exists(path))
  end)
end)
