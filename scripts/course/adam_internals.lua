-- Adam's insides: the notes' hand computation on a 2-2-1 ReLU net, what β1
-- does to the spread of the update, and why Adam corrects the bias of its
-- moving averages (001_c410dd08620b7ee0.txt Q2; 003_2d572698e7403bd6.txt
-- Q6.3 (آ), (ب); COURSE.md §2.5).
--   nnlua scripts/course/adam_internals.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{name = "adam_internals", ids = {"S1-01", "S3-21", "S3-22"},
                          notes = "001_c410dd08620b7ee0.txt Q2; 003_2d572698e7403bd6.txt Q6.3 (آ), (ب)"}

local lr, beta1, beta2, eps, alpha = 0.1, 0.9, 0.999, 1e-8, 0.01

-- ---- (a) S1-01: the notes' network, by nn.optim.Adam and by the textbook ----
-- h1 = ReLU(i1·w1 + i2·w2), h2 = ReLU(i1·w3 + i2·w4), Ŷ = ReLU(h1·w5 + h2·w6).
-- The notes give no data: (1, 2) → 10 and (2, 1) → 12.
local X, Y = nn.tensor{{1, 2}, {2, 1}}, nn.tensor{{10}, {12}}
local function network()
  local net = nn.Sequential{nn.Linear(2, 2, {bias = false}), nn.ReLU(), nn.Linear(2, 1, {bias = false}), nn.ReLU()}
  nn.no_grad(function()
    net[1].weight:copy_(nn.tensor{{0.1, 0.2}, {0.3, 0.4}}) -- rows: (w1, w2), (w3, w4)
    net[3].weight:copy_(nn.tensor{{0.5, 0.6}})            -- (w5, w6)
  end)
  return net
end
local function weights(net)
  local a, b = net[1].weight:totable(), net[3].weight:totable()
  return {a[1][1], a[1][2], a[2][1], a[2][2], b[1][1], b[1][2]}
end
local mse = nn.MSELoss()

-- The notes add α·w to every gradient "because ½·α·w² is added to the
-- cost": that is Adam's weight_decay (L2 added to the gradient, as PyTorch).
local library = network()
local adam = nn.optim.Adam(library:parameters(), {lr = lr, betas = {beta1, beta2}, eps = eps, weight_decay = alpha})

-- The textbook, one weight at a time: m, v, bias correction by 1 − β^t.
local textbook = network()
local m, v = {0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}
local function textbook_step(t)
  textbook:zero_grad()
  mse(textbook(X), Y):backward()
  local ga, gb = textbook[1].weight.grad:totable(), textbook[3].weight.grad:totable()
  local g, w = {ga[1][1], ga[1][2], ga[2][1], ga[2][2], gb[1][1], gb[1][2]}, weights(textbook)
  local new = {}
  for i = 1, 6 do
    local gi = g[i] + alpha * w[i]                       -- dLoss/dw + α·w
    m[i] = beta1 * m[i] + (1 - beta1) * gi              -- first moment
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi         -- second moment
    local m_hat, v_hat = m[i] / (1 - beta1 ^ t), v[i] / (1 - beta2 ^ t)
    new[i] = w[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
  end
  nn.no_grad(function()
    textbook[1].weight:copy_(nn.tensor{{new[1], new[2]}, {new[3], new[4]}})
    textbook[3].weight:copy_(nn.tensor{{new[5], new[6]}})
  end)
  return g
end

local notes_mse = {104.0576, 45.6462, 10.5479}
local notes_w = {[1] = "≈ 0.2, 0.3, 0.4, 0.5, 0.6, 0.7", [2] = "0.2983, 0.3980, 0.4985, 0.5979, 0.7, 0.8"}
local rows, max_gap, step1_moves, first_grad = {}, 0, nil, nil
local w0 = weights(library)
for t = 1, 3 do
  local loss = mse(library(X), Y)
  rows[#rows + 1] = {("MSE before step %d"):format(t), ("%.4f"):format(loss:item()), ("%.4f"):format(notes_mse[t]),
                     t == 1 and "inputs and labels are ours: the notes give none" or ""}
  adam:zero_grad()
  loss:backward()
  adam:step()
  local g = textbook_step(t)
  first_grad = first_grad or g
  local wl, wt = weights(library), weights(textbook)
  local shown = {}
  for i = 1, 6 do
    max_gap = math.max(max_gap, math.abs(wl[i] - wt[i]))
    shown[i] = ("%.4f"):format(wl[i])
  end
  if t == 1 then
    step1_moves = 0
    for i = 1, 6 do step1_moves = math.max(step1_moves, math.abs(wl[i] - w0[i] - 0.1)) end
  end
  rows[#rows + 1] = {("w1..w6 after step %d"):format(t), table.concat(shown, ", "), notes_w[t] or "—",
                     ("textbook Adam: max |diff| %.2g"):format(max_gap)}
end

-- The notes' update as written: m/(1 − β1²), v/(1 − β2²), w ← w − m̂/√v̂ (no
-- lr, no ε). At step 1 m = (1−β1)g, v = (1−β2)g², so every weight moves by
-- (1−β1)/(1−β1²) / √((1−β2)/(1−β2²)) whatever g is; with the exponent t = 1
-- the move is m̂/√v̂ = 1 exactly; with lr (the textbook) it is lr = 0.1.
local literal_step = ((1 - beta1) / (1 - beta1 ^ 2)) / math.sqrt((1 - beta2) / (1 - beta2 ^ 2))
local no_lr_step = 0
for i = 1, 6 do
  local gi = first_grad[i] + alpha * w0[i]
  local m_hat, v_hat = (1 - beta1) * gi / (1 - beta1), (1 - beta2) * gi * gi / (1 - beta2)
  no_lr_step = math.max(no_lr_step, math.abs(m_hat / math.sqrt(v_hat)))
end
rows[#rows + 1] = {"first step, the notes' formula as written (1 − β², no lr)", literal_step, 0.1,
                   "notes error: exponent must be t, and lr·m̂/(√v̂ + ε)"}
rows[#rows + 1] = {"first step, exponent t but no lr", no_lr_step, 0.1, "notes error: the lr is missing"}

-- ---- (b) S3-21: β1 and the spread of u = m̂/(√ŝ + ε) ----
-- Gradients g ~ N(1, 2²) on independent coordinates, 200 steps. A smaller β1
-- averages fewer gradients into m, so u follows the noisy current one more.
local coords = opts.quick and 5000 or 20000
local function final_u(b1)
  nn.manual_seed(opts.seed) -- the same gradients for both β1
  local mt, st = nn.zeros(coords), nn.zeros(coords)
  for _ = 1, 200 do
    local g = nn.randn(coords) * 2 + 1
    mt = mt * b1 + g * (1 - b1)
    st = st * beta2 + g:square() * (1 - beta2)
  end
  return (mt / (1 - b1 ^ 200)) / ((st / (1 - beta2 ^ 200)):sqrt() + eps)
end
local u9, u5 = final_u(0.9), final_u(0.5)
local std9, std5 = u9:std():item(), u5:std():item()
local mean9, mean5 = u9:mean():item(), u5:mean():item()
local lo = math.min(u9:min():item(), u5:min():item())
local hi = math.max(u9:max():item(), u5:max():item())
local peak9, peak5 = u9:histc(50, lo, hi):max():item(), u5:histc(50, lo, hi):max():item()
-- Theory: m_t's variance is (1−β1)/(1+β1)·Var g, so the ratio of spreads is
-- √((0.5/1.5) / (0.1/1.9)) ≈ 2.5.
local theory_ratio = math.sqrt((0.5 / 1.5) / (0.1 / 1.9))
for _, r in ipairs{
  {"std u, β1 = 0.9", std9, "—", ("%d coordinates, t = 200"):format(coords)},
  {"std u, β1 = 0.5", std5, "varies more", ("ratio %.3f (theory %.2f)"):format(std5 / std9, theory_ratio)},
  {"highest histogram count, β1 = 0.9 / 0.5", ("%d / %d"):format(peak9, peak5), "peak lower and wider", "50 bins"},
  {"mean u, β1 = 0.9 / 0.5", ("%.4f / %.4f"):format(mean9, mean5), "—", "E[g]/√E[g²] = 1/√5 = 0.447"},
} do rows[#rows + 1] = r end

-- ---- (c) S3-22: the bias of the moving average S_t ----
-- S_t = β·S_{t−1} + (1−β)·g_t² = (1−β)·Σ β^{t−i} g_i², so E[S_t] = (1 − β^t)·E[g²]:
-- near 0 for small t. The notes conclude (1 − β)·E[g²], dropping the sum.
local beta = 0.999
local S, const_gap = 0, 0
for t = 1, 10 do
  S = beta * S + (1 - beta) * 4                          -- constant g² = 4
  const_gap = math.max(const_gap, math.abs(S / 4 - (1 - beta ^ t)))
end
nn.manual_seed(opts.seed)
local St, curve_t, curve_measured, mc, mc_gap = nn.zeros(100000), {}, {}, {}, 0
for t = 1, 1000 do
  St = St * beta + (nn.randn(100000) * 2 + 1):square() * (1 - beta) -- E[g²] = 1 + 2² = 5
  local ratio = St:mean():item() / 5
  curve_t[t], curve_measured[t] = t, ratio
  if t == 1 or t == 10 or t == 100 or t == 1000 then
    mc[#mc + 1] = {t = t, ratio = ratio}
    mc_gap = math.max(mc_gap, math.abs(ratio / (1 - beta ^ t) - 1))
  end
end
local notes_differ = true -- (1 − β) against the measured value, t ≥ 2
for t = 2, 1000 do notes_differ = notes_differ and math.abs(curve_measured[t] - (1 - beta)) > 1e-4 end
rows[#rows + 1] = {"max |S_t/g² − (1 − β^t)|, g² = 4, t = 1..10", const_gap, "—", "exact recursion"}
for _, r in ipairs(mc) do
  rows[#rows + 1] = {("mean S_t/E[g²] at t = %d"):format(r.t), r.ratio, 1 - beta,
                     r.t == 1 and "1 − β^t = 1 − β at t = 1 only"
                     or ("notes error: correct 1 − β^t = %.4g"):format(1 - beta ^ r.t)}
end

-- Bias correction: Adam's first step for one weight with gradient 1.
local w = nn.zeros(1):requires_grad_(true)
local one = nn.optim.Adam({w}, {lr = 1e-3})
w:sum():backward()
one:step()
local first_step = -w:detach():item()
local uncorrected = (1 - beta1) / math.sqrt(1 - beta2) -- m/√v at t = 1, in units of lr
rows[#rows + 1] = {"Adam's first step / lr (gradient 1)", first_step / 1e-3, "—", "bias corrected: m̂/√v̂ = 1"}
rows[#rows + 1] = {"uncorrected first step / lr", uncorrected, "—", "(1−β1)/√(1−β2)"}
course.table(rows)

-- ---- pictures ----
nn.plot.hist({{name = "β1 = 0.9", values = u9}, {name = "β1 = 0.5", values = u5}},
  course.plot_path(opts, "adam_u_hist.png"), {bins = 50,
  title = "003_2d572698e7403bd6.txt Q6.3 (آ): Adam's u = m̂/(√ŝ + ε) at t = 200",
  xlabel = "u (gradients N(1, 2²), β2 = 0.999)"})
local bias_curve, notes_curve = {}, {}
for t = 1, 1000 do bias_curve[t], notes_curve[t] = 1 - beta ^ t, 1 - beta end
nn.plot.lines({
  {name = "measured mean S_t / E[g²]", x = curve_t, y = curve_measured, marker = "none"},
  {name = "1 − β^t", x = curve_t, y = bias_curve, style = "dashed", marker = "none"},
  {name = "the notes' 1 − β", x = curve_t, y = notes_curve, style = "dotted", marker = "none"},
}, course.plot_path(opts, "ema_bias.png"), {xscale = "log",
  title = "003_2d572698e7403bd6.txt Q6.3 (ب): the moving average's bias (β = 0.999)",
  xlabel = "step t", ylabel = "S_t / E[g²]"})

-- ---- verdicts ----
course.verdict("S1-01", max_gap < 1e-6 and step1_moves < 1e-6 and math.abs(no_lr_step - 1) < 1e-6
               and math.abs(literal_step - 0.1) > 0.5,
  "nn.optim.Adam = textbook Adam for 3 steps (max |diff| %.2g < 1e-6); step 1 moves every weight by +0.1 " ..
  "(max error %.2g < 1e-6), as the notes' numbers; notes error: their formula as written moves by %.3f " ..
  "(1 − β², no lr) and by %.6f with exponent t but no lr, not 0.1", max_gap, step1_moves, literal_step, no_lr_step)
course.verdict("S3-21", std5 > 2 * std9 and peak5 < peak9 and math.abs(mean9 - mean5) < 0.02,
  "std u: β1=0.5 %.4f > 2 × β1=0.9 %.4f (ratio %.2f, theory %.2f); highest of 50 bins %d < %d; means %.4f " ..
  "and %.4f differ by %.4f < 0.02", std5, std9, std5 / std9, theory_ratio, peak5, peak9, mean5, mean9,
  math.abs(mean9 - mean5))
course.verdict("S3-22", const_gap < 1e-6 and mc_gap < 0.02 and notes_differ and math.abs(first_step / 1e-3 - 1) < 1e-3
               and math.abs(uncorrected - 3.16) < 0.01,
  "|S_t/g² − (1 − β^t)| <= %.2g < 1e-6 for t = 1..10; Monte Carlo means within %.2f%% of 1 − β^t (< 2%%) at t = " ..
  "1, 10, 100, 1000 (%.4g, %.4g, %.4g, %.4g); notes error: (1 − β) = 0.001 differs from the measured value " ..
  "at every t >= 2: %s; Adam's first step %.7g = lr ± 1e-6, uncorrected %.3f·lr (3.16 ± 0.01)",
  const_gap, 100 * mc_gap, mc[1].ratio, mc[2].ratio, mc[3].ratio, mc[4].ratio, notes_differ and "yes" or "no",
  first_step, uncorrected)
course.finish()
