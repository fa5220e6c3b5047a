-- Bad input to the collectives, for any number of ranks:
--   tests/distributed/mpirun.sh -np 2 nnlua errors.lua
-- Every rank makes the same bad call, so each error below is raised on
-- every rank (the checks across ranks run in one collective before any
-- data moves): pcall catches it everywhere and the ranks stay in step,
-- which the last all_reduce proves.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local check = require "check"
local d = nn.distributed
local r, n = d.rank(), d.world_size()

-- Arguments, checked on each rank before any collective.
check.raises("all_reduce of a number", function() d.all_reduce(5) end, "all_reduce", "must be a tensor", "5")
check.raises("broadcast of a table", function() d.broadcast({}, 1) end, "broadcast", "must be a tensor")
check.raises("all_gather of a string", function() d.all_gather("x") end, "all_gather", "must be a tensor", "'x'")
check.raises("bool tensor", function() d.all_reduce(nn.ones(2):gt(0)) end, "all_reduce", "float32 or int64", "bool")
check.raises("unknown op", function() d.all_reduce(nn.ones(2), "avg") end,
             "all_reduce", "unknown op 'avg'", "'sum', 'mean', 'max', 'min'")
check.raises("op of the wrong type", function() d.all_reduce(nn.ones(2), 1) end, "all_reduce", "unknown op 1")
check.raises("mean of int64", function() d.all_reduce(nn.ones(2):long(), "mean") end,
             "all_reduce", "'mean' needs a float32 tensor", "int64")
check.raises("root 0", function() d.broadcast(nn.ones(2), 0) end,
             "broadcast", "root 0 is outside the world of " .. n)
check.raises("root past the world", function() d.broadcast(nn.ones(2), n + 1) end,
             "broadcast", ("root %d is outside the world of %d"):format(n + 1, n), "1.." .. n)
check.raises("root missing", function() d.broadcast(nn.ones(2)) end, "broadcast", "root must be a rank", "nil")
check.raises("root 1.5", function() d.broadcast(nn.ones(2), 1.5) end, "broadcast", "root must be a rank", "1.5")
check.raises("tensor of a graph", function()
  local x = nn.ones(2):requires_grad_()
  d.all_reduce(x * 2)
end, "all_reduce", "tensor of the graph", "detach()")
check.raises("expanded tensor", function() d.broadcast(nn.ones(1, 3):expand(4, 3), 1) end,
             "broadcast", "expanded tensor", "[4,3]", "clone()")
check.raises("all_gather of 8 dims", function() d.all_gather(nn.zeros(1, 1, 1, 1, 1, 1, 1, 2)) end,
             "all_gather", "t has 8 dims", "at most 8")
check.raises("init with arguments", function() d.init({backend = "gloo"}) end, "init", "takes no arguments")
check.raises("barrier with arguments", function() d.barrier(1) end, "barrier", "takes no arguments")
-- The user's line, not the library's.
check.raises("errors point at the caller", function() d.all_reduce(nn.ones(2), "avg") end, "errors.lua:")

-- Across ranks: the last rank passes something else than rank 1.
if n > 1 then
  local last = r == n
  check.raises("shapes differ", function() d.all_reduce(last and nn.zeros(3, 2) or nn.zeros(2, 3)) end,
               "all_reduce", "differ across ranks", "rank 1 has float32 [2,3]",
               ("rank %d has float32 [3,2]"):format(n))
  check.raises("dtypes differ", function() d.all_reduce(last and nn.zeros(4):long() or nn.zeros(4), "max") end,
               "all_reduce", "rank 1 has float32 [4]", ("rank %d has int64 [4]"):format(n))
  check.raises("ops differ", function() d.all_reduce(nn.zeros(4), last and "max" or "sum") end,
               "all_reduce", "disagree on the op", "rank 1 passed 'sum'", ("rank %d passed 'max'"):format(n))
  check.raises("roots differ", function() d.broadcast(nn.zeros(4), last and 2 or 1) end,
               "broadcast", "disagree on the root", "rank 1 passed 1", ("rank %d passed 2"):format(n))
  check.raises("broadcast shapes differ", function() d.broadcast(last and nn.zeros(5) or nn.zeros(4), 1) end,
               "broadcast", "rank 1 has float32 [4]", ("rank %d has float32 [5]"):format(n))
  check.raises("all_gather shapes differ", function() d.all_gather(last and nn.zeros(2, 2) or nn.zeros(4)) end,
               "all_gather", "rank 1 has float32 [4]", ("rank %d has float32 [2,2]"):format(n))
  -- A non-contiguous tensor is left as it was when the ranks disagree.
  local t = nn.arange(1, 7):view(2, 3):t()
  check.raises("non-contiguous, shapes differ", function() d.all_reduce(last and t:contiguous():view(6) or t) end,
               "all_reduce", "rank 1 has int64 [3,2]", ("rank %d has int64 [6]"):format(n))
  check.equal("left unchanged", t, nn.arange(1, 7):view(2, 3):t())
end

-- The ranks are still in step.
check.equal("all_reduce after the errors", d.all_reduce(nn.tensor({r}), "sum"), {n * (n + 1) // 2})
check.done("errors")
