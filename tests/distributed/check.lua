-- Shared by the scripts that run under mpirun: checks that count, and a
-- failure that names the rank (an error ends the whole job: MPI_Abort).
local M = {passed = 0}

local d = nn.distributed

function M.equal(what, got, want)
  if not nn.is_tensor(want) then want = nn.tensor(want, got.dtype) end
  local same = table.concat(got.shape, ",") == table.concat(want.shape, ",") and got.dtype == want.dtype
               and (got:numel() == 0 or (got - want):abs():max():item() == 0)
  if not same then
    error(("%s: rank %d got %s %s\n%s\nwant %s %s\n%s"):format(what, d.rank(), got.dtype,
          table.concat(got.shape, ","), tostring(got), want.dtype, table.concat(want.shape, ","), tostring(want)), 2)
  end
  M.passed = M.passed + 1
end

function M.truthy(what, v)
  if not v then error(("%s: false on rank %d"):format(what, d.rank()), 2) end
  M.passed = M.passed + 1
end

-- f() must raise a message holding each of the fixed strings.
function M.raises(what, f, ...)
  local ok, err = pcall(f)
  if ok then error(("%s: did not raise on rank %d"):format(what, d.rank()), 2) end
  for _, s in ipairs({...}) do
    if not tostring(err):find(s, 1, true) then
      error(("%s: rank %d's message lacks %q:\n%s"):format(what, d.rank(), s, tostring(err)), 2)
    end
  end
  M.passed = M.passed + 1
end

-- Rank 1 prints one line once every rank has passed.
function M.done(name)
  local counts = d.all_gather(nn.tensor({M.passed}, "int64"))
  if d.rank() == 1 then
    print(("%s: %d ranks, %d checks passed on each"):format(name, d.world_size(), counts:min():item()))
  end
end

return M
