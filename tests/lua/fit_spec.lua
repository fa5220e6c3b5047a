-- nn.fit: the training loop, its history, validation, callbacks and output.
local nn = require "nn"
local H = require "helpers"

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
    assert.are.equal(stopper.best_epoch + 1, history.epochs) -- Keras: patience 1 stops one epoch after the best
    assert.are.equal("early_stopping", history.stop_reason)
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

  it("rejects unknown options, metrics of another task and bad scheduler_interval", function()
    local ds = problem(16)
    local model, opt = model_and_opt()
    local base = {train = ds, loss = nn.CrossEntropyLoss(), optimizer = opt, verbose = 0}
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return function() nn.fit(model, o) end
    end
    H.assert_error(with{epoch = 2}, "fit", "unknown option 'epoch'", "epochs")
    H.assert_error(with{metrics = {"mae"}}, "fit", "unknown metric 'mae' for a multi-class task", "accuracy")
    H.assert_error(with{metrics = {"confusion_matrix"}}, "fit", "unknown metric 'confusion_matrix'")
    H.assert_error(with{scheduler_interval = "batch"}, "fit", "scheduler_interval", "batch")
    H.assert_error(with{scheduler = nn.optim.ReduceLROnPlateau(opt), scheduler_interval = "step"},
                   "fit", "ReduceLROnPlateau")
    H.assert_error(with{threshold = 0.3}, "fit", "threshold is for a binary task")
    H.assert_error(with{distill = {T = 2}}, "fit", "distill needs a teacher")
  end)
end)

-- Binary: one logit (or probability) per sample, float targets [N] or [N,1].
local function binary_problem(n, column)
  nn.manual_seed(5)
  local x = nn.randn(n, 2)
  local y = (x:select(2, 1) + x:select(2, 2) * 0.5):gt(0):float()
  return nn.data.tensor_dataset(x, column and y:view(n, 1) or y)
end

-- Regression: y = 2 x1 - x2 + 0.5 (+ a little noise), targets [N].
local function regression_problem(n)
  nn.manual_seed(6)
  local x = nn.randn(n, 2)
  local y = x:select(2, 1) * 2 - x:select(2, 2) + 0.5 + nn.randn(n) * 0.01
  return nn.data.tensor_dataset(x, y)
end

describe("fit on every task", function()
  it("trains a one-logit binary model with validation ([N,1] and [N] targets)", function()
    for _, column in ipairs{true, false} do
      local ds = binary_problem(200, column)
      local model = nn.Sequential{nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)}
      local opt = nn.optim.Adam(model:parameters(), {lr = 0.05})
      local history, text = quietly(function()
        return nn.fit(model, {train = ds, validation_split = 0.2, loss = nn.BCEWithLogitsLoss(), optimizer = opt,
                              epochs = 10, batch_size = 16})
      end)
      assert.are.equal(10, #history.binary_accuracy)
      assert.are.equal(10, #history.val_binary_accuracy)
      assert.is_nil(history.accuracy)
      assert(history.val_binary_accuracy[10] > 0.9, "learns: " .. history.val_binary_accuracy[10])
      assert.matches("val_loss [%d.]+ val_binary_accuracy [%d.]+\n", text)
      assert.are.equal("completed", history.stop_reason)
      -- the history's last validation value is evaluate's
      local r = nn.evaluate(model, {x = ds.x:narrow(1, 161, 40), y = ds.y:narrow(1, 161, 40)},
                            {loss = nn.BCEWithLogitsLoss()})
      H.near(r.binary_accuracy, history.val_binary_accuracy[10])
      H.near(r.loss, history.val_loss[10], 1e-5)
    end
  end)

  it("trains a probability model with BCELoss and the positive-class metrics", function()
    local ds = binary_problem(200, true)
    local model = nn.Sequential{nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid()}
    local opt = nn.optim.Adam(model:parameters(), {lr = 0.05})
    local history = quietly(function()
      return nn.fit(model, {train = ds, val = ds, loss = nn.BCELoss(), optimizer = opt, epochs = 8,
                            metrics = {"binary_accuracy", "precision", "recall", "f1", "auc"}, verbose = 0})
    end)
    for _, m in ipairs{"binary_accuracy", "precision", "recall", "f1", "auc"} do
      assert.are.equal(8, #history[m], m)
      assert.are.equal(8, #history["val_" .. m], m)
      assert(history["val_" .. m][8] > 0.85, m .. " " .. history["val_" .. m][8])
    end
    assert(history.val_auc[8] >= history.val_binary_accuracy[8] - 0.1)
  end)

  it("trains regression with every regression loss and reports mae (not accuracy)", function()
    local ds = regression_problem(256)
    for _, loss in ipairs{nn.MSELoss(), nn.L1Loss(), nn.HuberLoss(), nn.SmoothL1Loss()} do
      nn.manual_seed(1)
      local model = nn.Sequential{nn.Linear(2, 1)}
      local opt = nn.optim.Adam(model:parameters(), {lr = 0.1})
      local history, text = quietly(function()
        return nn.fit(model, {train = ds, validation_split = 0.25, loss = loss, optimizer = opt, epochs = 15,
                              batch_size = 16, metrics = {"mae", "mse"}})
      end)
      assert.is_nil(history.accuracy)
      assert.matches("val_mae [%d.]+ val_mse [%d.]+\n", text)
      assert(history.mae[15] < history.mae[1], "mae falls")
      -- targets [N] against outputs [N,1] are compared sample by sample
      -- (broadcast to [N,N] they could never reach a small error)
      assert(history.val_mae[15] < 0.1, loss.__name .. " val_mae " .. history.val_mae[15])
    end
    -- the default metric of regression is mae
    local history = quietly(function()
      return nn.fit(nn.Linear(2, 1), {train = ds, loss = nn.MSELoss(), epochs = 1, verbose = 0,
                                      optimizer = nn.optim.SGD(nn.Linear(2, 1):parameters(), {lr = 0.01})})
    end)
    assert.are.equal(1, #history.mae)
  end)

  it("rejects binary targets outside [0, 1] and metrics of another task", function()
    local model = nn.Linear(2, 1)
    local opt = nn.optim.SGD(model:parameters(), {lr = 0.1})
    local ds = problem(32) -- labels 1, 2
    local ok, err = pcall(nn.fit, model, {train = nn.data.tensor_dataset(ds.x, ds.y:float()), loss = nn.BCEWithLogitsLoss(),
                                          optimizer = opt, verbose = 0})
    assert.is_false(ok)
    assert.matches("binary targets must lie in %[0, 1%], got values in %[1, 2%]", err)
    H.assert_error(function()
      nn.fit(model, {train = binary_problem(16), loss = nn.BCELoss(), optimizer = opt, metrics = {"accuracy"}})
    end, "fit", "unknown metric 'accuracy' for a binary task", "binary_accuracy")
    H.assert_error(function()
      nn.fit(model, {train = regression_problem(16), loss = nn.HuberLoss(), optimizer = opt, metrics = {"auc"}})
    end, "fit", "unknown metric 'auc' for a regression task", "mae, mse")
  end)
end)

describe("fit callbacks and schedulers", function()
  it("calls on_batch_begin and on_batch_end with the batch loss and the optimizer", function()
    local ds = problem(100)
    local model, opt = model_and_opt()
    local begins, losses, opts_seen = 0, {}, {}
    local cb = {
      on_batch_begin = function(_, b, state) begins = begins + 1; assert.is_nil(losses[begins]) end,
      on_batch_end = function(_, b, state)
        losses[#losses + 1] = state.batch_loss
        opts_seen[#opts_seen + 1] = state.optimizer
      end,
    }
    local spy = nn.callbacks.LambdaCallback{on_batch_begin = function(b) assert(b >= 1) end}
    quietly(function()
      return nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), optimizer = opt, epochs = 2,
                            batch_size = 32, callbacks = {cb, spy}, verbose = 0})
    end)
    assert.are.equal(8, begins) -- 4 batches of 100 samples, twice
    assert.are.equal(8, #losses)
    for i = 1, 8 do
      assert.are.equal("number", type(losses[i]))
      assert.are.equal(opt, opts_seen[i])
    end
  end)

  it("steps the scheduler after every batch with scheduler_interval='step'", function()
    local ds = problem(64)
    local model, opt = model_and_opt()
    local sched = nn.optim.StepLR(opt, {step_size = 1, gamma = 0.5})
    quietly(function()
      return nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), optimizer = opt, scheduler = sched,
                            scheduler_interval = "step", epochs = 2, batch_size = 16, verbose = 0})
    end)
    assert(math.abs(opt.param_groups[1].lr - 0.05 / 2 ^ 8) < 1e-12) -- 4 batches x 2 epochs
  end)

  it("stops cleanly at the first non-finite loss with a hint", function()
    local ds = problem(64)
    local model, opt = model_and_opt()
    local ce, calls = nn.CrossEntropyLoss(), 0
    local function loss(out, y)
      calls = calls + 1
      local l = ce(out, y)
      if calls == 7 then return l * (0 / 0) end
      return l
    end
    local before
    local history, text = quietly(function()
      return nn.fit(model, {train = ds, loss = loss, optimizer = opt, epochs = 5, batch_size = 16,
                            callbacks = {{on_batch_end = function()
                              before = {}
                              for name, t in pairs(model:state_dict()) do before[name] = t:clone() end
                            end}}})
    end)
    assert.are.equal("nan", history.stop_reason)
    assert.are.equal(1, history.epochs) -- epoch 2 never finished
    assert.are.equal(1, #history.loss)
    assert.matches("epoch 2, batch 3", text)
    assert.matches("lower learning rate", text)
    assert.matches("nn.detect_anomaly%(true%)", text)
    for name, t in pairs(model:state_dict()) do
      assert.are.equal(t:numel(), t:eq(before[name]):sum():item(), name) -- the NaN batch was not applied
    end
  end)

  it("distills a teacher: the loss is nn.distillation_loss", function()
    local ds = problem(200)
    local teacher, topt = model_and_opt()
    quietly(function()
      return nn.fit(teacher, {train = ds, loss = nn.CrossEntropyLoss(), optimizer = topt, epochs = 10, verbose = 0})
    end)
    local student, sopt = model_and_opt()
    local want = nn.distillation_loss(student(ds.x), teacher(ds.x), ds.y, {T = 2, alpha = 0.5}):item()
    local history = quietly(function()
      return nn.fit(student, {train = ds, val = ds, teacher = teacher, distill = {T = 2, alpha = 0.5},
                              optimizer = sopt, epochs = 1, batch_size = 200, verbose = 0})
    end)
    H.near(history.loss[1], want, 1e-5)
    history = quietly(function()
      return nn.fit(student, {train = ds, val = ds, teacher = teacher, distill = {T = 2, alpha = 0.5},
                              loss = nn.CrossEntropyLoss(), optimizer = sopt, epochs = 10, verbose = 0})
    end)
    assert(history.val_accuracy[10] > 0.85, "the student learns: " .. history.val_accuracy[10])
    H.assert_error(function()
      nn.fit(student, {train = ds, teacher = teacher, distill = {T = 2, beta = 1}, optimizer = sopt})
    end, "fit", "beta")
    H.assert_error(function()
      nn.fit(student, {train = ds, teacher = teacher, loss = nn.MSELoss(), optimizer = sopt})
    end, "fit", "multi-class")
  end)
end)

-- Keras 2.x's EarlyStopping.on_epoch_end (keras/callbacks.py, 2.12),
-- transcribed; epoch counts from 0:
--   current = logs[monitor]; if current is None or epoch < start_from_epoch: return
--   self.wait += 1
--   if self._is_improvement(current, self.best):      # monitor_op(current - min_delta, best)
--       self.best = current; self.best_epoch = epoch
--       if self.baseline is None or self._is_improvement(current, self.baseline):
--           self.wait = 0
--       return
--   if self.wait >= self.patience and epoch > 0:
--       self.stopped_epoch = epoch; self.model.stop_training = True
-- with best = +inf (mode min, min_delta negated) or -inf (mode max).
-- Returns the 1-based epoch after which training stops (nil: never).
local function keras_stop(seq, o)
  local max = o.mode == "max"
  local delta = math.abs(o.min_delta or 0)
  local function better(v, ref) if max then return v - delta > ref end return v + delta < ref end
  local best, wait = max and -math.huge or math.huge, 0
  for i, v in ipairs(seq) do
    local epoch = i - 1
    if epoch >= (o.start_from_epoch or 0) then
      wait = wait + 1
      if better(v, best) then
        best = v
        if o.baseline == nil or better(v, o.baseline) then wait = 0 end
      elseif wait >= (o.patience or 0) and epoch > 0 then
        return i
      end
    end
  end
end

local function our_stop(seq, o)
  local opts = {monitor = o.monitor or "val_loss"}
  for k, v in pairs(o) do opts[k] = v end
  local cb = nn.callbacks.EarlyStopping(opts)
  local state = {stop = false, model = nn.Linear(1, 1)}
  cb:on_train_begin(state)
  for i, v in ipairs(seq) do
    cb:on_epoch_end(i, {[opts.monitor] = v}, state)
    if state.stop then return i, cb end
  end
  return nil, cb
end

describe("EarlyStopping as Keras 2.x", function()
  local down_up = {1.0, 0.8, 0.5, 0.6, 0.7, 0.55, 0.9, 0.4, 1.0, 1.0}
  local cases = {
    {down_up, {patience = 3}, 6},  -- best at epoch 3, three epochs without improvement
    {down_up, {patience = 0}, 4},
    {down_up, {patience = 1}, 4},
    {down_up, {patience = 5}, nil}, -- 0.4 at epoch 8 resets the wait
    {down_up, {patience = 2, min_delta = 0.2}, 5}, -- 0.8 is not 0.2 below 1.0; 0.5 is
    {down_up, {patience = 3, baseline = 0.45}, 4},
    {down_up, {patience = 2, start_from_epoch = 4}, 10}, -- counts from epoch 5
    {{0.1, 0.3, 0.5, 0.4, 0.45, 0.3}, {monitor = "val_accuracy", patience = 2}, 5},
    {{0.1, 0.3, 0.5, 0.4, 0.45, 0.3}, {monitor = "val_loss", mode = "max", patience = 2}, 5},
    {{0.1, 0.3, 0.5, 0.4, 0.45, 0.3}, {monitor = "val_loss", patience = 2}, 3},
  }
  for i, c in ipairs(cases) do
    it("stops where Keras stops, case " .. i, function()
      local want = keras_stop(c[1], setmetatable({mode = (c[2].monitor or ""):find("acc") and "max" or c[2].mode}, {__index = c[2]}))
      assert.are.equal(c[3], want, "the transcription")
      assert.are.equal(want, (our_stop(c[1], c[2])))
    end)
  end

  it("reports the best epoch and restores its weights when it stops", function()
    local _, cb = our_stop(down_up, {patience = 3, restore_best = true})
    assert.are.equal(3, cb.best_epoch)
    assert.are.equal(6, cb.stopped_epoch)
    assert.are.equal(0.5, cb.best)
  end)

  it("rejects bad options", function()
    local E = nn.callbacks.EarlyStopping
    H.assert_error(function() E{patients = 3} end, "EarlyStopping", "patients", "patience")
    H.assert_error(function() E{patience = -1} end, "EarlyStopping", "patience", "-1")
    H.assert_error(function() E{patience = 1.5} end, "EarlyStopping", "patience")
    H.assert_error(function() E{mode = "up"} end, "EarlyStopping", "mode", "up")
    H.assert_error(function() E{baseline = "low"} end, "EarlyStopping", "baseline")
    H.assert_error(function() E{min_delta = "x"} end, "EarlyStopping", "min_delta")
    H.assert_error(function() E{start_from_epoch = -2} end, "EarlyStopping", "start_from_epoch")
    H.assert_error(function() E{restore_best = 1} end, "EarlyStopping", "restore_best")
    H.assert_error(function() E{monitor = 3} end, "EarlyStopping", "monitor")
    local cb = E{monitor = "val_auc"}
    assert.are.equal("max", cb.mode)
    cb = E{monitor = "val_los"}
    cb:on_train_begin({})
    H.assert_error(function() cb:on_epoch_end(1, {loss = 1, val_loss = 1}, {}) end,
                   "EarlyStopping", "monitor 'val_los' is not logged", "loss, val_loss")
  end)
end)

describe("fit with adversarial training", function()
  -- A fixed model, loader order and optimizer, so fit and a hand-written
  -- loop can be compared bit for bit.
  local function setup()
    local ds = problem(64)
    nn.manual_seed(1)
    local model = nn.Sequential{nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)}
    local loader = nn.data.DataLoader(ds, {batch_size = 16})
    return model, loader, nn.optim.SGD(model:parameters(), {lr = 0.1}), nn.CrossEntropyLoss()
  end

  local function fit_weights(adversarial)
    local model, loader, opt, loss = setup()
    nn.fit(model, {train = loader, loss = loss, optimizer = opt, epochs = 2, verbose = 0,
                   adversarial = adversarial})
    return model[1].weight
  end

  -- The same training written out: batch b is attacked when attack(b).
  local function loop_weights(attack, make)
    local model, loader, opt, loss = setup()
    for _ = 1, 2 do
      local b = 0
      for x, y in loader:iter() do
        b = b + 1
        if attack(b) then x = make(model, loss, x, y) end
        opt:zero_grad()
        loss(model(x), y):backward()
        opt:step()
      end
    end
    return model[1].weight
  end

  local function fgsm(model, loss, x, y) return nn.attacks.fgsm(model, loss, x, y, 0.2) end

  it("attacks the given fraction of the batches, spread evenly", function()
    local all = loop_weights(function() return true end, fgsm)
    assert.are.same(all:totable(), fit_weights({eps = 0.2, ratio = 1}):totable())
    local even = loop_weights(function(b) return b % 2 == 0 end, fgsm)
    assert.are.same(even:totable(), fit_weights({eps = 0.2}):totable()) -- ratio 0.5 by default
    local clean = loop_weights(function() return false end, fgsm)
    assert.are.same(clean:totable(), fit_weights({eps = 0.2, ratio = 0}):totable())
    assert.are_not.same(clean:totable(), all:totable())
  end)

  it("runs PGD with its options", function()
    local pgd = loop_weights(function() return true end, function(model, loss, x, y)
      return nn.attacks.pgd(model, loss, x, y, {eps = 0.2, alpha = 0.05, steps = 3})
    end)
    assert.are.same(pgd:totable(),
                    fit_weights({eps = 0.2, ratio = 1, attack = "pgd", alpha = 0.05, steps = 3}):totable())
  end)

  it("checks its options", function()
    H.assert_error(function() fit_weights({ratio = 0.5}) end, "fit: adversarial needs eps")
    H.assert_error(function() fit_weights({eps = 0.1, ratio = 2}) end, "adversarial.ratio")
    H.assert_error(function() fit_weights({eps = 0.1, attack = "cw"}) end, "adversarial.attack", "'cw'")
    H.assert_error(function() fit_weights({eps = 0.1, steps = 3}) end, "are for attack='pgd'")
    H.assert_error(function() fit_weights({eps = 0.1, epss = 1}) end, "fit: unknown option 'epss' (did you mean 'eps'?")
    local model, loader, opt, loss = setup()
    H.assert_error(function()
      nn.fit(model, {train = loader, loss = loss, optimizer = opt, verbose = 0, teacher = model,
                     adversarial = {eps = 0.1}})
    end, "fit: adversarial= and teacher= cannot be combined")
  end)
end)
