-- nn.metrics: classification metrics and nn.evaluate.
--
--   metrics.confusion_matrix(pred, target [, num_classes])  int64 [C, C]:
--       rows = true class, columns = predicted class (as sklearn)
--   metrics.accuracy(pred, target)                           a Lua number
--   metrics.precision_recall_f1(cm)                          per-class and macro
--   metrics.evaluate(model, data, {loss=, metrics=, batch_size=})
--
-- `pred` is 1-based class indices ([N] int64 tensor or Lua array) or logits
-- / scores [N, C] (reduced with argmax over dim 2); `target` is 1-based
-- class indices. Everything is computed with whole-tensor ops: the
-- confusion matrix is one index_add_ over the flat cells
-- (target - 1) * C + pred, and the other metrics derive from it.
--
-- Undefined ratios are 0, as sklearn's zero_division=0. Macro averages
-- are over the classes that occur in the targets or the predictions, as
-- sklearn's default labels (unique_labels(y_true, y_pred)) and
-- torchmetrics; classes absent from both count for nothing.

local nn = require "nn"
local A = require "nn.args"
local fail = A.fail

local metrics = {}

-- Class indices as an int64 [N] tensor: logits [N, C] -> argmax; a Lua
-- array or a tensor of another dtype is converted.
local function as_labels(fname, what, v, allow_logits)
  if type(v) == "table" and not nn.is_tensor(v) then
    if #v == 0 then return nn.zeros(0, {dtype = "int64"}) end
    v = nn.tensor(v, "int64")
  end
  if not nn.is_tensor(v) then fail(fname, "%s must be a tensor, got %s", what, type(v)) end
  if allow_logits and v:dim() == 2 then
    if v.shape[2] == 0 then fail(fname, "%s scores %s have no classes", what, A.shape_str(v)) end
    return v:argmax(2), v.shape[2]
  end
  if v:dim() ~= 1 then
    fail(fname, "%s must be 1-D class indices%s, got shape %s", what,
         allow_logits and " or [N, C] scores" or "", A.shape_str(v))
  end
  if v.dtype == "bool" then fail(fname, "%s must hold class indices, got a bool tensor", what) end
  if v.dtype ~= "int64" then v = v:long() end
  return v
end

-- Raises unless every label is in 1..C, naming the first bad value found
-- (the smallest if any is below 1, else the largest).
local function check_range(fname, what, labels, C)
  if labels:numel() == 0 then return end
  local lo, hi = labels:min():item(), labels:max():item()
  if lo < 1 then fail(fname, "%s label %d out of range 1..%d", what, lo, C) end
  if hi > C then fail(fname, "%s label %d out of range 1..%d", what, hi, C) end
end

-- Adds the counts of (target, pred) pairs into the flat int64 [C*C]
-- tensor `flat`. pred and target: int64 [N], checked to be in 1..C.
local function accumulate(flat, pred, target, C)
  local n = target:numel()
  if n == 0 then return end
  local cells = (target - 1) * C + pred
  flat:index_add_(1, cells, nn.ones(n, {dtype = "int64"}))
end

local function check_same_length(fname, pred, target)
  if pred:numel() ~= target:numel() then
    fail(fname, "pred has %d samples but target has %d", pred:numel(), target:numel())
  end
end

--- confusion_matrix(pred, target [, num_classes]) -> int64 [C, C].
-- Without num_classes, C is the score width for logits, else the largest
-- label seen.
function metrics.confusion_matrix(pred, target, num_classes)
  local fname = "confusion_matrix"
  local width
  pred, width = as_labels(fname, "pred", pred, true)
  target = as_labels(fname, "target", target, false)
  check_same_length(fname, pred, target)
  local C = num_classes
  if C ~= nil then
    C = A.int(fname, "num_classes", C)
    if width and width ~= C then
      fail(fname, "pred has %d scores per sample but num_classes is %d", width, C)
    end
  elseif width then
    C = width
  else
    C = 1
    if pred:numel() > 0 then
      C = math.max(C, pred:max():item(), target:max():item())
    end
  end
  check_range(fname, "target", target, C)
  check_range(fname, "pred", pred, C)
  local flat = nn.zeros(C * C, {dtype = "int64"})
  accumulate(flat, pred, target, C)
  return flat:view(C, C)
end

--- accuracy(pred_or_logits, target) -> the fraction of correct
-- predictions (a Lua number; 0 for no samples).
function metrics.accuracy(pred, target)
  local fname = "accuracy"
  pred = as_labels(fname, "pred", pred, true)
  target = as_labels(fname, "target", target, false)
  check_same_length(fname, pred, target)
  local n = target:numel()
  if n == 0 then return 0 end
  return pred:eq(target):sum():item() / n
end

local function check_cm(fname, cm)
  if not nn.is_tensor(cm) then fail(fname, "confusion matrix must be a tensor, got %s", type(cm)) end
  if cm:dim() ~= 2 or cm.shape[1] ~= cm.shape[2] or cm.shape[1] == 0 then
    fail(fname, "confusion matrix must be square [C,C] with C >= 1, got %s", A.shape_str(cm))
  end
end

--- precision_recall_f1(cm) -> {precision=, recall=, f1= (float32 [C]),
-- macro_precision=, macro_recall=, macro_f1=, accuracy= (Lua numbers),
-- support= (int64 [C], the true count per class)}.
function metrics.precision_recall_f1(cm)
  local fname = "precision_recall_f1"
  check_cm(fname, cm)
  local C = cm.shape[1]
  local m = cm:float()
  local tp = (m * nn.eye(C)):sum(2)   -- [C]: the diagonal
  local predicted = m:sum(1)          -- [C]: column sums, tp + fp
  local actual = m:sum(2)             -- [C]: row sums, tp + fn
  -- Counts are whole numbers, so clamping the denominators to >= 1 only
  -- touches the 0/0 cases, which become 0 (zero_division=0).
  local precision = tp / predicted:clamp(1, math.huge)
  local recall = tp / actual:clamp(1, math.huge)
  local both = predicted + actual
  local f1 = tp * 2 / both:clamp(1, math.huge)   -- 2pr/(p+r) = 2tp/(2tp+fp+fn)
  local present = both:gt(0):float()
  local count = present:sum():item()
  local function macro(v)
    if count == 0 then return 0 end
    return (v * present):sum():item() / count
  end
  local total = m:sum():item()
  return {
    precision = precision, recall = recall, f1 = f1,
    macro_precision = macro(precision), macro_recall = macro(recall), macro_f1 = macro(f1),
    accuracy = total > 0 and tp:sum():item() / total or 0,
    support = cm:sum(2),
  }
end

-- ---- curves of a binary classifier (as scikit-learn's) ----

-- scores float [N] and targets 0/1 (float, int or bool) [N] as Lua arrays
-- sorted by decreasing score, for the curves.
local function scores_targets(fname, scores, targets)
  if type(scores) == "table" and not nn.is_tensor(scores) then scores = nn.tensor(scores) end
  if type(targets) == "table" and not nn.is_tensor(targets) then targets = nn.tensor(targets) end
  if not nn.is_tensor(scores) then fail(fname, "scores must be a tensor, got %s", type(scores)) end
  if not nn.is_tensor(targets) then fail(fname, "targets must be a tensor, got %s", type(targets)) end
  if scores:numel() ~= targets:numel() or scores:numel() == 0 then
    fail(fname, "scores %s and targets %s must hold the same number (>= 1) of values",
         A.shape_str(scores), A.shape_str(targets))
  end
  scores, targets = scores:float():reshape(-1), targets:float():reshape(-1)
  local bad = (targets:ne(0):float() * targets:ne(1):float()):sum():item()
  if bad > 0 then
    fail(fname, "targets must be 0/1 or booleans, got %d other value%s (range %g..%g)", bad,
         bad > 1 and "s" or "", targets:min():item(), targets:max():item())
  end
  local order = scores:argsort(1, true)
  return scores:index_select(1, order):totable(), targets:index_select(1, order):totable()
end

-- scikit-learn's _binary_clf_curve: at each distinct score (decreasing),
-- the false and true positive counts of "score >= threshold".
local function binary_clf_curve(fname, scores, targets)
  local s, t = scores_targets(fname, scores, targets)
  local fps, tps, thr = {}, {}, {}
  local tp, n = 0, #s
  for i = 1, n do
    tp = tp + t[i]
    if i == n or s[i + 1] ~= s[i] then
      fps[#fps + 1], tps[#tps + 1], thr[#thr + 1] = i - tp, tp, s[i]
    end
  end
  return fps, tps, thr
end

--- precision_recall_curve(scores, targets) -> precision, recall,
-- thresholds (float32 1-D tensors, as sklearn.metrics.precision_recall_curve:
-- thresholds increasing, a last point precision 1, recall 0).
function metrics.precision_recall_curve(scores, targets)
  local fps, tps, thr = binary_clf_curve("precision_recall_curve", scores, targets)
  local p, r, th = {}, {}, {}
  local m, total = #tps, tps[#tps]
  for i = m, 1, -1 do
    local ps = tps[i] + fps[i]
    p[#p + 1] = ps > 0 and tps[i] / ps or 0
    r[#r + 1] = total > 0 and tps[i] / total or 1
    th[#th + 1] = thr[i]
  end
  p[#p + 1], r[#r + 1] = 1, 0
  return nn.tensor(p), nn.tensor(r), nn.tensor(th)
end

-- The ROC points (Lua arrays of doubles) as sklearn's roc_curve.
local function roc_points(fname, scores, targets, drop)
  local fps, tps, thr = binary_clf_curve(fname, scores, targets)
  if drop and #fps > 2 then
    local f, t, h = {fps[1]}, {tps[1]}, {thr[1]}
    for i = 2, #fps - 1 do
      if fps[i - 1] - 2 * fps[i] + fps[i + 1] ~= 0 or tps[i - 1] - 2 * tps[i] + tps[i + 1] ~= 0 then
        f[#f + 1], t[#t + 1], h[#h + 1] = fps[i], tps[i], thr[i]
      end
    end
    f[#f + 1], t[#t + 1], h[#h + 1] = fps[#fps], tps[#tps], thr[#thr]
    fps, tps, thr = f, t, h
  end
  table.insert(fps, 1, 0)
  table.insert(tps, 1, 0)
  table.insert(thr, 1, thr[1] + 1)
  local fpr, tpr = {}, {}
  local fn, tn = fps[#fps], tps[#tps]
  for i = 1, #fps do
    fpr[i] = fn > 0 and fps[i] / fn or 0 / 0
    tpr[i] = tn > 0 and tps[i] / tn or 0 / 0
  end
  return fpr, tpr, thr, fn > 0 and tn > 0
end

--- roc_curve(scores, targets [, {drop_intermediate=true}]) -> fpr, tpr,
-- thresholds (float32 1-D tensors, as sklearn.metrics.roc_curve: the first
-- threshold is the largest score + 1; NaN rates when a class is absent).
function metrics.roc_curve(scores, targets, opts)
  local fname = "roc_curve"
  opts = A.options(fname, opts, {drop_intermediate = true})
  local drop = A.bool(fname, "drop_intermediate", opts.drop_intermediate, true)
  local fpr, tpr, thr = roc_points(fname, scores, targets, drop)
  return nn.tensor(fpr), nn.tensor(tpr), nn.tensor(thr)
end

-- The trapezoidal area under y(x), Lua arrays, x monotonic.
local function trapezoid(fname, xs, ys)
  local up, down, area = false, false, 0
  for i = 2, #xs do
    local dx = xs[i] - xs[i - 1]
    if dx > 0 then up = true elseif dx < 0 then down = true end
    area = area + dx * (ys[i] + ys[i - 1]) / 2
  end
  if up and down then fail(fname, "x is neither increasing nor decreasing") end
  return down and -area or area
end

--- auc(x, y) -> the trapezoidal area under the curve y(x) (a Lua number),
-- as sklearn.metrics.auc: x increasing or decreasing.
function metrics.auc(x, y)
  local fname = "auc"
  if type(x) == "table" and not nn.is_tensor(x) then x = nn.tensor(x) end
  if type(y) == "table" and not nn.is_tensor(y) then y = nn.tensor(y) end
  if not (nn.is_tensor(x) and nn.is_tensor(y)) then fail(fname, "x and y must be tensors") end
  if x:dim() ~= 1 or y:dim() ~= 1 or x:numel() ~= y:numel() or x:numel() < 2 then
    fail(fname, "x %s and y %s must be 1-D with the same length >= 2", A.shape_str(x), A.shape_str(y))
  end
  return trapezoid(fname, x:totable(), y:totable())
end

--- roc_auc(scores, targets) -> the area under the ROC curve, as
-- sklearn.metrics.roc_auc_score; an error when targets hold one class.
function metrics.roc_auc(scores, targets)
  local fpr, tpr, _, both = roc_points("roc_auc", scores, targets, true)
  if not both then fail("roc_auc", "targets hold only one class: the ROC AUC is not defined") end
  return trapezoid("roc_auc", fpr, tpr)
end

--- calibration(probs, labels [, {bins=10}]) -> {ece=, mean_confidence=,
-- accuracy=, bins = {{lo=, hi=, count=, confidence=, accuracy=}, ...}}:
-- probs [N, K] class probabilities, labels 1-based [N]. The confidence of
-- a sample is its top probability; bins split [0, 1] into equal widths
-- (a confidence c goes to bin ceil(c * bins), 0 to the first), and ece =
-- sum over bins of count/N * |accuracy - confidence|.
function metrics.calibration(probs, labels, opts)
  local fname = "calibration"
  opts = A.options(fname, opts, {bins = true})
  local nb = A.int(fname, "bins", opts.bins or 10, 1)
  if not nn.is_tensor(probs) or probs:dim() ~= 2 or probs.shape[1] == 0 or probs.shape[2] == 0 then
    fail(fname, "probs must be class probabilities [N, K] with N, K >= 1, got %s",
         nn.is_tensor(probs) and A.shape_str(probs) or type(probs))
  end
  local K = probs.shape[2]
  labels = as_labels(fname, "labels", labels, false)
  check_same_length(fname, labels, probs:narrow(2, 1, 1))
  check_range(fname, "labels", labels, K)
  probs = probs:float()
  local lo, hi = probs:min():item(), probs:max():item()
  if lo < 0 or hi > 1 then fail(fname, "probs must lie in [0, 1], got values in [%g, %g]", lo, hi) end
  local conf, pred = probs:max(2)
  local correct = pred:reshape(-1):eq(labels):float()
  conf = conf:reshape(-1)
  local bin = (conf * nb):ceil():clamp(1, nb):long()
  local count = nn.zeros(nb):index_add_(1, bin, nn.ones(conf:numel()))
  local conf_sum = nn.zeros(nb):index_add_(1, bin, conf)
  local acc_sum = nn.zeros(nb):index_add_(1, bin, correct)
  local N = conf:numel()
  local c, cs, as = count:totable(), conf_sum:totable(), acc_sum:totable()
  local bins, ece = {}, 0
  for i = 1, nb do
    local b = {lo = (i - 1) / nb, hi = i / nb, count = math.floor(c[i] + 0.5)}
    if c[i] > 0 then
      b.confidence, b.accuracy = cs[i] / c[i], as[i] / c[i]
      ece = ece + c[i] / N * math.abs(b.accuracy - b.confidence)
    end
    bins[i] = b
  end
  return {ece = ece, mean_confidence = conf:mean():item(), accuracy = correct:mean():item(), bins = bins}
end

-- ---- tasks: what a loss trains, and its metrics ----

local LOSS_TASK = {
  CrossEntropyLoss = "multiclass", NLLLoss = "multiclass", MultiMarginLoss = "multiclass",
  BCELoss = "binary", BCEWithLogitsLoss = "binary",
  MSELoss = "regression", L1Loss = "regression", HuberLoss = "regression", SmoothL1Loss = "regression",
}
local TASK_METRICS = {
  multiclass = {"accuracy", "confusion_matrix", "f1", "loss", "precision", "recall"},
  binary = {"auc", "binary_accuracy", "confusion_matrix", "f1", "loss", "precision", "recall"},
  regression = {"loss", "mae", "mse"},
}
local DEFAULT_METRIC = {multiclass = "accuracy", binary = "binary_accuracy", regression = "mae"}
local ONLY = {accuracy = "multiclass", binary_accuracy = "binary", auc = "binary", mae = "regression", mse = "regression"}

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- The task of a loss: its class name for the library's losses; for a
-- function, the one a metric name implies (mae: regression), else
-- multi-class. Returns the task and whether the model gives logits
-- (BCEWithLogitsLoss) rather than probabilities (BCELoss).
function metrics._task(loss_fn, names)
  local cls = type(loss_fn) == "table" and rawget(getmetatable(loss_fn) or {}, "__name")
  local task = cls and LOSS_TASK[cls]
  if not task then
    task = "multiclass"
    for _, name in ipairs(type(names) == "table" and names or {}) do
      if ONLY[name] then task = ONLY[name]; break end
    end
  end
  return task, cls ~= "BCELoss"
end

-- The metric names asked (a list), checked against the task's. `numeric`
-- leaves out those that are not one number per epoch (fit's history).
function metrics._metric_names(fname, names, task, has_loss, numeric)
  if names == nil then names = {DEFAULT_METRIC[task]} end
  if type(names) == "string" then names = {names} end
  if type(names) ~= "table" then fail(fname, "metrics must be a list of names, got %s", type(names)) end
  local known = {}
  for _, name in ipairs(TASK_METRICS[task]) do
    if not (numeric and (name == "loss" or name == "confusion_matrix")) then known[#known + 1] = name end
  end
  local ok, unknown = set_of(known), {}
  for _, name in ipairs(names) do
    if not ok[name] then unknown[#unknown + 1] = A.show(name) end
  end
  if #unknown > 0 then
    fail(fname, "unknown metric%s %s for a %s task (known: %s)", #unknown > 1 and "s" or "",
         table.concat(unknown, ", "), task == "multiclass" and "multi-class" or task, table.concat(known, ", "))
  end
  for _, name in ipairs(names) do
    if name == "loss" and not has_loss then fail(fname, "metric 'loss' needs the loss option") end
  end
  return names
end

-- Regression targets [N] for outputs [N, 1] become [N, 1] (as Keras), so
-- the loss compares sample with sample instead of broadcasting to [N, N];
-- integer targets become float32.
function metrics._align(task, out, y)
  if task ~= "regression" or not nn.is_tensor(y) or not nn.is_tensor(out) then return y end
  if y.dtype ~= "float32" and y.dtype ~= "float64" then y = y:float() end
  if y:dim() == 1 and out:dim() == 2 and out.shape[2] == 1 and out.shape[1] == y.shape[1] then
    y = y:view(y.shape[1], 1)
  end
  return y
end

-- Raises unless every binary target lies in [0, 1].
function metrics._check_binary_targets(fname, y)
  local flat = y:reshape(-1)
  if flat.dtype ~= "float32" then flat = flat:float() end
  if flat:numel() > 0 and (flat - 0.5):abs():max():item() > 0.5 then
    local lo, hi = flat:min():item(), flat:max():item()
    fail(fname, "binary targets must lie in [0, 1], got values in [%g, %g]%s", lo, hi,
         hi >= 2 and " (1-based class labels? use y:float() - 1)" or "")
  end
end

-- Binary targets: [N] or [N, 1] in [0, 1], one per model output; `checked`:
-- their range was checked already (fit checks an in-memory dataset once).
local function binary_targets(fname, out, y, loss_name, checked)
  if not nn.is_tensor(y) then fail(fname, "binary targets must be a float tensor, got %s", type(y)) end
  if out:numel() ~= y:numel() or out.shape[1] ~= y.shape[1] or (out:dim() == 2 and out.shape[2] ~= 1) or out:dim() > 2 then
    fail(fname, "a binary task (%s) needs one output per sample ([N] or [N,1]) and targets [N] or [N,1], got output %s and targets %s",
         loss_name, A.shape_str(out), A.shape_str(y))
  end
  if not checked then metrics._check_binary_targets(fname, y) end
  return y:reshape(-1)
end

-- An accumulator of a task's metrics over batches: add(out, y) with the
-- model's output and the batch's targets, values() the metrics so far
-- (values(true), for a progress bar, leaves out auc, which sorts every score),
-- reduce(R) the counts of every rank added up (R from
-- nn.distributed.reduce: a distributed fit's metrics are those of all the
-- ranks' samples together, not a mean of the ranks' metrics).
-- Only what the asked metrics need is computed per batch.
function metrics._accumulator(fname, task, names, o)
  local want = set_of(names)
  local acc = {n = 0}
  if task == "multiclass" then
    local flat, C
    function acc.add(out, y)
      if not nn.is_tensor(out) or out:dim() ~= 2 then
        fail(fname, "the model must return scores [N, C], got %s",
             nn.is_tensor(out) and A.shape_str(out) or type(out))
      end
      local target = as_labels(fname, "target", y, false)
      local b = target:numel()
      if out.shape[1] ~= b then
        fail(fname, "the model returned %d rows for a batch of %d labels", out.shape[1], b)
      end
      if C == nil then
        C = out.shape[2]
        if C == 0 then fail(fname, "the model returned no class scores (%s)", A.shape_str(out)) end
        flat = nn.zeros(C * C, {dtype = "int64"})
      elseif out.shape[2] ~= C then
        fail(fname, "the model returned %d scores per sample, earlier batches had %d", out.shape[2], C)
      end
      if o.check then check_range(fname, "target", target, C) end
      if b > 0 then accumulate(flat, out:argmax(2), target, C) end
      acc.n = acc.n + b
    end
    function acc.reduce(R)
      -- A rank that saw no batch has no matrix yet: the others' class count makes it one.
      local n, classes = 0, 0
      for _, row in ipairs(R.gather_numbers({acc.n, C or 0})) do n, classes = n + row[1], math.max(classes, row[2]) end
      acc.n = n
      if classes == 0 then return end
      if C == nil then C, flat = math.tointeger(classes), nn.zeros(classes * classes, {dtype = "int64"}) end
      R.sum_(flat)
    end
    function acc.values()
      local cm = flat and flat:view(C, C) or nn.zeros(1, 1, {dtype = "int64"})
      local s = metrics.precision_recall_f1(cm)
      return {accuracy = s.accuracy, precision = s.macro_precision, recall = s.macro_recall,
              f1 = s.macro_f1, confusion_matrix = cm,
              per_class = {precision = s.precision, recall = s.recall, f1 = s.f1}}
    end
  elseif task == "binary" then
    local t = o.threshold or 0.5
    -- The cut-off on the model's output: a probability, or for logits
    -- the logit of the threshold (sigmoid(x) > t  <=>  x > log(t/(1-t))).
    local cut = o.logits and math.log(t / (1 - t)) or t
    local need_counts = want.precision or want.recall or want.f1 or want.confusion_matrix
    local tp, pp, ap, correct, scores, truths = 0, 0, 0, 0, {}, {}
    function acc.add(out, y)
      if not nn.is_tensor(out) then fail(fname, "the model must return a tensor, got %s", type(out)) end
      local truth = binary_targets(fname, out, y, o.loss_name, o.checked)
      local score = out:reshape(-1)
      local pred = score:gt(cut)
      local pos = truth:ge(0.5)
      if need_counts then
        local pf, tf = pred:float(), pos:float()
        tp = tp + (pf * tf):sum():item()
        pp, ap = pp + pf:sum():item(), ap + tf:sum():item()
      end
      if want.binary_accuracy then correct = correct + pred:eq(pos):sum():item() end
      if want.auc then
        scores[#scores + 1] = score:detach():clone()
        truths[#truths + 1] = pos:float()
      end
      acc.n = acc.n + truth:numel()
    end
    function acc.reduce(R)
      local sums = R.sum_numbers({acc.n, tp, pp, ap, correct})
      acc.n, tp, pp, ap, correct = table.unpack(sums)
      if want.auc then
        scores = {R.cat(#scores > 0 and nn.cat(scores, 1) or nn.zeros(0))}
        truths = {R.cat(#truths > 0 and nn.cat(truths, 1) or nn.zeros(0))}
      end
    end
    function acc.values(running)
      local n = math.max(acc.n, 1)
      local r = {binary_accuracy = correct / n}
      if need_counts then
        r.precision = pp > 0 and tp / pp or 0
        r.recall = ap > 0 and tp / ap or 0
        r.f1 = pp + ap > 0 and 2 * tp / (pp + ap) or 0
        r.confusion_matrix = nn.tensor({{acc.n - pp - ap + tp, pp - tp}, {ap - tp, tp}}, "int64")
      end
      if want.auc and not running then -- (the progress bar shows the rest)
        local s, y = nn.cat(scores, 1), nn.cat(truths, 1)
        local npos = y:sum():item()
        r.auc = (npos > 0 and npos < y:numel()) and metrics.roc_auc(s, y) or 0 / 0
      end
      return r
    end
  else
    local abs_sum, sq_sum = 0, 0
    function acc.add(out, y)
      if not nn.is_tensor(out) then fail(fname, "the model must return a tensor, got %s", type(out)) end
      if not nn.is_tensor(y) or y:numel() ~= out:numel() then
        fail(fname, "a regression task needs targets with the output's number of values, got output %s and targets %s",
             A.shape_str(out), nn.is_tensor(y) and A.shape_str(y) or type(y))
      end
      local d = out:reshape(-1) - y:reshape(-1)
      if want.mae then abs_sum = abs_sum + d:abs():sum():item() end
      if want.mse then sq_sum = sq_sum + (d * d):sum():item() end
      acc.n = acc.n + d:numel()
    end
    function acc.reduce(R)
      acc.n, abs_sum, sq_sum = table.unpack(R.sum_numbers({acc.n, abs_sum, sq_sum}))
    end
    function acc.values()
      local n = math.max(acc.n, 1)
      return {mae = abs_sum / n, mse = sq_sum / n}
    end
  end
  return acc
end

-- ---- evaluate ----

-- An iterator over (x, y) batches of data: a loader's own iter(), a
-- dataset's batches in order (a byte dataset converts each in turn), or
-- narrow views of a table's x and y.
local function batches(fname, data, batch_size)
  if type(data) == "table" and type(data.iter) == "function" then
    return data:iter()
  end
  if nn.data._is_dataset(data) then
    return nn.data.DataLoader(data, {batch_size = batch_size}):iter()
  end
  local x, y = type(data) == "table" and data.x, type(data) == "table" and data.y
  if not (nn.is_tensor(x) and nn.is_tensor(y)) then
    fail(fname, "data must be a dataset with x and y tensors or a loader with iter(), got %s",
         type(data))
  end
  if x:dim() == 0 or y:dim() == 0 or x.shape[1] ~= y.shape[1] then
    fail(fname, "data has x of shape %s and y of shape %s (sample counts differ)",
         A.shape_str(x), A.shape_str(y))
  end
  local n, start = x.shape[1], 1
  return function()
    if start > n then return nil end
    local len = math.min(batch_size, n - start + 1)
    local bx, by = x:narrow(1, start, len), y:narrow(1, start, len)
    start = start + len
    return bx, by
  end
end

-- The model's modules with their training flags, to put back afterwards.
local function save_modes(model)
  local saved = {}
  if type(model) == "table" and type(model.modules) == "function" then
    for _, m in ipairs(model:modules()) do saved[#saved + 1] = {m, rawget(m, "training")} end
  end
  return saved
end

local function restore_modes(saved)
  for _, s in ipairs(saved) do rawset(s[1], "training", s[2]) end
end

local function run(fname, model, data, loss_fn, batch_size, task, acc)
  local n, loss_sum = 0, 0
  for bx, by in batches(fname, data, batch_size) do
    local out = model(bx)
    by = metrics._align(task, out, by)
    acc.add(out, by)
    local b = nn.is_tensor(out) and out:dim() > 0 and out.shape[1] or 0
    if loss_fn then
      local l = loss_fn(out, by)
      l = nn.is_tensor(l) and l:item() or l
      if type(l) ~= "number" then fail(fname, "loss must return a number or a tensor, got %s", type(l)) end
      loss_sum = loss_sum + l * b
    end
    n = n + b
  end
  if n == 0 then fail(fname, "data has no samples") end
  return n, loss_sum
end

--- evaluate(model, data, {loss=, metrics=, batch_size=64, threshold=0.5}) -> results.
-- data: an in-memory dataset (x, y tensors) cut into batch_size rows, or
-- a loader with iter(). The model runs in eval mode under no_grad; its
-- modules' training flags are put back afterwards, also on error.
-- The task follows the loss (see fit.lua): multi-class returns
-- {accuracy=, precision=, recall=, f1= (macro, Lua numbers),
-- confusion_matrix= (int64 [C,C]), per_class = {precision=, recall=, f1=}};
-- binary {binary_accuracy=, and for the metrics asked precision=, recall=,
-- f1= (of the positive class), auc=, confusion_matrix= (int64 [2,2])};
-- regression {mae=, mse=}; with the loss option also loss= (the mean over
-- samples). threshold: the binary cut-off on the probability (logits go
-- through sigmoid with BCEWithLogitsLoss).
local function evaluate(model, data, opts, reducer)
  local fname = "evaluate"
  opts = A.options(fname, opts, {loss = true, metrics = true, batch_size = true, threshold = true})
  if type(model) ~= "function" and not (getmetatable(model) or {}).__call then
    fail(fname, "model must be a module or a function, got %s", type(model))
  end
  local loss_fn = opts.loss
  if loss_fn ~= nil and type(loss_fn) ~= "function" and not (getmetatable(loss_fn) or {}).__call then
    fail(fname, "loss must be a loss module or a function, got %s", type(loss_fn))
  end
  local names = opts.metrics
  if type(names) == "string" then names = {names} end
  local task, logits = metrics._task(loss_fn, names)
  if names ~= nil then
    metrics._metric_names(fname, names, task, loss_fn ~= nil, false)
  end
  local all = TASK_METRICS[task]
  local threshold = opts.threshold
  if threshold ~= nil then
    if task ~= "binary" then fail(fname, "threshold is for a binary task (BCELoss or BCEWithLogitsLoss)") end
    threshold = A.number(fname, "threshold", threshold, 0, 1)
  end
  local batch_size = A.int(fname, "batch_size", opts.batch_size or 64)
  local acc = metrics._accumulator(fname, task, all, {check = true, threshold = threshold, logits = logits,
                                                      loss_name = type(loss_fn) == "table" and loss_fn.__name})

  local saved = save_modes(model)
  if type(model) == "table" and type(model.eval) == "function" then model:eval() end
  local ok, n, loss_sum = pcall(nn.no_grad, run, fname, model, data, loss_fn, batch_size, task, acc)
  restore_modes(saved)
  if not ok then error(n, 0) end -- passed on as it is, after the modes are back
  if reducer then
    acc.reduce(reducer)
    n, loss_sum = table.unpack(reducer.sum_numbers({n, loss_sum}))
  end

  local result = acc.values()
  if loss_fn then result.loss = loss_sum / n end
  return result
end

function metrics.evaluate(model, data, opts) return evaluate(model, data, opts) end

-- evaluate on this rank's part of the data, the counts then added up over
-- the ranks by reducer (nn.distributed.reduce): nn.fit's distributed
-- validation. Every rank must hold at least one sample.
function metrics._evaluate_reduced(model, data, opts, reducer) return evaluate(model, data, opts, reducer) end

return metrics
