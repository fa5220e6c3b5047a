-- L1 and L2, as a loss and as a penalty: outliers (003 Q1.1), true/false
-- statements on regularisation strength and added features (000 Q2 (ب)),
-- the weight signatures Wexp1-4 (000 Q2 (ب), 003 Q2.5), Lasso vs Ridge
-- (004 Q1 part 2).
--
--   nnlua scripts/course/regression_l1_l2.lua [--quick] [--out DIR] [--seed S]
local course = require "common"
local opts = course.start{
  name = "regression_l1_l2", ids = {"S3-01", "S0-05", "S0-06", "S4-02"},
  notes = "003_2d572698e7403bd6.txt Q1.1, Q2.5; 000_7ab6c8be6403b5e4.txt Q2 (ب); 004_44a923b9da7d8773.txt Q1 part 2",
}
local fmt = course.fmt

-- Solves A x = b (A a Lua n×n table, n <= 34) by Gaussian elimination with
-- partial pivoting: the exact least-squares and ridge solutions below.
local function solve(A, b)
  local n, M = #A, {}
  for i = 1, n do
    M[i] = {table.unpack(A[i])}
    M[i][n + 1] = b[i]
  end
  for c = 1, n do
    local p = c
    for r = c + 1, n do if math.abs(M[r][c]) > math.abs(M[p][c]) then p = r end end
    M[c], M[p] = M[p], M[c]
    for r = c + 1, n do
      local f = M[r][c] / M[c][c]
      for k = c, n + 1 do M[r][k] = M[r][k] - f * M[c][k] end
    end
  end
  local x = {}
  for r = n, 1, -1 do
    local s = M[r][n + 1]
    for k = r + 1, n do s = s - M[r][k] * x[k] end
    x[r] = s / M[r][r]
  end
  return x
end

-- Minimises scale·‖y − Zβ‖² + λ·Σ_{j in penalised} β_j²: (scale·ZᵀZ + λD) β = scale·Zᵀy,
-- D the diagonal marking the penalised coefficients (not the bias).
local function ridge(Z, y, lambda, scale, unpenalised)
  local A = (Z:t():matmul(Z) * scale):totable()
  for j = 1, #A do
    if j ~= unpenalised then A[j][j] = A[j][j] + lambda end
  end
  local b = (Z:t():matmul(y) * scale):reshape(-1):totable()
  return nn.tensor(solve(A, b)):reshape(-1, 1)
end

local function mse(Z, y, beta) return ((Z:matmul(beta) - y) ^ 2):mean():item() end

-- Full-batch training of model for steps steps on loss_fn(model), the
-- optimizer and scheduler given.
local function train(model, loss_fn, opt, steps, sched)
  for _ = 1, steps do
    opt:zero_grad()
    loss_fn(model):backward()
    opt:step()
    if sched then sched:step() end
  end
end

---------------------------------------------------------------------------
-- (a) S3-01: a line through 50 points whose 5 rightmost are outliers.
local x = nn.rand(50):sort():mul(10):reshape(50, 1)     -- sorted: the 5 largest x are the last 5
local y = x * 2 + 1 + nn.randn(50, 1) * 0.5
y:narrow(1, 46, 5):add_(20)
local clean_x, clean_y = x:narrow(1, 1, 45), y:narrow(1, 1, 45)

local function fit_line(loss_of)
  local line = nn.Linear(1, 1)
  local opt = nn.optim.Adam(line:parameters(), {lr = 0.05})
  local sched = nn.optim.MultiStepLR(opt, {milestones = {2000}, gamma = 0.1})
  train(line, function(m) return loss_of(m, m(x)) end, opt, 3000, sched)
  local a, b = line.weight:item(), line.bias:item()
  local mae = nn.no_grad(function() return (line(clean_x) - clean_y):abs():mean():item() end)
  return {a = a, b = b, mae = mae}
end
-- The L1 loss |y − ŷ| grows linearly with an error, the squared loss
-- quadratically: an outlier 20 away pulls the MSE fit 20 times harder.
local l1_fit = fit_line(function(_, pred) return nn.L1Loss()(pred, y) end)
local l2_fit = fit_line(function(_, pred) return nn.MSELoss()(pred, y) end)
-- Lasso: squared loss plus 0.1·|a|, an L1 *penalty* on the slope only.
local lasso_fit = fit_line(function(m, pred) return nn.MSELoss()(pred, y) + nn.l1_penalty({m.weight}) * 0.1 end)

course.table{
  {"(a) slope a, L1 loss", l1_fit.a, "—", "true slope 2; the L1 loss estimates the median"},
  {"(a) slope a, MSE loss", l2_fit.a, "L2 is more sensitive to outliers, the fit moves away from the data", ""},
  {"(a) slope a, MSE + 0.1·abs(a) (lasso)", lasso_fit.a,
   "004 Q1 part 2: L1 regularisation is robust to outliers, estimates the median",
   "notes error: robustness is a property of the L1 loss, not of the L1 penalty"},
  {"(a) mean abs(error) on the 45 clean points, L1 / MSE / lasso",
   ("%s / %s / %s"):format(fmt(l1_fit.mae), fmt(l2_fit.mae), fmt(lasso_fit.mae)), "—", ""},
}
course.verdict("S3-01", math.abs(l1_fit.a - 2) < 0.1 and math.abs(l2_fit.a - 2) > 0.5 and l1_fit.mae < l2_fit.mae,
  "abs(a_L1 - 2) = %s < 0.1; abs(a_L2 - 2) = %s > 0.5; clean MAE L1 %s < L2 %s",
  fmt(math.abs(l1_fit.a - 2)), fmt(math.abs(l2_fit.a - 2)), fmt(l1_fit.mae), fmt(l2_fit.mae))

---------------------------------------------------------------------------
-- (b) S0-05: 3 true features, k noise features, 40 training points.
local KS, LAMBDAS, NOISE_MAX = {0, 10, 20, 30}, {0, 0.01, 0.1, 1, 10}, 30
local per_seed = course.seeds(opts, opts.quick and 1 or 3, function()
  local function draw(n)
    local X = nn.randn(n, 3 + NOISE_MAX)
    local target = X:narrow(2, 1, 3):matmul(nn.tensor{{2}, {-3}, {1.5}}) + nn.randn(n, 1)
    return nn.cat({nn.ones(n, 1), X}, 2), target   -- column 1: the bias
  end
  local Ztr, ytr = draw(40)
  local Zva, yva = draw(1000)
  local out = {k = {}, lambda = {}}
  for i, k in ipairs(KS) do
    local Zk, Zvk = Ztr:narrow(2, 1, 4 + k), Zva:narrow(2, 1, 4 + k)
    local beta = ridge(Zk, ytr, 0, 1 / 40, 1)   -- least squares
    out.k[i] = {train = mse(Zk, ytr, beta), val = mse(Zvk, yva, beta)}
  end
  -- Ridge on MSE + λΣw² (the bias not penalised), k = 30.
  for i, lambda in ipairs(LAMBDAS) do
    local beta = ridge(Ztr, ytr, lambda, 1 / 40, 1)
    out.lambda[i] = {train = mse(Ztr, ytr, beta), val = mse(Zva, yva, beta)}
  end
  return out
end)
local function avg(part, i, field)
  local v = {}
  for s, r in ipairs(per_seed) do v[s] = r[part][i][field] end
  return course.mean(v)
end
local K, L = {}, {}
for i = 1, #KS do K[i] = {train = avg("k", i, "train"), val = avg("k", i, "val")} end
for i = 1, #LAMBDAS do
  L[i] = {train = avg("lambda", i, "train"), val = avg("lambda", i, "val")}
  L[i].ratio = L[i].val / L[i].train
end

local seeds_note = ("mean of %d seed%s"):format(#per_seed, #per_seed > 1 and "s" or "")
local rows = {}
for i, k in ipairs(KS) do
  rows[#rows + 1] = {("(b) %d noise features: train / val MSE"):format(k),
                     ("%s / %s"):format(fmt(K[i].train), fmt(K[i].val)),
                     i == #KS and "false that many new features prevent overfitting: they can cause it" or "—",
                     seeds_note}
end
for i, lambda in ipairs(LAMBDAS) do
  rows[#rows + 1] = {("(b) k=30, λ=%s: train / val MSE, val/train, val−train"):format(fmt(lambda)),
                     ("%s / %s, %s, %s"):format(fmt(L[i].train), fmt(L[i].val), fmt(L[i].ratio),
                                                fmt(L[i].val - L[i].train)),
                     i == 1 and "a larger coefficient makes overfitting more likely: false"
                       or i == #LAMBDAS and "regularisation may weaken the model: true (underfitting)" or "—",
                     i == #LAMBDAS and "val−train is not monotone: at large λ both errors grow" or seeds_note}
end
course.table(rows)

local falls, never_down, best = true, true, math.huge
for i = 1, #LAMBDAS do
  if i > 1 and not (L[i].ratio < L[i - 1].ratio) then falls = false end
  if i > 1 and L[i].train < L[i - 1].train then never_down = false end
  best = math.min(best, L[i].val)
end
local c1 = K[#KS].train < K[1].train and K[#KS].val > K[1].val
local ratios = {}
for i = 1, #LAMBDAS do ratios[i] = fmt(L[i].ratio) end
course.verdict("S0-05", c1 and falls and never_down and L[#LAMBDAS].val > 2 * best,
  "%s; 30 noise features: train %s < %s, val %s > %s; val/train along λ: %s (falls at every step: %s); " ..
  "train MSE never decreases: %s; val at λ=10 %s > 2 × best %s",
  seeds_note, fmt(K[#KS].train), fmt(K[1].train), fmt(K[#KS].val), fmt(K[1].val), table.concat(ratios, ", "),
  tostring(falls), tostring(never_down), fmt(L[#LAMBDAS].val), fmt(best))

---------------------------------------------------------------------------
-- (c) S0-06: 10 features, 3 relevant; four ways to fit y = Xw.
local Xc = nn.randn(200, 10)
local yc = Xc:narrow(2, 1, 3):matmul(nn.tensor{{3}, {-2}, {1.5}}) + nn.randn(200, 1) * 0.5
local function fit_weights(penalty, l1)
  local lin = nn.Linear(10, 1, {bias = false})
  nn.init.zeros_(lin.weight)
  -- l1 > 0: after each step SGD soft-thresholds every weight by lr·l1,
  -- which lands small weights on exactly 0 (the corners of the L1 ball).
  local opt = nn.optim.SGD(lin:parameters(), {lr = 0.05, l1 = l1 or 0})
  train(lin, function(m)
    local loss = nn.MSELoss()(m(Xc), yc)
    return penalty and loss + penalty(m.weight) or loss
  end, opt, 3000)
  return lin.weight:detach():reshape(-1)
end
local fits = {
  {name = "none", w = fit_weights()},
  {name = "L2", w = fit_weights(function(w) return nn.l2_penalty({w}) * 0.1 end)},
  {name = "L1 proximal", w = fit_weights(nil, 0.3)},
  -- The subgradient of 0.3·|w| is ±0.3: the weights jump across 0, never onto it.
  {name = "L1 subgradient", w = fit_weights(function(w) return nn.l1_penalty({w}) * 0.3 end)},
}
local notes_of = {
  none = "Wexp3 → none: very different magnitudes, none zero",
  L2 = "Wexp1 → L2: all small and close (shrinkage); 003 Q2.5: near 0, never exactly 0",
  ["L1 proximal"] = "Wexp2, Wexp4 → L1: exact zeros (sparsity)",
  ["L1 subgradient"] = "Wexp2, Wexp4 → L1: exact zeros (sparsity)",
}
local sig = {}
rows = {}
for _, f in ipairs(fits) do
  local w = f.w
  local s = {zeros = w:eq(0):sum():item(), small = w:abs():lt(1e-2):sum():item(), norm = w:norm():item(),
             max = w:abs():max():item(),
             irrelevant_zeros = w:narrow(1, 4, 7):eq(0):sum():item(),
             relevant_nonzero = w:narrow(1, 1, 3):ne(0):sum():item(),
             irrelevant_max = w:narrow(1, 4, 7):abs():max():item()}
  sig[f.name] = s
  local vals = {}
  for i, v in ipairs(w:totable()) do vals[i] = ("%.3g"):format(v) end
  rows[#rows + 1] = {("(c) w, %s"):format(f.name), "(" .. table.concat(vals, ", ") .. ")", notes_of[f.name],
                     ("exact zeros %d, abs(w) < 1e-2: %d, ‖w‖₂ %s, max abs(w) %s"):format(s.zeros, s.small, fmt(s.norm),
                                                                             fmt(s.max))}
end
course.table(rows)
local n, l2, px, sg = sig.none, sig.L2, sig["L1 proximal"], sig["L1 subgradient"]
local largest = n.max >= l2.max and n.max >= px.max and n.max >= sg.max
course.verdict("S0-06", px.irrelevant_zeros == 7 and px.relevant_nonzero == 3 and l2.zeros == 0 and l2.norm < n.norm
                        and sg.zeros == 0 and sg.irrelevant_max < 0.05 and largest,
  "L1 proximal: %d/7 irrelevant exactly 0, %d/3 relevant non-zero; L2: %d exact zeros, ‖w‖₂ %s < none %s; " ..
  "L1 subgradient: %d exact zeros, irrelevant max abs(w) %s < 0.05; max abs(w): none %s, L2 %s, L1 prox %s, L1 subgrad %s",
  px.irrelevant_zeros, px.relevant_nonzero, l2.zeros, fmt(l2.norm), fmt(n.norm), sg.zeros, fmt(sg.irrelevant_max),
  fmt(n.max), fmt(l2.max), fmt(px.max), fmt(sg.max))

---------------------------------------------------------------------------
-- (d) S4-02: the notes' sum forms; ridge has a closed form, lasso none.
local LAMBDA = 20                                   -- the sum form of (c)'s 0.1 (0.1 × 200)
local closed = ridge(Xc, yc, LAMBDA, 1, nil)        -- (XᵀX + λI)⁻¹ Xᵀy
local lin = nn.Linear(10, 1, {bias = false})
nn.init.zeros_(lin.weight)
train(lin, function(m) return nn.MSELoss{reduction = "sum"}(m(Xc), yc) + nn.l2_penalty({m.weight}) * LAMBDA end,
      nn.optim.SGD(lin:parameters(), {lr = 0.002}), 500)
local gap = (lin.weight:detach():reshape(-1, 1) - closed):abs():max():item()
course.table{
  {"(d) ridge λ=20: max abs(w_GD − w_closed form)", gap, "L2 has a closed form (XᵀX + λI)⁻¹Xᵀy", "500 GD steps, lr 0.002"},
  {"(d) lasso λ=20: closed form", "none: abs(w) is not differentiable at 0", "L1 has none (more expensive)",
   "(c) used proximal steps"},
  {"(d) exact zeros, lasso (proximal) / ridge", ("%d / %d"):format(px.zeros, l2.zeros),
   "L1 drives weights to 0, L2 shrinks but never to 0", "from (c)"},
  {"(d) slope with outliers: L1 loss / MSE / lasso", ("%s / %s / %s"):format(fmt(l1_fit.a), fmt(l2_fit.a),
                                                                            fmt(lasso_fit.a)),
   "L1 regularisation is robust to outliers, estimates the median",
   "notes error: the L1 loss is robust (a), the L1 penalty (lasso) is not"},
}
course.verdict("S4-02", gap < 1e-3 and math.abs(lasso_fit.a - 2) > 0.5 and math.abs(l1_fit.a - 2) < 0.1,
  "ridge GD vs closed form max gap %s < 1e-3; notes error: lasso slope off by %s > 0.5, L1-loss slope off by %s < 0.1",
  fmt(gap), fmt(math.abs(lasso_fit.a - 2)), fmt(math.abs(l1_fit.a - 2)))

---------------------------------------------------------------------------
-- Plots.
local ends = nn.tensor{0, 10}
local function line_of(f, name, style)
  return {name = ("%s (a = %.2f)"):format(name, f.a), x = ends, y = ends * f.a + f.b, marker = "none", style = style}
end
nn.plot.lines({
  {name = "clean points", x = clean_x:reshape(-1), y = clean_y:reshape(-1), style = "none", marker = "o"},
  {name = "outliers (+20)", x = x:narrow(1, 46, 5):reshape(-1), y = y:narrow(1, 46, 5):reshape(-1),
   style = "none", marker = "x"},
  line_of(l1_fit, "L1 loss"), line_of(l2_fit, "MSE loss"), line_of(lasso_fit, "MSE + 0.1·abs(a) (lasso)", "dashed"),
}, course.plot_path(opts, "outliers.png"), {
  title = "003_2d572698e7403bd6.txt Q1.1: L1 vs L2 loss with outliers", xlabel = "x", ylabel = "y"})

local groups, series = {}, {}
for i = 1, 10 do groups[i] = "w" .. i end
for i, f in ipairs(fits) do series[i] = {name = f.name, y = f.w:totable()} end
nn.plot.bar(groups, course.plot_path(opts, "weights.png"), {series = series,
  title = "000_7ab6c8be6403b5e4.txt Q2 (ب): the weights of the four fits",
  xlabel = "weight (w1-w3 relevant, w4-w10 noise)", ylabel = "value"})

local kx, ktrain, kval = {}, {}, {}
for i, k in ipairs(KS) do kx[i], ktrain[i], kval[i] = k, K[i].train, K[i].val end
nn.plot.lines({{name = "train MSE", x = kx, y = ktrain}, {name = "validation MSE", x = kx, y = kval}},
  course.plot_path(opts, "added_features.png"), {
  title = "000_7ab6c8be6403b5e4.txt Q2 (ب): least squares with noise features",
  xlabel = "noise features added", ylabel = "MSE (" .. seeds_note .. ")", yscale = "log"})

local lx, ltrain, lval = {}, {}, {}
for i = 2, #LAMBDAS do lx[i - 1], ltrain[i - 1], lval[i - 1] = LAMBDAS[i], L[i].train, L[i].val end
local flat = {LAMBDAS[2], LAMBDAS[#LAMBDAS]}
nn.plot.lines({{name = "train MSE", x = lx, y = ltrain}, {name = "validation MSE", x = lx, y = lval},
  {name = "train, λ = 0", x = flat, y = {L[1].train, L[1].train}, style = "dotted", marker = "none"},
  {name = "validation, λ = 0", x = flat, y = {L[1].val, L[1].val}, style = "dotted", marker = "none"}},
  course.plot_path(opts, "ridge_lambda.png"), {
  title = "000_7ab6c8be6403b5e4.txt Q2 (ب): ridge with 30 noise features",
  xlabel = "λ (log)", ylabel = "MSE (" .. seeds_note .. ")", xscale = "log", yscale = "log"})
course.finish()
