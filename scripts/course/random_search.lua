-- Optimisation by random search, random local search and following the
-- slope (002, approaches 1-3): CS231n's linear classifier with the
-- multiclass SVM loss, on raw pixel values.
--   nnlua scripts/course/random_search.lua [--quick] [--out DIR] [--seed N] [--cifar DIR]
local course = require "common"
local opts = course.start{
  name = "random_search", ids = {"S2-03", "S2-04"},
  notes = "002_6afe73c36a0a240a.txt optimisation, approaches 1, 2, 3",
  flags = {cifar = ""},
}
local cifar = opts.cifar ~= ""
local n_train, n_test, attempts, steps = cifar and 50000 or 10000, 10000, 1000, 100
if opts.quick then n_train, n_test, attempts, steps = 1000, 1000, 100, 20 end
local NOTES_FIRST = {9.401632, 8.959668, 9.044034, 9.278948, 8.857370, 8.943151, 8.605604}

-- X: raw pixels 0..255 (as the CS231n code: that is what puts the loss of
-- tiny weights near 9) with a column of ones appended, the bias trick, so
-- one matrix W [10, D+1] holds weights and biases.
local function load(split, n)
  local x, y
  if cifar then
    local ds = nn.data.cifar10{dir = opts.cifar, split = split, limit = n}
    x, y = ds.x, ds.y
  else
    x, y = course.fashion(split, n)
  end
  x = x:reshape(x:size(1), -1) * 255
  return nn.cat({x, nn.ones(x:size(1), 1)}, 2), y
end
local xtr, ytr = load("train", n_train)
local xte, yte = load("test", n_test)
local D = xtr:size(2)

-- The SVM loss L = mean_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1);
-- MultiMarginLoss also divides by the number of classes, hence the 10.
local hinge = nn.MultiMarginLoss{margin = 1}
local function loss(W) return hinge(xtr:mm(W:t()), ytr) * 10 end
local function accuracy(W)
  return nn.no_grad(function() return xte:mm(W:t()):argmax(2):eq(yte):float():mean():item() end)
end

-- (a) Approach 1: 1000 fresh W = 0.0001·randn, keep the best.
local W_a = nn.zeros(10, D)
local search = nn.optim.RandomSearch({W_a}, {std = 0.0001})
local tried, best_a = {}, {}
for i = 1, attempts do
  tried[i] = search:step(function() return loss(W_a) end)
  best_a[i] = search.best_loss
end
local acc_a = accuracy(W_a)

-- (b) Approach 2: from W = 0.001·randn, step 0.0001·randn, kept if the loss falls.
local W_b = nn.randn(10, D) * 0.001
local start_b = W_b:clone()
local local_search = nn.optim.RandomLocalSearch({W_b}, {step_size = 0.0001})
local best_b = {}
for i = 1, attempts do
  local_search:step(function() return loss(W_b) end)
  best_b[i] = local_search.best_loss
end
local acc_b = accuracy(W_b)

-- (c) Approach 3: follow the slope, W <- W - lr·dL/dW, full batch.
local start_c = nn.randn(10, D) * 0.001
local W_c = start_c:clone():requires_grad_(true)
local sgd = nn.optim.SGD({W_c}, {lr = 1e-6})
local curve_c = {}
for i = 1, steps do
  sgd:zero_grad()
  local l = loss(W_c)
  curve_c[i] = l:item()
  l:backward()
  sgd:step()
end
curve_c[steps + 1] = nn.no_grad(function() return loss(W_c):item() end)
local acc_c = accuracy(W_c)

local sorted = {}
for i, v in ipairs(tried) do sorted[i] = v end
table.sort(sorted)
local median = (sorted[(#sorted + 1) // 2] + sorted[#sorted // 2 + 1]) / 2
local lo, hi = sorted[1], sorted[#sorted]

local data = cifar and "CIFAR-10" or "Fashion-MNIST (stand-in)"
local rows = {}
for i = 1, #NOTES_FIRST do
  rows[i] = {("(a) attempt %d: loss"):format(i - 1), tried[i], NOTES_FIRST[i], i == 1 and data or ""}
end
rows[#rows + 1] = {("(a) %d attempts: min / median / max loss"):format(attempts),
                   ("%.3f / %.3f / %.3f"):format(lo, median, hi), "about 9", "(classes − 1)·margin = 9 for W ≈ 0"}
rows[#rows + 1] = {"(a) random search: test accuracy", acc_a, "0.155 (CIFAR-10)",
                   cifar and "" or "stand-in: expected about 0.18; chance 0.10"}
rows[#rows + 1] = {"(b) random local search: test accuracy", acc_b, "0.214 (CIFAR-10), still very low",
                   cifar and "" or "stand-in: expected about 0.55"}
rows[#rows + 1] = {("(c) %d gradient steps: test accuracy"):format(steps), acc_c, "following the slope is the way",
                   cifar and "" or "stand-in: expected about 0.70"}
rows[#rows + 1] = {"final training loss (a) / (b) / (c)",
                   ("%.3f / %.3f / %.3f"):format(best_a[attempts], best_b[attempts], curve_c[steps + 1]), "—", ""}
course.table(rows)

local q = opts.quick and (" [quick: %d images, %d attempts]"):format(n_train, attempts) or ""
course.verdict("S2-03", lo >= 6 and hi <= 12 and math.abs(median - 9) <= 0.5 and acc_a > 0.12,
  "attempt losses in [%.3f, %.3f] within [6, 12]; median %.3f within 0.5 of 9; best W's test accuracy %.3f > 0.12%s",
  lo, hi, median, acc_a, q)
course.verdict("S2-04", acc_b > acc_a + 0.1 and acc_c > acc_b + 0.05,
  "local search %.3f > random search %.3f + 0.1; gradient descent %.3f > local search + 0.05%s", acc_b, acc_a, acc_c, q)

nn.plot.lines({
  {name = "(a) random search, best so far", y = best_a, marker = "none"},
  {name = "(b) random local search, best so far", y = best_b, marker = "none"},
  {name = "(c) gradient descent (step k: loss before update k)", y = curve_c, marker = "none"},
}, course.plot_path(opts, "search_loss.png"), {
  title = "002 optimisation, approaches 1-3: SVM loss", xlabel = "attempt / step", ylabel = "training loss",
  xscale = "log", yscale = "log"})

-- Each class's row of W (bias dropped) as an image: random search's W, and
-- what local search and the gradient added to their random start (100
-- small steps move W by about 2e-4, under the start's 1e-3 noise, so the
-- final W would still look like noise). Only the gradient draws class
-- templates.
local shape = cifar and {10, 3, 32, 32} or {10, 1, 28, 28}
local tiles, names, labels = {}, {}, {}
local classes = cifar and nn.data.cifar10{dir = opts.cifar, split = "test", limit = 1}.classes
                or nn.data.fashion_mnist{split = "test", limit = 1}.classes
for k, W in ipairs({W_a, W_b - start_b, W_c:detach() - start_c}) do
  tiles[k] = W:narrow(2, 1, D - 1):reshape(table.unpack(shape))
  for c = 1, 10 do
    names[#names + 1] = ("(%s) %s"):format(("abc"):sub(k, k), classes[c])
    labels[#labels + 1] = #names
  end
end
nn.plot.images(nn.cat(tiles, 1), course.plot_path(opts, "templates.png"), {
  nrow = 10, labels = labels, class_names = names,
  title = "002 approaches 1-3: (a) W of random search; what (b) local search, (c) the gradient added to W"})
course.finish()
