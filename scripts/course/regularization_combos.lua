-- Combinations of dropout, augmentation and L2 on the overfit MLP (000 Q6
-- (ث)): 15 epochs each on all 60,000 training images, ranked by test
-- accuracy as the notes do.
--   nnlua scripts/course/regularization_combos.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local T = nn.transforms
local opts = course.start{
  name = "regularization_combos", ids = {"S0-13"},
  notes = "000_7ab6c8be6403b5e4.txt Q6 (ث)",
}
local n_train, n_test, epochs = 60000, 10000, 15
if opts.quick then n_train, n_test, epochs = 2000, 2000, 2 end

-- The notes' epoch-15 lines, in their order.
local RUNS = {
  {name = "Dropout + Augmentation + L2", dropout = true, augment = true, l2 = true,
   notes = {train_loss = 0.491, test_loss = 0.454, train_acc = 0.824, test_acc = 0.836}},
  {name = "Dropout + Augmentation", dropout = true, augment = true,
   notes = {train_loss = 0.436, test_loss = 0.409, train_acc = 0.841, test_acc = 0.852}},
  {name = "Augmentation + L2", augment = true, l2 = true,
   notes = {train_loss = 0.443, test_loss = 0.447, train_acc = 0.843, test_acc = 0.839}},
  {name = "Dropout + L2", dropout = true, l2 = true,
   notes = {train_loss = 0.406, test_loss = 0.408, train_acc = 0.856, test_acc = 0.854}},
}

-- The Q6 model of overfit_mlp, with Dropout(0.2) after each hidden ReLU
-- when asked (the notes give no p; 0.2 is the Udacity template's).
local function model_for(dropout)
  local layers = {nn.Flatten()}
  for _, size in ipairs({{784, 512}, {512, 256}, {256, 128}}) do
    layers[#layers + 1] = nn.Linear(size[1], size[2])
    layers[#layers + 1] = nn.ReLU()
    if dropout then layers[#layers + 1] = nn.Dropout(0.2) end
  end
  layers[#layers + 1] = nn.Linear(128, 10)
  layers[#layers + 1] = nn.LogSoftmax(2)
  return nn.Sequential(layers)
end

local normalize = T.Normalize(0.1307, 0.3081)
local augment = T.Compose{T.RandomHorizontalFlip(0.5), T.RandomRotation(10), normalize}
local train_raw, train_y = course.fashion("train", n_train)
local train_norm = normalize(train_raw)
local test_x, test_y = course.fashion("test", n_test, true)
local ce = nn.CrossEntropyLoss()

for _, r in ipairs(RUNS) do
  -- The same seed before each model: the Linear layers draw the same
  -- initial weights (Dropout draws none), and the epochs start alike.
  nn.manual_seed(opts.seed)
  local model = model_for(r.dropout)
  local train = nn.data.tensor_dataset(r.augment and train_raw or train_norm, train_y)
  -- L2 as weight_decay: the penalty acts in the update, so the training
  -- loss fit reports holds no penalty term.
  local h = nn.fit(model, {
    train = nn.data.DataLoader(train, {batch_size = 64, shuffle = true, transform = r.augment and augment or nil}),
    val = nn.data.tensor_dataset(test_x, test_y), loss = ce,
    optimizer = nn.optim.SGD(model:parameters(), {lr = 0.01, weight_decay = r.l2 and 0.01 or 0}),
    epochs = epochs, verbose = 0,
  })
  r.history = h
  r.got = {train_loss = h.loss[epochs], test_loss = h.val_loss[epochs], train_acc = h.accuracy[epochs],
           test_acc = h.val_accuracy[epochs]}
end

local rows = {}
for _, r in ipairs(RUNS) do
  local g, n = r.got, r.notes
  rows[#rows + 1] = {("%s: train / test loss"):format(r.name), ("%.3f / %.3f"):format(g.train_loss, g.test_loss),
                     ("%.3f / %.3f"):format(n.train_loss, n.test_loss), ("epoch %d"):format(epochs)}
  rows[#rows + 1] = {("%s: train / test accuracy"):format(r.name), ("%.3f / %.3f"):format(g.train_acc, g.test_acc),
                     ("%.3f / %.3f"):format(n.train_acc, n.test_acc),
                     ("test accuracy %+.3f from the notes'"):format(g.test_acc - n.test_acc)}
end
-- Ranked by test accuracy, ties (within 0.001, the notes' precision) by training accuracy.
local ranked = {}
for i, r in ipairs(RUNS) do ranked[i] = r end
table.sort(ranked, function(a, b)
  if math.abs(a.got.test_acc - b.got.test_acc) > 0.001 then return a.got.test_acc > b.got.test_acc end
  return a.got.train_acc > b.got.train_acc
end)
local order = {}
for i, r in ipairs(ranked) do order[i] = ("%d %s"):format(i, r.name) end
rows[#rows + 1] = {"ranking by test accuracy", table.concat(order, ", "),
                   "1 Dropout + L2, 2 Dropout + Augmentation, 3 Augmentation + L2, 4 all three",
                   "one problem and model, not a general rule"}
rows[#rows + 1] = {"the best combination", ranked[1].name .. ": the largest improvement",
                   "Dropout + L2: \"the minimal improvement\"", "notes error: they mean the largest"}
rows[#rows + 1] = {"compare by test accuracy because", "weight_decay puts no penalty term in the reported loss",
                   "\"the L2 loss has an extra term\"", "notes error: the decay acts in the update"}
course.table(rows)

local by = {}
for _, r in ipairs(RUNS) do by[r.name] = r.got end
local all3, da, al2, dl2 = by["Dropout + Augmentation + L2"], by["Dropout + Augmentation"], by["Augmentation + L2"], by["Dropout + L2"]
local near, close_gap, facts_near, facts_gap = true, true, {}, {}
for _, r in ipairs(RUNS) do
  local d, gap = math.abs(r.got.test_acc - r.notes.test_acc), math.abs(r.got.train_acc - r.got.test_acc)
  near, close_gap = near and d < 0.02, close_gap and gap < 0.02
  facts_near[#facts_near + 1] = ("%s %.3f vs %.3f"):format(r.name, r.got.test_acc, r.notes.test_acc)
  facts_gap[#facts_gap + 1] = ("%.3f"):format(gap)
end
local beat = math.min(dl2.test_acc, da.test_acc) > math.max(al2.test_acc, all3.test_acc)
local notes_order = ranked[1].name == "Dropout + L2" and ranked[2].name == "Dropout + Augmentation"
                    and ranked[3].name == "Augmentation + L2"
course.verdict("S0-13", near and beat and close_gap,
  "test accuracy within 0.02 of the notes': %s; Dropout + L2 %.3f and Dropout + Augmentation %.3f beat " ..
  "Augmentation + L2 %.3f and all three %.3f; |train - test accuracy| %s < 0.02; the notes' exact order %s%s",
  table.concat(facts_near, ", "), dl2.test_acc, da.test_acc, al2.test_acc, all3.test_acc,
  table.concat(facts_gap, ", "), notes_order and "holds" or "does not hold (printed only)",
  opts.quick and (" [quick: %d images, %d epochs]"):format(n_train, epochs) or "")

local series, measured, notes_err, names = {}, {}, {}, {}
for i, r in ipairs(RUNS) do
  series[i] = {name = r.name, y = r.history.val_accuracy}
  -- The bars show the error, 1 − accuracy: bars start at 0, and accuracies
  -- of 0.83-0.86 would all look the same height.
  measured[i], notes_err[i], names[i] = 1 - r.got.test_acc, 1 - r.notes.test_acc, r.name
end
nn.plot.lines(series, course.plot_path(opts, "combos.png"), {
  title = "000 Q6 (ث): test accuracy per epoch", xlabel = "epoch", ylabel = "test accuracy"})
nn.plot.bar(names, course.plot_path(opts, "combos_bar.png"), {
  series = {{name = "measured", y = measured}, {name = "notes", y = notes_err}},
  title = ("000 Q6 (ث): test error at epoch %d (lower is better)"):format(epochs), ylabel = "test error (1 − accuracy)",
  xlabel = "combination"})
course.finish()
