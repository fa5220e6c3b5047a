-- nn.distributed: data parallelism over MPI (SPEC §14), one process per
-- rank under `mpirun -np N nnlua train.lua`. The collectives run in the C
-- module nn.distributed.mpi, the only code linked against Open MPI, loaded
-- here when a script first asks for nn.distributed (nn's __index), so the
-- rest of nnlua runs where MPI is not installed.
--
-- Ranks are 1-based, as everything users see. The collectives take
-- float32 and int64 tensors of any layout: a non-contiguous one goes
-- through a contiguous copy, written back. Before any data moves, every
-- collective compares the dtype, shape and op (or root) of all ranks in one
-- small all-gather, so a mismatch raises the same error on every rank
-- instead of corrupting memory or hanging.
local nn = require "nn"
local A = require "nn.args"
local launcher = require "nn.distributed.launcher"

local fail = A.fail

-- The C module, or an error that says what to install.
local function load_mpi()
  local ok, mod = pcall(require, "nn.distributed.mpi")
  if ok then return mod end
  local err = tostring(mod)
  if err:find("module 'nn.distributed.mpi' not found", 1, true) then
    fail("nn.distributed", "this nnlua was built without MPI (no nn/distributed/mpi.so on package.cpath): "
         .. "install the Debian packages libopenmpi-dev and openmpi-bin and rebuild")
  end
  -- "error loading module ... from file '...':\n\tlibmpi.so.40: cannot open ..."
  local reason = err:match("([^\n]*)$"):gsub("^%s+", "")
  fail("nn.distributed", "cannot load the MPI library (%s): install Open MPI, the Debian packages "
       .. "libopenmpi3 and openmpi-bin (apt install libopenmpi3 openmpi-bin)", reason)
end
local mpi = load_mpi()

local M = {}

local world -- {rank =, size =} once joined

local function join()
  if not world then
    local rank, size = mpi.init(launcher.launched())
    world = {rank = rank, size = size}
  end
  return world
end

function M.init(...)
  if select("#", ...) > 0 then fail("init", "takes no arguments, got %d", select("#", ...)) end
  join()
end

function M.rank() return join().rank end

function M.world_size() return join().size end

-- The tensor argument of a collective: float32 or int64, not part of a
-- graph, and (when written) with no two elements sharing memory.
local function check_tensor(fname, t, written)
  if not nn.is_tensor(t) then fail(fname, "argument 1 must be a tensor, got %s", A.show(t)) end
  if t.dtype ~= "float32" and t.dtype ~= "int64" then
    fail(fname, "the tensor must be float32 or int64, got %s", t.dtype)
  end
  if not written then return t end
  if t.grad_fn then
    fail(fname, "cannot write in place into a tensor of the graph (made by %s): detach() it first", t.grad_fn)
  end
  local stride = t:stride()
  for d, n in ipairs(t.shape) do
    if stride[d] == 0 and n > 1 then
      fail(fname, "cannot write in place into an expanded tensor (shape %s, strides [%s]): clone() it first",
           A.shape_str(t), table.concat(stride, ","))
    end
  end
  return t
end

-- Runs fn(buffer) on t's elements in place: on t itself when contiguous,
-- else on a contiguous copy written back after.
local function in_place(t, fn)
  if t:is_contiguous() then return fn(t) end
  local buf = t:contiguous()
  local a, b = fn(buf)
  if a == nil then nn.no_grad(function() t:copy_(buf) end) end
  return a, b
end

local function describe(d)
  return ("%s [%s]"):format(d.dtype, table.concat(d.shape, ","))
end

-- Raises fname's error for the two descriptions of ranks that differ
-- (from the C side: rank 1's and the first rank unlike it); show_arg
-- names a rank's op or root.
local function mismatch(fname, a, b, what, show_arg)
  if describe(a) ~= describe(b) then
    fail(fname, "the tensors differ across ranks: rank %d has %s, rank %d has %s",
         a.rank, describe(a), b.rank, describe(b))
  end
  fail(fname, "the ranks disagree on the %s: rank %d passed %s, rank %d passed %s",
       what, a.rank, show_arg(a.arg), b.rank, show_arg(b.arg))
end

local OPS = {"sum", "mean", "max", "min"} -- the C side's order
local MAX_DIMS = 8 -- runtime/nn_tensor.h's NN_MAX_DIMS

function M.all_reduce(t, op)
  check_tensor("all_reduce", t, true)
  op = op == nil and "sum" or op
  local known = false
  for _, o in ipairs(OPS) do known = known or o == op end
  if not known then fail("all_reduce", "unknown op %s (known: 'sum', 'mean', 'max', 'min')", A.show(op)) end
  if op == "mean" and t.dtype == "int64" then
    fail("all_reduce", "op 'mean' needs a float32 tensor, got int64 (use 'sum' and divide, or :float())")
  end
  join()
  local a, b = in_place(t, function(buf) return mpi.all_reduce(buf, op) end)
  if a then mismatch("all_reduce", a, b, "op", function(i) return "'" .. OPS[i] .. "'" end) end
  return t
end

function M.broadcast(t, root)
  check_tensor("broadcast", t, true)
  local size = join().size
  if math.type(root) == "float" and root == math.floor(root) then root = math.tointeger(root) end
  if math.type(root) ~= "integer" then fail("broadcast", "root must be a rank (an integer), got %s", A.show(root)) end
  if root < 1 or root > size then
    fail("broadcast", "root %d is outside the world of %d rank%s (1..%d)", root, size, size == 1 and "" or "s", size)
  end
  local a, b = in_place(t, function(buf) return mpi.broadcast(buf, root) end)
  if a then mismatch("broadcast", a, b, "root", tostring) end
  return t
end

function M.all_gather(t)
  check_tensor("all_gather", t, false)
  if t:dim() >= MAX_DIMS then
    fail("all_gather", "t has %d dims, and the result one more: tensors have at most %d", t:dim(), MAX_DIMS)
  end
  local shape = {join().size, table.unpack(t.shape)}
  local out = nn.empty(shape, {dtype = t.dtype})
  local a, b = mpi.all_gather(out, t:contiguous())
  if a then mismatch("all_gather", a, b) end
  return out
end

function M.barrier(...)
  if select("#", ...) > 0 then fail("barrier", "takes no arguments, got %d", select("#", ...)) end
  join()
  mpi.barrier()
end

-- Data parallelism's optimizer wrapper (optimizer.lua).
M.Optimizer = require("nn.distributed.optimizer").new

return M
