-- The allocation-failure sweep (issue 16): for each scenario of a group,
-- fail the N-th engine allocation (runtime/alloc.c) for every N from 1 to
-- the scenario's allocation count, in this one process, and demand that
--   * the scenario raises a clean Lua error that says "memory" (or, where
--     the failure is absorbed, still produces its checked result),
--   * after collectgarbage the engine's live bytes are back at the baseline,
--   * no writer leaves a temporary file behind,
--   * the scenario succeeds once more afterwards.
--
--   nnlua tests/sweep/alloc_sweep.lua <group> <work dir>
--
-- Groups: tensor, autograd, readers, writers, data (one ctest each).
-- The engine allocator is what is swept: every tensor, every reader's and
-- writer's buffers, and cJSON's trees (runtime/json_alloc.c sets its
-- hooks). OpenBLAS, oneDNN's convolution cache, libpng, zlib and cairo
-- allocate with malloc on their own and are not.
local nn = require "nn"
local core = require "nn.core"

local group, dir = arg[1], arg[2]
assert(group and dir, "usage: alloc_sweep.lua <group> <work dir>")
os.execute("mkdir -p '" .. dir .. "'")
nn.manual_seed(1)

local function live() return nn.memory_stats().live_bytes end
local function collect() collectgarbage() collectgarbage() end

-- This process's id: a writer's temporary is <path>.tmp.<pid>.
local PID = io.open("/proc/self/stat"):read("l"):match("^(%d+)")

-- The temporaries left beside the given outputs.
local function temporaries(outputs)
  local found = {}
  for _, path in ipairs(outputs or {}) do
    local f = io.open(path .. ".tmp." .. PID, "rb")
    if f then
      f:close()
      found[#found + 1] = path .. ".tmp." .. PID
    end
  end
  return found
end

local function write_bytes(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function check(cond, fmt, ...)
  if not cond then error(string.format(fmt, ...), 2) end
end

local function close_to(a, b, tol)
  return (a - b):abs():max():item() <= (tol or 1e-5)
end

-- ---- scenarios: each builds its inputs, runs, and checks its result ----

local scenarios = {}

-- outputs: the files a writer scenario saves (none may keep a temporary).
local function add(g, name, fn, outputs)
  scenarios[#scenarios + 1] = {group = g, name = name, fn = fn, outputs = outputs}
end

add("tensor", "creation and elementwise", function()
  local a = nn.arange(24):float():view(4, 6)
  local b = nn.ones(1, 6) * 2
  local c = (a + b):mul(a):sub(1):div(2)
  local d = nn.where(c:gt(10), c, nn.zeros(4, 6))
  check(d:sum():item() > 0, "sum")
  local e = nn.rand(3, 5):exp():log1p():sigmoid():tanh()
  check(e.shape[2] == 5, "shape")
end)

add("tensor", "matmul and reductions", function()
  local a, b = nn.randn(8, 16), nn.randn(16, 4)
  local c = a:matmul(b)
  local s = c:sum(2)
  check(close_to(s, a:matmul(b:sum(2, true)):view(8), 1e-4), "matmul")
  local m, i = c:max(1)
  check(i.shape[1] == 4 and m.shape[1] == 4, "max")
  check(c:mean():item() == c:mean():item(), "mean")
  local v = c:var(1)
  check(v.shape[1] == 4, "var")
  local p = c:softmax(2)
  check(close_to(p:sum(2), nn.ones(8)), "softmax")
  local cs = c:cumsum(1)
  check(cs.shape[1] == 8, "cumsum")
end)

add("tensor", "shape, indexing and sorting", function()
  local a = nn.arange(60):float():view(3, 4, 5)
  local t = a:transpose(1, 3):contiguous():view(-1)
  check(t:numel() == 60, "view")
  local c = nn.cat({a, a}, 2)
  local s = nn.stack({a, a}, 1)
  check(c.shape[2] == 8 and s.shape[1] == 2, "cat/stack")
  local idx = nn.tensor({3, 1}, "int64")
  local sel = a:index_select(1, idx)
  check(sel:view(-1)[1] == 40, "index_select")
  local m = a:masked_select(a:gt(30))
  check(m:numel() == 29, "masked_select")
  local sorted, order = a:view(-1):sort(1, true)
  check(sorted[1] == 59 and order.dtype == "int64", "sort")
  local top = a:view(-1):topk(5)
  check(top[1] == 59, "topk")
  local parts = a:split(2, 2)
  check(#parts == 2, "split")
  local p = a:permute(3, 1, 2):reshape(5, 12)
  check(p.shape[2] == 12, "reshape")
end)

add("tensor", "gather, scatter, statistics, distances", function()
  local a = nn.randn(6, 5)
  local idx = nn.randint(1, 6, {6, 2})
  local g = a:gather(2, idx)
  local z = nn.zeros(6, 5):scatter_add(2, idx, g)
  check(z.shape[2] == 5, "scatter_add")
  local u = nn.unique(nn.tensor({3, 1, 3, 2}, "int64"))
  check(u:numel() == 3, "unique")
  check(nn.bincount(nn.tensor({1, 2, 2}, "int64")):numel() == 2, "bincount")
  check(a:histc(4):sum():item() == 30, "histc")
  check(nn.cdist(a, a).shape[1] == 6, "cdist")
  local k = a:kthvalue(2, 2)
  local m = a:median(1)
  check(k.shape[1] == 6 and m.shape[1] == 5, "kthvalue/median")
  check(a:norm():item() > 0 and a:std():item() > 0, "norm/std")
  local up = nn.interpolate(a:view(1, 1, 6, 5), {size = {12, 10}, mode = "bilinear"})
  check(up.shape[3] == 12, "interpolate")
  local c = a:cumprod(1):argsort(2)
  check(c.dtype == "int64", "argsort")
end)

local function mlp()
  return nn.Sequential{nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)}
end

add("autograd", "MLP forward, backward, Adam step", function()
  local model = mlp()
  local opt = nn.optim.Adam(model:parameters(), {lr = 1e-2})
  local x, y = nn.randn(6, 8), nn.tensor({1, 2, 3, 4, 1, 2}, "int64")
  for _ = 1, 2 do
    opt:zero_grad()
    local loss = nn.CrossEntropyLoss()(model(x), y)
    loss:backward()
    opt:step()
  end
  check(model[1].weight.grad ~= nil, "grad")
end)

add("autograd", "conv forward, backward, SGD step", function()
  local model = nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)}
  local opt = nn.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
  local x, y = nn.randn(2, 1, 8, 8), nn.tensor({1, 3}, "int64")
  opt:zero_grad()
  local loss = nn.CrossEntropyLoss()(model(x), y)
  loss:backward()
  opt:step()
  check(model[1].weight.grad ~= nil, "grad")
end)

add("autograd", "gradient of a tensor expression", function()
  local a = nn.randn(4, 5):requires_grad_()
  local b = nn.randn(5, 3):requires_grad_()
  local out = (a:matmul(b):tanh() * 2):pow(2):mean()
  out:backward()
  check(a.grad.shape[1] == 4 and b.grad.shape[2] == 3, "grads")
end)

add("autograd", "layers, losses and optimizers", function()
  local model = nn.Sequential{nn.ConvTranspose2d(2, 3, 2, {stride = 2}), nn.GELU(), nn.AvgPool2d(2),
                              nn.Upsample({scale_factor = 2}), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                              nn.Dropout(0.5), nn.Linear(12, 6), nn.BatchNorm1d(6), nn.SiLU(),
                              nn.Linear(6, 2)}
  model:train()
  local x = nn.randn(4, 2, 3, 3)
  local out = model(x)
  local target = nn.rand(4, 2)
  local loss = nn.MSELoss()(out, target) + nn.BCEWithLogitsLoss()(out, target:gt(0.5):float())
    + nn.HuberLoss()(out, target) + nn.KLDivLoss()(out:log_softmax(2), target:softmax(2))
    + nn.NLLLoss()(out:log_softmax(2), nn.tensor({1, 2, 2, 1}, "int64"))
  for _, make in ipairs({nn.optim.AdamW, nn.optim.RMSprop, nn.optim.Adagrad}) do
    local opt = make(model:parameters(), {lr = 1e-3})
    opt:zero_grad()
    loss:backward({retain_graph = true})
    nn.clip_grad_norm_(model:parameters(), 1.0)
    opt:step()
  end
  check(model[8].weight.grad ~= nil, "grad")
end)

-- Readers: the files are written once, before the sweep.
local function reader_files()
  local f = {}
  f.st = dir .. "/r.safetensors"
  nn.save({w = nn.randn(3, 4), b = nn.arange(5), m = nn.ones(2):gt(0)}, f.st, {note = "x"})
  f.ck = dir .. "/r.ckpt.safetensors"
  local model = mlp()
  local opt = nn.optim.Adam(model:parameters())
  nn.save_checkpoint(f.ck, {model = model, optimizer = opt, epoch = 3,
                            history = {loss = {1.5, 1.25}}, best = math.huge})
  f.npy = dir .. "/r.npy"
  nn.save_npy(nn.randn(4, 3), f.npy)
  f.png = dir .. "/r.png"
  nn.image.save(nn.rand(3, 5, 7), f.png)
  f.gray = dir .. "/g.png"
  nn.image.save(nn.rand(1, 4, 4), f.gray)
  f.csv = dir .. "/r.csv"
  write_bytes(f.csv, "a,b,\"c\",label\n1,2,3,cat\n4,5.5,6,dog\n7,8,nan,cat\n")
  f.cifar = dir .. "/cifar"
  os.execute("mkdir -p '" .. f.cifar .. "'")
  local rec = {}
  for i = 1, 3 do rec[i] = string.char(i) .. string.rep(string.char(i * 40), 3072) end
  write_bytes(f.cifar .. "/test_batch.bin", table.concat(rec))
  f.folder = dir .. "/folder"
  for _, class in ipairs({"cat", "dog"}) do
    os.execute("mkdir -p '" .. f.folder .. "/" .. class .. "'")
    nn.image.save(nn.rand(3, 6, 6), f.folder .. "/" .. class .. "/a.png")
  end
  return f
end

local R -- the reader files, made when the readers group runs
local IDX = (os.getenv("NNLUA_SOURCE_DIR") or ".") .. "/tests/fixtures/data/"

add("readers", "safetensors load", function()
  local t, meta = nn.load(R.st)
  check(t.w.shape[2] == 4 and t.b.dtype == "int64" and meta.note == "x", "load")
end)

add("readers", "checkpoint load", function()
  local model = mlp()
  local opt = nn.optim.Adam(model:parameters())
  local fields = nn.load_checkpoint(R.ck, {model = model, optimizer = opt})
  check(fields.epoch == 3 and fields.best == math.huge and #fields.history.loss == 2, "fields")
end)

add("readers", ".npy load", function()
  local t = nn.load_npy(R.npy)
  check(t.dtype == "float32" and t.shape[1] == 4, "npy")
end)

add("readers", "IDX raw and gzip", function()
  local a = nn.data.mnist{dir = IDX .. "plain", split = "test"}
  local b = nn.data.mnist{dir = IDX .. "gz", limit = 2}
  check(#a > 0 and #b == 2, "idx")
end)

add("readers", "CIFAR-10 binary", function()
  local ds = nn.data.cifar10{dir = R.cifar, split = "test"}
  check(#ds == 3 and ds.y[2] == 3, "cifar")
end)

add("readers", "PNG load and image_folder", function()
  local t = nn.image.load(R.png)
  check(t.shape[1] == 3 and t.shape[3] == 7, "png")
  check(nn.image.load(R.gray).shape[1] == 1, "gray")
  local ds = nn.data.image_folder(R.folder, {size = 4})
  check(#ds == 2, "image_folder")
end)

add("readers", "CSV", function()
  local ds = nn.data.csv(R.csv, {classes = true})
  check(#ds == 3 and ds.x.shape[2] == 3, "csv")
end)

add("writers", "safetensors save", function()
  nn.save({w = nn.randn(3, 4), t = nn.arange(6):view(2, 3):t()}, dir .. "/w.safetensors", {a = "b"})
end, {dir .. "/w.safetensors"})

add("writers", "checkpoint save", function()
  local model = mlp()
  local opt = nn.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
  opt:zero_grad()
  model(nn.randn(2, 8)):sum():backward()
  opt:step()
  nn.save_checkpoint(dir .. "/w.ckpt", {model = model, optimizer = opt, epoch = 1,
                                        history = {loss = {0.5}}, note = "sweep"})
end, {dir .. "/w.ckpt"})

add("writers", ".npy save", function()
  nn.save_npy(nn.randn(5, 2):t(), dir .. "/w.npy")
end, {dir .. "/w.npy"})

add("writers", "plots", function()
  nn.plot.lines({{name = "loss", y = {3, 2, 1.5, 1.2}}}, dir .. "/lines.png", {title = "Loss", yscale = "log"})
  nn.plot.images(nn.rand(4, 1, 5, 5), dir .. "/images.png", {labels = {1, 2, 1, 2}})
end, {dir .. "/lines.png", dir .. "/images.png"})

add("writers", "PNG save", function()
  nn.image.save(nn.rand(3, 9, 5), dir .. "/w.png")
  nn.image.save(nn.rand(1, 3, 3), dir .. "/g.png")
end, {dir .. "/w.png", dir .. "/g.png"})

add("data", "DataLoader epochs with shuffle and transform", function()
  local x = nn.randn(20, 1, 4, 4)
  local y = nn.randint(1, 4, {20})
  local ds = nn.data.tensor_dataset(x, y)
  local train, val = nn.data.random_split(ds, {0.75, 0.25}, 7)
  local loader = nn.data.DataLoader(train, {batch_size = 4, shuffle = true, seed = 3,
                                           transform = function(b) return b * 2 end})
  local seen = 0
  for _ = 1, 2 do
    for bx, by in loader:iter() do seen = seen + by:numel() check(bx.shape[2] == 1, "batch") end
  end
  for _, by in nn.data.DataLoader(val, {batch_size = 3}):iter() do seen = seen + by:numel() end
  check(seen == 35, "seen %d", seen)
end)

add("data", "transforms on batches", function()
  local tr = nn.transforms.Compose{nn.transforms.RandomCrop(6, {padding = 1}), nn.transforms.RandomHorizontalFlip(),
                                   nn.transforms.RandomRotation(10), nn.transforms.GaussianNoise(0.1),
                                   nn.transforms.Normalize({0.5}, {0.25})}
  local ds = nn.data.tensor_dataset(nn.rand(8, 1, 6, 6), nn.tensor({1, 2, 1, 2, 1, 2, 1, 2}, "int64"))
  local n = 0
  for bx in nn.data.DataLoader(ds, {batch_size = 3, transform = tr}):iter() do n = n + bx.shape[1] end
  check(n == 8, "n %d", n)
end)

add("data", "DataLoader over a subset and kfold", function()
  local ds = nn.data.tensor_dataset(nn.randn(12, 3), nn.randint(1, 3, {12}))
  local folds = nn.data.kfold(ds, 3, 1)
  local sub = nn.data.subset(folds[1].train, 5)
  local n = 0
  for _, by in nn.data.DataLoader(sub, {batch_size = 2, shuffle = true, drop_last = true}):iter() do
    n = n + by:numel()
  end
  check(n == 4, "n %d", n)
end)

add("data", "fit with validation, metrics and ModelCheckpoint", function()
  local ds = nn.data.tensor_dataset(nn.randn(24, 8), nn.randint(1, 5, {24}))
  local model = mlp()
  local history = nn.fit(model, {train = ds, validation_split = 0.25, batch_size = 6, epochs = 2,
                                 loss = nn.CrossEntropyLoss(), optimizer = nn.optim.Adam(model:parameters()),
                                 metrics = {"accuracy", "f1"}, verbose = 0,
                                 callbacks = {nn.callbacks.ModelCheckpoint{path = dir .. "/fit.ckpt"}}})
  check(#history.loss == 2 and #history.val_loss == 2, "history")
  local cm = nn.metrics.confusion_matrix(model(ds.x):argmax(2), ds.y, 4)
  check(cm:sum():item() == 24, "confusion_matrix")
end, {dir .. "/fit.ckpt"})

add("data", "k-nearest neighbours", function()
  local labels = {}
  for i = 1, 30 do labels[i] = i % 3 + 1 end
  local x, y = nn.randn(30, 4), nn.tensor(labels, "int64")
  local knn = nn.KNeighborsClassifier(3):fit(x, y)
  check(knn:predict(x:narrow(1, 1, 5)):numel() == 5, "predict")
  check(knn:predict_proba(x:narrow(1, 1, 2)).shape[2] == 3, "proba")
end)

-- ---- the sweep ----

local HUGE = 1 << 62

-- Runs fn with the n-th allocation failing; returns ok, err and the
-- countdown left (0: the failure happened).
local function with_failure(n, fn)
  core._alloc_fail_after(n)
  local ok, err = pcall(fn)
  return ok, err, core._alloc_fail_after(0)
end

local function sweep(s)
  s.fn() -- warm-up: lazily loaded modules, first-use caches
  collect()
  local base = live()
  local ok, err, pending = with_failure(HUGE, s.fn) -- counts the allocations
  check(ok, "%s: fails without injection: %s", s.name, tostring(err))
  local total = HUGE - pending
  local absorbed = 0
  for n = 1, total do
    ok, err, pending = with_failure(n, s.fn)
    check(pending == 0, "%s: allocation %d of %d never happened (the count varies between runs)",
          s.name, n, total)
    if ok then
      absorbed = absorbed + 1
    else
      check(type(err) == "string" and err:find("memory"),
            "%s: allocation %d of %d failed with a message that is not about memory: %s",
            s.name, n, total, tostring(err))
    end
    collect()
    check(live() == base, "%s: allocation %d of %d failed and leaked %d bytes (%s)",
          s.name, n, total, live() - base, tostring(err))
    local left = temporaries(s.outputs)
    check(#left == 0, "%s: allocation %d of %d left %s", s.name, n, total, table.concat(left, " "))
  end
  s.fn()
  collect()
  check(live() == base, "%s: leaked %d bytes after the sweep", s.name, live() - base)
  print(("%-45s %5d allocations failed one by one (%d absorbed)"):format(s.name, total, absorbed))
  return total
end

if group == "readers" then R = reader_files() end
local count, start = 0, os.clock()
for _, s in ipairs(scenarios) do
  if s.group == group then
    sweep(s)
    count = count + 1
  end
end
assert(count > 0, "unknown group '" .. group .. "'")
print(("%s: %d scenarios swept in %.1f s"):format(group, count, os.clock() - start))
