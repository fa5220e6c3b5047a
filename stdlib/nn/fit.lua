-- nn.fit: the Keras-style training loop, and its callbacks (nn.callbacks).
--
--   local history = nn.fit(model, {train=ds_or_loader, val=, validation_split=,
--     batch_size=32, loss=, optimizer=, scheduler=, scheduler_interval='epoch',
--     epochs=1, metrics=, threshold=0.5, teacher=, distill={T=4, alpha=0.9},
--     adversarial={eps=, ratio=0.5, attack='fgsm'|'pgd', alpha=, steps=, clamp=},
--     callbacks={...}, verbose=1})
--
-- The task follows the loss: multi-class (CrossEntropyLoss, NLLLoss,
-- MultiMarginLoss; metrics accuracy, precision, recall, f1, default
-- accuracy), binary (BCELoss on probabilities, BCEWithLogitsLoss on logits,
-- one output per sample, float targets [N] or [N,1] in [0, 1]; metrics
-- binary_accuracy, precision, recall, f1 of the positive class, auc; default
-- binary_accuracy; threshold is the cut-off on the probability) or
-- regression (MSELoss, L1Loss, HuberLoss, SmoothL1Loss; metrics mae, mse;
-- default mae; targets [N] for outputs [N,1] are read as [N,1]).
-- Each epoch trains on every batch (metrics are tensor ops per batch), then
-- evaluates on the validation data with nn.evaluate. The scheduler steps
-- once per epoch or, with scheduler_interval='step', after every batch.
-- With teacher=, the loss is nn.distillation_loss(student, teacher,
-- labels, distill) (the teacher in eval mode, under no_grad); loss= then
-- only serves validation (default CrossEntropyLoss).
-- With adversarial=, a fraction ratio of the batches (spread evenly: batch b
-- when floor(b*ratio) > floor((b-1)*ratio)) is replaced by its adversarial
-- version, made by nn.attacks.fgsm or pgd against the model as it is at
-- that step (alpha, steps and clamp go to the attack); the others train
-- clean.
-- Callbacks are tables with any of on_train_begin(cb, state),
-- on_epoch_begin(cb, epoch, state), on_batch_begin(cb, batch, state),
-- on_batch_end(cb, batch, state) (state.batch_loss: the batch's loss, a
-- number; state.optimizer, state.model, state.epoch), on_epoch_end(cb,
-- epoch, logs, state), on_train_end(cb, state); setting state.stop ends
-- training after the epoch.
--
-- Under mpirun (nn.distributed's world_size() > 1) fit is data-parallel by
-- itself, unless distributed=false: the optimizer is wrapped in
-- nn.distributed.Optimizer (rank 1's weights everywhere, gradients
-- averaged in buckets), the model's buffers take rank 1's values, each
-- rank trains on its DataLoader shard of every epoch (batch_size is per
-- rank) and validates on every world_size-th sample; the metrics are those
-- of all ranks' samples (counts added up), and the history, the same on
-- every rank, holds rank 1's numbers. Rank 1 alone prints; ModelCheckpoint
-- writes on rank 1 alone (state.rank, state.world_size tell callbacks
-- where they run). Outside mpirun fit never loads MPI.
local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local metrics = require "nn.metrics"
local fail = A.fail

local M = {}
local callbacks = {}
M.callbacks = callbacks

-- The last `fraction` of an in-memory dataset, as Keras's validation_split:
-- two views sharing the dataset's memory (a byte dataset stays bytes).
local function split_tail(ds, fraction)
  if not nn.data._is_dataset(ds) then
    if type(ds) ~= "table" or not nn.is_tensor(ds.x) or not nn.is_tensor(ds.y) then
      fail("fit", "validation_split needs train to be an in-memory dataset, got %s",
           type(ds) == "table" and (ds.iter and "a loader" or "a table without x and y") or type(ds))
    end
    ds = nn.data.tensor_dataset(ds.x, ds.y)
  end
  local n = #ds
  local n_val = math.floor(n * fraction)
  if n_val < 1 or n_val >= n then
    fail("fit", "validation_split %g leaves no data on one side of %d samples", fraction, n)
  end
  return ds:_range(1, n - n_val), ds:_range(n - n_val + 1, n_val)
end

-- The nn.distributed module when this fit is data-parallel: started by an
-- MPI launcher (checked without loading MPI), a world of several ranks,
-- and distributed not false.
local function distributed_world(flag)
  if not A.bool("fit", "distributed", flag, true) then return nil end
  if not require("nn.distributed.launcher").launched() then return nil end
  local d = nn.distributed
  if d.world_size() < 2 then return nil end
  return d
end

-- This rank's loader of train (a dataset or an nn.data.DataLoader, whose
-- options it keeps), sharded as DistributedSampler with a seed drawn by
-- rank 1's generator, so the ranks shuffle alike. A loader already given
-- rank= and world_size= is used as it is.
local function shard_loader(train, batch_size, R)
  local opts = {batch_size = batch_size, shuffle = true, rank = R.rank, world_size = R.world_size}
  local ds = train
  if type(train) == "table" and train.iter then
    if (getmetatable(train) or {}).__name ~= "nn.data.DataLoader" then
      fail("fit", "distributed training shards the training data: pass a dataset or an nn.data.DataLoader, not " ..
           "a loader of your own (or distributed=false, each rank then trains on all of its loader)")
    end
    if train.world_size then
      if train.world_size ~= R.world_size or train.rank ~= R.rank then
        fail("fit", "the training loader is rank %d of a world of %d, but this process is rank %d of %d",
             train.rank, train.world_size, R.rank, R.world_size)
      end
      return train
    end
    ds = train.dataset
    opts.batch_size, opts.shuffle, opts.drop_last, opts.transform = train.batch_size, train.shuffle, train.drop_last,
                                                                      train.transform
  elseif type(train) ~= "table" or not nn.is_tensor(train.x) then
    fail("fit", "train must be a dataset with x and y tensors or a loader with iter(), got %s", type(train))
  end
  opts.seed = math.tointeger(R.broadcast_numbers({nn.randint(0, (1 << 31) - 1, {1})[1]})[1])
  return nn.data.DataLoader(ds, opts)
end

-- This rank's part of an in-memory validation set (samples rank, rank +
-- world_size, ...) and the reducer that adds up the ranks' counts; a
-- loader, or a set smaller than the world, is validated whole on every rank.
local function shard_val(val, R)
  if type(val) ~= "table" or not nn.is_tensor(val.x) or #val < R.world_size then return val, nil end
  return nn.data.subset(val, nn.arange(R.rank, #val + 1, R.world_size, {dtype = "int64"})), R
end

-- The model's buffers (batch norm's running statistics) take rank 1's
-- values; the parameters are broadcast by nn.distributed.Optimizer.
local function broadcast_buffers(d, model)
  if type(model) ~= "table" or type(model.buffers) ~= "function" then return end
  nn.no_grad(function()
    for _, b in ipairs(model:buffers()) do
      if b.dtype == "float32" or b.dtype == "int64" then d.broadcast(b, 1) end
    end
  end)
end

local function as_loader(data, batch_size, shuffle)
  if type(data) == "table" and data.iter then return data end
  -- (a dataset's x is not read: a byte dataset would make it)
  if not nn.data._is_dataset(data) and (type(data) ~= "table" or not nn.is_tensor(data.x)) then
    fail("fit", "train must be a dataset with x and y tensors or a loader with iter(), got %s", type(data))
  end
  return nn.data.DataLoader(data, {batch_size = batch_size, shuffle = shuffle})
end

-- A one-line progress bar, redrawn in place on a terminal.
local function progress(epoch, epochs, done, total, elapsed, logs)
  local width = 24
  local filled = total > 0 and math.floor(width * done / total) or width
  local eta = done > 0 and elapsed / done * (total - done) or 0
  local parts = {}
  for _, k in ipairs(logs) do parts[#parts + 1] = ("%s %.4f"):format(k[1], k[2]) end
  io.write(("\rEpoch %d/%d %d/%d [%s%s] ETA %.0fs %s"):format(epoch, epochs, done, total,
    ("="):rep(filled), (" "):rep(width - filled), eta, table.concat(parts, " ")))
  io.flush()
end

local function epoch_line(epoch, epochs, seconds, logs)
  local parts = {}
  for _, k in ipairs(logs) do parts[#parts + 1] = ("%s %.4f"):format(k[1], k[2]) end
  return ("Epoch %d/%d %.1fs %s"):format(epoch, epochs, seconds, table.concat(parts, " "))
end

local function call(cbs, event, ...)
  for _, cb in ipairs(cbs) do
    if cb[event] then cb[event](cb, ...) end
  end
end

local FIT_OPTIONS = {}
for _, k in ipairs{"train", "val", "validation_split", "batch_size", "loss", "optimizer", "scheduler",
                   "scheduler_interval", "epochs", "metrics", "callbacks", "verbose", "threshold",
                   "teacher", "distill", "adversarial", "distributed"} do
  FIT_OPTIONS[k] = true
end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- opts.adversarial checked: {eps, ratio, attack, attack_opts}, or nil.
local function adversarial_options(o, teacher)
  if o == nil then return nil end
  o = A.options("fit", o, {eps = true, ratio = true, attack = true, alpha = true, steps = true, clamp = true})
  if teacher ~= nil then fail("fit", "adversarial= and teacher= cannot be combined") end
  if o.eps == nil then fail("fit", "adversarial needs eps (the attack's L-infinity radius)") end
  local attack = A.choice("fit", "adversarial.attack", o.attack or "fgsm", {"fgsm", "pgd"})
  if attack == "fgsm" and (o.alpha ~= nil or o.steps ~= nil) then
    fail("fit", "adversarial.alpha and adversarial.steps are for attack='pgd'")
  end
  return {eps = A.number("fit", "adversarial.eps", o.eps, 0), ratio = A.number("fit", "adversarial.ratio", o.ratio or 0.5, 0, 1),
          attack = attack, alpha = o.alpha, steps = o.steps, clamp = o.clamp}
end

-- Is batch b one of the attacked ones (ratio of them, spread evenly)?
local function attacked(adv, b)
  return adv and math.floor(b * adv.ratio + 1e-9) > math.floor((b - 1) * adv.ratio + 1e-9)
end

-- x's adversarial version against model and loss_fn.
local function attack_batch(adv, model, loss_fn, x, y)
  if adv.attack == "fgsm" then return nn.attacks.fgsm(model, loss_fn, x, y, adv.eps, {clamp = adv.clamp}) end
  return nn.attacks.pgd(model, loss_fn, x, y, {eps = adv.eps, alpha = adv.alpha, steps = adv.steps, clamp = adv.clamp})
end

-- history: loss, val_loss and, for each metric m asked, m and val_m
-- (arrays over the epochs), time, epochs (the number run) and stop_reason:
-- 'completed', 'early_stopping' (a callback set state.stop) or 'nan' (the
-- first non-finite training loss; that batch is not applied).
function M.fit(model, opts)
  if type(opts) ~= "table" then fail("fit", "options must be a table, got %s", type(opts)) end
  A.options("fit", opts, FIT_OPTIONS)
  local loss_fn, opt, teacher = opts.loss, opts.optimizer, opts.teacher
  if not loss_fn and not teacher then fail("fit", "needs a loss (e.g. nn.CrossEntropyLoss())") end
  if not opt then fail("fit", "needs an optimizer (e.g. nn.optim.SGD(model:parameters(), {lr=0.01}))") end
  local epochs = A.int("fit", "epochs", opts.epochs or 1, 1)
  local batch_size, verbose = A.int("fit", "batch_size", opts.batch_size or 32, 1), opts.verbose or 1
  local task, logits = metrics._task(loss_fn, opts.metrics)
  local names = metrics._metric_names("fit", opts.metrics, task, loss_fn ~= nil, true)
  local threshold = opts.threshold
  if threshold ~= nil then
    if task ~= "binary" then fail("fit", "threshold is for a binary task (BCELoss or BCEWithLogitsLoss)") end
    threshold = A.number("fit", "threshold", threshold, 0, 1)
  end
  local distill
  if teacher ~= nil then
    if type(teacher) ~= "function" and not (getmetatable(teacher) or {}).__call then
      fail("fit", "teacher must be a module or a function, got %s", type(teacher))
    end
    if task ~= "multiclass" then fail("fit", "distillation (teacher=) is for a multi-class task, the loss gives %s", task) end
    distill = A.options("fit", opts.distill, {T = true, alpha = true})
    distill = {T = A.number("fit", "distill.T", distill.T or 4, 0), alpha = A.number("fit", "distill.alpha", distill.alpha or 0.9, 0, 1)}
  elseif opts.distill ~= nil then
    fail("fit", "distill needs a teacher model (teacher=)")
  end
  local adversarial = adversarial_options(opts.adversarial, teacher)
  local interval = A.choice("fit", "scheduler_interval", opts.scheduler_interval or "epoch", {"epoch", "step"})
  local sched = opts.scheduler
  if sched and interval == "step" and sched.name == "ReduceLROnPlateau" then
    fail("fit", "ReduceLROnPlateau steps on the epoch's monitored value: use scheduler_interval='epoch'")
  end
  local train, val = opts.train, opts.val
  if opts.validation_split then
    if val then fail("fit", "give val or validation_split, not both") end
    train, val = split_tail(train, opts.validation_split)
  end
  local d = distributed_world(opts.distributed)
  local R, val_reducer, loader -- R: the reducer over the ranks when distributed
  if d then
    R = require("nn.distributed.reduce").new(d)
    loader = shard_loader(train, batch_size, R)
    if val then val, val_reducer = shard_val(val, R) end
    broadcast_buffers(d, model)
    if not opt._is_distributed then opt = d.Optimizer(opt) end
  else
    loader = as_loader(train, batch_size, true)
  end
  local rank, world = R and R.rank or 1, R and R.world_size or 1
  -- The targets of an in-memory dataset are checked once, not per batch.
  local checked = task == "binary" and not train.iter
  if checked then metrics._check_binary_targets("fit", train.y) end
  local cbs = opts.callbacks or {}
  if rank ~= 1 then verbose = 0 end
  local terminal = verbose == 1 and core._stdout_is_terminal()
  local history = {loss = {}, time = {}, epochs = 0, stop_reason = "completed"}
  for _, m in ipairs(names) do history[m] = {} end
  if val then
    history.val_loss = {}
    for _, m in ipairs(names) do history["val_" .. m] = {} end
  end
  local acc_opts = {threshold = threshold, logits = logits, checked = checked, loss_name = type(loss_fn) == "table" and loss_fn.__name}
  local val_loss = loss_fn or nn.CrossEntropyLoss()
  local state = {model = model, optimizer = opt, history = history, stop = false, rank = rank, world_size = world}
  if teacher and type(teacher) == "table" and teacher.eval then teacher:eval() end
  call(cbs, "on_train_begin", state)
  for epoch = 1, epochs do
    call(cbs, "on_epoch_begin", epoch, state)
    model:train()
    local acc = metrics._accumulator("fit", task, names, acc_opts)
    local t0, total, seen, batches = core._now(), 0, 0, #loader
    local b = 0
    for x, y in loader:iter() do
      b = b + 1
      state.epoch, state.batch = epoch, b
      call(cbs, "on_batch_begin", b, state)
      if attacked(adversarial, b) then x = attack_batch(adversarial, model, loss_fn, x, y) end
      opt:zero_grad()
      local out = model(x)
      y = metrics._align(task, out, y)
      local loss
      if teacher then
        local t_out = nn.no_grad(function() return teacher(x) end)
        loss = nn.distillation_loss(out, t_out, y, distill)
      else
        loss = loss_fn(out, y)
      end
      local lv, where = loss:item(), ""
      -- The ranks' losses (each rank's in its own slot) travel with the
      -- last gradient bucket, so that every rank learns of a NaN on any
      -- rank at no extra collective, and stops with the others.
      local losses = {lv}
      if R then
        loss:backward()
        local slots = nn.zeros(world)
        slots[rank] = lv
        opt:_all_reduce_gradients(slots)
        losses = slots:totable()
        for r, v in ipairs(losses) do
          if not finite(v) then lv, where = v, (" (on rank %d)"):format(r) break end
        end
      end
      local batch_sum = 0 -- in rank order, the same on every rank
      for _, v in ipairs(losses) do batch_sum = batch_sum + v end
      state.batch_loss = batch_sum / #losses
      if not finite(lv) then
        history.stop_reason = "nan"
        history.stop_message = ("fit: the training loss is %s at epoch %d, batch %d%s; training stopped " ..
          "(that batch was not applied). Try a lower learning rate, or nn.detect_anomaly(true) to find " ..
          "the op that made it."):format(tostring(lv), epoch, b, where)
        if verbose ~= 0 then io.write((terminal and "\n" or ""), history.stop_message, "\n") end
        break
      end
      if R then
        opt.optimizer:step() -- the gradients are averaged already
      else
        loss:backward()
        opt:step()
      end
      if sched and interval == "step" then sched:step() end
      local n = x.shape[1] -- the same on every rank: equal shards, cut alike
      total, seen = total + batch_sum * n, seen + n * #losses
      acc.add(out:detach(), y)
      if terminal then
        local logs, v = {{"loss", total / seen}}, acc.values(true)
        for _, m in ipairs(names) do
          if v[m] then logs[#logs + 1] = {m, v[m]} end
        end
        progress(epoch, epochs, b, batches, core._now() - t0, logs)
      end
      call(cbs, "on_batch_end", b, state)
    end
    if history.stop_reason == "nan" then break end
    local logs = {{"loss", total / math.max(seen, 1)}}
    if R then acc.reduce(R) end
    local v = acc.values()
    for _, m in ipairs(names) do logs[#logs + 1] = {m, v[m]} end
    if val then
      local r = metrics._evaluate_reduced(model, val, {loss = val_loss, batch_size = math.max(batch_size, 256),
                                                       threshold = threshold, metrics = names}, val_reducer)
      logs[#logs + 1] = {"val_loss", r.loss}
      for _, m in ipairs(names) do logs[#logs + 1] = {"val_" .. m, r[m]} end
    end
    local seconds = core._now() - t0
    if R then -- rank 1's numbers on every rank: identical histories and callback decisions
      local numbers = {seconds}
      for i, kv in ipairs(logs) do numbers[i + 1] = kv[2] end
      numbers = R.broadcast_numbers(numbers)
      seconds = numbers[1]
      for i, kv in ipairs(logs) do kv[2] = numbers[i + 1] end
    end
    for _, kv in ipairs(logs) do history[kv[1]][epoch] = kv[2] end
    history.time[epoch] = seconds
    history.epochs = epoch
    if sched and interval == "epoch" then
      if sched.name == "ReduceLROnPlateau" then
        sched:step(val and history.val_loss[epoch] or history.loss[epoch])
      else
        sched:step()
      end
    end
    if terminal then io.write("\r" .. epoch_line(epoch, epochs, history.time[epoch], logs) .. "\27[K\n")
    elseif verbose == 1 then io.write(epoch_line(epoch, epochs, history.time[epoch], logs), "\n") end
    local values = {}
    for _, kv in ipairs(logs) do values[kv[1]] = kv[2] end
    call(cbs, "on_epoch_end", epoch, values, state)
    if state.stop then history.stop_reason = "early_stopping"; break end
  end
  call(cbs, "on_train_end", state)
  return history
end

-- ---- callbacks ----

-- Is `value` an improvement on `best` for this monitor?
local function improves(mode, value, best, min_delta)
  if best == nil then return true end
  if mode == "max" then return value > best + min_delta end
  return value < best - min_delta
end

local function monitor_mode(fname, monitor, mode)
  if mode and mode ~= "auto" then
    if mode ~= "min" and mode ~= "max" then
      fail(fname, "mode must be 'min', 'max' or 'auto', got %s", A.show(mode))
    end
    return mode
  end
  for _, word in ipairs{"acc", "auc", "precision", "recall", "f1"} do
    if monitor:find(word, 1, true) then return "max" end
  end
  return "min"
end

local function snapshot(model)
  local copy = {}
  for name, t in pairs(model:state_dict()) do copy[name] = t:clone() end
  return copy
end

--- EarlyStopping{monitor='val_loss', patience=0, min_delta=0, mode='auto',
-- baseline=nil, start_from_epoch=0, restore_best=false}, as Keras 2.x's
-- EarlyStopping (restore_best is its restore_best_weights). After each
-- epoch e (counted from 0 as Keras) with e >= start_from_epoch: wait += 1;
-- an improvement is monitor - min_delta < best (mode min; > for max); on
-- one, best = monitor, and wait = 0 when monitor also improves on the
-- baseline (or there is none); otherwise, when wait >= patience and e > 0,
-- training stops (and with restore_best the weights of the best epoch are
-- put back). mode 'auto' is 'max' for accuracy, auc, precision, recall and
-- f1, 'min' otherwise. best_epoch and stopped_epoch count from 1.
local ES_OPTIONS = {monitor = true, patience = true, min_delta = true, mode = true, baseline = true,
                    start_from_epoch = true, restore_best = true}

function callbacks.EarlyStopping(o)
  local fname = "EarlyStopping"
  o = A.options(fname, o, ES_OPTIONS)
  local monitor = o.monitor or "val_loss"
  if type(monitor) ~= "string" then fail(fname, "monitor must be a metric name, got %s", A.show(monitor)) end
  local self = {monitor = monitor, patience = A.int(fname, "patience", o.patience or 0, 0),
                min_delta = math.abs(A.number(fname, "min_delta", o.min_delta or 0)),
                start_from_epoch = A.int(fname, "start_from_epoch", o.start_from_epoch or 0, 0),
                restore_best = A.bool(fname, "restore_best", o.restore_best, false),
                wait = 0, stopped_epoch = nil}
  if o.baseline ~= nil then self.baseline = A.number(fname, "baseline", o.baseline) end
  self.mode = monitor_mode(fname, monitor, o.mode)
  local sign = self.mode == "max" and 1 or -1
  -- Keras's _is_improvement: monitor_op(value - min_delta, reference),
  -- min_delta negated for mode min.
  local function keras_improves(value, reference)
    if self.mode == "max" then return value - self.min_delta > reference end
    return value + self.min_delta < reference
  end
  function self:on_train_begin()
    self.wait, self.stopped_epoch, self.best_state, self.best_epoch = 0, nil, nil, nil
    self.best = -sign * math.huge
  end
  function self:on_epoch_end(epoch, logs, state)
    local v = logs[self.monitor]
    if v == nil then
      local keys = {}
      for k in pairs(logs) do keys[#keys + 1] = k end
      table.sort(keys)
      fail(fname, "monitor '%s' is not logged (logged: %s)", self.monitor, table.concat(keys, ", "))
    end
    local e = epoch - 1
    if e < self.start_from_epoch then return end
    if self.restore_best and self.best_state == nil then self.best_state = snapshot(state.model) end
    self.wait = self.wait + 1
    if keras_improves(v, self.best) then
      self.best, self.best_epoch = v, epoch
      if self.restore_best then self.best_state = snapshot(state.model) end
      if self.baseline == nil or keras_improves(v, self.baseline) then self.wait = 0 end
      return
    end
    if self.wait >= self.patience and e > 0 then
      self.stopped_epoch, state.stop = epoch, true
      if self.restore_best and self.best_state then state.model:load_state_dict(self.best_state) end
    end
  end
  return self
end

--- ModelCheckpoint{path=, monitor=nil (every epoch) or 'val_loss', mode='auto'}
-- writes nn.save_checkpoint(path, {model=, optimizer=, epoch=, history=})
-- at the end of each epoch, or only when the monitored value improves;
-- in a distributed fit, on rank 1 alone (every rank keeps track of the best).
function callbacks.ModelCheckpoint(o)
  if type(o) ~= "table" or type(o.path) ~= "string" then fail("ModelCheckpoint", "needs {path=...}") end
  A.options("ModelCheckpoint", o, {path = true, monitor = true, mode = true})
  local self = {path = o.path, monitor = o.monitor}
  self.mode = o.monitor and monitor_mode("ModelCheckpoint", o.monitor, o.mode)
  function self:on_epoch_end(epoch, logs, state)
    if self.monitor then
      local v = logs[self.monitor]
      if v == nil then fail("ModelCheckpoint", "monitor '%s' is not logged", self.monitor) end
      if not improves(self.mode, v, self.best, 0) then return end
      self.best = v
    end
    if (state.rank or 1) ~= 1 then return end
    nn.save_checkpoint(self.path, {model = state.model, optimizer = state.optimizer, epoch = epoch,
                                   history = state.history})
  end
  return self
end

--- LambdaCallback{on_epoch_end=function(epoch, logs, state) ... end, ...}
local EVENTS = {"on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end", "on_train_end"}

function callbacks.LambdaCallback(o)
  local known = {}
  for _, event in ipairs(EVENTS) do known[event] = true end
  A.options("LambdaCallback", o, known) -- a misspelt event would never be called
  local self = {}
  for _, event in ipairs(EVENTS) do
    if o and o[event] ~= nil then
      if type(o[event]) ~= "function" then fail("LambdaCallback", "%s must be a function, got %s", event, type(o[event])) end
      self[event] = function(_, ...) return o[event](...) end
    end
  end
  return self
end

return M
