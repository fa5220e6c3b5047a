-- Transfer learning: reuse a network trained on a related task, freeze its
-- early layers (learning rate 0), tune the last ones with a larger rate
-- (003_2d572698e7403bd6.txt Q4.2 (د).5); the notes' MobileNetV2 recipe on
-- 32×32 images (004_44a923b9da7d8773.txt Q2, last part; COURSE.md §2.25).
--   nnlua scripts/course/transfer_learning.lua [--quick] [--out DIR] [--seed N]
--     [--weights FILE [--cifar DIR] [--train N]]
-- Without --weights the script pretrains its own MobileNetV2 (width 0.35) on
-- Fashion-MNIST classes 1–5 and transfers it to classes 6–10 with 50
-- labelled images. --weights FILE: torchvision's ImageNet weights, made where
-- PyTorch and a network are available by
--   python3 scripts/export_torchvision.py mobilenet_v2 FILE --pretrained
local course = require "common"
local opts = course.start{
  name = "transfer_learning", ids = {"S3-19", "S4-14"},
  notes = "003_2d572698e7403bd6.txt Q4.2 (د).5; 004_44a923b9da7d8773.txt Q2, last part",
  flags = {weights = "", cifar = "", train = 0},
}
local with_weights = opts.weights ~= ""
if opts.quick and with_weights then error("transfer_learning: --quick runs the default mode only (drop --weights)", 0) end
if not with_weights and opts.cifar ~= "" then error("transfer_learning: --cifar needs --weights FILE", 0) end
if opts.train < 0 or opts.train % 1 ~= 0 or (not with_weights and opts.train % 5 ~= 0) then
  error(("transfer_learning: --train must be a positive integer (a multiple of 5 without --weights), got %s")
        :format(opts.train), 0)
end

local CE = nn.CrossEntropyLoss()
local WIDTH = 0.35 -- the default mode's MobileNetV2 width

-- [N,C,32,32] images as MobileNetV2 takes them: 3 channels (a grey image
-- repeated), standardised per channel.
local function as_rgb(x, mean, std)
  if x:size(2) == 1 then x = nn.cat({x, x, x}, 2) end
  return (x - nn.tensor(mean):view(1, 3, 1, 1)) / nn.tensor(std):view(1, 3, 1, 1)
end

-- 1-based row indices of y whose label is in lo..hi.
local function rows_in(y, lo, hi)
  local inside = (y:ge(lo):long() + y:le(hi):long()):eq(2)
  return nn.arange(1, y:size(1) + 1, {dtype = "int64"}):masked_select(inside)
end

local function take(x, y, rows)
  return nn.data.tensor_dataset(x:index_select(1, rows), y:index_select(1, rows))
end

local function test_accuracy(model, ds)
  return nn.evaluate(model, ds, {batch_size = 250}).accuracy
end

-- Same dtype, shape and values, bit for bit?
local function equal(a, b)
  return a.dtype == b.dtype and table.concat(a.shape, ",") == table.concat(b.shape, ",") and a:eq(b):all():item()
end

-- Do two state dicts hold the same tensors, bit for bit?
local function identical(a, b)
  for k, v in pairs(b) do
    if a[k] == nil or not equal(a[k], v) then return false, k end
  end
  for k in pairs(a) do
    if b[k] == nil then return false, k end
  end
  return true
end

local function clone_state(sd)
  local out = {}
  for k, v in pairs(sd) do out[k] = v:clone() end
  return out
end

-- ---- the backbone and the target data of each mode ----
local setup = {}
if with_weights then
  -- torchvision's ImageNet weights under PyTorch's names (SPEC §13).
  local file = nn.load(opts.weights)
  local base = nn.models.mobilenet_v2{num_classes = 1000}
  base:load_state_dict(file, {keys = 'torch'})
  setup.loaded_ok, setup.loaded_diff = identical(base:state_dict{keys = 'torch'}, file)
  local n_train = opts.train > 0 and opts.train or 5000
  local tx, ty, sx, sy, source = course.cifar_or_fashion(opts, n_train, 2000)
  -- ImageNet's mean and std: what torchvision's weights expect.
  local mean, std = {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}
  tx, sx = as_rgb(tx, mean, std), as_rgb(sx, mean, std)
  local n_val = math.floor(n_train * 0.15) -- Keras's validation_split: the last 15%
  setup.train = function() return take(tx, ty, nn.arange(1, n_train - n_val + 1, {dtype = "int64"})) end
  setup.n_train = n_train - n_val
  setup.val = take(tx, ty, nn.arange(n_train - n_val + 1, n_train + 1, {dtype = "int64"}))
  setup.test = nn.data.tensor_dataset(sx, sy)
  setup.classes, setup.data = 10, source
  setup.make = function() return nn.models.mobilenet_v2{num_classes = 1000} end
  setup.backbone = base.features:state_dict()
  setup.epochs, setup.batch, setup.seeds = 10, 32, 1
else
  -- Source task: classes 1–5 (T-shirt/top … Coat); target: 6–10 (Sandal …
  -- Ankle boot) relabelled 1..5. Padded to 32×32 and standardised with the
  -- MNIST constants the course uses for Fashion-MNIST.
  local mean, std = {0.1307, 0.1307, 0.1307}, {0.3081, 0.3081, 0.3081}
  local x, y = course.fashion("train")
  local ex, ey = course.fashion("test")
  -- Only the rows used are padded and widened (all 60,000 would take 740 MB).
  local function images(from_x, from_y, rows, shift)
    return nn.data.tensor_dataset(as_rgb(course.pad32(from_x:index_select(1, rows)), mean, std),
                                  from_y:index_select(1, rows) - shift)
  end
  local n_source = opts.quick and 1000 or 12000
  local src_train = images(x, y, rows_in(y, 1, 5):narrow(1, 1, n_source), 0)
  local src_test_rows = rows_in(ey, 1, 5)
  if opts.quick then src_test_rows = src_test_rows:narrow(1, 1, 500) end
  local src_test = images(ex, ey, src_test_rows, 0)
  local tgt_rows = rows_in(y, 6, 10)
  local n_tgt = tgt_rows:size(1)
  -- validation: the last 500 target images (--quick: 200); the labelled
  -- few are drawn from the rest
  local n_val = opts.quick and 200 or 500
  setup.val = images(x, y, tgt_rows:narrow(1, n_tgt - n_val + 1, n_val), 5)
  local pool = tgt_rows:narrow(1, 1, n_tgt - n_val)
  local pool_y = y:index_select(1, pool)
  local per_class = (opts.train > 0 and opts.train or 50) // 5
  setup.n_train = 5 * per_class
  setup.train = function() -- per_class random images of each class (drawn per seed)
    local picks = {}
    for c = 6, 10 do
      local of_c = pool:masked_select(pool_y:eq(c))
      picks[#picks + 1] = of_c:index_select(1, nn.randperm(of_c:size(1)):narrow(1, 1, per_class))
    end
    return images(x, y, nn.cat(picks), 5)
  end
  local test_rows = rows_in(ey, 6, 10)
  if opts.quick then test_rows = test_rows:narrow(1, 1, 500) end
  setup.test = images(ex, ey, test_rows, 5)
  setup.classes, setup.data = 5, "Fashion-MNIST padded to 32x32, 3 channels"
  setup.make = function() return nn.models.mobilenet_v2{num_classes = 5, width_mult = WIDTH} end

  -- The pretrained network: Adam lr 1e-3, batch 64, 3 epochs on the source task.
  local source = setup.make()
  nn.fit(source, {train = src_train, batch_size = 64, epochs = opts.quick and 1 or 3, loss = CE,
                  optimizer = nn.optim.Adam(source:parameters(), {lr = 1e-3}), verbose = 0})
  setup.source_acc = test_accuracy(source, src_test)
  setup.n_source = n_source
  setup.backbone = source.features:state_dict()
  setup.epochs, setup.batch, setup.seeds = 40, 10, 3
end
if opts.quick then setup.epochs, setup.seeds = 2, 1 end

-- A network with the pretrained backbone (copied) and a new head: the
-- notes' Flatten + Dense (at 32×32 the backbone ends at 1280×1×1, so
-- Flatten equals the global pooling; torchvision's Dropout(0.2) is left
-- out, as the notes have none). keras=true: Keras's Dense initialisation.
local function transferred(keras)
  local model = setup.make()
  model.features:load_state_dict(setup.backbone)
  local init = keras and {weight_init = 'glorot_uniform', bias_init = 'zeros'} or nil
  model.classifier = nn.Sequential{nn.Flatten(), nn.Linear(model.last_channel, setup.classes, init)}
  return model
end

local function params_of(model, from, to)
  local out = {}
  for i = from, to do
    for _, p in ipairs(model.features[i]:parameters()) do out[#out + 1] = p end
  end
  return out
end

local function same_params(list, before)
  for i, p in ipairs(list) do
    if not equal(p, before[i]) then return false end
  end
  return true
end

-- ---- the four configurations, on one draw of the target data ----
local function run_seed(seed)
  local train = setup.train()
  local r = {seed = seed}
  local function fit(model, optimizer, extra)
    local o = {train = train, val = setup.val, batch_size = setup.batch, epochs = setup.epochs, loss = CE,
               optimizer = optimizer, verbose = 0}
    for k, v in pairs(extra or {}) do o[k] = v end
    return nn.fit(model, o)
  end

  -- S4-14: before any target training the backbone is its source, bit for bit.
  local model = transferred(true)
  r.copied = identical(model.features:state_dict(), setup.backbone)

  -- (i) The notes' recipe: every layer trainable (Keras layers are unless
  -- frozen), Adam lr 0.01 (Keras's eps 1e-7), batch 32, up to 20 epochs,
  -- EarlyStopping on the training loss with patience 3.
  r.h1 = fit(model, nn.optim.Adam(model:parameters(), {lr = 0.01, eps = 1e-7}),
             {batch_size = 32, epochs = opts.quick and 2 or 20,
              callbacks = {nn.callbacks.EarlyStopping{monitor = 'loss', patience = 3}}})
  r.acc1 = test_accuracy(model, setup.test)

  -- (ii) Frozen backbone: no gradients, and kept in eval mode so its
  -- batch-norm statistics stay the source's. nn.fit puts the whole model in
  -- training mode every epoch, so a short loop of our own trains the head.
  model = transferred()
  model.features:requires_grad_(false)
  local frozen = clone_state(model.features:state_dict())
  local opt = nn.optim.Adam(model.classifier:parameters(), {lr = 1e-3})
  local loader = nn.data.DataLoader(train, {batch_size = setup.batch, shuffle = true})
  r.h2 = {val_accuracy = {}}
  for epoch = 1, setup.epochs do
    model:train()
    model.features:eval()
    for xb, yb in loader:iter() do
      opt:zero_grad()
      CE(model(xb), yb):backward()
      opt:step()
    end
    r.h2.val_accuracy[epoch] = test_accuracy(model, setup.val)
  end
  r.frozen_ok = identical(model.features:state_dict(), frozen)
  r.acc2 = test_accuracy(model, setup.test)

  -- (iii) Fine-tuning with per-layer learning rates (003): blocks 1–7 lr 0
  -- (frozen: the generic early features), 8–14 lr 1e-5, 15–19 lr 1e-4, the
  -- new head 1e-3: the later the layer, the more task-specific, the larger.
  model = transferred()
  local early = params_of(model, 1, 7)
  local early_before = {}
  for i, p in ipairs(early) do early_before[i] = p:clone() end
  r.h3 = fit(model, nn.optim.Adam({
    {params = early, lr = 0},
    {params = params_of(model, 8, 14), lr = 1e-5},
    {params = params_of(model, 15, 19), lr = 1e-4},
    {params = model.classifier:parameters(), lr = 1e-3},
  }))
  r.lr0_ok, r.n_lr0 = same_params(early, early_before), #early
  r.acc3 = test_accuracy(model, setup.test)

  -- (iv) From scratch: the same architecture, random initialisation.
  model = setup.make()
  model.classifier = nn.Sequential{nn.Flatten(), nn.Linear(model.last_channel, setup.classes)}
  r.h4 = fit(model, nn.optim.Adam(model:parameters(), {lr = 1e-3}))
  r.acc4 = test_accuracy(model, setup.test)
  return r
end

local runs = course.seeds(opts, setup.seeds, run_seed)

-- 003's premise: early layers learn generic features, later ones
-- task-specific ones. Measured as the 1-nearest-neighbour test accuracy
-- on the target task of each pretrained block's output (the first seed's
-- training images as the neighbours, the backbone in eval mode).
local BLOCKS = {1, 4, 7, 11, 14, 17, 19}
local function nearest_neighbour_by_block()
  nn.manual_seed(opts.seed)
  local train, backbone = setup.train(), transferred().features:eval()
  local out = {}
  nn.no_grad(function()
    local a, b = train.x, setup.test.x
    local function score()
      local knn = nn.KNeighborsClassifier{n_neighbors = 1}
      knn:fit(a:reshape(a:size(1), -1), train.y)
      return knn:score(b:reshape(b:size(1), -1), setup.test.y)
    end
    out[#out + 1] = {"input", score()}
    for i = 1, #backbone do
      a, b = backbone[i](a), backbone[i](b)
      for _, k in ipairs(BLOCKS) do
        if k == i then out[#out + 1] = {("block %d (%s)"):format(i, table.concat(a.shape, "x", 2)), score()} end
      end
    end
  end)
  return out
end
local by_block = nearest_neighbour_by_block()

-- ---- tables ----
local function collect(field)
  local out = {}
  for i, r in ipairs(runs) do out[i] = r[field] end
  return out
end
local function all(field)
  for _, r in ipairs(runs) do
    if not r[field] then return false end
  end
  return true
end
local function mean_std(field)
  local v = collect(field)
  return course.mean(v), course.std(v)
end
local function pm(field)
  local m, s = mean_std(field)
  return #runs > 1 and ("%s ± %s"):format(course.fmt(m), course.fmt(s)) or m
end

local mode = with_weights and ("MobileNetV2 weights from " .. opts.weights .. " (--weights)") or
             ("own pretraining: MobileNetV2 width %g on Fashion-MNIST classes 1–5 (%d images)"):format(WIDTH, setup.n_source)
local rows = {
  {"backbone", mode, "MobileNetV2, ImageNet weights", with_weights and "" or "no ImageNet weights here (--weights FILE)"},
  {"target data", ("%s; %d train, %d val, %d test; %d seed(s)"):format(setup.data, setup.n_train, #setup.val,
    #setup.test, #runs), "CIFAR-10, 32x32x3", ""},
}
if not with_weights then
  rows[#rows + 1] = {"source test accuracy (classes 1–5)", setup.source_acc, "—", "S4-14 needs >= 0.75 (full run)"}
end
course.table(rows)

local h1 = runs[1].h1
local function min_of(list)
  local m = math.huge
  for _, v in ipairs(list) do m = math.min(m, v) end
  return m
end
local function max_of(list)
  local m = -math.huge
  for _, v in ipairs(list) do m = math.max(m, v) end
  return m
end
course.table{
  {"(i) min training loss", min_of(h1.loss), 0.9, "the notes' recipe, seed " .. runs[1].seed},
  {"(i) min validation loss", min_of(h1.val_loss), 1.6, "the notes: validation loss \"very high\""},
  {"(i) epochs run", h1.epochs, 20, "EarlyStopping(monitor='loss', patience=3), at most 20"},
  {"(i) best validation accuracy", max_of(h1.val_accuracy), "illegible", ""},
}

course.table{
  {"(i) test accuracy: notes' recipe (all layers, Adam 0.01)", pm("acc1"), "high error, \"as expected\"",
   "every layer tuned at lr 0.01 from the start, 32x32 inputs, no MobileNetV2 preprocessing: likely causes"},
  {"(ii) test accuracy: frozen backbone, head only", pm("acc2"), "freeze the early layers", "transfer as 003 describes"},
  {"(iii) test accuracy: per-layer lr 0 / 1e-5 / 1e-4 / 1e-3", pm("acc3"), "LR = 0 early, larger LR late",
   "transfer as 003 describes"},
  {"(iv) test accuracy: from scratch", pm("acc4"), "—", "the baseline transfer must beat"},
}

local block_rows = {}
for i, kv in ipairs(by_block) do
  block_rows[i] = {"1-NN test accuracy on the target, " .. kv[1], kv[2],
                   i == 2 and "early layers: generic (edges, lines)" or i == #by_block and "later layers: task-specific" or "",
                   i == 1 and "raw pixels, for reference" or i == #by_block and "what the head of (ii)-(iii) sees" or ""}
end
course.table(block_rows)

-- ---- verdicts ----
local a2, a3, a4 = mean_std("acc2"), mean_std("acc3"), mean_std("acc4")
local frozen_ok = all("lr0_ok") and all("frozen_ok")
-- "a >= b" or "a < b" (op ">" or ">="), as the numbers are; b_text shows b.
local function compare(a, op, b, b_text)
  local holds = op == ">" and a > b or op == ">=" and a >= b
  return ("%s %s %s"):format(course.fmt(a), holds and op or (op == ">" and "<=" or "<"), b_text or course.fmt(b))
end
local acc_ok, acc_facts
if with_weights then
  acc_ok = a2 > a4 and a3 > a4
  local iv = "(iv) " .. course.fmt(a4)
  acc_facts = ("test accuracy (ii) %s, (iii) %s"):format(compare(a2, ">", a4, iv), compare(a3, ">", a4, iv))
else
  acc_ok = a3 >= a4 + 0.02 and a2 >= a4
  local iv = "(iv) " .. course.fmt(a4)
  acc_facts = ("mean test accuracy over %d seed(s): (iii) %s, (ii) %s"):format(#runs,
    compare(a3, ">=", a4 + 0.02, iv .. " + 0.02"), compare(a2, ">=", a4, iv))
end
course.verdict("S3-19", frozen_ok and (opts.quick or acc_ok),
  "(iii) the %d parameter tensors of blocks 1-7 (lr 0) %s; (ii) backbone parameters and batch-norm statistics %s; %s%s",
  runs[1].n_lr0, all("lr0_ok") and "bit-identical" or "CHANGED", all("frozen_ok") and "bit-identical" or "CHANGED",
  acc_facts, opts.quick and " (accuracies not checked in --quick)" or "")

local copied = with_weights and setup.loaded_ok or all("copied")
local source_ok = with_weights or opts.quick or setup.source_acc >= 0.75
course.verdict("S4-14", copied and source_ok,
  "%s; (i) min training loss %s (notes 0.9), min val loss %s (notes 1.6), %d epochs (notes 20), best val accuracy %s%s",
  with_weights and (setup.loaded_ok and "the loaded state dict read back with keys='torch' equals the file"
                    or "the loaded state dict read back with keys='torch' DIFFERS from the file at " .. setup.loaded_diff)
    or ("the transferred backbone %s its source"):format(copied and "equals" or "DIFFERS from"),
  course.fmt(min_of(h1.loss)), course.fmt(min_of(h1.val_loss)), h1.epochs, course.fmt(max_of(h1.val_accuracy)),
  with_weights and "" or ("; source test accuracy %s %s 0.75%s"):format(course.fmt(setup.source_acc),
    setup.source_acc >= 0.75 and ">=" or "<", opts.quick and " (not checked in --quick)" or ""))

-- ---- plots ----
-- Mean over seeds of each epoch's value (over the seeds that reached it).
local function mean_curve(field, key)
  local sums, counts, out = {}, {}, {}
  for _, r in ipairs(runs) do
    for e, v in ipairs(r[field][key]) do
      sums[e], counts[e] = (sums[e] or 0) + v, (counts[e] or 0) + 1
    end
  end
  for e = 1, #sums do out[e] = sums[e] / counts[e] end
  return out
end
local seeds_txt = #runs > 1 and (", mean of %d seeds"):format(#runs) or ""
local stopped_early = false -- then (i)'s later epochs average the seeds still training
for _, r in ipairs(runs) do stopped_early = stopped_early or r.h1.epochs < #mean_curve("h1", "val_accuracy") end
nn.plot.lines({
  {name = "(i) notes' recipe" .. (stopped_early and " (seeds still training)" or ""),
   y = mean_curve("h1", "val_accuracy"), marker = "o"},
  {name = "(ii) frozen backbone", y = mean_curve("h2", "val_accuracy")},
  {name = "(iii) per-layer lr", y = mean_curve("h3", "val_accuracy"), style = "dashed"},
  {name = "(iv) from scratch", y = mean_curve("h4", "val_accuracy"), style = "dotted"},
}, course.plot_path(opts, "transfer_curves.png"), {
  title = "003 Q4.2 (د).5 / 004 Q2: validation accuracy" .. seeds_txt,
  xlabel = "epoch", ylabel = "validation accuracy"})
nn.plot.lines({
  {name = "training loss", y = h1.loss, marker = "o"},
  {name = "validation loss", y = h1.val_loss, marker = "s", style = "dashed"},
}, course.plot_path(opts, "notes_recipe.png"), {
  title = ("004 Q2 (last part): the notes' recipe (i), MobileNetV2, Adam lr 0.01, seed %d"):format(runs[1].seed),
  xlabel = "epoch", ylabel = "cross-entropy loss"})
nn.plot.bar({"(i) notes' recipe", "(ii) frozen", "(iii) per-layer lr", "(iv) scratch"},
  course.plot_path(opts, "transfer_bar.png"), {
  values = {course.mean(collect("acc1")), a2, a3, a4},
  title = "003 Q4.2 (د).5 / 004 Q2: test accuracy" .. seeds_txt, xlabel = "configuration",
  ylabel = "test accuracy"})
course.finish()
