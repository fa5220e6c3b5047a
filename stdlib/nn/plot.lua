-- nn.plot: PNG plots. Learning curves from a fit history, any x/y series,
-- and image grids with true/predicted captions. The drawing is C
-- (runtime/plot.c through nn.core._plot_lines and _plot_images); this file
-- turns histories and labels into series and captions.
--
--   nn.plot.lines({{name='train', y=losses}}, 'loss.png', {title='Loss'})
--   nn.plot.history(history, 'curves.png', {metrics={'loss', 'val_loss'}})
--   nn.plot.images(x, 'samples.png', {labels=y, predicted=p, class_names=names})
local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"

local plot = {}

-- A copy of opts (may be nil) with name = fname, for the C errors.
local function with_name(fname, opts, extra)
  if opts ~= nil and type(opts) ~= "table" then
    A.fail(fname, "options (argument 3) must be a table, got %s", type(opts))
  end
  local o = {name = fname}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

--- Draws each series {name=, x=, y=} (x optional: 1..#y; x, y Lua arrays
--- or 1-D tensors) as a line chart; returns path.
function plot.lines(series, path, opts)
  if type(series) ~= "table" then
    A.fail("plot.lines", "series (argument 1) must be a table of {name=, x=, y=}, got %s", type(series))
  end
  return core._plot_lines(series, path, with_name("plot.lines", opts))
end

-- Metrics of a history drawn by default: loss and val_loss when present,
-- else every array of numbers (except time) in name order.
local function default_metrics(history)
  local m = {}
  for _, k in ipairs({"loss", "val_loss"}) do
    if type(history[k]) == "table" then m[#m + 1] = k end
  end
  if #m > 0 then return m end
  for k, v in pairs(history) do
    if type(k) == "string" and k ~= "time" and type(v) == "table" and type(v[1]) == "number" then
      m[#m + 1] = k
    end
  end
  table.sort(m)
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

--- Learning curves: one line per metric of history (a table of arrays as
--- returned by nn.fit) against the epochs 1..n; returns path.
function plot.history(history, path, opts)
  local fname = "plot.history"
  if type(history) ~= "table" then
    A.fail(fname, "history (argument 1) must be a table of arrays, got %s", type(history))
  end
  if opts ~= nil and type(opts) ~= "table" then
    A.fail(fname, "options (argument 3) must be a table, got %s", type(opts))
  end
  opts = opts or {}
  local metrics = opts.metrics or default_metrics(history)
  if type(metrics) ~= "table" or #metrics == 0 then
    A.fail(fname, "no metrics to plot (history has: %s)", keys_of(history))
  end
  local series, base = {}, nil
  for i, m in ipairs(metrics) do
    local values = history[m]
    if type(values) ~= "table" and not nn.is_tensor(values) then
      A.fail(fname, "history has no metric %s (has: %s)", A.show(m), keys_of(history))
    end
    series[i] = {name = m, y = values}
    local b = tostring(m):gsub("^val_", "")
    if base == nil or base == b then base = b else base = false end
  end
  return core._plot_lines(series, path, with_name(fname, {title = opts.title},
    {xlabel = opts.xlabel or "epoch", ylabel = opts.ylabel or base or "value"}))
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
--- normalized to its own min..max, nrow per row (default 8). labels and
--- predicted (arrays or 1-D tensors of N class labels) become captions,
--- "true / predicted" in red where they differ; returns path.
function plot.images(t, path, opts)
  local fname = "plot.images"
  if not nn.is_tensor(t) then A.fail(fname, "argument 1 must be a tensor, got %s", type(t)) end
  if opts ~= nil and type(opts) ~= "table" then
    A.fail(fname, "options (argument 3) must be a table, got %s", type(opts))
  end
  opts = opts or {}
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
                                    captions = captions, highlight = highlight})
end

return plot
