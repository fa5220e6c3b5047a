-- Lua's collector and the engine's memory (bindings/check.c, pace_collector
-- and nnb_gc_account): loops of small ops give their tensors back without
-- the user collecting, a stopped collector stays stopped, a collection
-- returns the engine to its live allocations before the loop, and a
-- training loop, whose engine memory stays flat, needs no full collection,
-- also after one was forced, whichever mode the collector is in.
local nn = require "nn"

local function live() return nn.memory_stats().live_count end

describe("gc pacing", function()
  it("a loop of 1-element ops keeps few dead tensors alive", function()
    local a, b = nn.rand(1), nn.rand(1)
    collectgarbage()
    local before = live()
    local most = 0
    for i = 1, 200000 do
      local _c = a + b
      if i % 1000 == 0 then most = math.max(most, live() - before) end
    end
    -- Young collections free them every few thousand tensors (before they
    -- counted as Lua's 48-byte userdata only, ~90k piled up).
    assert.is_true(most < 20000, "live blocks grew by " .. most)
    collectgarbage()
    assert.are.equal(before, live())
  end)

  it("a loop of tiny autograd steps keeps few dead tensors alive", function()
    local w, x = nn.rand(4):requires_grad_(), nn.rand(4)
    collectgarbage()
    local most, before = 0, nil
    for i = 1, 50000 do
      (w * x):sum():backward()
      if i == 1 then collectgarbage() before = live() end -- w.grad exists from here on
      if i % 500 == 0 then most = math.max(most, live() - before) end
    end
    assert.is_true(most < 20000, "live blocks grew by " .. most)
    collectgarbage()
    assert.are.equal(before, live())
    assert.is_true(math.abs(w.grad:sum():item() - 50000 * x:sum():item()) < 1e-3 * 50000 * x:sum():item())
  end)

  it("a stopped collector is not run by new tensors", function()
    local a, b = nn.rand(1), nn.rand(1)
    collectgarbage()
    local before = live()
    collectgarbage("stop")
    for _ = 1, 20000 do local _c = a + b end
    local grown = live() - before
    collectgarbage("restart")
    assert.is_true(grown >= 20000, "only " .. grown .. " new blocks") -- none freed
    collectgarbage()
    assert.are.equal(before, live())
  end)

  it("big temporaries are still collected in full", function()
    local a = nn.rand(512, 512) -- 1 MB
    collectgarbage()
    local before = nn.memory_stats().live_bytes
    local most = 0
    for _ = 1, 200 do
      local _c = a + 1
      most = math.max(most, nn.memory_stats().live_bytes - before)
    end
    assert.is_true(most < 64e6, ("live bytes grew by %.0f MB"):format(most / 1e6))
    collectgarbage()
    assert.are.equal(before, nn.memory_stats().live_bytes)
  end)

  -- A finalized object made old by young collections (a generational
  -- "step" is one), not by a full one, which would also reset the
  -- collector's state: once dropped, only a full collection finalizes it.
  local function old_probe()
    local probe = {finalized = false}
    local object = setmetatable({}, {__gc = function() probe.finalized = true end})
    for _ = 1, 3 do collectgarbage("step") end
    assert(object and not probe.finalized)
    return probe
  end

  -- steps of the course's MLP on batches of 64: about 0.4 MB of tensors each
  local function train(steps)
    nn.manual_seed(0)
    local model = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                nn.Linear(128, 10), nn.LogSoftmax(2)}
    local opt, loss_fn = nn.optim.SGD(model:parameters(), {lr = 0.01}), nn.NLLLoss()
    local loader = nn.data.DataLoader(nn.data.tensor_dataset(nn.randn(640, 784), nn.randint(1, 11, {640})),
                                      {batch_size = 64, shuffle = true})
    for _ = 1, steps // 10 do
      for x, y in loader:iter() do
        opt:zero_grad()
        loss_fn(model(x), y):backward()
        opt:step()
      end
    end
  end

  local function big_temporaries()
    local a = nn.rand(512, 512)
    for _ = 1, 100 do local _c = a + 1 end -- 100 MB: full collections
  end

  it("a training loop's tensors are freed young: no full collection", function()
    for _, forced_first in ipairs{false, true} do
      collectgarbage()
      if forced_first then big_temporaries() end
      train(10)
      local probe = old_probe()
      train(200) -- 80 MB of tensors
      assert.is_false(probe.finalized, "a full collection ran (after forced ones: " .. tostring(forced_first) .. ")")
      collectgarbage()
      assert.is_true(probe.finalized)
    end
  end)

  it("the collector's mode is the program's after a full collection", function()
    -- incremental with a long pause: its own cycles leave the temporaries
    -- to the engine's full collection
    for _, mode in ipairs{{"incremental", 1000}, {"generational"}} do
      collectgarbage(mode[1], mode[2])
      local probe = old_probe()
      big_temporaries()
      assert.is_true(probe.finalized, "no full collection in " .. mode[1] .. " mode")
      assert.are.equal(mode[1], collectgarbage(mode[1])) -- returns the mode it was in
    end
    collectgarbage("incremental", 200) -- Lua's default pause
    collectgarbage("generational") -- nnlua's mode, as lua.c's
  end)
end)
