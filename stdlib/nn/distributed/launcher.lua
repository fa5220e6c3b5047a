-- Whether this process was started by an MPI launcher, read from the
-- variables the launchers set, without loading MPI: Open MPI's mpirun and
-- mpiexec (OMPI_COMM_WORLD_SIZE, PMIX_RANK) and Slurm's srun through PMIx
-- or PMI-2 (PMIX_RANK, PMI_RANK). A process started any other way is a
-- world of one and never calls MPI_Init (a singleton MPI_Init starts a
-- daemon and takes about a second). nn.fit asks this before it loads
-- nn.distributed, so nnlua without MPI installed still trains.
local M = {}

local VARS = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"}

function M.launched()
  for _, name in ipairs(VARS) do
    if os.getenv(name) then return true end
  end
  return false
end

return M
