-- Overfitting the notes' MLP and fighting it (000 Q1 (الف, ب), Q6 (ب, پ, ت);
-- 001 Q1; 003 Q2.4): a bigger model trained longer opens a gap between
-- training and test; augmentation, L1 and L2 shrink it; early stopping and
-- k-fold cross-validation detect it.
--   nnlua scripts/course/overfit_mlp.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local T = nn.transforms
local opts = course.start{
  name = "overfit_mlp", ids = {"S0-03", "S0-10", "S0-11", "S0-12"},
  notes = "000_7ab6c8be6403b5e4.txt Q1 (الف, ب), Q6 (ب, پ, ت); 001_c410dd08620b7ee0.txt Q1; 003_2d572698e7403bd6.txt Q2.4",
}
local a_images, a_epochs, b_images, b_epochs, folds, fold_epochs = 20000, 30, 10000, 30, 5, 10
if opts.quick then a_images, a_epochs, b_images, b_epochs, folds, fold_epochs = 2000, 3, 1000, 3, 2, 3 end

-- Q6 (ب): one more hidden layer and more units than Q5's model, 30 epochs instead of 10.
local function overfit_model()
  return nn.Sequential{
    nn.Flatten(),
    nn.Linear(784, 512), nn.ReLU(),
    nn.Linear(512, 256), nn.ReLU(),
    nn.Linear(256, 128), nn.ReLU(),
    nn.Linear(128, 10),
    nn.LogSoftmax(2),
  }
end
local normalize = T.Normalize(0.1307, 0.3081)
-- Q6 (پ): the notes' training transform (their RandomCrop line is commented out).
local augment = T.Compose{T.RandomHorizontalFlip(0.5), T.RandomRotation(10), normalize}
local ce = nn.CrossEntropyLoss()
-- The test set (10,000 images) is the validation set, as in the notes
-- (--quick: the first 2,000 test images.)
local test_x, test_y = course.fashion("test", opts.quick and 2000 or nil, true)
local test = nn.data.tensor_dataset(test_x, test_y)

-- One training run from the initial weights init: the training loss and
-- accuracy are running averages over each epoch in training mode (fit's
-- history, as the notes' loop); the test values are measured after each
-- epoch with the plain cross-entropy. r: x (normalised), x_raw, y, epochs,
-- sgd (the optimizer's options), augment (a transform of x_raw), l1 (the
-- L1 coefficient), callbacks.
local function run(init, r)
  nn.manual_seed(opts.seed) -- every run sees the same shuffles
  local model = overfit_model()
  model:load_state_dict(init)
  local loss, callbacks, test_l1 = ce, r.callbacks or {}, {loss = {}, accuracy = {}}
  if r.l1 then
    -- Q6 (ت), L1: loss + λ · sum over all parameters (biases included) of
    -- |p|, the notes' torch.norm(param, 1) loop; the training loss fit
    -- reports includes the term, as the notes' does.
    local params = model:parameters()
    loss = function(out, y) return ce(out, y) + nn.l1_penalty(params) * r.l1 end
    -- fit would validate with this loss too: the test values (the plain
    -- cross-entropy) are measured by a callback instead.
    callbacks = {nn.callbacks.LambdaCallback{on_epoch_end = function(epoch)
      local t = nn.evaluate(model, test, {loss = ce, batch_size = 256})
      test_l1.loss[epoch], test_l1.accuracy[epoch] = t.loss, t.accuracy
    end}}
  end
  local x = r.augment and r.x_raw or r.x
  local h = nn.fit(model, {
    train = nn.data.DataLoader(nn.data.tensor_dataset(x, r.y), {batch_size = 64, shuffle = true, transform = r.augment}),
    val = not r.l1 and test or nil, loss = loss, optimizer = nn.optim.SGD(model:parameters(), r.sgd),
    epochs = r.epochs, callbacks = callbacks, verbose = 0,
  })
  if r.l1 then h.val_loss, h.val_accuracy = test_l1.loss, test_l1.accuracy end
  h.model = model
  return h
end
local function snapshot(model)
  local sd = {}
  for k, v in pairs(model:state_dict()) do sd[k] = v:clone() end
  return sd
end
local function gaps(h)
  local g = {}
  for e = 1, #h.accuracy do g[e] = h.accuracy[e] - h.val_accuracy[e] end
  return g
end
-- "At the end": the mean over the last five epochs (26-30), single epochs wobble.
local function at_end(list)
  local v = {}
  for e = math.max(1, #list - 4), #list do v[#v + 1] = list[e] end
  return course.mean(v)
end

-- ---- Part A: the notes' recipe (SGD lr 0.01), four runs from one initialisation ----
local xa_raw, ya = course.fashion("train", a_images)
local xa = normalize(xa_raw)
local init_a = snapshot(overfit_model())
local base = {x = xa, x_raw = xa_raw, y = ya, epochs = a_epochs}
local function with(t)
  local r = {}
  for k, v in pairs(base) do r[k] = v end
  for k, v in pairs(t) do r[k] = v end
  return r
end
local A = {}
A.overfit = run(init_a, with{sgd = {lr = 0.01}})
A.augmentation = run(init_a, with{sgd = {lr = 0.01}, augment = augment})
A.l1 = run(init_a, with{sgd = {lr = 0.01}, l1 = 0.001})
-- Q6 (ت), L2: weight_decay=0.01 adds 0.01·w to every gradient, the
-- gradient of (0.01/2)·‖w‖² (w ← (1 − ηλ)w − η∇L).
A.l2 = run(init_a, with{sgd = {lr = 0.01, weight_decay = 0.01}})

local order = {"overfit", "augmentation", "l1", "l2"}
local label = {overfit = "overfit", augmentation = "augmentation", l1 = "L1 (0.001)", l2 = "L2 (weight_decay 0.01)"}
local notes_end = {overfit = "0.905 / 0.860", augmentation = "0.862 / 0.838", l1 = "0.829 / 0.814", l2 = "0.873 / 0.844"}
local E = {}
for _, k in ipairs(order) do
  local h = A[k]
  E[k] = {train_acc = at_end(h.accuracy), test_acc = at_end(h.val_accuracy), train_loss = at_end(h.loss),
          test_loss = at_end(h.val_loss), gap = at_end(gaps(h)), gap1 = gaps(h)[1]}
end
local span = a_epochs >= 5 and ("epochs %d-%d"):format(a_epochs - 4, a_epochs) or ("epochs 1-%d"):format(a_epochs)
local rows = {}
for _, k in ipairs(order) do
  local e = E[k]
  rows[#rows + 1] = {("A %s: train / test accuracy (%s)"):format(label[k], span),
                     ("%.3f / %.3f"):format(e.train_acc, e.test_acc), notes_end[k] .. " (expected)",
                     ("gap %.3f (epoch 1: %.3f)"):format(e.gap, e.gap1)}
  rows[#rows + 1] = {("A %s: train / test loss"):format(label[k]), ("%.3f / %.3f"):format(e.train_loss, e.test_loss),
                     k == "overfit" and "training better than test: overfit" or "training loss up, test loss down",
                     k == "l1" and "training loss includes the L1 term, as the notes'" or ""}
end
local behind = E.augmentation.test_acc < E.overfit.test_acc and E.l1.test_acc < E.overfit.test_acc
               and E.l2.test_acc < E.overfit.test_acc
rows[#rows + 1] = {"A: test accuracy minus the overfit run's",
                   ("augmentation %+.3f, L1 %+.3f, L2 %+.3f"):format(E.augmentation.test_acc - E.overfit.test_acc,
                     E.l1.test_acc - E.overfit.test_acc, E.l2.test_acc - E.overfit.test_acc),
                   "test accuracy higher with augmentation, L1, L2",
                   behind and "with the notes' own recipe the gap closes from the training side; Part B shows the test side"
                   or ""}
rows[#rows + 1] = {"L1 and L2 paragraphs end with", "L1 / L2 regularisation can help", "\"so data augmentation can help\"",
                   "notes error: copy-paste slip"}

-- ---- Part B: a run that truly overfits (SGD lr 0.01, momentum 0.9, 10,000 images) ----
local xb_raw, yb = course.fashion("train", b_images)
local xb = normalize(xb_raw)
local init_b = snapshot(overfit_model())
base = {x = xb, x_raw = xb_raw, y = yb, epochs = b_epochs, sgd = {lr = 0.01, momentum = 0.9}}
local B = {}
B.overfit = run(init_b, with{})
B.augmentation = run(init_b, with{augment = augment})
local stopper = nn.callbacks.EarlyStopping{monitor = "val_loss", patience = 5, restore_best = true}
B.early = run(init_b, with{callbacks = {stopper}})
-- The model now holds the best epoch's weights (restore_best).
B.early.restored_loss = nn.evaluate(B.early.model, test, {loss = ce, batch_size = 256}).loss
-- k-fold cross-validation on the 10,000: each fold model trained 10 epochs,
-- its train − validation accuracy gap at the last epoch.
local fold_gaps = {}
for k, fold in ipairs(nn.data.kfold(nn.data.tensor_dataset(xb, yb), folds, opts.seed)) do
  local model = overfit_model()
  model:load_state_dict(init_b)
  local h = nn.fit(model, {train = fold.train, val = fold.val, batch_size = 64, loss = ce,
                           optimizer = nn.optim.SGD(model:parameters(), {lr = 0.01, momentum = 0.9}),
                           epochs = fold_epochs, verbose = 0})
  fold_gaps[k] = h.accuracy[fold_epochs] - h.val_accuracy[fold_epochs]
end

local hb = B.overfit
local min_loss, min_epoch = math.huge, 0
for e, v in ipairs(hb.val_loss) do if v < min_loss then min_loss, min_epoch = v, e end end
local last_loss = hb.val_loss[b_epochs]
local es_min = math.huge
for _, v in ipairs(B.early.val_loss) do es_min = math.min(es_min, v) end
local keras_stop = course.keras_stop_epoch(hb, {monitor = "val_loss", patience = 5})
local b_aug_end, b_over_end = at_end(B.augmentation.val_accuracy), at_end(hb.val_accuracy)
rows[#rows + 1] = {"B overfit: test loss minimum (epoch)", ("%.3f (epoch %d)"):format(min_loss, min_epoch),
                   "validation performance peaks after a few epochs", "expected about 0.41 within 10 epochs"}
rows[#rows + 1] = {("B overfit: test loss at epoch %d"):format(b_epochs), last_loss, "then degrades",
                   ("%.2f x the minimum; expected about 0.61"):format(last_loss / min_loss)}
rows[#rows + 1] = {("B overfit: training loss, epoch %d / epoch %d"):format(min_epoch, b_epochs),
                   ("%.3f / %.3f"):format(hb.loss[min_epoch], hb.loss[b_epochs]), "keeps falling", ""}
rows[#rows + 1] = {"B EarlyStopping(patience 5, restore_best): stopped / best epoch",
                   ("%s / %s"):format(stopper.stopped_epoch or "none", stopper.best_epoch or "—"),
                   "stop early when validation degrades",
                   ("replayed on the overfit history: %s"):format(keras_stop or "no stop")}
rows[#rows + 1] = {"B restored model: test loss", B.early.restored_loss, "—", ("the run's minimum %.6f"):format(es_min)}
rows[#rows + 1] = {"B augmentation: last test loss", B.augmentation.val_loss[b_epochs], "lower than overfit",
                   ("overfit %.3f"):format(last_loss)}
rows[#rows + 1] = {("B augmentation / overfit: test accuracy (%s)"):format(span),
                   ("%.3f / %.3f"):format(b_aug_end, b_over_end), "augmentation higher", ""}
rows[#rows + 1] = {("B %d-fold CV: train − validation accuracy at epoch %d"):format(folds, fold_epochs),
                   ("mean %.3f (%s)"):format(course.mean(fold_gaps), table.concat((function()
                     local s = {}
                     for i, g in ipairs(fold_gaps) do s[i] = ("%.3f"):format(g) end
                     return s
                   end)(), ", ")), "k-fold CV detects overfitting", ""}
course.table(rows)

-- ---- Verdicts ----
local o, a, l1, l2 = E.overfit, E.augmentation, E.l1, E.l2
local es_stop = stopper.stopped_epoch
course.verdict("S0-03", min_epoch < 15 and last_loss > 1.2 * min_loss and hb.loss[b_epochs] < hb.loss[min_epoch]
                        and es_stop ~= nil and es_stop < b_epochs and math.abs(B.early.restored_loss - es_min) <= 1e-6
                        and course.mean(fold_gaps) > 0,
  "test loss minimum %.3f at epoch %d < 15; last %.3f > 1.2 x minimum; training loss %.3f at epoch %d < %.3f at epoch %d; " ..
  "EarlyStopping stopped at epoch %s < %d, restored test loss %.6f vs minimum %.6f (1e-6); %d-fold mean gap %.3f > 0",
  min_loss, min_epoch, last_loss, hb.loss[b_epochs], b_epochs, hb.loss[min_epoch], min_epoch, es_stop or "none", b_epochs,
  B.early.restored_loss, es_min, folds, course.mean(fold_gaps))
course.verdict("S0-10", o.gap > 0.02 and o.gap > o.gap1 + 0.1 and o.train_loss < o.test_loss,
  "overfit gap (%s) %.3f > 0.02 and > epoch-1 gap %.3f + 0.1; train loss %.3f < test loss %.3f",
  span, o.gap, o.gap1, o.train_loss, o.test_loss)
course.verdict("S0-11", a.train_acc < o.train_acc and a.train_loss > o.train_loss and a.gap < o.gap
                        and B.augmentation.val_loss[b_epochs] < last_loss and b_aug_end >= b_over_end - 0.01,
  "A: augmented train accuracy %.3f < %.3f, train loss %.3f > %.3f, gap %.3f < %.3f; B: last test loss %.3f < %.3f, " ..
  "test accuracy %.3f >= %.3f - 0.01", a.train_acc, o.train_acc, a.train_loss, o.train_loss, a.gap, o.gap,
  B.augmentation.val_loss[b_epochs], last_loss, b_aug_end, b_over_end)
course.verdict("S0-12", l1.gap < o.gap and l2.gap < o.gap and a.test_acc > l1.test_acc and l2.test_acc > l1.test_acc
                        and math.abs(l2.test_acc - a.test_acc) < 0.02,
  "gaps L1 %.3f, L2 %.3f < overfit %.3f; test accuracy augmentation %.3f > L1 %.3f, L2 %.3f > L1; |L2 - augmentation| = %.3f < 0.02",
  l1.gap, l2.gap, o.gap, a.test_acc, l1.test_acc, l2.test_acc, math.abs(l2.test_acc - a.test_acc))

-- ---- Plots ----
local curves = {"loss", "val_loss", "accuracy", "val_accuracy"}
local file = {overfit = "overfit.png", augmentation = "augmentation.png", l1 = "l1.png", l2 = "l2.png"}
local section = {overfit = "Q6 (ب)", augmentation = "Q6 (پ)", l1 = "Q6 (ت)", l2 = "Q6 (ت)"}
for _, k in ipairs(order) do
  nn.plot.history(A[k], course.plot_path(opts, file[k]), {metrics = curves,
    title = ("000 %s: %s, %d images (val = test set)%s"):format(section[k], label[k], a_images,
                                                                  k == "l1" and "; loss incl. the L1 term" or "")})
end
local gap_series = {}
for i, k in ipairs(order) do gap_series[i] = {name = label[k], y = gaps(A[k])} end
nn.plot.lines(gap_series, course.plot_path(opts, "gaps.png"), {
  title = "000 Q6 (ب, پ, ت): train − test accuracy per epoch", xlabel = "epoch", ylabel = "train − test accuracy"})
nn.plot.lines({
  {name = "overfit: training loss", y = hb.loss},
  {name = "overfit: test loss", y = hb.val_loss, style = "dashed"},
  {name = "augmentation: test loss", y = B.augmentation.val_loss, style = "dashed"},
}, course.plot_path(opts, "partB_overfit.png"), {
  title = ("000 Q1 (ب): the test loss turns up; grey line: early stop (epoch %s)"):format(es_stop or "none"),
  xlabel = "epoch", ylabel = "cross-entropy", vlines = es_stop and {es_stop} or nil,
  points = {{x = min_epoch, y = min_loss, label = ("minimum, epoch %d"):format(min_epoch)}}})
course.finish()
