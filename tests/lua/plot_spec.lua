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

  it("draws every metric by default, loss and accuracy in two panels", function()
    local path = tmp("hist.png")
    assert.are.equal(path, plot.history(history, path, {title = "curves"}))
    local w, h = png_size(path)
    assert.are.same({840, 400}, {w, h})
    plot.history({loss = {1, 0.5}, val_loss = {1.2, 0.8}}, path)
    w, h = png_size(path)
    assert.are.same({800, 500}, {w, h})
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

  it("widens the canvas to a title longer than the grid", function()
    local path = tmp("titled.png")
    plot.images(nn.rand(2, 1, 8, 8), path, {title = "a title far wider than two small images side by side"})
    local w, h = png_size(path)
    assert.is_true(w > 300, "width " .. w) -- the grid alone is 6 + 2 * 70 = 146
    assert.are.equal(32 + 6 + 70, h)
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

-- Reads the size and checks the file is a PNG.
local function size_of(path)
  local w, h = png_size(path)
  return {w, h}
end

describe("plot.lines options", function()
  it("draws log axes, styles, markers, vlines and points", function()
    local path = tmp("opts.png")
    plot.lines({{name = "a", x = {1, 10, 100}, y = {1, 0.1, 0.01}, style = "dashed", marker = "s"},
                {name = "b", y = {0.5, 0.05, 0.3}, style = "dotted", marker = "x"},
                {name = "c", y = {0.2, 0.2, 0.2}, style = "none", marker = "^"}},
               path, {xscale = "log", yscale = "log", vlines = {2, 50}, width = 500, height = 300,
                      points = {{x = 10, y = 0.1, label = "here"}, {x = 2, y = 0.05}}})
    assert.are.same({500, 300}, size_of(path))
  end)

  it("raises on bad options naming the function and the value", function()
    local path = tmp("badopts.png")
    raises(function() plot.lines({{y = {1}}}, path, {yscal = "log"}) end, "plot.lines", "yscal")
    raises(function() plot.lines({{y = {1}}}, path, {yscale = "ln"}) end, "plot.lines", "yscale", "'ln'")
    raises(function() plot.lines({{y = {1, -2}}}, path, {yscale = "log"}) end,
           "plot.lines", "yscale 'log'", "y[2] = -2")
    raises(function() plot.lines({{y = {1}, style = "wavy"}}, path) end, "plot.lines", "series 1 style", "'wavy'")
    raises(function() plot.lines({{y = {1}, marker = "*"}}, path) end, "plot.lines", "series 1 marker")
    raises(function() plot.lines({{y = {1}, colour = 2}}, path) end, "plot.lines", "colour")
    raises(function() plot.lines({{y = {1}}}, path, {vlines = {1, 0 / 0}}) end, "plot.lines", "vlines[2]", "finite")
    raises(function() plot.lines({{y = {1}}}, path, {points = {{x = 1}}}) end, "plot.lines", "points[1]")
    assert.is_false(exists(path))
  end)
end)

describe("plot.history panels", function()
  it("puts loss and accuracy in separate panels", function()
    local path = tmp("panels.png")
    plot.history({loss = {1, 0.5, 0.3}, val_loss = {1.1, 0.7, 0.6}, accuracy = {0.5, 0.7, 0.8},
                  val_accuracy = {0.4, 0.6, 0.7}}, path, {title = "fit"})
    assert.are.same({840, 400}, size_of(path))
    raises(function() plot.history({loss = {1}}, path, {metric = {"loss"}}) end, "plot.history", "metric")
  end)
end)

describe("plot.bar", function()
  it("draws several series side by side", function()
    local path = tmp("bar.png")
    plot.bar({"a", "b", "c"}, path, {series = {{name = "x", y = {1, 2, 3}}, {name = "y", y = nn.tensor({3, 2, 1})}},
                                     title = "bars", width = 400, height = 300})
    assert.are.same({400, 300}, size_of(path))
    plot.bar({"a", "b"}, path, {values = {0.5, -0.25}})
    assert.are.same({800, 500}, size_of(path))
  end)

  it("raises on mismatched lengths, non-finite values and bad options", function()
    local path = tmp("badbar.png")
    raises(function() plot.bar({"a", "b"}, path, {series = {{y = {1, 2, 3}}}}) end,
           "plot.bar", "series 1 has 3 values for 2 groups")
    raises(function() plot.bar({"a"}, path, {values = {0 / 0}}) end, "plot.bar", "y[1]", "finite")
    raises(function() plot.bar({}, path, {values = {}}) end, "plot.bar", "groups")
    raises(function() plot.bar({"a"}, path) end, "plot.bar", "series")
    raises(function() plot.bar({"a"}, path, {values = {1}, colors = 1}) end, "plot.bar", "colors")
    assert.is_false(exists(path))
  end)
end)

describe("plot.hist", function()
  it("draws one or several series on shared bins", function()
    local path = tmp("hist.png")
    plot.hist(nn.randn(100, 3), path, {bins = 10})
    assert.are.same({800, 500}, size_of(path))
    plot.hist({{name = "a", values = nn.randn(50)}, {name = "b", values = {1, 2, 2, 3}}}, path,
              {title = "h", width = 300, height = 200})
    assert.are.same({300, 200}, size_of(path))
  end)

  it("raises on empty or non-finite data and bad bins", function()
    local path = tmp("badhist.png")
    raises(function() plot.hist({}, path) end, "plot.hist", "empty")
    raises(function() plot.hist({1, 1 / 0}, path) end, "plot.hist", "y[2] is inf", "finite")
    raises(function() plot.hist({1, 2}, path, {bins = 0}) end, "plot.hist", "bins", "0")
    raises(function() plot.hist({{name = "a"}}, path) end, "plot.hist", "series 1 has no values")
    raises(function() plot.hist({1, 2}, path, {bin = 3}) end, "plot.hist", "bin")
    raises(function() plot.hist({1, 2}, tmp("nowhere/h.png")) end, "plot.hist", tmp("nowhere/h.png"))
    assert.is_false(exists(path))
  end)
end)

describe("plot.heatmap", function()
  it("draws a confusion matrix with class names", function()
    local path = tmp("heat.png")
    plot.heatmap(nn.tensor({{5, 1}, {2, 7}}), path, {labels = {"cat", "dog"}, title = "cm",
                                                      xlabel = "predicted", ylabel = "true"})
    local w, h = png_size(path)
    assert.is_true(w >= 240 and h > 128)
    plot.heatmap({{0.5, 0.25, 0}, {1, 0, 0.75}}, path, {annotate = false, col_labels = {"a", "b", "c"}})
  end)

  it("widens a small matrix's image to hold a long title", function()
    local path = tmp("heat_title.png")
    plot.heatmap(nn.tensor({{5, 1}, {2, 7}}), path, {labels = {"cat", "dog"}})
    local narrow = png_size(path)
    local title = ("a long title that is much wider than a two by two matrix"):rep(2)
    plot.heatmap(nn.tensor({{5, 1}, {2, 7}}), path, {labels = {"cat", "dog"}, title = title})
    local wide = png_size(path)
    -- bold 16 px letters are wider than 6 px each
    assert.is_true(narrow < 400 and wide > #title * 6, ("widths %d and %d"):format(narrow, wide))
  end)

  it("raises on bad matrices, labels and options", function()
    local path = tmp("badheat.png")
    raises(function() plot.heatmap(nn.zeros(3), path) end, "plot.heatmap", "2-D", "[3]")
    raises(function() plot.heatmap({{1, 2}, {3, 0 / 0}}, path) end, "plot.heatmap", "matrix[4]", "finite")
    raises(function() plot.heatmap({{1, 2}, {3, 4}}, path, {labels = {"a"}}) end,
           "plot.heatmap", "labels", "2 names", "2x2", "1 names")
    raises(function() plot.heatmap({{1, 2}, {3, 4}}, path, {label = {"a", "b"}}) end, "plot.heatmap", "label")
    assert.is_false(exists(path))
  end)
end)

describe("plot.contour", function()
  it("evaluates the function once on the grid and draws paths over it", function()
    local path, calls = tmp("contour.png"), 0
    plot.contour(function(x, y)
      calls = calls + 1
      assert.are.same({50, 50}, {x:size(1), x:size(2)})
      return x * x - y * y
    end, path, {x = {-2, 2}, y = {-1, 1}, n = 50, zscale = "log", levels = 8,
                paths = {{name = "gd", x = {1, 0.5, 0.25}, y = {0.1, 0.2, 0.4}}, nn.tensor({{-1, 0}, {-0.5, 0.5}})}})
    assert.are.equal(1, calls)
    assert.are.same({800, 600}, size_of(path))
  end)

  it("raises on bad functions, ranges and options", function()
    local path = tmp("badcontour.png")
    local f = function(x, y) return x + y end
    raises(function() plot.contour(3, path, {x = {0, 1}, y = {0, 1}}) end, "plot.contour", "function")
    raises(function() plot.contour(f, path, {x = {1, 0}, y = {0, 1}}) end, "plot.contour", "x must be a range", "{1, 0}")
    raises(function() plot.contour(function() return nn.zeros(3) end, path, {x = {0, 1}, y = {0, 1}}) end,
           "plot.contour", "100x100", "[3]")
    raises(function() plot.contour(function(x) return x / 0 end, path, {x = {0, 1}, y = {0, 1}}) end,
           "plot.contour", "finite")
    raises(function() plot.contour(f, path, {x = {0, 1}, y = {0, 1}, path = {}}) end, "plot.contour", "path")
    raises(function() plot.contour(f, path, {x = {0, 1}, y = {0, 1}, paths = {nn.zeros(3)}}) end,
           "plot.contour", "paths[1]", "[3]")
    assert.is_false(exists(path))
  end)
end)

describe("plot.decision_boundary", function()
  local x = nn.tensor({{0, 0}, {1, 1}, {0, 1}, {1, 0}})
  it("draws the regions of scores, binary scores and labels", function()
    local path = tmp("db.png")
    plot.decision_boundary(function(g) return nn.stack({g:select(2, 1), g:select(2, 2)}, 2) end, x,
                           {1, 2, 2, 1}, path, {n = 30, class_names = {"a", "b"}})
    assert.are.same({800, 600}, size_of(path))
    plot.decision_boundary(function(g) return g:select(2, 1) end, x, nn.tensor({1, 2, 1, 2}), path,
                           {n = 20, threshold = 0.5, width = 400, height = 400})
    assert.are.same({400, 400}, size_of(path))
  end)

  it("raises on bad points, labels and predictions", function()
    local path = tmp("baddb.png")
    local p = function(g) return g end
    raises(function() plot.decision_boundary(p, nn.zeros(4, 3), {1, 1, 1, 1}, path) end,
           "plot.decision_boundary", "[N,2]", "[4,3]")
    raises(function() plot.decision_boundary(p, x, {1, 2}, path) end, "plot.decision_boundary", "4 labels")
    raises(function() plot.decision_boundary(function() return 1 end, x, {1, 2, 1, 2}, path) end,
           "plot.decision_boundary", "predict must return")
    raises(function() plot.decision_boundary(p, x, {1, 2, 1, 2}, path, {class_names = {"a"}}) end,
           "plot.decision_boundary", "class_names", "1 names")
    raises(function() plot.decision_boundary(p, x, {1, 2, 1, 2}, path, {grid = 3}) end,
           "plot.decision_boundary", "grid")
    assert.is_false(exists(path))
  end)
end)

describe("plot.pr_curve and plot.roc_curve", function()
  it("draw the curves with the AUC in the legend", function()
    local path = tmp("pr.png")
    plot.pr_curve({1, 0.8, 0.5}, nn.tensor({0, 0.5, 1}), path, {auc = 0.8,
                  points = {{x = 0.5, y = 0.8, label = "t=0.5"}}})
    assert.are.same({800, 500}, size_of(path))
    plot.roc_curve(nn.tensor({0, 0.5, 1}), {0, 0.9, 1}, path, {auc = 0.85, width = 400, height = 400})
    assert.are.same({400, 400}, size_of(path))
  end)

  it("raise on mismatched lengths, non-finite values and bad options", function()
    local path = tmp("badcurve.png")
    raises(function() plot.pr_curve({1, 0.5}, {0, 0.5, 1}, path) end,
           "plot.pr_curve", "3 x values but 2 y values")
    raises(function() plot.roc_curve({0, 0 / 0}, {0, 1}, path) end, "plot.roc_curve", "x[2]", "finite")
    raises(function() plot.roc_curve({0, 1}, {0, 1}, path, {auc = "big"}) end, "plot.roc_curve", "auc")
    raises(function() plot.pr_curve({}, {}, path) end, "plot.pr_curve", "empty")
    raises(function() plot.pr_curve({1}, {1}, path, {AUC = 1}) end, "plot.pr_curve", "AUC")
    assert.is_false(exists(path))
  end)
end)

describe("plot.images range", function()
  it("maps every tile from one range", function()
    local path = tmp("range.png")
    plot.images(nn.randn(6, 1, 3, 3), path, {range = {-1, 1}, nrow = 3})
    assert.are.same({6 + 3 * (66 + 6), 6 + 2 * (66 + 6)}, size_of(path))
    raises(function() plot.images(nn.randn(2, 3, 3), path, {range = {1, -1}}) end, "plot.images", "range")
    raises(function() plot.images(nn.randn(2, 3, 3), path, {rnage = {0, 1}}) end, "plot.images", "rnage")
  end)
end)
