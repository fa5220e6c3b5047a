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
