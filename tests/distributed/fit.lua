-- nn.fit under mpirun -np 2 (SPEC §14), distributed by itself:
--   tests/distributed/mpirun.sh -np 2 nnlua fit.lua OUT_DIR
-- The history is the same on every rank (every number, bit for bit);
-- checkpoints are written by rank 1 alone; the validation metrics are
-- those of the whole validation set (counts added up over the ranks, whose
-- shards differ in size here), not a mean of the ranks' metrics; the
-- ranks end with the same weights; a NaN loss on one rank stops all;
-- distributed=false and bad values of it.
-- test_fit.sh runs this and checks that the progress is printed once.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local check = require "check"
local reduce = require "nn.distributed.reduce"
local d = nn.distributed

local out = assert(arg[1], "usage: fit.lua OUT_DIR")
local rank, world = d.rank(), d.world_size()
check.truthy("2 ranks", world == 2)
local R = reduce.new(d)

-- Count each rank's checkpoint writes.
local writes, save = 0, nn.save_checkpoint
nn.save_checkpoint = function(...) writes = writes + 1 return save(...) end

nn.manual_seed(7)
local ds = nn.data.synthetic.blobs{n_samples = 403, centers = 3, features = 6, std = 2.5, seed = 3}
local model = nn.Sequential{nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)}
local ckpt = out .. "/fit.safetensors"
local history = nn.fit(model, {
  train = ds, validation_split = 0.25, batch_size = 16, epochs = 3,
  loss = nn.CrossEntropyLoss(), optimizer = nn.optim.SGD(model:parameters(), {lr = 0.05}),
  metrics = {"accuracy", "f1"},
  callbacks = {nn.callbacks.ModelCheckpoint{path = ckpt, monitor = "val_loss"},
               nn.callbacks.EarlyStopping{monitor = "val_accuracy", patience = 1}},
})

-- The history, every number of it, equal to rank 1's.
local numbers = {history.epochs}
for _, key in ipairs({"loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "time"}) do
  check.truthy(key .. " logged every epoch", #history[key] == history.epochs)
  for _, v in ipairs(history[key]) do numbers[#numbers + 1] = v end
end
local first = R.broadcast_numbers(numbers)
for i, v in ipairs(numbers) do check.truthy(("history number %d equal on every rank"):format(i), v == first[i]) end
check.truthy("stop_reason", history.stop_reason == "completed" or history.stop_reason == "early_stopping")

-- Checkpoints: rank 1 alone writes.
local counts = R.gather_numbers({writes})
check.truthy(("rank 1 writes checkpoints (%d), rank 2 none (%d)"):format(counts[1][1], counts[2][1]),
             counts[1][1] >= 1 and counts[2][1] == 0)
local fields = nn.load_checkpoint(ckpt, {})
check.truthy("the checkpoint holds the history", type(fields.history) == "table")

-- The same weights on every rank.
for name, t in pairs(model:state_dict()) do check.equal(name .. " equal on every rank", t, d.broadcast(t:clone(), 1)) end

-- The last epoch's validation metrics are those of the whole validation
-- set (the last 100 samples: 50 per rank... of 403 * 0.25 = 100, so shard
-- sizes are equal; a set of 101 below makes them 51 and 50).
local n = #ds
local val = nn.data.tensor_dataset(ds.x:narrow(1, n - 100 + 1, 100), ds.y:narrow(1, n - 100 + 1, 100))
local whole = nn.evaluate(model, val, {loss = nn.CrossEntropyLoss(), metrics = {"accuracy", "f1"}})
local e = history.epochs
check.truthy("val_accuracy is the whole set's", history.val_accuracy[e] == whole.accuracy)
check.truthy("val_f1 is the whole set's", math.abs(history.val_f1[e] - whole.f1) < 1e-12)
check.truthy("val_loss is the whole set's", math.abs(history.val_loss[e] - whole.loss) < 1e-6 * whole.loss)

-- Uneven shards (51 and 50 samples), a model that already fits: no
-- training (lr 0), so the epoch's validation is that of these weights.
local val101 = nn.data.tensor_dataset(ds.x:narrow(1, 1, 101), ds.y:narrow(1, 1, 101))
local h = nn.fit(model, {train = ds, val = val101, batch_size = 64, epochs = 1, loss = nn.CrossEntropyLoss(),
                         optimizer = nn.optim.SGD(model:parameters(), {lr = 0}), verbose = 0})
local w = nn.evaluate(model, val101, {loss = nn.CrossEntropyLoss()})
check.truthy(("uneven shards: val_accuracy %.6f is the whole set's %.6f"):format(h.val_accuracy[1], w.accuracy),
             h.val_accuracy[1] == w.accuracy)
check.truthy("uneven shards: val_loss is the whole set's", math.abs(h.val_loss[1] - w.loss) < 1e-6 * w.loss)

-- Every task's metrics, training and validation, are those of the whole
-- sets: no training (lr 0), 302 training samples (no padding), 101
-- validation samples (shards of 51 and 50).
local function whole_sets(task, m, loss_fn, names, y)
  local train = nn.data.tensor_dataset(ds.x:narrow(1, 1, 302), y:narrow(1, 1, 302))
  local val = nn.data.tensor_dataset(ds.x:narrow(1, 303, 101), y:narrow(1, 303, 101))
  local hist = nn.fit(m, {train = train, val = val, batch_size = 16, epochs = 1, loss = loss_fn, metrics = names,
                          verbose = 0, optimizer = nn.optim.SGD(m:parameters(), {lr = 0})})
  for prefix, set in pairs({[""] = train, val_ = val}) do
    local want = nn.evaluate(m, set, {loss = loss_fn, metrics = names})
    for _, name in ipairs({"loss", table.unpack(names)}) do
      local got, w = hist[prefix .. name][1], want[name]
      check.truthy(("%s: %s%s %.9g is the whole set's %.9g"):format(task, prefix, name, got, w),
                   math.abs(got - w) <= 1e-6 * math.max(1, math.abs(w)))
    end
  end
end
whole_sets("multi-class", nn.Linear(6, 3), nn.CrossEntropyLoss(), {"accuracy", "precision", "recall", "f1"}, ds.y)
local positive = ds.y:eq(1):float()
whole_sets("binary", nn.Linear(6, 1), nn.BCEWithLogitsLoss(), {"binary_accuracy", "precision", "recall", "f1", "auc"},
           positive)
whole_sets("regression", nn.Linear(6, 1), nn.MSELoss(), {"mae", "mse"}, ds.x:select(2, 1) * 0.5 + positive)

-- A NaN loss on rank 2 alone (sample 2, in rank 2's first batch of an
-- unshuffled shard): both ranks stop at that batch, unapplied, saying so.
local bad_x = ds.x:clone()
bad_x[2][1] = 0 / 0
local bad = nn.data.DataLoader(nn.data.tensor_dataset(bad_x, ds.y), {batch_size = 4, rank = rank, world_size = world})
local before_nan = model:state_dict()["1.weight"]:clone()
local hn = nn.fit(model, {train = bad, epochs = 2, loss = nn.CrossEntropyLoss(), verbose = 0,
                          optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1})})
check.truthy("a NaN on rank 2 stops every rank", hn.stop_reason == "nan" and hn.epochs == 0)
check.truthy("the message names the rank and the batch: " .. tostring(hn.stop_message),
             tostring(hn.stop_message):find("at epoch 1, batch 1 (on rank 2)", 1, true) ~= nil)
check.equal("the NaN batch is not applied", model:state_dict()["1.weight"], before_nan)

-- distributed=false: every rank trains alone on all of the data (its own
-- history, its own checkpoint writes), as without mpirun.
local alone = nn.Sequential{nn.Linear(6, 3)}
local before = writes
local ha = nn.fit(alone, {train = ds, batch_size = 403, epochs = 1, loss = nn.CrossEntropyLoss(), verbose = 0,
                          optimizer = nn.optim.SGD(alone:parameters(), {lr = 0.1}), distributed = false,
                          callbacks = {nn.callbacks.ModelCheckpoint{path = out .. "/alone_" .. rank .. ".safetensors"}}})
check.truthy("distributed=false: every rank writes its own checkpoint", ha.epochs == 1 and writes == before + 1)
check.raises("distributed must be a boolean", function()
  nn.fit(alone, {train = ds, loss = nn.CrossEntropyLoss(), optimizer = nn.optim.SGD(alone:parameters(), {lr = 0.1}),
                 distributed = "yes"})
end, "fit: distributed must be true or false, got 'yes'")
check.raises("a loader sharded for another world", function()
  nn.fit(alone, {train = nn.data.DataLoader(ds, {rank = 1, world_size = 3}), loss = nn.CrossEntropyLoss(),
                 optimizer = nn.optim.SGD(alone:parameters(), {lr = 0.1})})
end, ("fit: the training loader is rank 1 of a world of 3, but this process is rank %d of 2"):format(rank))
check.raises("a loader of one's own cannot be sharded", function()
  nn.fit(alone, {train = {iter = function() return function() end end}, loss = nn.CrossEntropyLoss(),
                 optimizer = nn.optim.SGD(alone:parameters(), {lr = 0.1})})
end, "fit: distributed training shards the training data")

check.done("fit")
