-- The collectives' values, for any number of ranks (1 without mpirun):
--   tests/distributed/mpirun.sh [--tcp] -np 3 nnlua collectives.lua
-- every op on float32 and int64, on contiguous tensors and on views that
-- are not (a transpose, a strided slice inside a bigger tensor whose other
-- elements must stay untouched, a 0-dim tensor), a 1M-element buffer (the
-- large-message path of each transport), and each root of broadcast.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local check = require "check"
local d = nn.distributed

d.init()
d.init() -- idempotent
local r, n = d.rank(), d.world_size()
check.truthy("rank in 1..world_size", r >= 1 and r <= n)

local base = nn.arange(1, 13):view(3, 4) -- int64 1..12
local sum_r = n * (n + 1) // 2

-- Each rank's values: base * (r - 2), so that max and min differ from
-- the first and last ranks' values and signs mix.
local function expected(op, dtype)
  local coef = {sum = sum_r - 2 * n, max = n - 2, min = -1}
  if op == "mean" then return base:float() * ((sum_r - 2 * n) / n) end
  return (base * coef[op]):to(dtype)
end

-- The part of a [3, 5, 2] parent that the strided slice views: strides
-- {10, 2}, offset 3.
local function slice_of(parent) return parent:narrow(2, 2, 4):select(3, 2) end

-- The three layouts of a [3, 4] tensor holding v: a new contiguous one; a
-- transpose of a [4, 3] one; a strided slice of a [3, 5, 2] one, returned
-- with that parent.
local function layouts(v)
  local c = v:clone()
  local tr = v:t():contiguous():t()
  local parent = nn.full({3, 5, 2}, 77):to(v.dtype)
  local slice = slice_of(parent)
  slice:copy_(v)
  return {{"contiguous", c}, {"transposed", tr}, {"strided slice", slice, parent}}
end

for _, dtype in ipairs({"float32", "int64"}) do
  for _, op in ipairs({"sum", "mean", "max", "min"}) do
    if not (op == "mean" and dtype == "int64") then
      for _, case in ipairs(layouts((base * (r - 2)):to(dtype))) do
        local name, t, parent = case[1], case[2], case[3]
        local what = ("all_reduce %s %s %s"):format(op, dtype, name)
        check.truthy(what .. " returns t", d.all_reduce(t, op) == t)
        check.equal(what, t, expected(op, dtype))
        check.truthy(what .. " layout kept", name == "contiguous" or not t:is_contiguous())
        if parent then
          local others = parent:clone()
          slice_of(others):fill_(77)
          check.equal(what .. ": the parent's other elements", others, nn.full({3, 5, 2}, 77):to(dtype))
        end
      end
    end
  end
  -- op defaults to 'sum'; a 0-dim tensor
  check.equal("all_reduce default op " .. dtype, d.all_reduce(nn.tensor({r}):to(dtype)), {sum_r})
  check.equal("all_reduce 0-dim " .. dtype, d.all_reduce(nn.tensor(r):to(dtype), "max"), nn.tensor(n):to(dtype))
end

-- A 1M-element buffer: several fragments on shared memory and on TCP.
local big = (nn.ones(1024, 1024) * r)
d.all_reduce(big, "sum")
check.equal("all_reduce 1M elements", big, nn.ones(1024, 1024) * sum_r)
big = nn.ones(1024, 1024) * r
d.all_reduce(big, "mean")
check.equal("all_reduce mean 1M elements", big, nn.ones(1024, 1024) * (sum_r / n))

-- broadcast from every root, each layout and dtype
for root = 1, n do
  for _, dtype in ipairs({"float32", "int64"}) do
    for _, case in ipairs(layouts((base * r):to(dtype))) do
      local what = ("broadcast from %d %s %s"):format(root, dtype, case[1])
      check.truthy(what .. " returns t", d.broadcast(case[2], root) == case[2])
      check.equal(what, case[2], (base * root):to(dtype))
    end
  end
end
local bigb = (nn.ones(1024, 1024) * r)
check.equal("broadcast 1M elements", d.broadcast(bigb, n), nn.ones(1024, 1024) * n)

-- all_gather: ranks stacked along a new first dim, as torch.stack of
-- torch.distributed.all_gather's list
for _, dtype in ipairs({"float32", "int64"}) do
  for _, case in ipairs(layouts((base * r):to(dtype))) do
    local what = ("all_gather %s %s"):format(dtype, case[1])
    local want = {}
    for k = 1, n do want[k] = (base * k):to(dtype) end
    local before = case[2]:clone()
    local g = d.all_gather(case[2])
    check.equal(what, g, nn.stack(want))
    check.equal(what .. " leaves its input", case[2], before)
    check.truthy(what .. " is a new contiguous tensor", g:is_contiguous() and not g.requires_grad)
  end
end
check.equal("all_gather 0-dim", d.all_gather(nn.tensor(r * 1.5)), nn.arange(1, n + 1):float() * 1.5)

-- parameters (leaves that require grad) are reduced in place, with their
-- grads: what an optimizer wrapper does
local w = (nn.ones(2, 3) * r):requires_grad_()
d.all_reduce(w, "mean")
check.equal("all_reduce of a leaf that requires grad", w:detach(), nn.ones(2, 3) * (sum_r / n))
check.truthy("the leaf still requires grad", w.requires_grad and w.is_leaf)
local wt = (nn.ones(3, 2) * r):t():requires_grad_()
d.broadcast(wt, 1)
check.equal("broadcast into a non-contiguous leaf", wt:detach(), nn.ones(2, 3))

d.barrier()
check.done("collectives")
