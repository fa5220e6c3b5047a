-- Activations: the sigmoid's derivative and saturation, a sigmoid after a
-- ReLU, stacked linear layers, softmax, and what batch norm does
-- (003_2d572698e7403bd6.txt Q2.3, Q2.9, Q2.8, Q4.2 (د).2–3, Q1.5; COURSE.md §2.2).
--   nnlua scripts/course/activations.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{name = "activations", ids = {"S3-07", "S3-10", "S3-17", "S3-04"},
                          notes = "003_2d572698e7403bd6.txt Q2.3, Q2.9 (sigmoid), Q2.8 (sigmoid after ReLU), " ..
                                  "Q4.2 (د).2, (د).3 (linear stacks, softmax), Q1.5 (batch norm)"}
local rows = {}
local function row(...) rows[#rows + 1] = {...} end
local function maxdiff(a, b) return (a - b):abs():max():item() end

-- ---- (a) S3-07: σ′ = σ(1 − σ), flat for large |x| ----
local x = nn.linspace(-10, 10, 2001):requires_grad_(true)
local s = x:sigmoid()
s:sum():backward()
local dsig = x.grad:clone()
local sd = s:detach()
local xd = x:detach()
local gap_product = maxdiff(dsig, sd * (1 - sd))
local gap_notes = maxdiff(dsig, (-xd):exp() / (1 + (-xd):exp()):square()) -- the notes' e^{−x}/(1+e^{−x})²
local peak, peak_at = dsig:max():item(), xd[dsig:argmax():item()]
local edge = math.max(dsig[1], dsig[2001])                                  -- σ′(−10), σ′(10)
local xt = nn.linspace(-10, 10, 2001):requires_grad_(true)
xt:tanh():sum():backward()
local dtanh = xt.grad:clone()

-- Input normalisation: a 784-64-10 MLP with a sigmoid hidden layer on raw
-- pixels 0..255 and on standardised ones. Raw inputs make |z| = |w·x + b|
-- large, where σ′(z) ≈ 0: the units saturate and learn slowly.
local n_train = opts.quick and 2000 or 10000
local images, labels = course.fashion("train", n_train)
local raw = images:view(n_train, 784) * 255
local standardised = (raw - raw:mean()) / raw:std()
local function mlp()
  return nn.Sequential{nn.Linear(784, 64), nn.Sigmoid(), nn.Linear(64, 10)}
end
local function try(inputs)
  nn.manual_seed(opts.seed) -- the same initial weights and batch order for both
  local model = mlp()
  local z = nn.no_grad(function() return model[1](inputs:narrow(1, 1, 1000)) end)
  local sig = z:sigmoid()
  local saturated = (sig * (1 - sig)):lt(0.01):float():mean():item()
  local history = nn.fit(model, {train = nn.data.tensor_dataset(inputs, labels), batch_size = 64,
                                 loss = nn.CrossEntropyLoss(), optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1}),
                                 epochs = 1, verbose = 0})
  return saturated, history.loss[1]
end
local sat_raw, loss_raw = try(raw)
local sat_std, loss_std = try(standardised)

row("max |autograd σ′ − σ(1 − σ)|", gap_product, "σ′ = σ(1 − σ)", "x = linspace(−10, 10, 2001)")
row("max |autograd σ′ − e^{−x}/(1 + e^{−x})²|", gap_notes, "e^{−x}/(1 + e^{−x})²", "the notes' form")
row("max σ′ (at x)", ("%.6f (x = %g)"):format(peak, peak_at), "—", "0.25 at 0")
row("σ′(±10)", edge, "≈ 0: vanishing gradient", "< 5e-5")
row("max tanh′", dtanh:max():item(), "—", "tanh′ = 1 − tanh² ≤ 1")
row("hidden units with σ′(z) < 0.01 at init, raw 0..255", sat_raw, "flat regions", "first 1,000 images")
row("… standardised (mean 0, std 1)", sat_std, "normalise inputs", "")
row(("epoch-1 training loss, raw / standardised (%d images)"):format(n_train),
    ("%.4f / %.4f"):format(loss_raw, loss_std), "normalised learns better", "SGD lr 0.1, batch 64")

-- ---- (b) S3-10: a sigmoid after a ReLU is never below 0.5 ----
local after = nn.randn(100000):mul(5):relu():sigmoid()
local min_after = after:min():item()
local blobs = nn.data.synthetic.blobs{n_samples = 400, centers = {{-3, 0}, {3, 0}}, cluster_std = 1}
local bx, by = blobs.x, (blobs.y - 1):float():view(400, 1) -- the second blob is the positive class
local function binary(model)
  local adam = nn.optim.Adam(model:parameters(), {lr = 0.05})
  local bce = nn.BCELoss()
  for _ = 1, 300 do
    adam:zero_grad()
    bce(model(bx), by):backward()
    adam:step()
  end
  return nn.no_grad(function() return model(bx) end)
end
local pA = binary(nn.Sequential{nn.Linear(2, 1), nn.Sigmoid()})
local pB = binary(nn.Sequential{nn.Linear(2, 1), nn.ReLU(), nn.Sigmoid()})
-- The notes' rule "positive if p ≥ 0.5", by hand (binary_accuracy counts
-- p > 0.5, and B outputs exactly 0.5 wherever its ReLU is off).
local function accuracy(p) return p:ge(0.5):float():eq(by):float():mean():item() end
local positive_rate = by:mean():item()
local negatives = by:eq(0)
local function negative_bce(p) return -(1 - p):log():masked_select(negatives):mean():item() end
local accA, accB, bceA, bceB = accuracy(pA), accuracy(pB), negative_bce(pA), negative_bce(pB)
row("min sigmoid(relu(5·randn))", min_after, "never below 0.5", "σ(0) = 0.5 where the ReLU is off")
row("B = Linear → ReLU → Sigmoid: min output", pB:min():item(), "no classification is done", "")
row("accuracy with p ≥ 0.5: A / B", ("%.4f / %.4f"):format(accA, accB), "—",
    ("B = the positive rate %.4f"):format(positive_rate))
row("mean BCE on the negatives: A / B", ("%.4f / %.4f"):format(bceA, bceB), "—",
    ("B ≥ ln 2 = %.4f: never sure of a negative"):format(math.log(2)))

-- ---- (c) S3-17: stacked linear layers are one linear layer ----
local stack = nn.Sequential{nn.Linear(10, 32), nn.Linear(32, 32), nn.Linear(32, 3)}
local W1, W2, W3 = stack[1].weight, stack[2].weight, stack[3].weight
local b1, b2, b3 = stack[1].bias, stack[2].bias, stack[3].bias
local collapse_gap = nn.no_grad(function()
  local W = W3:matmul(W2):matmul(W1)                                   -- W′ = W3·W2·W1
  local b = W3:matmul(W2):matmul(b1) + W3:matmul(b2) + b3                -- b′ = W3·W2·b1 + W3·b2 + b3
  local input = nn.randn(64, 10)
  return maxdiff(stack(input), input:matmul(W:t()) + b)
end)
-- XOR: no line separates (0,0), (1,1) from (0,1), (1,0).
local xor_x = nn.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
local xor_y = nn.tensor({1, 2, 2, 1}, "int64")
local function train_xor(model)
  local adam = nn.optim.Adam(model:parameters(), {lr = 0.05})
  local ce = nn.CrossEntropyLoss()
  for _ = 1, 500 do
    adam:zero_grad()
    ce(model(xor_x), xor_y):backward()
    adam:step()
  end
  local acc = nn.no_grad(function() return model(xor_x):argmax(2):eq(xor_y):float():mean():item() end)
  return {acc = acc, model = model}
end
local linear_runs = course.seeds(opts, 3, function()
  return train_xor(nn.Sequential{nn.Linear(2, 16), nn.Linear(16, 16), nn.Linear(16, 2)})
end)
local tanh_runs = course.seeds(opts, 3, function()
  return train_xor(nn.Sequential{nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)})
end)
local linear_acc, tanh_acc, linear_max, tanh_min = {}, {}, 0, 1
for i = 1, 3 do
  linear_acc[i], tanh_acc[i] = linear_runs[i].acc, tanh_runs[i].acc
  linear_max, tanh_min = math.max(linear_max, linear_acc[i]), math.min(tanh_min, tanh_acc[i])
end
local logits = nn.randn(64, 3)
local probs = nn.softmax(logits, 2)
local row_sum_gap = (probs:sum(2) - 1):abs():max():item()
local in_open = probs:gt(0):all():item() and probs:lt(1):all():item()
local example_logits, example_probs = logits[1]:totable(), probs[1]:totable()
row("max |stack(x) − (x·W′ᵀ + b′)|", collapse_gap, "n linear layers = b′ + W′x", "W′ = W3W2W1")
row("XOR accuracy, linear 2-16-16-2 (3 seeds)", table.concat(linear_acc, ", "), "one linear classifier",
    "≤ 0.75: not separable")
row("XOR accuracy, 2-16-2 with Tanh (3 seeds)", table.concat(tanh_acc, ", "), "non-linear layers are needed", "")
row("softmax: max |row sum − 1|", row_sum_gap, "probabilities summing to 1", ("entries in (0, 1): %s"):format(
    in_open and "yes" or "no"))
row("softmax of one row", ("(%.2f, %.2f, %.2f) → (%.3f, %.3f, %.3f)"):format(example_logits[1], example_logits[2],
    example_logits[3], example_probs[1], example_probs[2], example_probs[3]), "favours larger values exponentially", "")

-- ---- (d) S3-04: batch norm re-centres and re-scales ----
local bn = nn.BatchNorm1d(16) -- train mode: the batch's own mean and variance
local normed = nn.no_grad(function() return bn(nn.randn(256, 16) * 3 + 7) end)
local feature_mean = normed:mean(1):abs():max():item()
local biased_std = ((normed - normed:mean(1)):square():mean(1):sqrt() - 1):abs():max():item()
-- 10 layers whose weights are 1.5 × He's scale: without BN the output RMS
-- grows about 1.5× per layer; BN before each ReLU resets it every layer.
local deep_input = nn.randn(512, 100)
local function depth_rms(with_bn)
  nn.manual_seed(opts.seed + 100) -- the same weights with and without BN
  local h, rms = deep_input, {}
  nn.no_grad(function()
    for layer = 1, 10 do
      local linear = nn.Linear(100, 100)
      nn.init.normal_(linear.weight, 0, 1.5 * math.sqrt(2 / 100))
      nn.init.zeros_(linear.bias)
      h = linear(h)
      if with_bn then h = nn.BatchNorm1d(100)(h) end
      h = h:relu()
      rms[layer] = h:square():mean():sqrt():item()
    end
  end)
  return rms
end
local rms_plain, rms_bn = depth_rms(false), depth_rms(true)
local bn_lo, bn_hi = math.huge, 0
for _, v in ipairs(rms_bn) do bn_lo, bn_hi = math.min(bn_lo, v), math.max(bn_hi, v) end
row("BatchNorm1d on 3·randn + 7: max |feature mean|", feature_mean, "re-centres", "< 1e-5")
row("… max |biased std − 1|", biased_std, "re-scales", "< 1e-3")
row("RMS layer 10 / layer 1 without BN", rms_plain[10] / rms_plain[1], "too large or too small",
    ("1.5⁹ = %.1f"):format(1.5 ^ 9))
row("RMS range over 10 layers with BN", ("%.3f .. %.3f"):format(bn_lo, bn_hi), "more stable",
    "ReLU of N(0, 1): √0.5 = 0.707")
course.table(rows)

-- ---- pictures ----
nn.plot.lines({
  {name = "σ(x)", x = xd, y = sd, marker = "none"},
  {name = "σ′(x) = σ(1 − σ) ≤ 0.25", x = xd, y = dsig, marker = "none"},
  {name = "tanh′(x) ≤ 1", x = xd, y = dtanh, style = "dashed", marker = "none"},
}, course.plot_path(opts, "sigmoid.png"), {title = "003_2d572698e7403bd6.txt Q2.3: the sigmoid saturates",
  xlabel = "x", ylabel = "value"})
nn.plot.hist(after, course.plot_path(opts, "sigmoid_after_relu.png"), {bins = 50,
  title = "003_2d572698e7403bd6.txt Q2.8: sigmoid(relu(5·randn)) is never below 0.5",
  xlabel = "sigmoid(relu(z))"})
local function boundary(run, file, what)
  nn.plot.decision_boundary(run.model, xor_x, xor_y, course.plot_path(opts, file), {
    title = ("003_2d572698e7403bd6.txt Q4.2 (د).2: XOR, %s, acc. %.2f"):format(what, run.acc),
    xlabel = "x1", ylabel = "x2"})
end
-- The best a linear map can do on XOR is p = 0.5 everywhere: its regions
-- are decided by rounding-sized differences, hence the speckle.
boundary(linear_runs[1], "xor_linear.png", "linear stack, p ≈ 0.5")
boundary(tanh_runs[1], "xor_tanh.png", "with Tanh")
local layers = {}
for i = 1, 10 do layers[i] = i end
nn.plot.lines({
  {name = "without BN", x = layers, y = rms_plain},
  {name = "BatchNorm1d before each ReLU", x = layers, y = rms_bn},
}, course.plot_path(opts, "bn_depth.png"), {yscale = "log",
  title = "003_2d572698e7403bd6.txt Q1.5: output RMS per layer (weights 1.5 × He)",
  xlabel = "layer", ylabel = "RMS of the layer's output"})

-- ---- verdicts ----
local s307 = gap_product < 1e-6 and gap_notes < 1e-6 and math.abs(peak - 0.25) < 1e-6 and peak_at == 0
             and edge < 5e-5 and sat_raw > 0.8 and sat_std < 0.05
local loss_ok = loss_raw > loss_std + 0.3
course.verdict("S3-07", s307 and (loss_ok or opts.quick),
  "autograd vs σ(1−σ) %.2g, vs the notes' e^{−x}/(1+e^{−x})² %.2g (< 1e-6); max σ′ %.6f at x = %g; σ′(±10) = %.3g " ..
  "< 5e-5; saturated units at init: raw %.1f%% > 80%%, standardised %.2f%% < 5%%; epoch-1 loss raw %.4f %s " ..
  "standardised %.4f + 0.3%s", gap_product, gap_notes, peak, peak_at, edge, 100 * sat_raw, 100 * sat_std, loss_raw,
  loss_ok and ">" or "<=", loss_std, opts.quick and " (not required in --quick)" or "")
course.verdict("S3-10", min_after == 0.5 and pB:min():item() >= 0.5 and accB == positive_rate
               and bceB >= math.log(2) - 1e-6 and bceA < 0.1,
  "min sigmoid(relu) = %.7g (== 0.5); B's outputs >= 0.5 (min %.7g), its p >= 0.5 accuracy %.4f = positive rate " ..
  "%.4f; BCE on negatives: B %.4f >= ln 2 − 1e-6, A %.4f < 0.1", min_after, pB:min():item(), accB, positive_rate,
  bceB, bceA)
course.verdict("S3-17", collapse_gap < 1e-5 and linear_max <= 0.75 and tanh_min == 1 and row_sum_gap < 1e-6 and in_open,
  "max |model − (xW′ᵀ + b′)| = %.2g < 1e-5; XOR linear stack %s (<= 0.75), Tanh net %s (1.0), seeds %d..%d; " ..
  "softmax rows sum to 1 ± %.2g, entries in (0, 1): %s", collapse_gap, table.concat(linear_acc, "/"),
  table.concat(tanh_acc, "/"), opts.seed, opts.seed + 2, row_sum_gap, in_open and "yes" or "no")
course.verdict("S3-04", feature_mean < 1e-5 and biased_std < 1e-3 and rms_plain[10] > 20 * rms_plain[1]
               and bn_lo >= 0.5 and bn_hi <= 1.5,
  "BN: max |mean| %.2g < 1e-5, max |biased std − 1| %.2g < 1e-3; without BN RMS layer 10 = %.3g > 20 × layer 1 " ..
  "(%.3g); with BN every layer's RMS in [%.3f, %.3f] ⊂ [0.5, 1.5]", feature_mean, biased_std, rms_plain[10],
  rms_plain[1], bn_lo, bn_hi)
course.finish()
