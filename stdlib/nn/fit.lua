-- nn.fit: the Keras-style training loop, and its callbacks (nn.callbacks).
--
--   local history = nn.fit(model, {train=ds_or_loader, val=, validation_split=,
--     batch_size=32, loss=, optimizer=, scheduler=, epochs=1,
--     metrics={'accuracy'}, callbacks={...}, verbose=1})
--
-- Each epoch trains on every batch (no per-element Lua work: losses and
-- correct counts are tensor ops), then evaluates on the validation data.
-- history holds arrays loss, accuracy, val_loss, val_accuracy (for the
-- metrics asked), time (seconds per epoch) and the number of epochs run.
local nn = require "nn"
local core = require "nn.core"
local fail = require("nn.args").fail

local M = {}
local callbacks = {}
M.callbacks = callbacks

-- The last `fraction` of an in-memory dataset, as Keras's validation_split.
local function split_tail(ds, fraction)
  local n = ds.x.shape[1]
  local n_val = math.floor(n * fraction)
  if n_val < 1 or n_val >= n then
    fail("fit", "validation_split %g leaves no data on one side of %d samples", fraction, n)
  end
  return nn.data.tensor_dataset(ds.x:narrow(1, 1, n - n_val), ds.y:narrow(1, 1, n - n_val)),
         nn.data.tensor_dataset(ds.x:narrow(1, n - n_val + 1, n_val), ds.y:narrow(1, n - n_val + 1, n_val))
end

local function as_loader(data, batch_size, shuffle)
  if type(data) == "table" and data.iter then return data end
  if type(data) ~= "table" or not nn.is_tensor(data.x) then
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

function M.fit(model, opts)
  if type(opts) ~= "table" then fail("fit", "options must be a table, got %s", type(opts)) end
  local loss_fn, opt = opts.loss, opts.optimizer
  if not loss_fn then fail("fit", "needs a loss (e.g. nn.CrossEntropyLoss())") end
  if not opt then fail("fit", "needs an optimizer (e.g. nn.optim.SGD(model:parameters(), {lr=0.01}))") end
  local epochs, batch_size, verbose = opts.epochs or 1, opts.batch_size or 32, opts.verbose or 1
  local want_accuracy = false
  for _, m in ipairs(opts.metrics or {"accuracy"}) do
    if m ~= "accuracy" then fail("fit", "unknown metric '%s' during training (known: accuracy)", tostring(m)) end
    want_accuracy = true
  end
  local train, val = opts.train, opts.val
  if opts.validation_split then
    if val then fail("fit", "give val or validation_split, not both") end
    train, val = split_tail(train, opts.validation_split)
  end
  local loader = as_loader(train, batch_size, true)
  local cbs = opts.callbacks or {}
  local terminal = verbose == 1 and core._stdout_is_terminal()
  local history = {loss = {}, time = {}, epochs = 0}
  if want_accuracy then history.accuracy = {} end
  if val then
    history.val_loss = {}
    if want_accuracy then history.val_accuracy = {} end
  end
  local state = {model = model, optimizer = opt, history = history, stop = false}
  call(cbs, "on_train_begin", state)
  for epoch = 1, epochs do
    call(cbs, "on_epoch_begin", epoch, state)
    model:train()
    local t0, total, correct, seen, batches = core._now(), 0, 0, 0, #loader
    local b = 0
    for x, y in loader:iter() do
      opt:zero_grad()
      local out = model(x)
      local loss = loss_fn(out, y)
      loss:backward()
      opt:step()
      local n = x.shape[1]
      total, seen, b = total + loss:item() * n, seen + n, b + 1
      if want_accuracy then correct = correct + out:argmax(2):eq(y):sum():item() end
      if terminal then
        local logs = {{"loss", total / seen}}
        if want_accuracy then logs[2] = {"accuracy", correct / seen} end
        progress(epoch, epochs, b, batches, core._now() - t0, logs)
      end
      call(cbs, "on_batch_end", b, state)
    end
    local logs = {{"loss", total / math.max(seen, 1)}}
    history.loss[epoch] = logs[1][2]
    if want_accuracy then
      history.accuracy[epoch] = correct / math.max(seen, 1)
      logs[#logs + 1] = {"accuracy", history.accuracy[epoch]}
    end
    if val then
      local r = nn.evaluate(model, val, {loss = loss_fn, batch_size = math.max(batch_size, 256)})
      history.val_loss[epoch] = r.loss
      logs[#logs + 1] = {"val_loss", r.loss}
      if want_accuracy then
        history.val_accuracy[epoch] = r.accuracy
        logs[#logs + 1] = {"val_accuracy", r.accuracy}
      end
    end
    history.time[epoch] = core._now() - t0
    history.epochs = epoch
    if opts.scheduler then
      if opts.scheduler.name == "ReduceLROnPlateau" then
        opts.scheduler:step(val and history.val_loss[epoch] or history.loss[epoch])
      else
        opts.scheduler:step()
      end
    end
    if terminal then io.write("\r" .. epoch_line(epoch, epochs, history.time[epoch], logs) .. "\27[K\n")
    elseif verbose == 1 then io.write(epoch_line(epoch, epochs, history.time[epoch], logs), "\n") end
    local values = {}
    for _, kv in ipairs(logs) do values[kv[1]] = kv[2] end
    call(cbs, "on_epoch_end", epoch, values, state)
    if state.stop then break end
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
      fail(fname, "mode must be 'min', 'max' or 'auto', got %s", tostring(mode))
    end
    return mode
  end
  return monitor:find("acc") and "max" or "min"
end

local function snapshot(model)
  local copy = {}
  for name, t in pairs(model:state_dict()) do copy[name] = t:clone() end
  return copy
end

--- EarlyStopping{monitor='val_loss', patience=0, min_delta=0, mode='auto', restore_best=false}
function callbacks.EarlyStopping(o)
  o = o or {}
  local self = {monitor = o.monitor or "val_loss", patience = o.patience or 0, min_delta = o.min_delta or 0,
                restore_best = o.restore_best or false, wait = 0, stopped_epoch = nil}
  self.mode = monitor_mode("EarlyStopping", self.monitor, o.mode)
  function self:on_train_begin() self.best, self.wait, self.best_state = nil, 0, nil end
  function self:on_epoch_end(epoch, logs, state)
    local v = logs[self.monitor]
    if v == nil then
      fail("EarlyStopping", "monitor '%s' is not logged (logged: loss, accuracy, val_loss, val_accuracy)",
           self.monitor)
    end
    if improves(self.mode, v, self.best, self.min_delta) then
      self.best, self.best_epoch, self.wait = v, epoch, 0
      if self.restore_best then self.best_state = snapshot(state.model) end
    else
      self.wait = self.wait + 1
      if self.wait > self.patience then
        self.stopped_epoch, state.stop = epoch, true
      end
    end
  end
  function self:on_train_end(state)
    if self.restore_best and self.best_state then state.model:load_state_dict(self.best_state) end
  end
  return self
end

--- ModelCheckpoint{path=, monitor=nil (every epoch) or 'val_loss', mode='auto'}
-- writes nn.save_checkpoint(path, {model=, optimizer=, epoch=, history=})
-- at the end of each epoch, or only when the monitored value improves.
function callbacks.ModelCheckpoint(o)
  if type(o) ~= "table" or type(o.path) ~= "string" then fail("ModelCheckpoint", "needs {path=...}") end
  local self = {path = o.path, monitor = o.monitor}
  self.mode = o.monitor and monitor_mode("ModelCheckpoint", o.monitor, o.mode)
  function self:on_epoch_end(epoch, logs, state)
    if self.monitor then
      local v = logs[self.monitor]
      if v == nil then fail("ModelCheckpoint", "monitor '%s' is not logged", self.monitor) end
      if not improves(self.mode, v, self.best, 0) then return end
      self.best = v
    end
    nn.save_checkpoint(self.path, {model = state.model, optimizer = state.optimizer, epoch = epoch,
                                   history = state.history})
  end
  return self
end

--- LambdaCallback{on_epoch_end=function(epoch, logs, state) ... end, ...}
function callbacks.LambdaCallback(o)
  local self = {}
  for _, event in ipairs{"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end"} do
    if o and o[event] then self[event] = function(_, ...) return o[event](...) end end
  end
  return self
end

return M
