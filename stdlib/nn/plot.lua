-- nn.plot: PNG plots. Learning curves from a fit history, any x/y series
-- (linear or log axes, dashed/dotted lines, markers, marked epochs and
-- points), bars, histograms, heatmaps (confusion matrices), a 2-D function
-- with descent paths, a classifier's regions, PR and ROC curves, and image
-- grids with true/predicted captions. The drawing is C (runtime/plot.c
-- through nn.core._plot_*); this file checks options and turns histories,
-- functions and labels into series, grids and captions.
--
--   nn.plot.lines({{name='train', y=losses}}, 'loss.png', {title='Loss', yscale='log'})
--   nn.plot.history(history, 'curves.png', {metrics={'loss', 'val_loss'}})
--   nn.plot.images(x, 'samples.png', {labels=y, predicted=p, class_names=names})
--   nn.plot.contour(function(x, y) return x*x - y*y end, 'saddle.png', {x={-2, 2}, y={-2, 2}})
local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"

local plot = {}

local CHART = {title = true, xlabel = true, ylabel = true, width = true, height = true}

-- A copy of the checked options (allowed: a set) with only the keys of
-- keep and name = fname, for the C side.
local function pass(fname, opts, allowed, extra)
  opts = A.options(fname, opts, allowed)
  local o = {name = fname}
  for k, v in pairs(opts) do
    if allowed[k] == true then o[k] = v end
  end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o, opts
end

local function set(...)
  local t = {}
  for _, tbl in ipairs({...}) do
    for k, v in pairs(tbl) do t[k] = v end
  end
  return t
end

local LINES = set(CHART, {xscale = true, yscale = true, vlines = true, points = true})

--- Draws each series {name=, x=, y=, style=, marker=, color=} (x optional:
--- 1..#y; x, y Lua arrays or 1-D tensors; style 'solid', 'dashed',
--- 'dotted' or 'none'; marker 'o', 's', '^', 'x', 'none' or 'auto')
--- as a line chart; opts: title, xlabel, ylabel, width, height, xscale
--- and yscale ('linear' or 'log'), vlines (x positions of dashed vertical
--- lines) and points ({ {x=, y=, label=} }). Returns path.
function plot.lines(series, path, opts)
  local fname = "plot.lines"
  if type(series) ~= "table" then
    A.fail(fname, "series (argument 1) must be a table of {name=, x=, y=}, got %s", type(series))
  end
  return core._plot_lines(series, path, (pass(fname, opts, LINES)))
end

-- Metrics of a history drawn by default: loss and val_loss when present,
-- else every array of numbers (except time) in name order.
local function default_metrics(history)
  local m = {}
  for _, k in ipairs({"loss", "val_loss"}) do
    if type(history[k]) == "table" then m[#m + 1] = k end
  end
  for k, v in pairs(history) do
    if type(k) == "string" and k ~= "time" and k ~= "loss" and k ~= "val_loss" and k ~= "lr"
       and type(v) == "table" and type(v[1]) == "number" then
      m[#m + 1] = k
    end
  end
  table.sort(m, function(a, b)
    local ba, bb = a:gsub("^val_", ""), b:gsub("^val_", "")
    local la, lb = ba == "loss" and "" or ba, bb == "loss" and "" or bb
    if la ~= lb then return la < lb end
    return a < b
  end)
  return m
end

local function keys_of(history)
  local ks = {}
  for k, v in pairs(history) do
    if type(k) == "string" and type(v) == "table" then ks[#ks + 1] = k end
  end
  table.sort(ks)
  return table.concat(ks, ", ")
end

--- Learning curves: the metrics of history (a table of arrays as returned
--- by nn.fit; default: every metric) against the epochs 1..n, one panel
--- per quantity (loss and val_loss together, accuracy and val_accuracy
--- together, ...), train solid and validation dashed; opts: metrics,
--- title, xlabel, width, height, yscale. Returns path.
function plot.history(history, path, opts)
  local fname = "plot.history"
  if type(history) ~= "table" then
    A.fail(fname, "history (argument 1) must be a table of arrays, got %s", type(history))
  end
  opts = A.options(fname, opts, {metrics = true, title = true, xlabel = true, width = true,
                                 height = true, yscale = true, vlines = true})
  local metrics = opts.metrics or default_metrics(history)
  if type(metrics) ~= "table" or #metrics == 0 then
    A.fail(fname, "no metrics to plot (history has: %s)", keys_of(history))
  end
  local panels, by_base = {}, {}
  for _, m in ipairs(metrics) do
    local values = history[m]
    if type(values) ~= "table" and not nn.is_tensor(values) then
      A.fail(fname, "history has no metric %s (has: %s)", A.show(m), keys_of(history))
    end
    local val = tostring(m):find("^val_") ~= nil
    local base = tostring(m):gsub("^val_", "")
    local p = by_base[base]
    if not p then
      p = {series = {}, xlabel = opts.xlabel or "epoch", ylabel = base, title = base,
           yscale = base == "loss" and opts.yscale or nil, vlines = opts.vlines}
      by_base[base] = p
      panels[#panels + 1] = p
    end
    p.series[#p.series + 1] = {name = m, y = values, style = val and "dashed" or "solid",
                               color = val and 2 or 1}
  end
  if #panels == 1 then panels[1].title = nil end
  return core._plot_panels(panels, path, {name = fname, title = opts.title,
                                          width = opts.width or (#panels == 1 and 800 or nil),
                                          height = opts.height or (#panels == 1 and 500 or nil)})
end

--- Bars of several series side by side per group: groups is an array of
--- group names, opts.series = { {name=, y=}, ... } with one value per
--- group (or opts.values, one array, for a single series); other opts:
--- title, xlabel, ylabel, width, height, yscale. Returns path.
function plot.bar(groups, path, opts)
  local fname = "plot.bar"
  if type(groups) ~= "table" or #groups == 0 then
    A.fail(fname, "groups (argument 1) must be a non-empty array of names, got %s",
           type(groups) == "table" and "an empty table" or type(groups))
  end
  local o, raw = pass(fname, opts, set(CHART, {yscale = true, series = "lua", values = "lua"}))
  local series = raw.series
  if raw.values ~= nil then
    if series ~= nil then A.fail(fname, "give series or values, not both") end
    series = {{y = raw.values}}
  end
  if type(series) ~= "table" or #series == 0 then
    A.fail(fname, "option series must be a non-empty array of {name=, y=}, got %s", type(series))
  end
  local names = {}
  for i, g in ipairs(groups) do names[i] = tostring(g) end
  o.categories = names
  return core._plot_lines(series, path, o)
end

-- Series of values from a tensor, an array of numbers or an array of
-- {name=, values=} (several histograms).
local function value_series(fname, values)
  if nn.is_tensor(values) then return {{y = values:reshape(-1)}} end
  if type(values) ~= "table" then
    A.fail(fname, "values (argument 1) must be a tensor, an array of numbers or of "
           .. "{name=, values=}, got %s", type(values))
  end
  if type(values[1]) ~= "table" then return {{y = values}} end
  local series = {}
  for i, s in ipairs(values) do
    A.options(fname .. " (series " .. i .. ")", s, {name = true, values = true})
    local v = s.values
    if v == nil then A.fail(fname, "series %d has no values", i) end
    series[i] = {name = s.name, y = nn.is_tensor(v) and v:reshape(-1) or v}
  end
  return series
end

--- Histograms of values (a tensor, an array of numbers, or an array of
--- {name=, values=} drawn overlaid on shared bins); opts: bins (20),
--- title, xlabel, ylabel ('count'), width, height, yscale. Returns path.
function plot.hist(values, path, opts)
  local fname = "plot.hist"
  local series = value_series(fname, values)
  local o = pass(fname, opts, set(CHART, {bins = true, yscale = true}))
  o.ylabel = o.ylabel or "count"
  return core._plot_hist(series, path, o)
end

-- A matrix (a 2-D tensor or an array of rows) as a flat tensor, rows, cols.
local function matrix(fname, m)
  if type(m) == "table" and not nn.is_tensor(m) then
    local ok, t = pcall(nn.tensor, m)
    if not ok then A.fail(fname, "matrix must be a 2-D tensor or an array of rows of numbers") end
    m = t
  end
  if not nn.is_tensor(m) or m:dim() ~= 2 then
    A.fail(fname, "matrix must be a 2-D tensor, got %s",
           nn.is_tensor(m) and A.shape_str(m) or type(m))
  end
  return m:contiguous():reshape(-1), m:size(1), m:size(2)
end

--- A matrix as coloured cells with its values written in them (a
--- confusion matrix: rows true classes, columns predicted); opts: labels
--- (names of both axes' classes), row_labels, col_labels, annotate
--- (true), title, xlabel, ylabel. Returns path.
function plot.heatmap(m, path, opts)
  local fname = "plot.heatmap"
  local flat, rows, cols = matrix(fname, m)
  local o, raw = pass(fname, opts, {title = true, xlabel = true, ylabel = true, annotate = true,
                                    labels = "lua", row_labels = "lua", col_labels = "lua"})
  if raw.labels ~= nil and (raw.row_labels ~= nil or raw.col_labels ~= nil) then
    A.fail(fname, "give labels or row_labels/col_labels, not both")
  end
  for what, n in pairs({labels = math.max(rows, cols), row_labels = rows, col_labels = cols}) do
    local v = raw[what]
    if v ~= nil and (type(v) ~= "table" or #v ~= n or (what == "labels" and rows ~= cols)) then
      A.fail(fname, "%s must be an array of %d names for a %dx%d matrix, got %s", what, n, rows, cols,
             type(v) == "table" and (#v .. " names") or type(v))
    end
  end
  o.row_names = raw.row_labels or raw.labels
  o.col_names = raw.col_labels or raw.labels
  o.rows, o.cols = rows, cols
  return core._plot_heatmap(flat, path, o)
end

-- A range {lo, hi} of numbers with lo < hi.
local function span(fname, what, r)
  if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number" or not (r[1] < r[2])
     or r[1] ~= r[1] or r[2] ~= r[2] or math.abs(r[1]) == math.huge or math.abs(r[2]) == math.huge then
    A.fail(fname, "%s must be a range {lo, hi} of finite numbers with lo < hi, got %s", what,
           type(r) == "table" and ("{%s, %s}"):format(tostring(r[1]), tostring(r[2])) or A.show(r))
  end
  return r
end

-- The grid: X and Y [ny, nx] tensors over the ranges.
local function grid(xr, yr, nx, ny)
  local X = nn.linspace(xr[1], xr[2], nx):view(1, nx):expand(ny, nx)
  local Y = nn.linspace(yr[1], yr[2], ny):view(ny, 1):expand(ny, nx)
  return X, Y
end

-- A path as a series: {name=, x=, y=} or a [T,2] tensor of points.
local PATH_COLORS = {4, 2, 7, 6, 8, 1}
local function path_series(fname, k, p)
  local s
  if nn.is_tensor(p) then
    if p:dim() ~= 2 or p:size(2) ~= 2 then
      A.fail(fname, "paths[%d] must be a [T,2] tensor or {name=, x=, y=}, got %s", k, A.shape_str(p))
    end
    s = {x = p:select(2, 1), y = p:select(2, 2)}
  elseif type(p) == "table" then
    A.options(fname .. " (paths[" .. k .. "])", p, {name = true, x = true, y = true, style = true, marker = true})
    s = {name = p.name, x = p.x, y = p.y, style = p.style, marker = p.marker}
    if s.x == nil or s.y == nil then A.fail(fname, "paths[%d] needs x and y", k) end
  else
    A.fail(fname, "paths[%d] must be a [T,2] tensor or {name=, x=, y=}, got %s", k, type(p))
  end
  s.color = PATH_COLORS[(k - 1) % #PATH_COLORS + 1]
  s.marker = s.marker or "o"
  return s
end

--- A function of two variables over x = {lo, hi}, y = {lo, hi}: fn(X, Y)
--- gets the [n, n] grid tensors in one call and returns the [n, n]
--- values; drawn as colour bands (viridis, dark = low) with contour lines,
--- with descent trajectories (paths: { {name=, x=, y=} or [T,2] tensors })
--- over it. opts: n (grid points per side, 100), levels (12), zscale
--- ('linear' or 'log': bands on a log scale of f - min f), points, title,
--- xlabel, ylabel, width, height. Returns path.
function plot.contour(fn, path, opts)
  local fname = "plot.contour"
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    A.fail(fname, "fn (argument 1) must be a function of two tensors, got %s", type(fn))
  end
  opts = A.options(fname, opts, set(CHART, {x = true, y = true, n = true, levels = true,
                                            zscale = true, paths = true, points = true}))
  local xr, yr = span(fname, "x", opts.x), span(fname, "y", opts.y)
  local n = A.int(fname, "n", opts.n or 100, 2)
  if n > 2000 then A.fail(fname, "n must be at most 2000, got %d", n) end
  local X, Y = grid(xr, yr, n, n)
  local Z = nn.no_grad(function() return fn(X, Y) end)
  if not nn.is_tensor(Z) or Z:numel() ~= n * n then
    A.fail(fname, "fn must return a tensor of %dx%d values, got %s", n, n,
           nn.is_tensor(Z) and A.shape_str(Z) or type(Z))
  end
  local zscale = A.choice(fname, "zscale", opts.zscale or "linear", {"linear", "log"})
  local series = {}
  if opts.paths ~= nil and type(opts.paths) ~= "table" then
    A.fail(fname, "paths must be an array of paths, got %s", type(opts.paths))
  end
  for k, p in ipairs(opts.paths or {}) do series[k] = path_series(fname, k, p) end
  if #series == 0 then series[1] = {x = {xr[1]}, y = {yr[1]}, style = "none", marker = "none"} end
  return core._plot_lines(series, path, {
    name = fname, title = opts.title, xlabel = opts.xlabel or "x", ylabel = opts.ylabel or "y",
    width = opts.width, height = opts.height or 600, points = opts.points,
    field = {z = Z:contiguous():reshape(-1):float(), nx = n, ny = n, x = xr, y = yr,
             levels = opts.levels, zlog = zscale == "log"}})
end

--- The regions of a 2-D classifier with the points: predict(G) gets the
--- [M,2] grid points in one call and returns [M,K] scores (class =
--- argmax), [M] or [M,1] binary scores (class 2 above threshold, default
--- 0.5) or [M] 1-based class labels (int64); x is [N,2], y N 1-based
--- labels (tensor or array). opts: n (grid points per side, 200),
--- threshold, class_names, title, xlabel, ylabel, width, height. Returns
--- path.
function plot.decision_boundary(predict, x, y, path, opts)
  local fname = "plot.decision_boundary"
  if type(predict) ~= "function" and not (type(predict) == "table" and getmetatable(predict)
                                          and getmetatable(predict).__call) then
    A.fail(fname, "predict (argument 1) must be a function or a model, got %s", type(predict))
  end
  if not nn.is_tensor(x) or x:dim() ~= 2 or x:size(2) ~= 2 or x:size(1) == 0 then
    A.fail(fname, "x (argument 2) must be a [N,2] tensor of points, got %s",
           nn.is_tensor(x) and A.shape_str(x) or type(x))
  end
  if type(y) == "table" and not nn.is_tensor(y) then y = nn.tensor(y) end
  if not nn.is_tensor(y) or y:dim() ~= 1 or y:size(1) ~= x:size(1) then
    A.fail(fname, "y (argument 3) must hold %d labels, got %s", x:size(1),
           nn.is_tensor(y) and A.shape_str(y) or type(y))
  end
  opts = A.options(fname, opts, set(CHART, {n = true, threshold = true, class_names = true}))
  local n = A.int(fname, "n", opts.n or 200, 2)
  if n > 2000 then A.fail(fname, "n must be at most 2000, got %d", n) end
  local threshold = A.number(fname, "threshold", opts.threshold or 0.5)
  local xs, ys = x:select(2, 1):float(), x:select(2, 2):float()
  local function pad(lo, hi)
    local d = (hi - lo) * 0.08
    if d == 0 then d = 1 end
    return {lo - d, hi + d}
  end
  local xr, yr = pad(xs:min():item(), xs:max():item()), pad(ys:min():item(), ys:max():item())
  local X, Y = grid(xr, yr, n, n)
  local G = nn.stack({X:reshape(-1), Y:reshape(-1)}, 2)
  local out = nn.no_grad(function() return predict(G) end)
  if not nn.is_tensor(out) or out:size(1) ~= n * n or out:dim() > 2 then
    A.fail(fname, "predict must return [%d,K], [%d] or [%d,1] values, got %s", n * n, n * n, n * n,
           nn.is_tensor(out) and A.shape_str(out) or type(out))
  end
  local classes
  if out:dim() == 2 and out:size(2) >= 2 then
    classes = out:argmax(2)
  elseif out.dtype == "int64" and out:dim() == 1 then
    classes = out
  else
    classes = out:reshape(-1):gt(threshold):long() + 1
  end
  local K = math.max(math.tointeger(classes:max():item()) or 1, math.tointeger(y:max():item()) or 1)
  local names = opts.class_names
  if names ~= nil and (type(names) ~= "table" or #names < K) then
    A.fail(fname, "class_names must name the %d classes, got %s", K,
           type(names) == "table" and (#names .. " names") or type(names))
  end
  local series = {}
  for c = 1, K do
    local mask = y:eq(c)
    if mask:any():item() then
      series[#series + 1] = {name = names and tostring(names[c]) or ("class " .. c),
                             x = xs:masked_select(mask), y = ys:masked_select(mask),
                             style = "none", marker = "o", color = c}
    end
  end
  if #series == 0 then
    A.fail(fname, "y holds no label in 1..%d", K)
  end
  return core._plot_lines(series, path, {
    name = fname, title = opts.title, xlabel = opts.xlabel or "x1", ylabel = opts.ylabel or "x2",
    width = opts.width, height = opts.height or 600,
    field = {z = classes:reshape(-1):float(), nx = n, ny = n, x = xr, y = yr, classes = true}})
end

-- A curve's legend name, with its area when given.
local function curve_name(fname, name, auc)
  if auc == nil then return name end
  A.number(fname, "auc", auc)
  return ("%s (AUC = %.3f)"):format(name, auc)
end

--- A precision-recall curve from the arrays (or 1-D tensors) precision
--- and recall, as nn.metrics.precision_recall_curve returns them; opts:
--- auc (shown in the legend), name, points (marked thresholds), title,
--- width, height. Returns path.
function plot.pr_curve(precision, recall, path, opts)
  local fname = "plot.pr_curve"
  opts = A.options(fname, opts, set(CHART, {auc = true, name = true, points = true}))
  return core._plot_lines({{name = curve_name(fname, opts.name or "PR curve", opts.auc),
                            x = recall, y = precision, marker = "none"}}, path, {
    name = fname, title = opts.title or "Precision-recall curve", xlabel = opts.xlabel or "recall",
    ylabel = opts.ylabel or "precision", width = opts.width, height = opts.height,
    points = opts.points, finite = true})
end

--- A ROC curve from the arrays (or 1-D tensors) fpr and tpr, as
--- nn.metrics.roc_curve returns them, with the chance diagonal; opts: auc
--- (shown in the legend), name, points, title, width, height. Returns path.
function plot.roc_curve(fpr, tpr, path, opts)
  local fname = "plot.roc_curve"
  opts = A.options(fname, opts, set(CHART, {auc = true, name = true, points = true}))
  return core._plot_lines({
    {name = curve_name(fname, opts.name or "ROC curve", opts.auc), x = fpr, y = tpr, marker = "none"},
    {name = "chance", x = {0, 1}, y = {0, 1}, style = "dashed", marker = "none", color = 8}}, path, {
    name = fname, title = opts.title or "ROC curve", xlabel = opts.xlabel or "false positive rate",
    ylabel = opts.ylabel or "true positive rate", width = opts.width, height = opts.height,
    points = opts.points, finite = true})
end

-- The labels as a Lua array of n integers (from an array or a 1-D tensor).
local function label_list(fname, what, labels, n)
  if nn.is_tensor(labels) then
    if labels:dim() ~= 1 then
      A.fail(fname, "%s must be a 1-D tensor or an array, got %d dims", what, labels:dim())
    end
    labels = labels:tolist()
  elseif type(labels) ~= "table" then
    A.fail(fname, "%s must be a 1-D tensor or an array, got %s", what, type(labels))
  end
  if #labels ~= n then A.fail(fname, "%s has %d entries for %d images", what, #labels, n) end
  return labels
end

-- A label as shown: its class name when class_names is given.
local function label_text(fname, label, class_names)
  if class_names == nil then return tostring(math.tointeger(label) or label) end
  local name = class_names[label]
  if name == nil then
    A.fail(fname, "label %s has no entry in class_names (%d names)", tostring(label), #class_names)
  end
  return tostring(name)
end

--- A grid of images from a [N,C,H,W] (C 1 or 3) or [N,H,W] tensor, each
--- normalized to its own min..max (or all on one scale: range={lo, hi}),
--- nrow per row (default 8). labels and
--- predicted (arrays or 1-D tensors of N class labels) become captions,
--- "true / predicted" in red where they differ; a title wider than the
--- grid widens the picture (the grid centred under it); returns path.
function plot.images(t, path, opts)
  local fname = "plot.images"
  if not nn.is_tensor(t) then A.fail(fname, "argument 1 must be a tensor, got %s", type(t)) end
  opts = A.options(fname, opts, {nrow = true, labels = true, predicted = true, class_names = true,
                                 title = true, range = true})
  if t:dim() ~= 3 and t:dim() ~= 4 then -- the C check names the shape
    return core._plot_images(t, path, {name = fname})
  end
  local n = t:dim() >= 1 and t:size(1) or 0
  local names = opts.class_names
  if names ~= nil and type(names) ~= "table" then
    A.fail(fname, "class_names must be an array of strings, got %s", type(names))
  end
  local truth = opts.labels and label_list(fname, "labels", opts.labels, n)
  local pred = opts.predicted and label_list(fname, "predicted", opts.predicted, n)
  local captions, highlight
  if truth or pred then
    captions, highlight = {}, {}
    for i = 1, n do
      if truth and pred then
        captions[i] = label_text(fname, truth[i], names) .. " / " .. label_text(fname, pred[i], names)
        highlight[i] = truth[i] ~= pred[i]
      else
        captions[i] = label_text(fname, (truth or pred)[i], names)
        highlight[i] = false
      end
    end
  end
  return core._plot_images(t, path, {name = fname, nrow = opts.nrow, title = opts.title,
                                    captions = captions, highlight = highlight, range = opts.range})
end

return plot
