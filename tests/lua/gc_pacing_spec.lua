-- Lua's collector and the engine's memory (bindings/check.c, pace_collector
-- and nnb_gc_account): loops of small ops give their tensors back without
-- the user collecting, a stopped collector stays stopped, and a collection
-- returns the engine to its live allocations before the loop.
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
end)
