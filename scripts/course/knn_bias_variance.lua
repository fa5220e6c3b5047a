-- k-nearest neighbours: bias and variance as K grows (000 Q2 (الف)), on
-- noisy moons and on Fashion-MNIST pixels.
--
--   nnlua scripts/course/knn_bias_variance.lua [--quick] [--out DIR] [--seed S]
local course = require "common"
local opts = course.start{
  name = "knn_bias_variance", ids = {"S0-04"},
  notes = "000_7ab6c8be6403b5e4.txt Q2 (الف)",
}
local fmt = course.fmt

local function errors(knn, x, y) return 1 - knn:score(x, y) end

---------------------------------------------------------------------------
-- (a) Moons: 300 training points, 600 validation points, noise 0.35.
local KS = opts.quick and {1, 15, 199} or {1, 3, 5, 9, 15, 25, 51, 101, 199}
local per_seed = course.seeds(opts, opts.quick and 1 or 3, function(seed)
  local train = nn.data.synthetic.moons{n_samples = 300, noise = 0.35}
  local val = nn.data.synthetic.moons{n_samples = 600, noise = 0.35}   -- drawn after the training set
  local out = {train_set = train, train = {}, val = {}, cv = {}}
  for i, k in ipairs(KS) do
    -- K = 1 on its own training points: the nearest neighbour of a point is itself.
    local knn = nn.KNeighborsClassifier(k):fit(train.x, train.y)
    out.train[i], out.val[i] = errors(knn, train.x, train.y), errors(knn, val.x, val.y)
  end
  -- Choosing K without the validation set: 5-fold cross-validation on the training set.
  local folds = nn.data.kfold(train, 5, seed)
  local best_cv, picked = math.huge, nil
  for i, k in ipairs(KS) do
    local e = {}
    for f, fold in ipairs(folds) do
      e[f] = errors(nn.KNeighborsClassifier(k):fit(fold.train.x, fold.train.y), fold.val.x, fold.val.y)
    end
    out.cv[i] = course.mean(e)
    if out.cv[i] < best_cv then best_cv, picked = out.cv[i], i end
  end
  out.picked = picked
  return out
end)
local train_err, val_err = {}, {}
for i = 1, #KS do
  local t, v = {}, {}
  for s, r in ipairs(per_seed) do t[s], v[s] = r.train[i], r.val[i] end
  train_err[i], val_err[i] = course.mean(t), course.mean(v)
end
local best = 1
for i = 2, #KS do if val_err[i] < val_err[best] then best = i end end
-- The validation error of the K each seed's cross-validation picked, averaged.
local picked_err, picked_ks = {}, {}
for s, r in ipairs(per_seed) do picked_err[s], picked_ks[s] = r.val[r.picked], KS[r.picked] end
local cv_err = course.mean(picked_err)
local seeds_note = ("mean of %d seed%s"):format(#per_seed, #per_seed > 1 and "s" or "")

---------------------------------------------------------------------------
-- (b) Fashion-MNIST pixels: the first 5,000 training images against the first 1,000 test images.
local n_train, n_test = opts.quick and 1000 or 5000, opts.quick and 200 or 1000
local fx, fy = course.fashion("train", n_train)
local tx, ty = course.fashion("test", n_test)
fx, tx = fx:reshape(n_train, -1), tx:reshape(n_test, -1)
local FKS = {1, 3, 5, 9, 15, 51, 201}
local f_train, f_val = {}, {}
for i, k in ipairs(FKS) do
  local knn = nn.KNeighborsClassifier(k):fit(fx, fy)
  f_train[i], f_val[i] = errors(knn, fx, fy), errors(knn, tx, ty)
end
local f_best = 1
for i = 2, #FKS do if f_val[i] < f_val[f_best] then f_best = i end end

---------------------------------------------------------------------------
local rows = {}
for i, k in ipairs(KS) do
  local said = k == 1 and "training error 0: the closest point to a training point is itself"
    or i == best and "validation error falls, reaches a minimum, then rises"
    or k == KS[#KS] and "K → ∞: everything becomes the majority colour (high bias)" or "—"
  rows[#rows + 1] = {("(a) moons, K = %d: train / validation error"):format(k),
                     ("%s / %s"):format(fmt(train_err[i]), fmt(val_err[i])), said,
                     (i == best and "best; " or "") .. seeds_note}
end
rows[#rows + 1] = {"(a) K picked by 5-fold CV (per seed) / its validation error",
                   ("%s / %s"):format(table.concat(picked_ks, ", "), fmt(cv_err)),
                   "choose K on a held-out set or by cross-validation",
                   ("best validation error %s at K = %d"):format(fmt(val_err[best]), KS[best])}
rows[#rows + 1] = {"(a) √n for n = 300", math.sqrt(300), "rule of thumb: 2 < K < √n balanced, K > √n high bias", ""}
for i, k in ipairs(FKS) do
  rows[#rows + 1] = {("(b) Fashion-MNIST, K = %d: train / test error"):format(k),
                     ("%s / %s"):format(fmt(f_train[i]), fmt(f_val[i])), "—",
                     (i == f_best and "best; " or "") .. ("%d training, %d test images"):format(n_train, n_test)}
end
course.table(rows)

local K1, K3, KL = 1, opts.quick and 1 or 2, #KS           -- positions of K = 1, 3 and 199
local a_zero, b_small = train_err[K1] == 0, f_train[1] <= 0.002
if opts.quick then
  course.verdict("S0-04", a_zero and b_small,
    "[quick: 1 seed, only the K = 1 conditions] moons: training error at K = 1 %s = 0; Fashion-MNIST: %s <= 0.002",
    fmt(train_err[K1]), fmt(f_train[1]))
else
  local rises = train_err[KL] - train_err[K3]
  local in_range = KS[best] >= 5 and KS[best] <= 60
  local below1, below199 = val_err[K1] - val_err[best], val_err[KL] - val_err[best]
  local f_rise = f_val[#FKS] - f_val[f_best]
  course.verdict("S0-04",
    a_zero and rises > 0.05 and in_range and below1 >= 0.03 and below199 >= 0.05 and cv_err - val_err[best] <= 0.03
    and b_small and f_rise >= 0.03,
    "moons (%s): training error at K=1 %s = 0, at K=199 %s above K=3 (> 0.05); best K %d in [5, 60] " ..
    "(validation error %s: %s below K=1 >= 0.03, %s below K=199 >= 0.05); CV-picked K error %s within 0.03 of best; " ..
    "Fashion-MNIST: training error at K=1 %s <= 0.002, test error at K=201 %s above the best (K=%d) >= 0.03",
    seeds_note, fmt(train_err[K1]), fmt(rises), KS[best], fmt(val_err[best]), fmt(below1), fmt(below199), fmt(cv_err),
    fmt(f_train[1]), fmt(f_rise), FKS[f_best])
end

---------------------------------------------------------------------------
-- Plots.
local function curves(ks, tr, va, held_out, file, title, note)
  nn.plot.lines({{name = "training error", x = ks, y = tr}, {name = held_out .. " error", x = ks, y = va}},
    course.plot_path(opts, file), {title = title, xlabel = "K (log)", ylabel = "error " .. note, xscale = "log"})
end
curves(KS, train_err, val_err, "validation", "knn_error_moons.png", "000_7ab6c8be6403b5e4.txt Q2 (الف): k-NN on noisy moons",
       "(" .. seeds_note .. ")")
curves(FKS, f_train, f_val, "test", "knn_error_fashion.png", "000_7ab6c8be6403b5e4.txt Q2 (الف): k-NN on Fashion-MNIST",
       ("(%d train, %d test)"):format(n_train, n_test))
local moons = per_seed[1].train_set
for _, k in ipairs{1, 15, 199} do
  local knn = nn.KNeighborsClassifier(k):fit(moons.x, moons.y)
  nn.plot.decision_boundary(function(g) return knn:predict(g) end, moons.x, moons.y,
    course.plot_path(opts, ("knn_boundary_k%d.png"):format(k)), {
    title = ("000_7ab6c8be6403b5e4.txt Q2 (الف): K = %d (training error %s)"):format(k,
      fmt(errors(knn, moons.x, moons.y))),
    xlabel = "x1", ylabel = "x2", n = 150, class_names = {"upper moon", "lower moon"}})
end
course.finish()
