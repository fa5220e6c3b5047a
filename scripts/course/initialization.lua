-- Initialisation: all-zero weights do not learn (003 Q2.1), equal weights
-- do not break the symmetry between neurons (004 Q1 part 3).
--
--   nnlua scripts/course/initialization.lua [--quick] [--out DIR] [--seed S]
local course = require "common"
local opts = course.start{
  name = "initialization", ids = {"S3-05", "S4-03"},
  notes = "003_2d572698e7403bd6.txt Q2.1; 004_44a923b9da7d8773.txt Q1 part 3",
}
local fmt = course.fmt

-- Two concentric circles, standardised: no straight line separates them.
local data = nn.data.synthetic.circles{n_samples = 400, noise = 0.05, factor = 0.5}
local x = (data.x - data.x:mean(1, true)) / data.x:std(1, true)
local y = data.y

local function accuracy(model)
  return nn.no_grad(function() return model(x):argmax(2):eq(y):float():mean():item() end)
end

-- 500 full-batch Adam steps on (xs, ys) (default: all the points); the accuracy on all of them.
local function train(model, xs, ys)
  xs, ys = xs or x, ys or y
  local opt = nn.optim.Adam(model:parameters(), {lr = 0.05})
  local ce = nn.CrossEntropyLoss()
  for _ = 1, 500 do
    opt:zero_grad()
    ce(model(xs), ys):backward()
    opt:step()
  end
  return accuracy(model)
end

-- The largest |W[i] − W[1]| over the rows of W: 0 when every neuron of the
-- layer has the same incoming weights.
local function row_spread(W) return (W - W:narrow(1, 1, 1)):abs():max():item() end
local function largest(W) return W:abs():max():item() end

---------------------------------------------------------------------------
-- (a) S3-05: 2-16-16-2 with every weight and bias 0.
local function zero_net(act)
  local net = nn.Sequential{nn.Linear(2, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 2)}
  for _, p in ipairs(net:parameters()) do nn.init.zeros_(p) end
  return net
end
local zero = {}
for _, a in ipairs{{"Tanh", nn.Tanh}, {"ReLU", nn.ReLU}} do
  local net = zero_net(a[2])
  local acc = train(net)
  -- tanh(0) = relu(0) = 0: every hidden value is 0, so every weight's
  -- gradient (input × back-propagated error) is 0 and only the output bias can move.
  zero[a[1]] = {net = net, acc = acc, max_w = math.max(largest(net[1].weight), largest(net[3].weight),
                                                       largest(net[5].weight)),
                out_bias = largest(net[5].bias)}
end
local zt, zr = zero.Tanh, zero.ReLU
-- Sigmoid: σ(0) = 0.5 ≠ 0, so on an unbalanced batch (the first 250 points)
-- the output layer gets a gradient, then the hidden layers do, all units alike.
local sig_net = zero_net(nn.Sigmoid)
local sig_counts = nn.bincount(y:narrow(1, 1, 250), {minlength = 2}):totable()
local zs = {acc = train(sig_net, x:narrow(1, 1, 250), y:narrow(1, 1, 250)),
            w1 = largest(sig_net[1].weight), w3 = largest(sig_net[5].weight), spread = row_spread(sig_net[1].weight)}
course.table{
  {"(a) zero init, Tanh: largest weight after 500 steps / accuracy", ("%s / %s"):format(fmt(zt.max_w), fmt(zt.acc)),
   "derivatives are zero, the parameters stay frozen, no learning",
   "output bias " .. fmt(zt.out_bias) .. ": balanced classes, its gradient is 0 too"},
  {"(a) zero init, ReLU: largest weight / accuracy", ("%s / %s"):format(fmt(zr.max_w), fmt(zr.acc)),
   "derivatives are zero, no learning", "ReLU′(0) = 0 as in PyTorch"},
  {("(a) zero init, Sigmoid, unbalanced batch (%d/%d): largest W1 / W3, W1 row spread, accuracy")
     :format(sig_counts[1], sig_counts[2]),
   ("%s / %s, %s, %s"):format(fmt(zs.w1), fmt(zs.w3), fmt(zs.spread), fmt(zs.acc)), "—",
   "σ(0) = 0.5: the output layer learns, then the hidden units move, all alike (the equal-weights case)"},
}
local function frozen(z) return z.max_w == 0 and z.acc <= 0.51 end
course.verdict("S3-05", frozen(zt) and frozen(zr),
  "Tanh: largest weight %s (exactly 0), accuracy %s <= 0.51; ReLU: largest weight %s, accuracy %s <= 0.51",
  fmt(zt.max_w), fmt(zt.acc), fmt(zr.max_w), fmt(zr.acc))

---------------------------------------------------------------------------
-- (b) S4-03: 2-16-2 Tanh with every weight 0.3 against random weights.
local function small_net() return nn.Sequential{nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)} end
local constant = small_net()
for _, layer in ipairs{constant[1], constant[3]} do
  nn.init.constant_(layer.weight, 0.3)
  nn.init.zeros_(layer.bias)
end
local const_acc = train(constant)
-- Equal incoming weights give equal outputs and equal gradients, so the
-- 16 hidden units stay copies of one: "as if the layer had one neuron".
local const_spread = row_spread(constant[1].weight)

local randoms = course.seeds(opts, 3, function(seed)
  local net = small_net()                        -- PyTorch's default (random) weights
  nn.init.zeros_(net[1].bias)
  nn.init.zeros_(net[3].bias)
  return {seed = seed, net = net, acc = train(net), spread = row_spread(net[1].weight)}
end)
local rows = {
  {"(b) constant 0.3: W1 row spread / accuracy", ("%s / %s"):format(fmt(const_spread), fmt(const_acc)),
   "every neuron computes the same: as if the layer had one neuron", "one tanh unit: a straight boundary"},
}
local random_ok, facts = true, {}
for _, r in ipairs(randoms) do
  rows[#rows + 1] = {("(b) random init, seed %d: W1 row spread / accuracy"):format(r.seed),
                     ("%s / %s"):format(fmt(r.spread), fmt(r.acc)),
                     "random weights (zero biases) break the symmetry", ""}
  random_ok = random_ok and r.acc >= 0.95 and r.spread > 1e-2
  facts[#facts + 1] = ("seed %d accuracy %s, spread %s"):format(r.seed, fmt(r.acc), fmt(r.spread))
end
course.table(rows)
course.verdict("S4-03", const_spread < 1e-5 and const_acc <= 0.7 and random_ok,
  "constant: row spread %s < 1e-5, accuracy %s <= 0.7; random (>= 0.95, spread > 1e-2): %s",
  fmt(const_spread), fmt(const_acc), table.concat(facts, "; "))

---------------------------------------------------------------------------
-- Plots.
local function boundary(net, file, title)
  nn.plot.decision_boundary(function(g) return net(g) end, x, y, course.plot_path(opts, file), {
    title = title, xlabel = "x1 (standardised)", ylabel = "x2 (standardised)", class_names = {"outer", "inner"}})
end
boundary(zt.net, "boundary_zero.png", ("003_2d572698e7403bd6.txt Q2.1: all-zero init, Tanh (accuracy %.2f)")
  :format(zt.acc))
boundary(constant, "boundary_constant.png", ("004_44a923b9da7d8773.txt Q1 part 3: every weight 0.3 (accuracy %.2f)")
  :format(const_acc))
boundary(randoms[1].net, "boundary_random.png", ("004_44a923b9da7d8773.txt Q1 part 3: random init (accuracy %.2f)")
  :format(randoms[1].acc))
-- W1 is [16, 2]: one row per hidden unit; its transpose shows the 16 units side by side.
local units = {}
for i = 1, 16 do units[i] = tostring(i) end
nn.plot.heatmap(nn.cat({constant[1].weight:detach():t(), randoms[1].net[1].weight:detach():t()}, 1),
  course.plot_path(opts, "hidden_weights.png"), {
  title = "004_44a923b9da7d8773.txt Q1 part 3: trained W1, constant vs random",
  row_labels = {"constant, x1", "constant, x2", "random, x1", "random, x2"}, col_labels = units,
  xlabel = "hidden unit", ylabel = "init, input", annotate = false})
course.finish()
