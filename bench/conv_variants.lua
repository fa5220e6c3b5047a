-- bench/conv_variants.lua: forward + backward (input, weight and bias
-- gradients) of three convolution variants against PyTorch
-- (bench/peers/conv_variants.py, run in the same session):
--   depthwise   the 17 depthwise 3x3 convolutions of torchvision's
--               mobilenet_v2 (width 1.0, 32x32 input, batch 32), summed;
--               their shapes come from the peer (--layers), which reads
--               them off the model
--   grouped     128 -> 128 channels, groups 32, 3x3 pad 1, 16x16, batch 32
--   transposed  conv_transpose2d 64 -> 32, kernel 4, stride 2, padding 1,
--               14x14 -> 28x28, batch 64
-- Usage: nnlua bench/conv_variants.lua [--threads T] [--reps R] [--quick] [--skip-peer]
-- Time per call: the median over R samples of about 0.2 s each; ratio =
-- nnlua / PyTorch (lower is better). Targets: depthwise <= 1.2, grouped
-- and transposed <= 1.5. --quick runs two small depthwise layers of fixed
-- shape and no peer (no Python).
-- Last line: RESULT name=conv_variants threads=T depthwise_ms=.. depthwise_peer_ms=.. depthwise_ratio=.. ...
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local opt = bench.options{threads = 1, reps = 7, quick = false, skip_peer = false}
nn.set_num_threads(opt.threads)
nn.manual_seed(0)
bench.header("conv_variants: depthwise, grouped and transposed convolution, forward + backward", opt.threads)

local function python(flags) return bench.python("peers/conv_variants.py", flags) end

-- {c, h, w, stride, padding} of each depthwise layer.
local layers = {}
if opt.quick then
  layers = {{8, 6, 6, 1, 1}, {16, 4, 4, 2, 1}}
else
  local out = python("--layers")
  local list = out:match("LAYERS ([%d,;]+)") or error("bench: the peer printed no LAYERS line:\n" .. out, 0)
  for spec in list:gmatch("[^;]+") do
    local l = {}
    for v in spec:gmatch("%d+") do l[#l + 1] = tonumber(v) end
    layers[#layers + 1] = l
  end
  assert(#layers == 17, "mobilenet_v2 should have 17 depthwise layers")
end

-- A step: forward and backward of one convolution with fresh gradients.
local function conv_case(n, c, h, w, o, k, groups, stride, padding, transposed)
  local x = nn.randn(n, c, h, w):requires_grad_()
  local weight = (transposed and nn.randn(c, o // groups, k, k) or nn.randn(o, c // groups, k, k)):requires_grad_()
  local bias = nn.randn(o):requires_grad_()
  local fn = transposed and nn.conv_transpose2d or nn.conv2d
  local opts = {stride = stride, padding = padding, groups = groups}
  local gout = nn.randn(fn(x, weight, bias, opts).shape)
  return function()
    x.grad, weight.grad, bias.grad = nil, nil, nil
    fn(x, weight, bias, opts):backward(gout)
  end
end

local batch = opt.quick and 2 or 32
local cases = {{"depthwise", {}}, {"grouped"}, {"transposed"}}
for _, l in ipairs(layers) do
  table.insert(cases[1][2], conv_case(batch, l[1], l[2], l[3], l[1], 3, l[1], l[4], l[5]))
end
if opt.quick then
  cases[2][2] = {conv_case(2, 16, 6, 6, 16, 3, 4, 1, 1)}
  cases[3][2] = {conv_case(2, 8, 5, 5, 4, 4, 1, 2, 1, true)}
else
  cases[2][2] = {conv_case(32, 128, 16, 16, 128, 3, 32, 1, 1)}
  cases[3][2] = {conv_case(64, 64, 14, 14, 32, 4, 1, 2, 1, true)}
end

local function timed(steps)
  local function run(k)
    local t0 = bench.now()
    for _ = 1, k do
      for _, s in ipairs(steps) do s() end
    end
    collectgarbage("step", 0)
    return bench.now() - t0
  end
  run(3)
  local k = bench.calibrate(run, opt.quick and 0.01 or 0.2)
  local t = {}
  for r = 1, opt.quick and 1 or opt.reps do t[r] = run(k) / k end
  return bench.median(t)
end

local peer = {}
if not opt.skip_peer and not opt.quick then
  local out = python(("--threads %d --reps %d"):format(opt.threads, opt.reps))
  if not out:match("RESULT name=conv_variants") then error("bench: the peer printed no RESULT line:\n" .. out, 0) end
  for name, ms in out:gmatch("(%a+)_ms=([%d.]+)") do peer[name] = tonumber(ms) end
end

local rows, fields = {}, {{"threads", opt.threads}}
for _, c in ipairs(cases) do
  local name = c[1]
  local ms = timed(c[2]) * 1e3
  local pms = peer[name] or 0 / 0
  rows[#rows + 1] = {name, bench.fmt(ms, 3), bench.fmt(pms, 3), bench.fmt(ms / pms, 2)}
  fields[#fields + 1] = {name .. "_ms", bench.fmt(ms, 3)}
  fields[#fields + 1] = {name .. "_peer_ms", bench.fmt(pms, 3)}
  fields[#fields + 1] = {name .. "_ratio", bench.fmt(ms / pms, 2)}
end
bench.table({"case", "nnlua ms", "PyTorch ms", "ratio"}, rows)
bench.result("conv_variants", fields)
