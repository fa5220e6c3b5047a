-- Model capacity and the remedies for overfitting (001_c410dd08620b7ee0.txt
-- Q1, Q3 (الف), (ب)): the TensorFlow "overfit and underfit" tutorial's
-- models of growing size, then L2, dropout and both on the largest one,
-- and the student's two models, on a HIGGS-like noisy 28-feature task.
local course = require "common"
local opts = course.start{
  name = "capacity_higgs", ids = {"S1-02", "S1-03", "S1-04", "S1-05", "S1-06"},
  notes = "001_c410dd08620b7ee0.txt Q1, Q3 (الف), Q3 (ب)",
}
local quick = opts.quick

-- The stand-in for HIGGS: scikit-learn's make_classification (its
-- defaults: 2 redundant features, 2 clusters per class, class_sep 1), then
-- 20% of the labels flipped, so that no model can do better than ~0.8.
local n_train, n_val = quick and 300 or 2000, quick and 200 or 1000
local ds = nn.data.synthetic.classification{n_samples = n_train + n_val, n_features = 28, n_informative = 6,
                                            n_classes = 2}
local y = (ds.y - 1):float() -- labels 1, 2 -> targets 0, 1 for the logit
local flipped = nn.randperm(n_train + n_val):le(math.floor(0.2 * (n_train + n_val)))
y = nn.where(flipped, 1 - y, y)
local train = nn.data.tensor_dataset(ds.x:narrow(1, 1, n_train), y:narrow(1, 1, n_train))
local val = nn.data.tensor_dataset(ds.x:narrow(1, n_train + 1, n_val), y:narrow(1, n_train + 1, n_val))
-- Every model starts from the generator's state right after the data were
-- drawn, so its result does not depend on which models ran before it.
local after_data = nn.get_rng_state()

local epochs, batch = quick and 5 or 60, 100
local shrink = quick and 8 or 1 -- --quick divides every width by 8
local keras = {weight_init = "glorot_uniform", bias_init = "zeros"}

-- widths: hidden layer sizes; dropout: rate after every hidden layer;
-- penalty: {l1 = c} or {l2 = c} on the hidden kernels (Keras's
-- kernel_regularizer: kernels only, no biases, not the output layer).
local function build(widths, dropout)
  local layers, kernels, fan_in = {}, {}, 28
  for _, w in ipairs(widths) do
    w = math.max(1, w // shrink)
    local dense = nn.Linear(fan_in, w, keras)
    layers[#layers + 1], layers[#layers + 2] = dense, nn.ELU()
    if dropout then layers[#layers + 1] = nn.Dropout(dropout) end
    kernels[#kernels + 1], fan_in = dense.weight, w
  end
  layers[#layers + 1] = nn.Linear(fan_in, 1, keras) -- one logit
  return nn.Sequential(layers), kernels
end

local bce = nn.BCEWithLogitsLoss()
local function run(spec)
  nn.set_rng_state(after_data)
  local model, kernels = build(spec.widths, spec.dropout)
  local loss = bce
  if spec.penalty then
    -- Keras adds the kernel regulariser to the training loss; the
    -- validation loss compared below is the cross-entropy alone (the
    -- tutorial's binary_crossentropy), so it is added in training mode only.
    local c, norm = spec.penalty.l2 or spec.penalty.l1, spec.penalty.l2 and nn.l2_penalty or nn.l1_penalty
    loss = function(out, target)
      local l = bce(out, target)
      if model.training then l = l + c * norm(kernels) end
      return l
    end
  end
  local opt = nn.optim.Adam(model:parameters(), {lr = 0.001, eps = 1e-7})
  -- the tutorial's InverseTimeDecay: the lr halves after 1000 epochs of 20 steps
  local sched = nn.optim.InverseTimeDecay(opt, {decay_steps = 20 * 1000, decay_rate = 1})
  local h = nn.fit(model, {train = train, val = val, batch_size = batch, epochs = epochs, verbose = 0,
                           loss = loss, metrics = {"binary_accuracy"}, optimizer = opt, scheduler = sched,
                           scheduler_interval = "step"})
  local r = {h = h, min = math.huge}
  for e, v in ipairs(h.val_loss) do
    if v < r.min then r.min, r.at = v, e end
  end
  r.last, r.last_train = h.val_loss[epochs], h.loss[epochs]
  r.rise = r.last - r.min
  r.stop = course.keras_stop_epoch(h, {monitor = "val_loss", patience = 20, mode = "min", min_delta = 0})
  return r
end

local big = {512, 512, 512, 512}
local specs = {
  {key = "tiny", widths = {16}},
  {key = "small", widths = {16, 16}},
  {key = "medium", widths = {64, 64, 64}},
  {key = "large", widths = big},
  {key = "L2", widths = big, penalty = {l2 = 0.001}},
  {key = "dropout", widths = big, dropout = 0.5},
  {key = "combined", widths = big, penalty = {l2 = 0.0001}, dropout = 0.5},
  -- the student's models (S1-06): Keras's L1L2(0.0001) is l1=0.0001, l2=0
  {key = "model A", widths = {512, 512, 512, 512, 512}, penalty = {l1 = 0.0001}, dropout = 0.3},
  {key = "best", widths = {512, 512, 512, 512, 512}, penalty = {l2 = 0.0001}, dropout = 0.5},
}
local R = {}
for _, s in ipairs(specs) do R[s.key] = run(s) end

local function row(key, say, remark)
  local r = R[key]
  return {key .. ": min val loss @ epoch, rise by " .. epochs,
          ("%.3f @ %d, +%.3f"):format(r.min, r.at, r.rise), say or "—",
          remark or ("last train loss %.3f, Keras EarlyStopping(patience 20) stops at %s"):format(r.last_train,
            r.stop and tostring(r.stop) or "— (never)")}
end
local best, lowest = R.best, math.huge
for i = 1, 7 do lowest = math.min(lowest, R[specs[i].key].min) end
local best_train_acc, best_val_acc = best.h.binary_accuracy[best.at], best.h.val_binary_accuracy[best.at]
course.table{
  row("tiny", "no overfitting"),
  row("small", "starts to overfit with more epochs"),
  row("medium", "overfits, sooner"),
  row("large", "overfits soonest; train loss falls, val loss much higher"),
  row("L2", "overfits much less; val loss below tiny's"),
  row("dropout", "better than large, not like tiny"),
  row("combined", "no overfitting; val loss below train loss, far below tiny's"),
  {"model A's kernel regulariser", "l1 = 0.0001, l2 = 0 (pure L1)", "L1L2(0.0001)",
   "notes error: Keras's signature is L1L2(l1=0.0, l2=0.0); built as 0.0001 · l1_penalty"},
  row("model A"),
  row("best", "68% train, 70% validation accuracy",
      ("at its best epoch: train accuracy %.3f, val accuracy %.3f"):format(best_train_acc, best_val_acc)),
}

-- Q3 (الف): every model but tiny overfits, the bigger the sooner and the
-- harder (the rise of the validation loss after its minimum); the large
-- model's training loss keeps falling while its validation loss climbs.
local L, M, S, T = R.large, R.medium, R.small, R.tiny
course.verdict("S1-02", L.at <= M.at and M.at < S.at and M.at < T.at and L.rise > 1.0 and M.rise > 0.2
    and T.rise < 0.05 and L.last_train < 0.2 * L.last,
  "epoch of min val loss: large %d <= medium %d < small %d, tiny %d; rise: large %.3f > 1.0, medium %.3f > 0.2, " ..
  "tiny %.3f < 0.05; large's last train loss %.3f < 0.2 × its last val loss %.3f",
  L.at, M.at, S.at, T.at, L.rise, M.rise, T.rise, L.last_train, L.last)
-- Q1's remedies on the large model: an L2 kernel penalty, dropout, both.
local L2, D, C = R.L2, R.dropout, R.combined
course.verdict("S1-03", L2.rise < 0.25 * L.rise and L2.min < T.min and L2.min < L.min,
  "rise L2 %.3f < 0.25 × large %.3f; min val loss L2 %.3f < tiny %.3f and < large %.3f",
  L2.rise, L.rise, L2.min, T.min, L.min)
course.verdict("S1-04", D.rise < 0.25 * L.rise and D.rise > T.rise and D.min < L.min,
  "rise dropout %.3f < 0.25 × large %.3f and > tiny %.3f; min val loss dropout %.3f < large %.3f",
  D.rise, L.rise, T.rise, D.min, L.min)
-- "No overfitting at all": dropout is active and the penalty counted in the
-- training loss only, which is why validation can end below training.
course.verdict("S1-05", C.min < T.min and C.min < L.min and C.min <= lowest + 0.01 and C.rise <= D.rise + 0.01
    and C.rise <= L2.rise + 0.01 and C.last < C.last_train,
  "min val loss combined %.3f < tiny %.3f, < large %.3f, within 0.01 of the lowest %.3f; rise %.3f <= dropout %.3f + 0.01 " ..
  "and <= L2 %.3f + 0.01; epoch %d val loss %.3f < train loss %.3f (dropout active, penalty included)",
  C.min, T.min, L.min, lowest, C.rise, D.rise, L2.rise, epochs, C.last, C.last_train)
-- Q3 (ب): the best model neither underfits nor overfits: validation accuracy
-- as high as training accuracy, at a HIGGS-like level.
course.verdict("S1-06", best_val_acc >= best_train_acc - 0.02 and best_val_acc >= 0.65 and best_val_acc <= 0.80,
  "best model at epoch %d: val accuracy %.3f >= train accuracy %.3f − 0.02, in [0.65, 0.80]; model A (notes error: " ..
  "L1L2(0.0001) is pure L1) min val loss %.3f @ %d",
  best.at, best_val_acc, best_train_acc, R["model A"].min, R["model A"].at)

-- validation solid, training dashed, one colour per model; metric "loss"
-- or "binary_accuracy"; no_train: models drawn without their training curve
local function curves(keys, path, title, metric, no_train)
  local series = {}
  for i, key in ipairs(keys) do
    local h = R[key].h
    series[#series + 1] = {name = key .. " val", y = h["val_" .. metric], color = i, marker = "none"}
    if not (no_train and no_train[key]) then
      series[#series + 1] = {name = key .. " train", y = h[metric], color = i, style = "dashed", marker = "none"}
    end
  end
  local loss = metric == "loss"
  nn.plot.lines(series, course.plot_path(opts, path), {title = title, xlabel = "epoch",
    ylabel = loss and "binary cross-entropy" or "binary accuracy", yscale = loss and "log" or "linear"})
end
curves({"tiny", "small", "medium", "large"}, "capacity.png",
  "001_c410dd08620b7ee0.txt Q3 (alef): capacity (val solid, train dashed)", "loss")
-- large's training loss (down to ~1e-3, in capacity.png) would squash the rest
curves({"large", "L2", "dropout", "combined", "tiny"}, "regularizers.png",
  "001_c410dd08620b7ee0.txt Q3 (alef): large with L2, dropout, both", "loss", {large = true})
curves({"model A", "best"}, "student.png",
  "001_c410dd08620b7ee0.txt Q3 (be): the student's models (val solid, train dashed)", "binary_accuracy")
course.finish()
