-- The course's main job: an MLP (or a CNN) on Fashion-MNIST, with a 15%
-- validation split, learning curves, test accuracy, a per-class report
-- and a checkpoint.
--
--   nnlua scripts/fashion_mnist.lua [--epochs N] [--lr X] [--batch-size B]
--                                   [--model mlp|cnn] [--out DIR] [--seed S]
--                                   [--limit N]
-- --limit N uses only the first N images of each split: a quick try.
local opts = {epochs = 5, lr = 0.01, batch_size = 64, model = "mlp", out = "out", seed = 0, limit = 0}
local i = 1
while arg[i] do
  local name, value = arg[i]:match("^%-%-([%w-]+)$"), arg[i + 1]
  local key = name and name:gsub("-", "_")
  if not key or opts[key] == nil or value == nil then
    io.stderr:write(("usage: %s [--epochs N] [--lr X] [--batch-size B] [--model mlp|cnn] [--out DIR] [--seed S] [--limit N]\n"):format(arg[0]))
    os.exit(1)
  end
  if type(opts[key]) == "number" then
    opts[key] = tonumber(value) or error(("--%s needs a number, got '%s'"):format(name, value), 0)
  else
    opts[key] = value
  end
  i = i + 2
end
local function check(ok, fmt, ...) if not ok then error(fmt:format(...), 0) end end
check(opts.model == "mlp" or opts.model == "cnn", "--model must be mlp or cnn, got %s", opts.model)
check(opts.epochs >= 1 and opts.epochs % 1 == 0, "--epochs must be a whole number >= 1, got %s", opts.epochs)
check(opts.batch_size >= 1 and opts.batch_size % 1 == 0, "--batch-size must be a whole number >= 1, got %s",
      opts.batch_size)
check(opts.lr > 0, "--lr must be > 0, got %s", opts.lr)
check(opts.limit >= 0 and opts.limit % 1 == 0, "--limit must be a whole number >= 0, got %s", opts.limit)
os.execute(("mkdir -p '%s'"):format((opts.out:gsub("'", "'\\''"))))
nn.manual_seed(opts.seed)

-- Inputs normalized with the training set's mean and std, as the course
-- does. The images stay bytes (47 MB for the training set, not 188 MB as
-- floats); each batch is converted and normalized in one pass.
local normalize = nn.transforms.Normalize(0.2860, 0.3530)
local function load(split)
  return nn.data.fashion_mnist{split = split, transform = normalize,
                               limit = opts.limit > 0 and opts.limit or nil}
end
local train = load("train")
local test = load("test")
local classes = train.classes

local model
if opts.model == "mlp" then
  model = nn.Sequential{
    nn.Flatten(),
    nn.Linear(784, 256), nn.ReLU(),
    nn.Linear(256, 128), nn.ReLU(),
    nn.Linear(128, 10),
  }
else
  model = nn.Sequential{
    nn.Conv2d(1, 32, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
    nn.Linear(128, 10),
  }
end
local optimizer = opts.model == "mlp" and nn.optim.SGD(model:parameters(), {lr = opts.lr})
                  or nn.optim.Adam(model:parameters(), {lr = opts.lr == 0.01 and 1e-3 or opts.lr})
print(model)

local history = nn.fit(model, {
  train = train, validation_split = 0.15, batch_size = opts.batch_size,
  loss = nn.CrossEntropyLoss(), optimizer = optimizer, epochs = opts.epochs,
})

local curves = nn.plot.history(history, opts.out .. "/learning_curves.png",
                               {metrics = {"loss", "val_loss", "accuracy", "val_accuracy"},
                                title = "Fashion-MNIST " .. opts.model})
local r = nn.evaluate(model, test, {loss = nn.CrossEntropyLoss()})
print(("test accuracy %.4f  test loss %.4f  macro F1 %.4f"):format(r.accuracy, r.loss, r.f1))
print(("%-12s %9s %9s %9s"):format("class", "precision", "recall", "f1"))
local p, rc, f = r.per_class.precision:totable(), r.per_class.recall:totable(), r.per_class.f1:totable()
for c, name in ipairs(classes) do
  print(("%-12s %9.3f %9.3f %9.3f"):format(name, p[c], rc[c], f[c]))
end
local ckpt = nn.save_checkpoint(opts.out .. "/" .. opts.model .. ".safetensors",
                                {model = model, optimizer = optimizer, epoch = history.epochs, history = history})
print(("learning curves: %s\ncheckpoint: %s"):format(curves, ckpt))
