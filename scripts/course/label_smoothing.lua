-- Label smoothing against wrong labels (002_6afe73c36a0a240a.txt,
-- regularisation: "adding noise to the desired output").
-- (a) The notes' targets (1 - eps for the label, eps/(k-1) for the others)
--     are PyTorch's label_smoothing = eps*k/(k-1); checked on random logits.
-- (b) An MLP trained on Fashion-MNIST with 20% wrong labels, eps = 0 vs 0.1:
--     test accuracy, confidence and calibration on the clean test set.
local course = require "common"
local opts = course.start{
  name = "label_smoothing", ids = {"S2-01"},
  notes = "002_6afe73c36a0a240a.txt regularisation: noise on the desired output (label smoothing)",
}

local k, eps = 10, 0.1

-- (a) The notes' soft targets in the standard cross-entropy, built by hand.
local logits, labels = nn.randn(64, k) * 3, nn.randint(1, k + 1, {64})
local onehot = labels:view(-1, 1):eq(nn.arange(1, k + 1)):float()
local soft = onehot * (1 - eps) + (1 - onehot) * (eps / (k - 1))
local by_hand = -(soft * nn.log_softmax(logits, 2)):sum(2):mean():item()
-- PyTorch spreads eps' over all k classes ((1 - eps')*one-hot + eps'/k),
-- the label included: eps' = eps*k/(k-1) gives the notes' targets.
local matched = nn.CrossEntropyLoss{label_smoothing = eps * k / (k - 1)}(logits, labels):item()
local naive = nn.CrossEntropyLoss{label_smoothing = eps}(logits, labels):item()
local same = math.abs(by_hand - matched) <= 1e-6
local differs = math.abs(by_hand - naive) > 1e-3

-- (b) Noisy labels.
local n_train = opts.quick and 2000 or 20000
local epochs = opts.quick and 2 or 15
local n_seeds = opts.quick and 1 or 3
local train_x, clean_y = course.fashion("train", n_train)
local test_x, test_y = course.fashion("test")
local mean, std = train_x:mean():item(), train_x:std():item()
train_x, test_x = (train_x - mean) / std, (test_x - mean) / std

-- 20% of the labels replaced by a uniformly drawn other class: adding
-- 1..k-1 and wrapping past k never gives the label back.
local function corrupt(y)
  local n = y:numel()
  local wrong = nn.randperm(n):le(math.floor(0.2 * n)) -- exactly 20% of the rows
  local other = y + nn.randint(1, k, {n})
  other = nn.where(other:gt(k), other - k, other)
  return nn.where(wrong, other, y)
end

-- With hard targets the loss keeps pushing p(wrong y | x) toward 1 for every
-- wrong label ("can be very harmful"); smoothed targets stop at 1 - eps.
local function train(y, smoothing)
  local model = nn.Sequential{
    nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, k),
  }
  nn.fit(model, {
    train = nn.data.tensor_dataset(train_x, y), batch_size = 64, epochs = epochs, verbose = 0,
    loss = nn.CrossEntropyLoss{label_smoothing = smoothing},
    optimizer = nn.optim.Adam(model:parameters(), {lr = 1e-3}),
  })
  model:eval()
  local probs = nn.no_grad(function() return nn.softmax(model(test_x), 2) end)
  local cal = nn.metrics.calibration(probs, test_y)
  return {accuracy = cal.accuracy, confidence = cal.mean_confidence, ece = cal.ece, cal = cal,
          top = probs:max(2):reshape(-1)}
end

local runs = course.seeds(opts, n_seeds, function()
  local y = corrupt(clean_y)
  -- eps = 0: the plain cross-entropy; eps = 0.1 in the notes' convention.
  return {plain = train(y, 0), smooth = train(y, eps * k / (k - 1))}
end)
local function avg(which, field)
  local v = {}
  for i, r in ipairs(runs) do v[i] = r[which][field] end
  return course.mean(v)
end
local acc0, acc1 = avg("plain", "accuracy"), avg("smooth", "accuracy")
local top0, top1 = avg("plain", "confidence"), avg("smooth", "confidence")
local ece0, ece1 = avg("plain", "ece"), avg("smooth", "ece")

course.table{
  {"loss, notes' soft targets by hand", by_hand, "1 − ε and ε/(k − 1) in the standard CE", "ε = 0.1, k = 10, 64 random logits"},
  {"loss, label_smoothing = ε·k/(k − 1)", matched, "—", ("|difference| %.1e"):format(math.abs(by_hand - matched))},
  {"loss, label_smoothing = ε", naive, "—", ("PyTorch's convention: |difference| %.1e"):format(math.abs(by_hand - naive))},
  {"test accuracy, ε = 0", acc0, "—", ("20%% wrong labels, %d images, %d epochs, mean of %d seeds"):format(n_train, epochs, n_seeds)},
  {"test accuracy, ε = 0.1", acc1, "smoothing guards against wrong labels", ""},
  {"mean top probability, ε = 0", top0, "—", ""},
  {"mean top probability, ε = 0.1", top1, "—", "smoothing caps the confidence"},
  {"expected calibration error, ε = 0", ece0, "—", ""},
  {"expected calibration error, ε = 0.1", ece1, "—",
   "noisy training labels, clean test labels: both under-confident, smoothing more so"},
}

-- --quick checks the loss identities only (2,000 images, 2 epochs are too few for the rest).
local trained_ok = top1 < top0 and acc1 >= acc0 - 0.005
course.verdict("S2-01", same and differs and (opts.quick or trained_ok),
  "hand-built loss %.6f vs label_smoothing=ε·k/(k−1) %.6f (|Δ| %.1e <= 1e-6), vs label_smoothing=ε %.6f (|Δ| %.1e > 1e-3); " ..
  "20%% wrong labels: mean top probability ε=0.1 %.4f < ε=0 %.4f; accuracy ε=0.1 %.4f >= %.4f − 0.005%s",
  by_hand, matched, math.abs(by_hand - matched), naive, math.abs(by_hand - naive), top1, top0, acc1, acc0,
  opts.quick and " (--quick: only the loss identities are checked)" or "")

-- The first seed's models drawn.
local first = runs[1]
nn.plot.hist({{name = "ε = 0", values = first.plain.top}, {name = "ε = 0.1", values = first.smooth.top}},
  course.plot_path(opts, "confidence_hist.png"),
  {bins = 20, title = "002_6afe73c36a0a240a.txt label smoothing: confidence on the test set",
   xlabel = "top probability (trained with 20% wrong labels)", ylabel = "test images"})
local function reliability(name, cal)
  local x, y = {}, {}
  for _, b in ipairs(cal.bins) do
    if b.count > 0 then x[#x + 1], y[#y + 1] = b.confidence, b.accuracy end
  end
  return {name = name, x = x, y = y, marker = "o"}
end
nn.plot.lines({reliability("ε = 0", first.plain.cal), reliability("ε = 0.1", first.smooth.cal),
               {name = "perfect calibration", x = {0, 1}, y = {0, 1}, style = "dashed", marker = "none"}},
  course.plot_path(opts, "reliability.png"),
  {title = "002_6afe73c36a0a240a.txt label smoothing: reliability diagram",
   xlabel = "mean confidence in the bin", ylabel = "accuracy in the bin"})
course.finish()
