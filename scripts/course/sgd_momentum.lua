-- 000 Q4: plain SGD against SGD with momentum at four learning rates, on
-- a linear regression the notebook of the notes does not show (ours: two
-- features, y = 2*x1 - 3.4*x2 + 4.2 plus a little noise).
--
--   nnlua scripts/course/sgd_momentum.lua [--quick] [--out DIR] [--seed S]
local course = require "common"
local opts = course.start{
  name = "sgd_momentum", ids = {"S0-08"},
  notes = "000_7ab6c8be6403b5e4.txt Q4; 003_2d572698e7403bd6.txt Q1.2",
}

local STEPS, TARGET = 1000, 1e-2
local X = nn.randn(1000, 2) * 1.5
local y = X:matmul(nn.tensor{{2}, {-3.4}}) + 4.2 + nn.randn(1000, 1) * 0.01

-- One full-batch run from w = 0, b = 0: the loss after each of 0..STEPS
-- updates (losses[1] is the initial loss) and the number of updates after
-- which the loss is first below TARGET (STEPS when never).
local function run(lr, momentum)
  local model = nn.Linear(2, 1)
  nn.init.zeros_(model.weight)
  nn.init.zeros_(model.bias)
  local opt = nn.optim.SGD(model:parameters(), {lr = lr, momentum = momentum})
  local mse = nn.MSELoss()              -- mean of the squared errors, no 1/2
  local losses, reached = {}, nil
  for step = 0, STEPS do
    opt:zero_grad()
    local loss = mse(model(X), y)
    losses[step + 1] = loss:item()
    if not reached and losses[step + 1] < TARGET then reached = step end
    if step == STEPS then break end
    loss:backward()
    -- momentum: v <- m*v + g, p <- p - lr*v (PyTorch's heavy ball)
    opt:step()
  end
  local last = losses[STEPS + 1]
  return {losses = losses, steps = reached or STEPS, reached = reached ~= nil,
          last = last, finite = last == last and math.abs(last) ~= math.huge}
end

local LRS = {1.0, 0.1, 0.01, 0.001}
local WITH_HALF = {[0.1] = true, [0.001] = true}   -- where momentum 0.5 is also run
local runs = {}
for _, lr in ipairs(LRS) do
  runs[lr] = {sgd = run(lr, 0), m9 = run(lr, 0.9), m5 = WITH_HALF[lr] and run(lr, 0.5) or nil}
end

local function steps(r) return r.reached and r.steps or ("never (loss %s)"):format(course.fmt(r.last)) end
local function ending(r) return r.finite and course.fmt(r.last) or "non-finite" end
local r1, r01, r001, r0001 = runs[1.0], runs[0.1], runs[0.01], runs[0.001]

-- 003 Q1.2: "the training loss necessarily decreases every epoch". With lr = 1
-- every step overshoots: the loss rises from the first step, no validation involved.
local function rises(r)
  local k = 1
  while k <= STEPS and r.losses[k + 1] > r.losses[k] do k = k + 1 end
  return k - 1
end
local rising = rises(r1.sgd)

course.table{
  {"lr=1: SGD / momentum 0.9 final loss", ending(r1.sgd) .. " / " .. ending(r1.m9),
   "both diverge, \"after 1000 steps only got worse\"", "initial loss " .. course.fmt(r1.sgd.losses[1])},
  {"lr=0.1: steps to loss < 0.01, SGD", steps(r01.sgd), "< 20 (both alike)", ""},
  {"lr=0.1: steps, momentum 0.9", steps(r01.m9), "< 20 (both alike)",
   "the heavy ball oscillates: its error shrinks by at best sqrt(0.9) = 0.95 per step"},
  {"lr=0.1: steps, momentum 0.5", steps(r01.m5), "< 20 (both alike)", "the notes' row fits momentum 0.5"},
  {"lr=0.01: steps, SGD / momentum 0.9", steps(r001.sgd) .. " / " .. steps(r001.m9),
   "momentum about 130 steps sooner", ("momentum %d steps sooner"):format(r001.sgd.steps - r001.m9.steps)},
  {"lr=0.001: steps, SGD", steps(r0001.sgd), "reaches nearly 0", ""},
  {"lr=0.001: steps, momentum 0.9 / 0.5", steps(r0001.m9) .. " / " .. steps(r0001.m5),
   "momentum about 930 steps sooner", "the notes' 930 fits momentum 0.5"},
  {"lr=1: SGD training loss", ("rises at each of the first %d steps, then overflows"):format(rising),
   "003 Q1.2: the training loss necessarily decreases every epoch",
   "notes error: a too large learning rate diverges; a rising training loss is not overfitting"},
}

local diverged = function(r) return not r.finite or r.last > r.losses[1] end
local c1 = diverged(r1.sgd) and diverged(r1.m9)
local c2 = r01.sgd.reached and r01.sgd.steps <= 20 and r01.m9.reached and r01.m9.steps <= 100
local c3 = r001.sgd.steps >= 2 * r001.m9.steps
local c4 = not r0001.sgd.reached and r0001.m9.reached and r0001.m9.steps <= 300
local c5 = r01.m5.reached and r01.m5.steps <= 20
course.verdict("S0-08", c1 and c2 and c3 and c4 and c5,
  "lr=1: SGD %s, momentum %s (initial %s); lr=0.1: SGD %s steps <= 20, momentum 0.9 %s <= 100, momentum 0.5 %s <= 20; " ..
  "lr=0.01: %s >= 2*%s; lr=0.001: SGD %s, momentum 0.9 %s <= 300; notes error (003 Q1.2): lr=1 loss rises %d steps in a row",
  ending(r1.sgd), ending(r1.m9), course.fmt(r1.sgd.losses[1]), steps(r01.sgd), steps(r01.m9), steps(r01.m5),
  steps(r001.sgd), steps(r001.m9), r0001.sgd.reached and r0001.sgd.steps or "never", steps(r0001.m9), rising)

-- Loss against step (log y), one picture per learning rate.
for _, lr in ipairs(LRS) do
  local r = runs[lr]
  local x = nn.arange(STEPS + 1)
  local series = {{name = "SGD", x = x, y = r.sgd.losses, marker = "none"},
                  {name = "momentum 0.9", x = x, y = r.m9.losses, marker = "none"}}
  if r.m5 then series[3] = {name = "momentum 0.5", x = x, y = r.m5.losses, marker = "none", style = "dashed"} end
  nn.plot.lines(series, course.plot_path(opts, ("loss_lr_%s.png"):format(course.fmt(lr))), {
    title = ("000_7ab6c8be6403b5e4.txt Q4: full-batch linear regression, lr = %s"):format(course.fmt(lr)),
    xlabel = "step (updates)", ylabel = "MSE loss (log)", yscale = "log"})
end
course.finish()
