-- Lua numbers and small tensors combined over the ranks, for nn.fit's
-- metrics and history (SPEC §14: metrics reduced over ranks, the history
-- equal on every rank).
--
-- Numbers travel as the bits of their doubles in int64 tensors: the
-- collectives move float32 and int64 only, and a float32 sum would round
-- a loss total to 7 digits. Every rank gathers every rank's numbers and
-- adds them in rank order itself, so all ranks compute the same sums to
-- the last bit (MPI does not promise that a floating-point all-reduce
-- gives every rank the same bits).
local nn = require "nn"

local M = {}

local function to_bits(x) return (string.unpack("<i8", string.pack("<d", x))) end
local function from_bits(i) return (string.unpack("<d", string.pack("<i8", i))) end

-- An int64 tensor [k] holding the doubles of list's k numbers.
local function pack(list)
  local bits = {}
  for i, x in ipairs(list) do bits[i] = to_bits(x) end
  return nn.tensor(bits, "int64"):view(#list)
end

-- A reducer over the world of d (the nn.distributed module).
function M.new(d)
  local R = {rank = d.rank(), world_size = d.world_size()}

  --- R.gather_numbers(list) -> {rank 1's list, rank 2's, ...}
  function R.gather_numbers(list)
    local rows = d.all_gather(pack(list)):totable()
    for r, row in ipairs(rows) do
      for i, bits in ipairs(row) do row[i] = from_bits(bits) end
      rows[r] = row
    end
    return rows
  end

  --- R.sum_numbers(list) -> the element-wise sums over the ranks, added in rank order.
  function R.sum_numbers(list)
    local rows, sums = R.gather_numbers(list), {}
    for i = 1, #list do
      local s = 0
      for r = 1, #rows do s = s + rows[r][i] end
      sums[i] = s
    end
    return sums
  end

  --- R.broadcast_numbers(list) -> rank 1's list, on every rank.
  function R.broadcast_numbers(list)
    if #list == 0 then return {} end
    local bits = d.broadcast(pack(list), 1):totable()
    local out = {}
    for i, b in ipairs(bits) do out[i] = from_bits(b) end
    return out
  end

  --- R.sum_(t): t (int64) replaced by its sum over the ranks (exact).
  function R.sum_(t) return d.all_reduce(t, "sum") end

  --- R.cat(t) -> every rank's 1-D float32 t (of any length) joined in rank order.
  function R.cat(t)
    local lengths = R.gather_numbers({t:numel()})
    local longest = 0
    for _, row in ipairs(lengths) do longest = math.max(longest, row[1]) end
    if longest == 0 then return nn.zeros(0) end
    local padded = nn.zeros(longest)
    if t:numel() > 0 then padded:narrow(1, 1, t:numel()):copy_(t:reshape(-1)) end
    local rows, parts = d.all_gather(padded), {}
    for r, row in ipairs(lengths) do
      if row[1] > 0 then parts[#parts + 1] = rows[r]:narrow(1, 1, math.tointeger(row[1])) end
    end
    return nn.cat(parts, 1)
  end

  return R
end

return M
