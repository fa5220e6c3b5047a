-- A gallery of nn.plot: one picture of each kind, written into the folder
-- given as argument (made if missing).
--
--   nnlua scripts/plots_tour.lua /tmp/plots
local nn = require "nn"
local plot = nn.plot

local dir = arg and arg[1]
if not dir then
  io.stderr:write("usage: nnlua scripts/plots_tour.lua FOLDER\n")
  os.exit(1)
end
os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''")))
local function out(name)
  local p = dir .. "/" .. name
  print("wrote " .. p)
  return p
end
nn.manual_seed(0)

-- Lines: a log-scale loss for three learning rates, a marked epoch and point.
local series = {}
for i, lr in ipairs({1, 0.1, 0.01}) do
  local y = {}
  for e = 1, 60 do y[e] = 2 * math.exp(-lr * e / 3) + 0.01 * (4 - i) end
  series[i] = {name = "lr " .. lr, y = y, style = ({"solid", "dashed", "dotted"})[i]}
end
series[4] = {name = "measured", x = {10, 20, 30, 40}, y = {0.5, 0.2, 0.08, 0.05},
             style = "none", marker = "s"}
plot.lines(series, out("lines.png"), {title = "Loss against epoch", xlabel = "epoch",
  ylabel = "loss", yscale = "log", vlines = {25}, points = {{x = 25, y = 0.12, label = "lr drop"}}})

-- History: loss and accuracy panels, train vs validation.
local h = {loss = {}, val_loss = {}, accuracy = {}, val_accuracy = {}}
for e = 1, 20 do
  h.loss[e] = 1.5 * math.exp(-e / 5) + 0.1
  h.val_loss[e] = 1.5 * math.exp(-e / 6) + 0.2 + 0.004 * e
  h.accuracy[e] = 1 - 0.6 * math.exp(-e / 4)
  h.val_accuracy[e] = 0.95 - 0.6 * math.exp(-e / 5)
end
plot.history(h, out("history.png"), {title = "Learning curves"})

-- Bars: test accuracy of three optimizers on four datasets.
plot.bar({"moons", "circles", "mnist", "fashion"}, out("bar.png"), {title = "Test accuracy",
  ylabel = "accuracy", series = {{name = "SGD", y = {0.86, 0.81, 0.97, 0.86}},
                                 {name = "Momentum", y = {0.9, 0.88, 0.98, 0.88}},
                                 {name = "Adam", y = {0.93, 0.9, 0.98, 0.89}}}})

-- Histograms: two overlaid distributions on shared bins.
plot.hist({{name = "beta1 0.9", values = nn.randn(2000) * 0.5},
           {name = "beta1 0.5", values = nn.randn(2000) + 1.5}}, out("hist.png"),
          {bins = 40, title = "Update sizes", xlabel = "u"})

-- Heatmap: a confusion matrix with class names.
plot.heatmap({{50, 2, 3}, {4, 45, 1}, {0, 6, 44}}, out("heatmap.png"),
  {labels = {"cat", "dog", "bird"}, title = "Confusion matrix", xlabel = "predicted",
   ylabel = "true"})

-- Contour: the saddle x^2 - y^2 with two descent paths.
local function descend(x, y, lr, steps)
  local px, py = {x}, {y}
  for i = 1, steps do
    x, y = x - lr * 2 * x, y + lr * 2 * y
    px[i + 1], py[i + 1] = x, y
  end
  return px, py
end
local ax, ay = descend(1.8, 0.01, 0.1, 14)
local bx, by = descend(-1.5, -0.2, 0.1, 9)
plot.contour(function(x, y) return x * x - y * y end, out("contour.png"), {
  x = {-2, 2}, y = {-2, 2}, title = "Saddle x^2 - y^2",
  paths = {{name = "start (1.8, 0.01)", x = ax, y = ay}, {name = "start (-1.5, -0.2)", x = bx, y = by}}})

-- Decision boundary: a circle classifier on noisy rings.
local n = 200
local theta = nn.rand(n) * (2 * math.pi)
local r = nn.cat({nn.rand(n // 2) * 0.8, nn.rand(n // 2) * 0.8 + 1.2})
local pts = nn.stack({r * theta:cos(), r * theta:sin()}, 2)
local labels = nn.cat({nn.ones(n // 2), nn.ones(n // 2) * 2})
plot.decision_boundary(function(g)
  local d = (g * g):sum(2)
  return nn.stack({-d + 1, d - 1}, 2)
end, pts, labels, out("decision_boundary.png"), {title = "Inner vs outer ring",
  class_names = {"inner", "outer"}})

-- PR and ROC curves from plain arrays.
plot.pr_curve({1, 1, 0.9, 0.8, 0.7, 0.6, 0.5}, {0, 0.2, 0.45, 0.65, 0.8, 0.92, 1}, out("pr_curve.png"),
  {auc = 0.84, points = {{x = 0.65, y = 0.8, label = "t = 0.5"}}})
plot.roc_curve({0, 0, 0.1, 0.2, 0.4, 0.7, 1}, {0, 0.4, 0.65, 0.8, 0.9, 0.97, 1}, out("roc_curve.png"),
  {auc = 0.87})

-- Images: 3x3 filters on one colour scale, scaled up and framed.
plot.images(nn.randn(16, 1, 3, 3), out("filters.png"), {range = {-2, 2}, nrow = 8,
  title = "First-layer filters"})
