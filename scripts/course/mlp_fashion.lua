-- The notes' first MLP on Fashion-MNIST (000 Q5 (الف)): the d2l/Udacity
-- template, 784-256-128-10 with ReLU, SGD lr 0.01, batch 64, 10 epochs.
--   nnlua scripts/course/mlp_fashion.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{
  name = "mlp_fashion", ids = {"S0-09"},
  notes = "000_7ab6c8be6403b5e4.txt Q5 (الف)",
}
local n_train, n_test, epochs = 60000, 10000, 10
if opts.quick then n_train, n_test, epochs = 5000, 2000, 2 end
local NOTES_LOSS = {0.8386, 0.5014, 0.4488, 0.4160, 0.3934, 0.3755, 0.3619, 0.3494, 0.3385, 0.3288}
local SHIRT, TSHIRT = 7, 1

-- The notes' Q6 transform, Normalize((0.1307,), (0.3081,)): MNIST's constants.
local train_x, train_y = course.fashion("train", n_train, true)
local test_x, test_y = course.fashion("test", n_test, true)
local test = nn.data.tensor_dataset(test_x, test_y)
local ce = nn.CrossEntropyLoss()

local model = nn.Sequential{
  nn.Flatten(),
  nn.Linear(784, 256), nn.ReLU(),
  nn.Linear(256, 128), nn.ReLU(),
  nn.Linear(128, 10),
  nn.LogSoftmax(2),
}
-- The notes print running_loss / len(trainloader) each epoch: the mean
-- training loss over the epoch's batches, which is fit's history.loss.
local history = nn.fit(model, {
  train = nn.data.tensor_dataset(train_x, train_y), batch_size = 64,
  loss = ce, optimizer = nn.optim.SGD(model:parameters(), {lr = 0.01}),
  epochs = epochs, verbose = 0,
})
local loss = history.loss

-- The notes end the model with LogSoftmax and still train with
-- CrossEntropyLoss, which applies log-softmax again. Harmless: log_softmax
-- is idempotent (its outputs' exponentials already sum to 1). Checked on
-- the trained model: z = the last Linear's output for 256 test images.
local z = nn.no_grad(function()
  model:eval()
  local h = test_x:narrow(1, 1, 256)
  for i = 1, #model - 1 do h = model[i](h) end
  return h
end)
local labels = test_y:narrow(1, 1, 256)
local ce_gap = math.abs(ce(z, labels):item() - ce(nn.LogSoftmax(2)(z), labels):item())
local r = nn.evaluate(model, test, {loss = ce})
local recall, precision = r.per_class.recall:totable(), r.per_class.precision:totable()
local cm = r.confusion_matrix:totable() -- rows: true class, columns: predicted
local classes = nn.data.fashion_mnist{split = "test", limit = 1}.classes

-- The class with the lowest recall, and the three largest symmetric
-- confusions C[i][j] + C[j][i].
local worst = 1
for c = 2, 10 do if recall[c] < recall[worst] then worst = c end end
local confusions = {}
for i = 1, 10 do
  for j = i + 1, 10 do confusions[#confusions + 1] = {i = i, j = j, n = cm[i][j] + cm[j][i]} end
end
table.sort(confusions, function(a, b) return a.n > b.n end)
local shirt_rank
for k = 1, #confusions do
  local p = confusions[k]
  if p.i == TSHIRT and p.j == SHIRT then shirt_rank = k end
end
local function pair_name(p) return classes[p.i] .. " ↔ " .. classes[p.j] end

-- The first test image of each class, with the model's prediction.
local firsts, y_list = {}, test_y:totable()
for i, c in ipairs(y_list) do
  if not firsts[c] then firsts[c] = i end
end
local idx = nn.tensor(firsts, "int64")
local sample_x = test_x:index_select(1, idx)
local sample_pred = nn.no_grad(function() model:eval() return model(sample_x):argmax(2) end)
local right = sample_pred:eq(nn.arange(1, 11, {dtype = "int64"})):sum():item()

local rows = {
  {"CE(z) − CE(log_softmax(z)), z: logits of 256 test images", ce_gap, "—", "log-softmax twice: loss unchanged (notes: harmless)"},
}
for e = 1, epochs do
  rows[#rows + 1] = {("training loss, epoch %d"):format(e), loss[e], NOTES_LOSS[e],
                     ("difference %+.3f"):format(loss[e] - NOTES_LOSS[e])}
end
rows[#rows + 1] = {"test accuracy", r.accuracy, "—", ("%d test images"):format(n_test)}
rows[#rows + 1] = {"first test image of each class: right", right .. "/10", "9/10 (Shirt taken for T-shirt)", ""}
rows[#rows + 1] = {"lowest recall", ("%s %.3f"):format(classes[worst], recall[worst]), "Shirt hardest", ""}
for k = 1, 3 do
  rows[#rows + 1] = {("confusion #%d (both ways)"):format(k), ("%s: %d"):format(pair_name(confusions[k]), confusions[k].n),
                     k == 1 and "Shirt ↔ T-shirt: they look alike" or "—", ""}
end
course.table(rows)

local per_class = {}
for c = 1, 10 do per_class[c] = {classes[c] .. " precision / recall", ("%.3f / %.3f"):format(precision[c], recall[c]), "—", ""} end
course.table(per_class)

local decreasing = true
for e = 2, epochs do decreasing = decreasing and loss[e] < loss[e - 1] end
local facts = {("CE identity gap %.1e <= 1e-6"):format(ce_gap),
               ("losses %s"):format(decreasing and "strictly decrease" or "do not strictly decrease")}
local ok = ce_gap <= 1e-6 and decreasing
if not opts.quick then
  local full = {
    {loss[1] >= 0.75 and loss[1] <= 0.95, ("loss[1] %.4f in [0.75, 0.95]"):format(loss[1])},
    {loss[10] >= 0.29 and loss[10] <= 0.37, ("loss[10] %.4f in [0.29, 0.37]"):format(loss[10])},
    {r.accuracy >= 0.84, ("test accuracy %.4f >= 0.84"):format(r.accuracy)},
    {worst == SHIRT, ("lowest recall: %s %.3f"):format(classes[worst], recall[worst])},
    {shirt_rank ~= nil and shirt_rank <= 3, ("Shirt ↔ T-shirt/top is confusion #%s of 45"):format(shirt_rank)},
  }
  for _, c in ipairs(full) do ok = ok and c[1]; facts[#facts + 1] = c[2] end
else
  facts[#facts + 1] = ("[quick: %d images, %d epochs] loss[1] %.4f, test accuracy %.4f"):format(n_train, epochs, loss[1], r.accuracy)
end
course.verdict("S0-09", ok, "%s", table.concat(facts, "; "))

nn.plot.lines({
  {name = "measured", y = loss},
  {name = "notes", y = NOTES_LOSS, style = "dashed"},
}, course.plot_path(opts, "training_loss.png"), {
  title = "000 Q5 (الف): MLP training loss per epoch", xlabel = "epoch", ylabel = "mean training loss"})
nn.plot.images(sample_x * 0.3081 + 0.1307, course.plot_path(opts, "predictions.png"), {
  labels = nn.arange(1, 11, {dtype = "int64"}), predicted = sample_pred,
  class_names = classes, nrow = 5, range = {0, 1},
  title = "000 Q5 (الف): first test image of each class, true / predicted"})
nn.plot.heatmap(r.confusion_matrix, course.plot_path(opts, "confusion.png"), {
  labels = classes, xlabel = "predicted", ylabel = "true",
  title = "000 Q5 (الف): confusion matrix on the test set"})
course.finish()
