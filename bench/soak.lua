-- bench/soak.lua: a long training run that must not grow. Trains the MLP
-- of bench/mlp_epoch.lua (peer_models.mlp: 784-256-128-10, SGD lr 0.01) on
-- Fashion-MNIST, batch 64, shuffled, for 20 epochs, and prints after each
-- epoch (and a full garbage collection) the engine's live bytes
-- (nn.memory_stats()) and the process's resident set (VmRSS of
-- /proc/self/status). Holds when over epochs 2..20 the live bytes are
-- identical and the RSS stays within 2 MB: the first epoch fills the
-- caches (allocator, Lua heap), after which a step must leave nothing
-- behind. Not in `make bench` (minutes long): `make soak`.
--   nnlua bench/soak.lua [--epochs N] [--threads T] [--quick]
-- --quick: 3 epochs of 640 samples (the ctest smoke; the verdict is printed
-- but the exit status ignores it).
-- Last line: RESULT name=soak epochs=N live_identical=true|false rss_spread_mb=.. holds=true|false
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{epochs = 20, threads = 1, quick = false}
if opt.quick then opt.epochs = 3 end
if opt.epochs < 2 then error("soak: --epochs must be at least 2, got " .. opt.epochs, 0) end
nn.set_num_threads(opt.threads)
bench.header(("soak: %d epochs of the MLP on Fashion-MNIST, memory after each"):format(opt.epochs), opt.threads)

local RSS_LIMIT_MB = 2

-- Resident set in bytes (VmRSS, kB in /proc/self/status).
local function rss_bytes()
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return assert(tonumber(text:match("VmRSS:%s*(%d+) kB")), "no VmRSS in /proc/self/status") * 1024
end

local raw = nn.data.fashion_mnist{split = "train"}
local x, y = nn.transforms.Normalize(0.2860, 0.3530)(raw.x), raw.y
raw = nil -- only the normalized images stay
if opt.quick then x, y = x:narrow(1, 1, 640):clone(), y:narrow(1, 1, 640):clone() end
local train = nn.data.tensor_dataset(x, y)

nn.manual_seed(1)
local model, loss_fn, optimizer = require("peer_models").mlp()
local loader = nn.data.DataLoader(train, {batch_size = 64, shuffle = true})

local rows, live, rss = {}, {}, {}
for epoch = 1, opt.epochs do
  local start, sum, batches = bench.now(), 0, 0
  for bx, by in loader:iter() do
    optimizer:zero_grad()
    local loss = loss_fn(model(bx), by)
    loss:backward()
    optimizer:step()
    sum, batches = sum + loss:item(), batches + 1
  end
  local seconds = bench.now() - start
  collectgarbage()
  collectgarbage()
  live[epoch], rss[epoch] = nn.memory_stats().live_bytes, rss_bytes()
  rows[epoch] = {epoch, ("%.2f"):format(seconds), ("%.4f"):format(sum / batches), live[epoch],
                 ("%.2f"):format(rss[epoch] / 2^20),
                 epoch == 1 and "" or ("%+d"):format(rss[epoch] - rss[epoch - 1])}
  print(("# epoch %d: %.2f s, loss %.4f, live %d B, RSS %.2f MB"):format(
    epoch, seconds, sum / batches, live[epoch], rss[epoch] / 2^20))
  io.stdout:flush()
end
bench.table({"epoch", "seconds", "mean loss", "live bytes", "RSS MB", "RSS change B"}, rows)

local identical, lo, hi = true, math.huge, -math.huge
for e = 2, opt.epochs do
  identical = identical and live[e] == live[2]
  lo, hi = math.min(lo, rss[e]), math.max(hi, rss[e])
end
local spread_mb = (hi - lo) / 2^20
local holds = identical and spread_mb <= RSS_LIMIT_MB
print(("soak: over epochs 2-%d the live bytes are %s (%d B at epoch 2); RSS spread %.2f MB (limit %d MB): %s"):format(
  opt.epochs, identical and "identical" or "NOT identical", live[2], spread_mb, RSS_LIMIT_MB,
  holds and "holds" or "DOES NOT HOLD"))
bench.result("soak", {{"threads", opt.threads}, {"epochs", opt.epochs}, {"live_identical", identical},
                      {"live_bytes", live[2]}, {"rss_spread_mb", bench.fmt(spread_mb, 2)}, {"holds", holds}})
if not holds and not opt.quick then os.exit(1) end
