-- nn.distributed.Optimizer(opt [, {bucket_cap_mb=4}]): data parallelism's
-- optimizer. Wrapping broadcasts the parameters from rank 1, so every rank
-- starts from the same weights; step() averages the gradients over the
-- ranks and then runs opt's own step, so the ranks stay identical.
--
-- The gradients travel in buckets of at most bucket_cap_mb megabytes (a
-- gradient larger than that is a bucket of its own), one all-reduce per
-- bucket: one per tensor would pay MPI's latency once per tensor. A
-- bucket is one contiguous tensor, and the gradients of its parameters
-- are views of its slices (core._bucket_attach, as PyTorch DDP's
-- gradient_as_bucket_view): backward accumulates into the bucket, which is
-- reduced and divided in place (core._bucket_divide), so a step copies no
-- gradient. A gradient made anew (zero_grad{set_to_none=true}) is copied
-- in once and attached again. In a world of one, step() is opt's step.
--
-- Everything else (zero_grad, state_dict, load_state_dict, param_groups,
-- the schedulers' reads and writes of the learning rate) is opt's.
local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail

local FNAME = "distributed.Optimizer"

local Wrapper = {}
Wrapper.__name = "nn.distributed.Optimizer"
Wrapper._is_distributed = true

-- Fields not found on the wrapper (param_groups, state, defaults, name,
-- _is_optimizer) are the wrapped optimizer's, read live: load_state_dict
-- replaces its param_groups table.
function Wrapper.__index(self, key)
  local own = rawget(Wrapper, key)
  if own ~= nil then return own end
  return rawget(self, "optimizer")[key]
end

local function dist() return require "nn.distributed" end

-- Every parameter of opt, in group order.
local function parameters(opt)
  local list = {}
  for _, group in ipairs(opt.param_groups) do
    for _, p in ipairs(group.params) do list[#list + 1] = p end
  end
  return list
end

-- Rank 1's values into ps on every rank.
local function broadcast_all(ps)
  local d = dist()
  nn.no_grad(function()
    for _, p in ipairs(ps) do d.broadcast(p, 1) end
  end)
end

function Wrapper.new(opt, opts)
  if type(opt) ~= "table" or not opt._is_optimizer or type(opt.step) ~= "function" then
    fail(FNAME, "argument 1 must be an optimizer (such as nn.optim.SGD(model:parameters(), {lr=0.1})), got %s",
         type(opt) == "table" and (opt.__name or "a table") or type(opt))
  end
  if getmetatable(opt) == Wrapper then
    fail(FNAME, "the optimizer is a distributed.Optimizer already")
  end
  opts = A.options(FNAME, opts, {bucket_cap_mb = true})
  local cap = A.number(FNAME, "bucket_cap_mb", opts.bucket_cap_mb or 4)
  if not (cap > 0) then fail(FNAME, "bucket_cap_mb must be > 0, got %s", A.show(cap)) end
  local d = dist()
  local self = setmetatable({optimizer = opt, bucket_cap = math.max(1, math.floor(cap * 2 ^ 20 / 4)),
                             world_size = d.world_size(), buckets = nil}, Wrapper)
  if self.world_size > 1 then broadcast_all(parameters(opt)) end
  return self
end

-- The buckets for the parameters ps (those with a gradient), and `extra`
-- more elements at the end of the last one: reused while the gradients
-- keep their sizes (every step of a training loop), laid out anew
-- otherwise. A bucket is {tensor=, params=, size= (their elements)}.
function Wrapper:_buckets_for(ps, extra)
  local b = self.buckets
  if b and b.count == #ps and b.extra == extra then
    local same = true
    for i, p in ipairs(ps) do
      if b.params[i] ~= p then same = false break end
    end
    if same then return b.list end
  end
  local list = {}
  for _, p in ipairs(ps) do
    local n = p:numel()
    local last = list[#list]
    if not last or (last.size + n > self.bucket_cap and last.size > 0) then
      last = {params = {}, size = 0}
      list[#list + 1] = last
    end
    last.params[#last.params + 1] = p
    last.size = last.size + n
  end
  if #list == 0 and extra > 0 then list[1] = {params = {}, size = 0} end
  for k, bucket in ipairs(list) do bucket.tensor = nn.zeros(bucket.size + (k == #list and extra or 0)) end
  local params = {}
  for i, p in ipairs(ps) do params[i] = p end
  self.buckets = {count = #ps, extra = extra, params = params, list = list}
  return list
end

--- opt:_all_reduce_gradients([extra]): every gradient replaced by its mean
-- over the ranks (nothing in a world of one). The parameters without a
-- gradient are left out, so every rank must have gradients for the same
-- ones. extra, a 1-D float32 tensor, is replaced by its sum over the ranks
-- in the same all-reduce (nn.fit sends the ranks' losses so).
function Wrapper:_all_reduce_gradients(extra)
  if self.world_size == 1 then return end
  local ps = {}
  for _, p in ipairs(parameters(self.optimizer)) do
    if p.grad then ps[#ps + 1] = p end
  end
  local d, extra_n = dist(), extra and extra:numel() or 0
  local buckets = self:_buckets_for(ps, extra_n)
  for k, bucket in ipairs(buckets) do
    local body, tail = bucket.tensor, nil
    if k == #buckets and extra_n > 0 then
      body, tail = bucket.tensor:narrow(1, 1, bucket.size), bucket.tensor:narrow(1, bucket.size + 1, extra_n)
      tail:copy_(extra:reshape(-1))
    end
    core._bucket_attach(body, bucket.params)
    local ok, err = pcall(d.all_reduce, bucket.tensor, "sum")
    if not ok then
      fail(FNAME, "the ranks' gradients differ (bucket %d: %d gradients, %d elements here): every rank must " ..
           "compute gradients for the same parameters (%s)", k, #bucket.params, bucket.size, A.message(err))
    end
    core._bucket_divide(body, self.world_size)
    if tail then extra:copy_(tail:view(table.unpack(extra.shape))) end
  end
end

--- opt:step([closure]): the closure (if any) is called first, as the
-- wrapped optimizer would; then the gradients are averaged over the ranks
-- and the wrapped optimizer steps. Returns the closure's result.
function Wrapper:step(closure)
  local loss
  if closure ~= nil then
    if type(closure) ~= "function" then fail(FNAME, "step: the closure must be a function, got %s", type(closure)) end
    loss = nn.enable_grad(closure)
  end
  self:_all_reduce_gradients()
  self.optimizer:step()
  return loss
end

function Wrapper:zero_grad(opts) return self.optimizer:zero_grad(opts) end

function Wrapper:state_dict() return self.optimizer:state_dict() end

function Wrapper:load_state_dict(s) return self.optimizer:load_state_dict(s) end

--- opt:add_param_group(group): the wrapped optimizer's, then the new
-- parameters take rank 1's values.
function Wrapper:add_param_group(group)
  local opt = self.optimizer
  local before = #opt.param_groups
  opt:add_param_group(group)
  if self.world_size > 1 then
    for gi = before + 1, #opt.param_groups do broadcast_all(opt.param_groups[gi].params) end
  end
end

function Wrapper:__tostring()
  local n = self.world_size
  return ("distributed.Optimizer (%d rank%s) of %s"):format(n, n == 1 and "" or "s", tostring(self.optimizer))
end

return Wrapper
