-- nn.metrics: confusion matrix, accuracy, precision/recall/F1 (checked
-- against hand-computed sklearn values: zero_division=0, macro averages
-- over the labels present in y_true or y_pred), and evaluate on a fixed
-- Linear model over a tensor dataset and a minimal loader.
local nn = require "nn"
local H = require "helpers"
local metrics = require "nn.metrics"

local function long(t) return nn.tensor(t, "int64") end

-- y_pred and y_true of a small 3-class case; class 4 never occurs.
local PRED = {1, 2, 3, 3, 2, 1, 1}
local TRUE = {1, 2, 2, 3, 3, 1, 2}

describe("confusion_matrix", function()
  it("counts rows = true class, columns = predicted (as sklearn)", function()
    local cm = metrics.confusion_matrix(long(PRED), long(TRUE), 4)
    assert.are.equal("int64", cm.dtype)
    H.assert_values(cm, {{2, 0, 0, 0}, {1, 1, 1, 0}, {0, 1, 1, 0}, {0, 0, 0, 0}})
  end)

  it("infers the class count from the labels and takes Lua arrays", function()
    local cm = metrics.confusion_matrix(PRED, TRUE)
    H.assert_shape(cm, {3, 3})
    H.assert_values(cm, {{2, 0, 0}, {1, 1, 1}, {0, 1, 1}})
  end)

  it("reduces logits [N, C] with argmax", function()
    local logits = nn.tensor{{0.9, 0.1}, {0.2, 0.8}, {0.7, 0.3}}
    local cm = metrics.confusion_matrix(logits, long{1, 1, 2})
    H.assert_values(cm, {{1, 1}, {1, 0}})
  end)

  it("handles no samples", function()
    H.assert_values(metrics.confusion_matrix(long{}, long{}, 2), {{0, 0}, {0, 0}})
  end)

  it("raises on labels out of range, naming the value", function()
    H.assert_error(function() metrics.confusion_matrix(long{1, 2}, long{1, 4}, 3) end,
                   "confusion_matrix", "4", "1..3")
    H.assert_error(function() metrics.confusion_matrix(long{0, 2}, long{1, 2}, 3) end,
                   "confusion_matrix", "pred", "0")
  end)

  it("raises on mismatched sizes and widths", function()
    H.assert_error(function() metrics.confusion_matrix(long{1, 2}, long{1}, 3) end,
                   "confusion_matrix", "2", "1")
    H.assert_error(function() metrics.confusion_matrix(nn.zeros(2, 4), long{1, 2}, 3) end,
                   "confusion_matrix", "4", "3")
    H.assert_error(function() metrics.confusion_matrix(nn.zeros(2, 2, 2), long{1, 2}) end,
                   "confusion_matrix", "[2,2,2]")
  end)
end)

describe("accuracy", function()
  it("from labels and from logits", function()
    H.assert_close(metrics.accuracy(long(PRED), long(TRUE)), 4 / 7, 1e-12)
    local logits = nn.tensor{{0.9, 0.1}, {0.2, 0.8}, {0.7, 0.3}, {0, 1}}
    H.assert_close(metrics.accuracy(logits, long{1, 2, 2, 2}), 0.75, 1e-12)
    assert.are.equal(0, metrics.accuracy(long{}, long{}))
  end)

  it("raises on mismatched sizes", function()
    H.assert_error(function() metrics.accuracy(long{1, 2, 3}, long{1, 2}) end, "accuracy", "3", "2")
  end)
end)

describe("precision_recall_f1", function()
  it("matches sklearn (zero_division=0, macro over present labels)", function()
    local s = metrics.precision_recall_f1(metrics.confusion_matrix(long(PRED), long(TRUE), 4))
    assert.are.equal("float32", s.precision.dtype)
    -- sklearn.metrics.precision_recall_fscore_support(TRUE, PRED, labels=[1,2,3,4], zero_division=0)
    H.assert_close(s.precision, {2 / 3, 0.5, 0.5, 0}, 1e-6)
    H.assert_close(s.recall, {1, 1 / 3, 0.5, 0}, 1e-6)
    H.assert_close(s.f1, {0.8, 0.4, 0.5, 0}, 1e-6)
    H.assert_values(s.support, {2, 3, 2, 0})
    -- precision_score(TRUE, PRED, average='macro') etc. (class 4 absent)
    H.assert_close(s.macro_precision, 0.5555555555555556, 1e-6)
    H.assert_close(s.macro_recall, 0.6111111111111112, 1e-6)
    H.assert_close(s.macro_f1, 0.5666666666666667, 1e-6)
    H.assert_close(s.accuracy, 4 / 7, 1e-6)
  end)

  it("a class predicted but never true has recall 0 and still counts", function()
    -- true {1,1,2}, pred {1,3,2}: class 3 has precision 0/1, recall 0/0.
    local s = metrics.precision_recall_f1(metrics.confusion_matrix(long{1, 3, 2}, long{1, 1, 2}, 3))
    H.assert_close(s.precision, {1, 1, 0}, 1e-6)
    H.assert_close(s.recall, {0.5, 1, 0}, 1e-6)
    H.assert_close(s.f1, {2 / 3, 1, 0}, 1e-6)
    H.assert_close(s.macro_precision, 2 / 3, 1e-6)
    H.assert_close(s.macro_recall, 0.5, 1e-6)
    H.assert_close(s.macro_f1, 5 / 9, 1e-6)
  end)

  it("all zero gives zeros", function()
    local s = metrics.precision_recall_f1(nn.zeros({2, 2}, {dtype = "int64"}))
    H.assert_values(s.precision, {0, 0})
    assert.are.equal(0, s.macro_f1)
    assert.are.equal(0, s.accuracy)
  end)

  it("raises on a non-square matrix", function()
    H.assert_error(function() metrics.precision_recall_f1(nn.zeros(2, 3)) end,
                   "precision_recall_f1", "[2,3]")
  end)
end)

-- Linear(2, 3) with fixed weights; predictions on X are {1, 2, 3, 1, 3}
-- against labels {1, 2, 3, 2, 1}.
local X = {{2, 0}, {0, 2}, {-1, -1}, {1, 0.5}, {-2, -1}}
local Y = {1, 2, 3, 2, 1}
local CM = {{1, 0, 1}, {1, 1, 0}, {0, 0, 1}}
-- numpy: mean cross-entropy of X @ W.T + b against Y - 1
local CE = 1.2600261694326513

local function fixed_model()
  local model = nn.Sequential{nn.Linear(2, 3)}
  nn.no_grad(function()
    model[1].weight:copy_(nn.tensor{{1, 0}, {0, 1}, {-1, -1}})
    model[1].bias:copy_(nn.tensor{0.1, 0, -0.1})
  end)
  return model
end

local function check_result(r, with_loss)
  H.assert_values(r.confusion_matrix, CM)
  assert.are.equal("int64", r.confusion_matrix.dtype)
  H.assert_close(r.accuracy, 0.6, 1e-6)
  H.assert_close(r.precision, 2 / 3, 1e-6)
  H.assert_close(r.recall, 2 / 3, 1e-6)
  H.assert_close(r.f1, (0.5 + 2 / 3 + 2 / 3) / 3, 1e-6)
  H.assert_close(r.per_class.precision, {0.5, 1, 0.5}, 1e-6)
  H.assert_close(r.per_class.recall, {0.5, 0.5, 1}, 1e-6)
  H.assert_close(r.per_class.f1, {0.5, 2 / 3, 2 / 3}, 1e-6)
  assert.are.equal("float32", r.per_class.f1.dtype)
  if with_loss then H.assert_close(r.loss, CE, 1e-5) else assert.is_nil(r.loss) end
end

describe("evaluate", function()
  local ds = nn.data.tensor_dataset(nn.tensor(X), long(Y))

  it("on an in-memory dataset, in one batch and in uneven batches", function()
    local model = fixed_model()
    check_result(metrics.evaluate(model, ds, {metrics = {"accuracy"}}), false)
    local loss = nn.CrossEntropyLoss()
    check_result(metrics.evaluate(model, ds, {loss = loss, metrics = {"accuracy", "loss"}}), true)
    -- batches of 2, 2, 1: each batch mean weighted by its size
    check_result(metrics.evaluate(model, ds, {loss = loss, batch_size = 2}), true)
    check_result(metrics.evaluate(model, {x = nn.tensor(X), y = long(Y)}, {batch_size = 3}), false)
  end)

  it("through a loader's iter()", function()
    local loader = {iter = function()
      local parts = {{1, 3}, {4, 2}}
      local i = 0
      local x, y = nn.tensor(X), long(Y)
      return function()
        i = i + 1
        local p = parts[i]
        if not p then return nil end
        return x:narrow(1, p[1], p[2]), y:narrow(1, p[1], p[2])
      end
    end}
    check_result(metrics.evaluate(fixed_model(), loader, {loss = nn.CrossEntropyLoss()}), true)
    local dl = nn.data.DataLoader(ds, {batch_size = 2})
    check_result(metrics.evaluate(fixed_model(), dl), false)
  end)

  it("runs in eval mode under no_grad and puts the modes back", function()
    local model = nn.Sequential{nn.Linear(2, 3), nn.Dropout(0.5)}
    model[1].training = false      -- mixed modes must come back as they were
    local seen = {}
    local probe = nn.Module:extend("Probe")
    function probe:forward(x)
      seen.training, seen.grad = self.training, nn.is_grad_enabled()
      local out = model(x)
      seen.requires_grad = out.requires_grad
      return out
    end
    local p = probe()
    p.inner = model
    metrics.evaluate(p, ds)
    assert.is_false(seen.training)
    assert.is_false(seen.grad)
    assert.is_false(seen.requires_grad)
    assert.is_true(p.training)
    assert.is_true(model.training)
    assert.is_false(model[1].training)
    assert.is_true(model[2].training)
    assert.is_true(nn.is_grad_enabled())
    model:eval()
    metrics.evaluate(model, ds)
    assert.is_false(model.training)
  end)

  it("puts the modes back when it raises", function()
    local model = fixed_model()
    local bad = nn.data.tensor_dataset(nn.tensor(X), long{1, 2, 7, 2, 1})
    H.assert_error(function() metrics.evaluate(model, bad) end, "evaluate", "7", "1..3")
    assert.is_true(model.training)
    assert.is_true(model[1].training)
    assert.is_true(nn.is_grad_enabled())
    local zero = nn.data.tensor_dataset(nn.tensor(X), long{1, 0, 3, 2, 1})
    H.assert_error(function() metrics.evaluate(model, zero, {batch_size = 2}) end, "evaluate", "0")
  end)

  it("raises on bad arguments", function()
    local model = fixed_model()
    H.assert_error(function() metrics.evaluate(model, ds, {metrics = {"accuracy", "auc", "top5"}}) end,
                   "evaluate", "'auc'", "'top5'")
    H.assert_error(function() metrics.evaluate(model, ds, {metrics = {"loss"}}) end, "evaluate", "loss")
    H.assert_error(function() metrics.evaluate(model, ds, {batchsize = 2}) end, "evaluate", "batchsize")
    H.assert_error(function() metrics.evaluate(model, ds, {batch_size = 0}) end, "evaluate", "batch_size", "0")
    H.assert_error(function() metrics.evaluate(model, 42) end, "evaluate", "number")
    H.assert_error(function() metrics.evaluate(42, ds) end, "evaluate", "model")
    H.assert_error(function() metrics.evaluate(model, {x = nn.zeros(0, 2), y = long{}}) end,
                   "evaluate", "no samples")
    H.assert_error(function() metrics.evaluate(function(x) return x:sum(2) end, ds) end,
                   "evaluate", "[5]")
    H.assert_error(function() metrics.evaluate(model, {x = nn.zeros(4, 2), y = long{1, 2}}) end,
                   "evaluate", "[4,2]", "[2]")
  end)
end)

-- Curves against scikit-learn 1.2 (tests/fixtures/gen_metrics_fixtures.py).
describe("binary curves as scikit-learn", function()
  local ref = H.reference("metrics")
  local function same(t, want, what, tol)
    assert.are.equal(#want, t:numel(), what .. " length")
    local got = t:totable()
    for i = 1, #want do H.near(got[i], want[i], tol or 1e-6) end
  end
  for _, c in ipairs(ref.cases) do
    it("precision_recall_curve, roc_curve, roc_auc and auc on " .. c.name, function()
      local scores, targets = nn.tensor(c.scores), nn.tensor(c.targets)
      local p, r, th = metrics.precision_recall_curve(scores, targets)
      same(p, c.precision, "precision")
      same(r, c.recall, "recall")
      same(th, c.pr_thresholds, "pr thresholds")
      local fpr, tpr, rt = metrics.roc_curve(scores, targets)
      same(fpr, c.fpr, "fpr")
      same(tpr, c.tpr, "tpr")
      same(rt, c.roc_thresholds, "roc thresholds", 1e-5)
      fpr, tpr, rt = metrics.roc_curve(c.scores, targets:long(), {drop_intermediate = false})
      same(fpr, c.fpr_all, "fpr all")
      same(tpr, c.tpr_all, "tpr all")
      same(rt, c.roc_thresholds_all, "roc thresholds all", 1e-5)
      H.near(metrics.roc_auc(scores, targets:gt(0.5)), c.roc_auc, 1e-9)
      H.near(metrics.auc(r, p), c.pr_auc, 1e-6)
    end)
  end

  it("rejects bad scores, targets and curves", function()
    H.assert_error(function() metrics.roc_curve({0.1, 0.2}, {0, 2}) end, "roc_curve", "0/1", "0..2")
    H.assert_error(function() metrics.precision_recall_curve({0.1, 0.2}, {0}) end,
                   "precision_recall_curve", "[2]", "[1]")
    H.assert_error(function() metrics.roc_curve({0.1, 0.2}, {0, 1}, {drop = true}) end, "roc_curve", "drop")
    H.assert_error(function() metrics.roc_auc({0.1, 0.2}, {1, 1}) end, "roc_auc", "one class")
    H.assert_error(function() metrics.auc({0, 1, 0.5}, {1, 1, 1}) end, "auc", "neither increasing")
    H.assert_error(function() metrics.auc({0}, {1}) end, "auc", ">= 2")
  end)
end)

describe("calibration", function()
  it("gives the expected calibration error over equal-width bins and the mean top probability", function()
    -- Top probabilities 0.9 (right), 0.8 (wrong), 0.55 (right), 0.6 (right):
    -- bins of width 0.25: (0.5, 0.75] holds 0.55, 0.6: accuracy 1,
    -- confidence 0.575; (0.75, 1] holds 0.9, 0.8: accuracy 0.5, confidence 0.85.
    local probs = nn.tensor{{0.9, 0.1}, {0.2, 0.8}, {0.55, 0.45}, {0.4, 0.6}}
    local r = metrics.calibration(probs, long{1, 1, 1, 2}, {bins = 4})
    H.near(r.mean_confidence, (0.9 + 0.8 + 0.55 + 0.6) / 4)
    H.near(r.accuracy, 0.75)
    H.near(r.ece, 0.5 * math.abs(1 - 0.575) + 0.5 * math.abs(0.5 - 0.85))
    assert.are.equal(4, #r.bins)
    assert.are.equal(0, r.bins[1].count)
    assert.are.equal(2, r.bins[3].count)
    H.near(r.bins[4].confidence, 0.85)
    H.near(r.bins[4].accuracy, 0.5)
    -- ten bins by default; empty bins count for nothing
    r = metrics.calibration(probs, {1, 1, 1, 2})
    assert.are.equal(10, #r.bins)
    H.near(r.ece, (math.abs(1 - 0.9) + math.abs(0 - 0.8) + math.abs(1 - 0.55) + math.abs(1 - 0.6)) / 4)
  end)

  it("rejects bad probabilities, labels and options", function()
    H.assert_error(function() metrics.calibration(nn.tensor{0.5, 0.5}, {1}) end, "calibration", "[N, K]")
    H.assert_error(function() metrics.calibration(nn.tensor{{1.5, -0.5}}, {1}) end, "calibration", "[0, 1]")
    H.assert_error(function() metrics.calibration(nn.tensor{{0.5, 0.5}}, {3}) end, "calibration", "3", "1..2")
    H.assert_error(function() metrics.calibration(nn.tensor{{0.5, 0.5}}, {1}, {bins = 0}) end, "calibration", "bins")
    H.assert_error(function() metrics.calibration(nn.tensor{{0.5, 0.5}}, {1}, {nbins = 3}) end, "calibration", "nbins")
  end)
end)

describe("evaluate for every task", function()
  -- A fixed one-output linear model: out = x1 - x2.
  local function one_output()
    local m = nn.Linear(2, 1)
    nn.no_grad(function()
      m.weight:copy_(nn.tensor{{1, -1}})
      m.bias:zero_()
    end)
    return m
  end
  local x = nn.tensor{{2, 0}, {0, 1}, {1, 0.5}, {0, 3}, {0.2, 0}}
  -- outputs 2, -1, 0.5, -3, 0.2

  it("binary with logits: binary_accuracy, precision, recall, f1, auc, threshold", function()
    local y = nn.tensor{1, 0, 0, 1, 1}
    local r = metrics.evaluate(one_output(), {x = x, y = y:view(5, 1)}, {loss = nn.BCEWithLogitsLoss()})
    -- logit > 0: predicted 1, 0, 1, 0, 1
    H.near(r.binary_accuracy, 3 / 5)
    H.near(r.precision, 2 / 3)
    H.near(r.recall, 2 / 3)
    H.near(r.f1, 2 / 3)
    H.near(r.auc, metrics.roc_auc(nn.tensor{2, -1, 0.5, -3, 0.2}, y))
    assert.are.same({{1, 1}, {1, 2}}, r.confusion_matrix:totable())
    H.near(r.loss, nn.BCEWithLogitsLoss()(nn.tensor{2, -1, 0.5, -3, 0.2}, y):item(), 1e-6)
    -- threshold 0.7 on the probability: sigmoid(0.5) = 0.62 and sigmoid(0.2) = 0.55 turn negative
    r = metrics.evaluate(one_output(), {x = x, y = y}, {loss = nn.BCEWithLogitsLoss(), threshold = 0.7})
    H.near(r.binary_accuracy, 3 / 5)
    H.near(r.precision, 1)
    H.near(r.recall, 1 / 3)
  end)

  it("binary with probabilities (BCELoss) cuts at 0.5", function()
    local model = function(t) return nn.sigmoid(one_output()(t)) end
    local r = metrics.evaluate(model, {x = x, y = nn.tensor{1, 0, 0, 1, 1}}, {loss = nn.BCELoss()})
    H.near(r.binary_accuracy, 3 / 5)
  end)

  it("regression: mae and mse, targets [N] for outputs [N,1]", function()
    local y = nn.tensor{1, -1, 0, -2, 1}
    local r = metrics.evaluate(one_output(), {x = x, y = y}, {loss = nn.MSELoss()})
    -- errors 1, 0, 0.5, -1, -0.8
    H.near(r.mae, (1 + 0 + 0.5 + 1 + 0.8) / 5)
    H.near(r.mse, (1 + 0 + 0.25 + 1 + 0.64) / 5, 1e-6)
    H.near(r.loss, r.mse, 1e-6)
    r = metrics.evaluate(one_output(), {x = x, y = y}, {loss = nn.L1Loss(), metrics = {"mae"}})
    H.near(r.loss, r.mae, 1e-6)
  end)

  it("rejects binary targets outside [0, 1], metrics of another task, bad thresholds", function()
    H.assert_error(function()
      metrics.evaluate(one_output(), {x = x, y = nn.tensor{1, 2, 1, 2, 1}}, {loss = nn.BCEWithLogitsLoss()})
    end, "evaluate", "binary targets must lie in [0, 1]", "[1, 2]", "y:float() - 1")
    H.assert_error(function()
      metrics.evaluate(one_output(), {x = x, y = nn.tensor{1, 0, 1, 0, 1}}, {loss = nn.MSELoss(), metrics = {"accuracy"}})
    end, "evaluate", "unknown metric 'accuracy' for a regression task", "mae, mse")
    H.assert_error(function()
      metrics.evaluate(one_output(), {x = x, y = nn.tensor{1, 0, 1, 0, 1}}, {loss = nn.BCELoss(), metrics = {"mae"}})
    end, "evaluate", "unknown metric 'mae' for a binary task")
    H.assert_error(function()
      metrics.evaluate(one_output(), {x = x, y = nn.tensor{1, 0, 1, 0, 1}}, {loss = nn.BCELoss(), threshold = 2})
    end, "evaluate", "threshold")
    H.assert_error(function()
      metrics.evaluate(one_output(), {x = x, y = nn.tensor{1, 0, 1, 0, 1}}, {loss = nn.MSELoss(), threshold = 0.5})
    end, "evaluate", "threshold is for a binary task")
    H.assert_error(function()
      metrics.evaluate(nn.Linear(2, 3), {x = x, y = nn.tensor{1, 0, 1, 0, 1}}, {loss = nn.BCELoss()})
    end, "evaluate", "one output per sample", "[5,3]")
  end)
end)
