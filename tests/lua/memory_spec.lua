-- Memory stays bounded in loops that make temporaries, without the user
-- calling collectgarbage(): the bindings tell Lua's collector about tensor
-- bytes it cannot see. Also: in-place ops allocate nothing, <close> frees
-- at once, and memory_stats reports what the engine holds.
local nn = require "nn"

local MB = 1024 * 1024
local LIMIT = 200 * MB

local function stats() return nn.memory_stats() end

-- Runs body(i) n times and returns the most live bytes seen (sampled every
-- `every` iterations) and the peak_bytes after the loop.
local function watch(n, every, body)
  local most = 0
  for i = 1, n do
    body(i)
    if i % every == 0 then most = math.max(most, stats().live_bytes) end
  end
  return most, stats().peak_bytes
end

describe("memory_stats", function()
  it("reports count, live_count, live_bytes, peak_bytes, cached_bytes", function()
    local s = stats()
    for _, k in ipairs{"count", "live_count", "live_bytes", "peak_bytes", "cached_bytes"} do
      assert.are.equal("integer", math.type(s[k]), k)
      assert.is_true(s[k] >= 0, k)
    end
    assert.is_true(s.peak_bytes >= s.live_bytes)
    local before = stats().live_bytes
    local t <close> = nn.zeros(1000, 1000) -- 4 MB
    local during = stats()
    assert.is_true(during.live_bytes >= before + 4000000)
    assert.is_true(during.peak_bytes >= during.live_bytes)
    assert.is_true(during.count >= s.count)
  end)

  it("<close> frees a tensor at the end of its scope", function()
    local before = stats().live_bytes
    do
      local t <close> = nn.zeros(2000, 1000) -- 8 MB
      assert.is_true(stats().live_bytes >= before + 8000000)
    end
    assert.is_true(stats().live_bytes < before + 8000000)
  end)

  it("views allocate no tensor data", function()
    local base = nn.zeros(1000, 1000)
    local before = stats().live_bytes
    local views = {base:t(), base:view(-1), base:split(10)[1], base:expand(3, 1000, 1000)}
    assert.is_true(stats().live_bytes - before < 100000)
    assert.are.equal(4, #views)
  end)
end)

describe("loops of temporaries without collectgarbage", function()
  it("100k iterations of small temporaries stay bounded", function()
    local a, b = nn.rand(10, 100), nn.rand(10, 100) -- 4 KB each
    local start = stats().live_bytes
    local most, peak = watch(100000, 1000, function()
      local c = a + b
      local d = c * 2 -- two temporaries per iteration, 800 MB in all
      assert(d)
    end)
    assert.is_true(most - start < LIMIT, ("live bytes reached %.0f MB"):format(most / MB))
    assert.is_true(peak - start < LIMIT, ("peak bytes reached %.0f MB"):format(peak / MB))
  end)

  it("200 iterations of 4 MB temporaries stay bounded", function()
    local a, b = nn.rand(1000, 1000), nn.rand(1000, 1000) -- 4 MB each
    local start = stats().live_bytes
    local most, peak = watch(200, 5, function() -- 800 MB in all
      local c = a + b
      assert(c)
    end)
    assert.is_true(most - start < LIMIT, ("live bytes reached %.0f MB"):format(most / MB))
    assert.is_true(peak - start < LIMIT, ("peak bytes reached %.0f MB"):format(peak / MB))
  end)

  it("temporaries from views, conversions and products stay bounded", function()
    local a, w = nn.rand(256, 256), nn.rand(256, 8)
    local start = stats().live_bytes
    local most = watch(200, 10, function() -- about 1.5 MB per iteration, 300 MB in all
      local t = a:t():contiguous()      -- a copy of a view
      local l = t:long():float()        -- two conversions
      local m = l:matmul(w)             -- a product
      local p = nn.cat({l, l})          -- a join
      assert(p:size(1) == 512 and m:size(2) == 8)
    end)
    assert.is_true(most - start < LIMIT, ("live bytes reached %.0f MB"):format(most / MB))
  end)

  it("stays bounded with the collector in generational mode", function()
    local old = collectgarbage("generational")
    local a = nn.rand(1000, 1000)
    local start = stats().live_bytes
    local most = watch(100, 5, function() -- 400 MB in all
      local c = a * 3
      assert(c)
    end)
    collectgarbage(old)
    assert.is_true(most - start < LIMIT, ("live bytes reached %.0f MB"):format(most / MB))
  end)
end)

describe("in-place operations", function()
  it("allocate nothing in a hot loop", function()
    local a, b = nn.rand(100, 100), nn.rand(100)
    a:add_(b) -- warm up
    local before = stats()
    for _ = 1, 1000 do
      a:mul_(0.5)
      a:add_(b)
      a:clamp_(0, 1)
      a:relu_()
      a:copy_(b)
      a:fill_(0.25)
    end
    local after = stats()
    assert.are.equal(before.live_count, after.live_count)
    assert.are.equal(before.live_bytes, after.live_bytes)
    assert.are.equal(before.count, after.count)
  end)

  it("reuse cached blocks for same-shaped temporaries", function()
    local a = nn.rand(64, 784)
    do local _ <close> = a + 1 end -- the block for this shape is now cached
    local count = stats().count
    for _ = 1, 100 do
      local t <close> = a + 1
      assert(t)
    end
    assert.are.equal(count, stats().count) -- no new system allocations
  end)
end)
