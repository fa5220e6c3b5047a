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

-- ---- evaluate ----

local KNOWN = {accuracy = true, precision = true, recall = true, f1 = true,
               confusion_matrix = true, loss = true}

local function check_metric_names(fname, names, has_loss)
  if names == nil then return end
  if type(names) == "string" then names = {names} end
  if type(names) ~= "table" then fail(fname, "metrics must be a list of names, got %s", type(names)) end
  local unknown = {}
  for _, name in ipairs(names) do
    if not KNOWN[name] then unknown[#unknown + 1] = A.show(name) end
  end
  if #unknown > 0 then
    fail(fname, "unknown metric%s %s (known: accuracy, confusion_matrix, f1, loss, precision, recall)",
         #unknown > 1 and "s" or "", table.concat(unknown, ", "))
  end
  for _, name in ipairs(names) do
    if name == "loss" and not has_loss then fail(fname, "metric 'loss' needs the loss option") end
  end
end

-- An iterator over (x, y) batches of data: a loader's own iter(), or
-- narrow views of an in-memory dataset's x and y.
local function batches(fname, data, batch_size)
  if type(data) == "table" and type(data.iter) == "function" then
    return data:iter()
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

local function run(fname, model, data, loss_fn, batch_size)
  local flat, C
  local n, loss_sum = 0, 0
  for bx, by in batches(fname, data, batch_size) do
    local out = model(bx)
    if not nn.is_tensor(out) or out:dim() ~= 2 then
      fail(fname, "the model must return scores [N, C], got %s",
           nn.is_tensor(out) and A.shape_str(out) or type(out))
    end
    local target = as_labels(fname, "target", by, false)
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
    check_range(fname, "target", target, C)
    if loss_fn then
      local l = loss_fn(out, by)
      l = nn.is_tensor(l) and l:item() or l
      if type(l) ~= "number" then fail(fname, "loss must return a number or a tensor, got %s", type(l)) end
      loss_sum = loss_sum + l * b
    end
    if b > 0 then accumulate(flat, out:argmax(2), target, C) end
    n = n + b
  end
  if n == 0 then fail(fname, "data has no samples") end
  return flat:view(C, C), n, loss_sum
end

--- evaluate(model, data, {loss=, metrics=, batch_size=64}) -> results.
-- data: an in-memory dataset (x, y tensors) cut into batch_size rows, or
-- a loader with iter(). The model runs in eval mode under no_grad; its
-- modules' training flags are put back afterwards, also on error.
-- Returns {accuracy=, precision=, recall=, f1= (macro, Lua numbers),
-- confusion_matrix= (int64 [C,C]), loss= (with the loss option: the mean
-- over samples), per_class = {precision=, recall=, f1=} (float32 [C])}.
function metrics.evaluate(model, data, opts)
  local fname = "evaluate"
  opts = A.options(fname, opts, {loss = true, metrics = true, batch_size = true})
  if type(model) ~= "function" and not (getmetatable(model) or {}).__call then
    fail(fname, "model must be a module or a function, got %s", type(model))
  end
  local loss_fn = opts.loss
  if loss_fn ~= nil and type(loss_fn) ~= "function" and not (getmetatable(loss_fn) or {}).__call then
    fail(fname, "loss must be a loss module or a function, got %s", type(loss_fn))
  end
  check_metric_names(fname, opts.metrics, loss_fn ~= nil)
  local batch_size = A.int(fname, "batch_size", opts.batch_size or 64)

  local saved = save_modes(model)
  if type(model) == "table" and type(model.eval) == "function" then model:eval() end
  local ok, cm, n, loss_sum = pcall(nn.no_grad, run, fname, model, data, loss_fn, batch_size)
  restore_modes(saved)
  if not ok then error(cm, 0) end -- passed on as it is, after the modes are back

  local s = metrics.precision_recall_f1(cm)
  local result = {
    accuracy = s.accuracy, precision = s.macro_precision, recall = s.macro_recall, f1 = s.macro_f1,
    confusion_matrix = cm,
    per_class = {precision = s.precision, recall = s.recall, f1 = s.f1},
  }
  if loss_fn then result.loss = loss_sum / n end
  return result
end

return metrics
