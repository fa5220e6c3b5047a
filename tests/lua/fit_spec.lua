-- nn.fit: the training loop, its history, validation, callbacks and output.
local nn = require "nn"

local function problem(n)
  nn.manual_seed(3)
  local x = nn.randn(n, 2)
  local y = (x:select(2, 1) * x:select(2, 2)):gt(0):long() + 1 -- xor of the signs
  return nn.data.tensor_dataset(x, y)
end

local function model_and_opt()
  local model = nn.Sequential{nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)}
  return model, nn.optim.Adam(model:parameters(), {lr = 0.05})
end

local function quietly(fn)
  local path = os.tmpname()
  local old = io.output()
  io.output(path)
  local ok, a, b = pcall(fn)
  io.output():close()
  io.output(old)
  local text = io.open(path):read("a")
  os.remove(path)
  assert(ok, a)
  return a, text, b
end

describe("fit", function()
  it("trains, validates on the last fraction, and returns the history", function()
    local ds = problem(400)
    local model, opt = model_and_opt()
    local history, text = quietly(function()
      return nn.fit(model, {train = ds, validation_split = 0.25, loss = nn.CrossEntropyLoss(), optimizer = opt,
                            epochs = 8, batch_size = 32})
    end)
    assert.are.equal(8, history.epochs)
    assert.are.equal(8, #history.loss)
    assert.are.equal(8, #history.val_accuracy)
    assert.are.equal(8, #history.time)
    assert(history.loss[8] < history.loss[1], "loss falls")
    assert(history.val_accuracy[8] > 0.85, "learns xor: " .. history.val_accuracy[8])
    local lines = 0
    for _ in text:gmatch("Epoch %d+/8 [%d.]+s loss [%d.]+ accuracy [%d.]+ val_loss [%d.]+ val_accuracy [%d.]+\n") do lines = lines + 1 end
    assert.are.equal(8, lines) -- one line per epoch when not on a terminal
  end)

  it("prints nothing with verbose=0 and steps a scheduler per epoch", function()
    local ds = problem(64)
    local model, opt = model_and_opt()
    local sched = nn.optim.StepLR(opt, {step_size = 1, gamma = 0.5})
    local _, text = quietly(function()
      return nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), optimizer = opt, scheduler = sched,
                            epochs = 3, verbose = 0})
    end)
    assert.are.equal("", text)
    assert(math.abs(opt.param_groups[1].lr - 0.05 / 8) < 1e-12)
  end)

  it("stops early with patience and restores the best weights", function()
    local ds = problem(200)
    local model, opt = model_and_opt()
    local stopper = nn.callbacks.EarlyStopping{monitor = "val_loss", patience = 1, restore_best = true}
    local seen = {}
    local spy = nn.callbacks.LambdaCallback{on_epoch_end = function(epoch, logs) seen[epoch] = logs.val_loss end}
    -- lr so large the loss diverges: training must stop early.
    opt.param_groups[1].lr = 5
    local history = quietly(function()
      return nn.fit(model, {train = ds, val = ds, loss = nn.CrossEntropyLoss(), optimizer = opt, epochs = 50,
                            callbacks = {stopper, spy}, verbose = 0})
    end)
    assert(history.epochs < 50, "stopped early")
    assert.are.equal(stopper.best_epoch + 2, history.epochs)
    local r = nn.evaluate(model, ds, {loss = nn.CrossEntropyLoss()})
    assert(math.abs(r.loss - stopper.best) < 1e-4, "best weights restored")
    assert.are.equal(history.epochs, #seen)
  end)

  it("writes checkpoints with ModelCheckpoint", function()
    local ds = problem(64)
    local model, opt = model_and_opt()
    local path = os.tmpname() .. ".safetensors"
    quietly(function()
      return nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), optimizer = opt, epochs = 2, verbose = 0,
                            callbacks = {nn.callbacks.ModelCheckpoint{path = path}}})
    end)
    local fields = nn.load_checkpoint(path, {model = select(1, model_and_opt())})
    assert.are.equal(2, fields.epoch)
    os.remove(path)
  end)

  it("explains missing options", function()
    local ok, err = pcall(nn.fit, nn.Sequential{nn.Linear(2, 2)}, {train = problem(8)})
    assert.is_false(ok)
    assert.matches("fit: needs a loss", err)
    ok, err = pcall(nn.fit, nn.Sequential{nn.Linear(2, 2)}, {train = problem(8), loss = nn.MSELoss(),
                                                               optimizer = nn.optim.SGD(nn.Linear(1, 1):parameters(), {lr = 1}),
                                                               metrics = {"auc"}})
    assert.is_false(ok)
    assert.matches("unknown metric 'auc'", err)
  end)
end)
