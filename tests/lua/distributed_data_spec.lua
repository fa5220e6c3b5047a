-- nn.data.DataLoader's rank= / world_size= sharding against PyTorch's
-- DistributedSampler cut by a DataLoader (tests/fixtures/distributed/,
-- from tests/fixtures/gen_distributed_fixtures.py). Unshuffled cases run
-- the loader itself; shuffled ones feed torch's permutation to the
-- sharding (nn.data._shard), as nnlua's generator is not torch's. No MPI:
-- the ranks are simulated in one process.
local nn = require "nn"
local H = require "helpers"

local CASES = H.reference("distributed")

-- A dataset whose label i is i: a batch's y is its sample indices.
local function indexed(n)
  return nn.data.tensor_dataset(nn.zeros(n, 2), nn.arange(1, n + 1, {dtype = "int64"}))
end

local function batches_of(loader)
  local out = {}
  for _, y in loader:iter() do out[#out + 1] = H.flat(y) end
  return out
end

-- The batches cut from one shard, as DataLoader:iter cuts them.
local function cut(shard, batch_size, drop_last)
  local flat, out = shard:dim() > 0 and shard.shape[1] > 0 and H.flat(shard) or {}, {}
  for start = 1, #flat, batch_size do
    local b = {}
    for i = start, math.min(start + batch_size - 1, #flat) do b[#b + 1] = flat[i] end
    if #b == batch_size or not drop_last then out[#out + 1] = b end
  end
  return out
end

local function label(c, rank)
  return ("n=%d world=%d rank=%d batch=%d drop_last=%s"):format(c.n, c.world_size, rank, c.batch_size,
                                                                 tostring(c.drop_last))
end

describe("DataLoader sharded as DistributedSampler", function()
  it("gives each rank PyTorch's batches of the unshuffled order", function()
    local count = 0
    for _, c in ipairs(CASES) do
      if not c.shuffle then
        for rank = 1, c.world_size do
          local loader = nn.data.DataLoader(indexed(c.n), {batch_size = c.batch_size, drop_last = c.drop_last,
                                                           rank = rank, world_size = c.world_size})
          assert.are.same(c.ranks[rank], batches_of(loader), label(c, rank))
          assert.are.equal(#c.ranks[rank], #loader, label(c, rank))
          count = count + 1
        end
      end
    end
    assert.is_true(count > 30)
  end)

  it("shards a shuffled order (torch's permutation) as PyTorch does", function()
    local count = 0
    for _, c in ipairs(CASES) do
      if c.shuffle then
        local order = nn.tensor(c.order, "int64")
        for rank = 1, c.world_size do
          local shard = nn.data._shard(order, rank, c.world_size, c.drop_last)
          assert.are.same(c.ranks[rank], cut(shard, c.batch_size, c.drop_last), label(c, rank))
          count = count + 1
        end
      end
    end
    assert.is_true(count > 20)
  end)

  it("shuffles one order for all ranks: the shards partition it, with the same batch counts", function()
    for _, drop_last in ipairs({false, true}) do
      local n, world = 23, 3
      local seen, counts = {}, {}
      for rank = 1, world do
        local loader = nn.data.DataLoader(indexed(n), {batch_size = 4, shuffle = true, seed = 5, drop_last = drop_last,
                                                       rank = rank, world_size = world})
        counts[rank] = #loader
        for epoch = 1, 2 do
          local got = batches_of(loader)
          assert.are.equal(#loader, #got)
          for _, b in ipairs(got) do
            for _, i in ipairs(b) do
              seen[epoch] = seen[epoch] or {}
              seen[epoch][i] = (seen[epoch][i] or 0) + 1
            end
          end
        end
      end
      assert.are.same({counts[1], counts[1]}, {counts[2], counts[3]})
      for epoch = 1, 2 do
        local distinct, total = 0, 0
        for _, k in pairs(seen[epoch]) do distinct, total = distinct + 1, total + k end
        if drop_last then
          -- 7 per rank (the last 2 of 23 dropped), one full batch of 4 each: 12 distinct samples
          assert.are.equal(12, distinct)
          assert.are.equal(12, total)
        else
          assert.are.equal(n, distinct) -- every sample, one (the first) twice to pad 23 to 24
          assert.are.equal(24, total)
        end
      end
      -- The two epochs differ (a new order each epoch from the shared stream).
      assert.are_not.same(seen[1], seen[2])
    end
  end)

  it("uses seed 0 for a sharded shuffle without a seed, so ranks agree whatever the global generator", function()
    local ds = indexed(10)
    nn.manual_seed(1)
    local a = batches_of(nn.data.DataLoader(ds, {batch_size = 10, shuffle = true, rank = 1, world_size = 1}))
    nn.manual_seed(2)
    local b = batches_of(nn.data.DataLoader(ds, {batch_size = 10, shuffle = true, rank = 1, world_size = 1}))
    local c = batches_of(nn.data.DataLoader(ds, {batch_size = 10, shuffle = true, seed = 0}))
    assert.are.same(a, b)
    assert.are.same(a, c)
  end)

  it("a world of one is the plain loader", function()
    local ds = indexed(9)
    local plain = batches_of(nn.data.DataLoader(ds, {batch_size = 4, shuffle = true, seed = 3}))
    local one = batches_of(nn.data.DataLoader(ds, {batch_size = 4, shuffle = true, seed = 3, rank = 1, world_size = 1}))
    assert.are.same(plain, one)
  end)

  it("rejects bad ranks and worlds, naming the values", function()
    local ds = indexed(4)
    H.assert_error(function() nn.data.DataLoader(ds, {rank = 1}) end,
                   "DataLoader: rank and world_size go together (got only rank)")
    H.assert_error(function() nn.data.DataLoader(ds, {world_size = 2}) end,
                   "DataLoader: rank and world_size go together (got only world_size)")
    H.assert_error(function() nn.data.DataLoader(ds, {rank = 3, world_size = 2}) end,
                   "DataLoader: rank 3 is outside a world of 2 (ranks are 1..2)")
    H.assert_error(function() nn.data.DataLoader(ds, {rank = 0, world_size = 2}) end, "DataLoader", "rank", "0")
    H.assert_error(function() nn.data.DataLoader(ds, {rank = 1, world_size = 0}) end, "DataLoader", "world_size", "0")
    H.assert_error(function() nn.data.DataLoader(ds, {rank = 1.5, world_size = 2}) end, "DataLoader", "rank", "1.5")
    H.assert_error(function() nn.data.DataLoader(ds, {rank = 1, world_size = 2, worldsize = 2}) end,
                   "DataLoader", "worldsize")
  end)
end)
