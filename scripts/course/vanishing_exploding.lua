-- Vanishing and exploding gradients: Xavier's statistics, a deep sigmoid
-- net against ReLU/Kaiming, an exploding ReLU net tamed by clipping, and
-- the cliff of a recurrent net with two parameters.
--
--   nnlua scripts/course/vanishing_exploding.lua [--quick] [--out DIR] [--seed S]
local course = require "common"
local opts = course.start{
  name = "vanishing_exploding", ids = {"S3-13", "S4-01"},
  notes = "003_2d572698e7403bd6.txt Q4.1; 004_44a923b9da7d8773.txt Q1 parts 1 and 3",
}
local fmt = course.fmt

-- The norm of the gradients of params together: sqrt(Σ ‖g‖²).
local function grad_norm(params)
  local s = 0
  for _, p in ipairs(params) do s = s + p.grad:norm():item() ^ 2 end
  return math.sqrt(s)
end
local function finite(v) return v == v and math.abs(v) ~= math.huge end

---------------------------------------------------------------------------
-- (a) Xavier/Glorot on a [256, 512] weight: fan_avg = (256 + 512) / 2.
local FAN_AVG = (256 + 512) / 2
local var_target, r = 1 / FAN_AVG, math.sqrt(3 / FAN_AVG)
local var_normal = nn.init.xavier_normal_(nn.empty(256, 512)):var():item()
local max_uniform = nn.init.xavier_uniform_(nn.empty(256, 512)):abs():max():item()

-- The notes blame the outputs' range; the derivatives' maxima are what multiply.
local z = nn.linspace(-8, 8, 1601):requires_grad_(true)
z:sigmoid():sum():backward()
local sigmoid_max = z.grad:max():item()
z.grad = nil
local tz = z:tanh()
tz:sum():backward()
local tanh_max = z.grad:max():item()
local tanh_lo, tanh_hi = tz:min():item(), tz:max():item()

---------------------------------------------------------------------------
-- (b) Vanishing: 784 → 10 hidden layers of 64 → 10, one backward pass.
local images, labels = course.fashion("train", 256, true)
local n_b = opts.quick and 64 or 256
local xb, yb = images:narrow(1, 1, n_b), labels:narrow(1, 1, n_b)

local function deep_mlp(act, hidden, width, weight_init)
  local layers, fan = {nn.Flatten()}, 784
  for _ = 1, hidden do
    local lin = nn.Linear(fan, width)
    if weight_init then weight_init(lin.weight) end
    layers[#layers + 1] = lin
    layers[#layers + 1] = act()
    fan = width
  end
  layers[#layers + 1] = nn.Linear(fan, 10)
  return nn.Sequential(layers)
end
local VARIANTS = {
  {name = "Sigmoid (default init)", act = nn.Sigmoid},
  {name = "Tanh (default init)", act = nn.Tanh},
  {name = "Sigmoid + xavier_normal_", act = nn.Sigmoid, init = function(w) nn.init.xavier_normal_(w) end},
  {name = "ReLU + kaiming_normal_", act = nn.ReLU, init = function(w) nn.init.kaiming_normal_(w, 0, "fan_in", "relu") end},
  {name = "LeakyReLU(0.01) + kaiming_normal_", act = function() return nn.LeakyReLU(0.01) end,
   init = function(w) nn.init.kaiming_normal_(w, 0.01, "fan_in", "leaky_relu") end},
}
local ratio, norms = {}, {}
for i, v in ipairs(VARIANTS) do
  local net = deep_mlp(v.act, 10, 64, v.init)
  nn.CrossEntropyLoss()(net(xb), yb):backward()
  -- Back-propagation multiplies by f′ and W at every layer: with
  -- sigmoid′ <= 0.25 the first layers get almost nothing.
  norms[i] = {}
  for layer = 1, 10 do norms[i][layer] = net[2 * layer].weight.grad:norm():item() end
  ratio[v.name] = norms[i][1] / norms[i][10]
end

local rows = {
  {"(a) xavier_normal_ variance, [256,512]", var_normal, "1/fan_avg = " .. fmt(var_target), "normal(0, 1/fan_avg)"},
  {"(a) xavier_uniform_ max abs(w)", max_uniform, "r = sqrt(3/fan_avg) = " .. fmt(r), "uniform on [-r, r]"},
  {"max sigmoid′ / max tanh′", ("%s / %s"):format(fmt(sigmoid_max), fmt(tanh_max)),
   "004 Q1: \"Tanh or Tanh\" outputs lie in (0, 1): a factor of about 1e-4 per layer",
   "notes error: the derivative matters: sigmoid′ <= 0.25, tanh′ <= 1"},
  {"tanh's outputs on [-8, 8]", ("%s .. %s"):format(fmt(tanh_lo), fmt(tanh_hi)), "between zero and one",
   "notes error: tanh outputs lie in (-1, 1)"},
}
local said = {"sigmoid′ <= 0.25: the products vanish, worse the deeper", "—",
              "Xavier init is a fix", "ReLU / Leaky ReLU are the fixes", "ReLU / Leaky ReLU are the fixes"}
for i, v in ipairs(VARIANTS) do
  rows[#rows + 1] = {("(b) ‖∇W1‖ / ‖∇W10‖, %s"):format(v.name), ratio[v.name], said[i],
                     (i == 3 and "Xavier alone does not cure sigmoid's vanishing; " or "") .. ("%d images"):format(n_b)}
end
course.table(rows)

---------------------------------------------------------------------------
-- (c) Exploding: 20 ReLU layers of 64 with Kaiming weights × 1.5.
local boom = deep_mlp(nn.ReLU, 20, 64, function(w)
  nn.init.kaiming_normal_(w, 0, "fan_in", "relu")
  nn.no_grad(function() w:mul_(1.5) end)     -- each layer now amplifies by 1.5: 1.5^21 ≈ 5000
end)
for _, m in ipairs(boom:modules()) do
  if m.bias then nn.init.zeros_(m.bias) end
end
local start = {}
for k, t in pairs(boom:state_dict()) do start[k] = t:clone() end
local params, ce = boom:parameters(), nn.CrossEntropyLoss()

-- 100 SGD steps (lr 0.1) on the 256 images from the same start; clip is
-- called on the gradients before each step. Returns the losses.
local function run(steps, clip)
  boom:load_state_dict(start)
  local opt, losses = nn.optim.SGD(params, {lr = 0.1}), {}
  for step = 1, steps do
    opt:zero_grad()
    local loss = ce(boom(images), labels)
    losses[step] = loss:item()
    loss:backward()
    if clip then clip(step) end
    opt:step()
  end
  return losses
end
local unclipped = run(100)
local first_bad = 101
for s = 100, 1, -1 do if not finite(unclipped[s]) then first_bad = s end end

local pre_norm, post_norm
-- Clipping by norm: if ‖g‖ > 1 every gradient is scaled by 1/‖g‖, the direction kept.
local clipped = run(100, function(step)
  local before = nn.clip_grad_norm_(params, 1.0)
  if step == 1 then pre_norm, post_norm = before, grad_norm(params) end
end)
local all_finite = true
for _, l in ipairs(clipped) do all_finite = all_finite and finite(l) end

-- Clipping by value: every entry of the first gradient clamped to [-0.5, 0.5].
local value_max, value_before
run(1, function()
  value_before = 0
  for _, p in ipairs(params) do value_before = math.max(value_before, p.grad:abs():max():item()) end
  nn.clip_grad_value_(params, 0.5)
  value_max = 0
  for _, p in ipairs(params) do value_max = math.max(value_max, p.grad:abs():max():item()) end
end)

-- Anomaly detection names the op whose backward first made a NaN or Inf.
nn.detect_anomaly(true)
local ok, err = pcall(run, 5)
nn.detect_anomaly(false)
local anomaly_op = not ok and tostring(err):match("backward of '([^']+)'")

---------------------------------------------------------------------------
-- (d) The cliff: h_t = tanh(w·h_{t-1} + b), 40 steps, loss (h_40 + 0.5)².
local function cliff_loss(w, b)
  local h = 0.5
  for _ = 1, 40 do h = (w * h + b):tanh() end
  return (h + 0.5) ^ 2
end
local STARTS = {{1.8, 0.2}, {1.7, 0.2}, {1.9, 0.2}, {1.8, 0.25}, {2.0, 0.2}}
local function descend(w0, b0, clip)
  local w, b = nn.tensor{w0}:requires_grad_(true), nn.tensor{b0}:requires_grad_(true)
  local opt = nn.optim.SGD({w, b}, {lr = 0.1})
  local path, biggest = {x = {w0}, y = {b0}}, 0
  for step = 1, 200 do
    opt:zero_grad()
    cliff_loss(w, b):sum():backward()
    -- near the cliff the gradient is about 100: a step of 10 without
    -- clipping, of at most lr · 1 = 0.1 with it.
    if clip then nn.clip_grad_norm_({w, b}, 1.0) end
    opt:step()
    path.x[step + 1], path.y[step + 1] = w:item(), b:item()
    biggest = math.max(biggest, math.sqrt((path.x[step + 1] - path.x[step]) ^ 2 + (path.y[step + 1] - path.y[step]) ^ 2))
  end
  local final = nn.no_grad(function() return cliff_loss(w, b):item() end)
  return {path = path, biggest = biggest, final = final}
end
local cliff = {}
local big_unclipped, big_clipped, clipped_all_low, some_unclipped_high = 0, 0, true, false
for i, s in ipairs(STARTS) do
  local u, c = descend(s[1], s[2], false), descend(s[1], s[2], true)
  cliff[i] = {u = u, c = c}
  big_unclipped, big_clipped = math.max(big_unclipped, u.biggest), math.max(big_clipped, c.biggest)
  clipped_all_low = clipped_all_low and c.final < 0.01
  some_unclipped_high = some_unclipped_high or u.final > 0.2
end

rows = {
  {"(c) ×1.5 net: initial loss / first non-finite step", ("%s / %s"):format(fmt(unclipped[1]),
     first_bad <= 100 and first_bad or "none"), "large errors with ReLU explode, weights become NaN", ""},
  {"(c) nn.detect_anomaly names", anomaly_op or "nothing", "—", "the first op whose backward made NaN or Inf"},
  {"(c) clip_grad_value_(0.5): largest entry before / after", ("%s / %s"):format(fmt(value_before), fmt(value_max)),
   "by value: every entry bounded", ""},
  {"(c) clip_grad_norm_(1): norm before / after (step 1)", ("%s / %s"):format(fmt(pre_norm), fmt(post_norm)),
   "by norm: the gradient rescaled to the threshold", "direction kept"},
  {"(c) clipped: loss at step 1 / step 100", ("%s / %s"):format(fmt(clipped[1]), fmt(clipped[100])), "—",
   all_finite and "all 100 finite" or "some non-finite"},
}
for i, s in ipairs(STARTS) do
  rows[#rows + 1] = {("(d) from (w, b) = (%s, %s): final loss unclipped / clipped"):format(fmt(s[1]), fmt(s[2])),
                     ("%s / %s"):format(fmt(cliff[i].u.final), fmt(cliff[i].c.final)),
                     i == 1 and "without clipping a huge gradient from the cliff overshoots; with it the step is bounded"
                       or "—",
                     ("largest step %s / %s"):format(fmt(cliff[i].u.biggest), fmt(cliff[i].c.biggest))}
end
course.table(rows)

local sig, sigx = ratio["Sigmoid (default init)"], ratio["Sigmoid + xavier_normal_"]
local relu, leaky = ratio["ReLU + kaiming_normal_"], ratio["LeakyReLU(0.01) + kaiming_normal_"]
course.verdict("S3-13",
  math.abs(var_normal / var_target - 1) < 0.03 and max_uniform <= r and max_uniform > 0.99 * r
  and sig < 1e-3 and sigx < 1e-3 and relu > 0.1 and leaky > 0.1 and first_bad <= 5 and anomaly_op ~= nil,
  "xavier_normal_ variance %s vs %s (within 3%%); xavier_uniform_ max %s in (0.99r, r = %s]; ‖∇W1‖/‖∇W10‖: " ..
  "Sigmoid %s < 1e-3, Sigmoid+Xavier %s < 1e-3, ReLU+Kaiming %s > 0.1, LeakyReLU+Kaiming %s > 0.1; " ..
  "×1.5 net non-finite at step %s <= 5; detect_anomaly names '%s'; notes error: max sigmoid′ %s, max tanh′ %s",
  fmt(var_normal), fmt(var_target), fmt(max_uniform), fmt(r), fmt(sig), fmt(sigx), fmt(relu), fmt(leaky),
  first_bad <= 100 and first_bad or "never", anomaly_op or "nothing", fmt(sigmoid_max), fmt(tanh_max))
course.verdict("S4-01",
  value_max <= 0.5 and pre_norm > 1e4 and math.abs(post_norm - 1) < 1e-3 and all_finite
  and clipped[100] < clipped[1] / 100 and big_unclipped > 5 and big_unclipped >= 20 * big_clipped
  and big_clipped <= 0.1 + 1e-6 and clipped_all_low and some_unclipped_high,
  "clip_grad_value_: max entry %s <= 0.5; clip_grad_norm_: %s > 1e4 before, %s after; clipped losses finite: %s, " ..
  "last %s < first/100 = %s; cliff: largest step unclipped %s > 5 and >= 20 × clipped %s (<= 0.1); " ..
  "every clipped run ends < 0.01: %s; an unclipped run ends > 0.2: %s",
  fmt(value_max), fmt(pre_norm), fmt(post_norm), tostring(all_finite), fmt(clipped[100]), fmt(clipped[1] / 100),
  fmt(big_unclipped), fmt(big_clipped), tostring(clipped_all_low), tostring(some_unclipped_high))

---------------------------------------------------------------------------
-- Plots.
local series = {}
for i, v in ipairs(VARIANTS) do series[i] = {name = v.name, x = nn.arange(1, 11), y = norms[i]} end
nn.plot.lines(series, course.plot_path(opts, "grad_norms.png"), {
  title = "003_2d572698e7403bd6.txt Q4.1: gradient norm per layer, 10 hidden layers",
  xlabel = "hidden layer (1 = next to the input)", ylabel = "‖∇W‖ (log)", yscale = "log"})
nn.plot.lines({{name = "clip_grad_norm_(1)", y = clipped, marker = "none"},
               {name = ("no clipping (non-finite from step %d)"):format(first_bad), y = unclipped, marker = "x",
                style = "dashed"}},
  course.plot_path(opts, "clipped_loss.png"), {
  title = "004_44a923b9da7d8773.txt Q1 part 1: 20 ReLU layers, Kaiming × 1.5",
  xlabel = "SGD step", ylabel = "training loss (log)", yscale = "log"})
nn.plot.contour(function(W, B)
  local h = nn.full(W.shape, 0.5)
  for _ = 1, 40 do h = (W * h + B):tanh() end
  return (h + 0.5) ^ 2
end, course.plot_path(opts, "cliff.png"), {
  x = {-0.5, 6}, y = {-1, 10}, n = 200,
  paths = {{name = "no clipping", x = cliff[1].u.path.x, y = cliff[1].u.path.y},
           {name = "clipped to norm 1", x = cliff[1].c.path.x, y = cliff[1].c.path.y}},
  title = "004_44a923b9da7d8773.txt Q1 part 3: the cliff, from (w, b) = (1.8, 0.2)",
  xlabel = "w", ylabel = "b"})
course.finish()
