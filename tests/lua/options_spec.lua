-- Strict options everywhere: every public function and constructor that
-- takes an options table rejects an unknown key with one message form,
--   "fit: unknown option 'epoch' (did you mean 'epochs'? known: batch_size, ...)"
-- naming the function, the key and the known keys (A.options in Lua,
-- nnb_check_options in C). Each row: {name the error must start with,
-- function(extra) calling the entry point with valid arguments and the
-- options table `extra` merged into its valid options}.
local nn = require "nn"
local H = require "helpers"

local function with(base, extra)
  local t = {}
  for k, v in pairs(base or {}) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

local function model() return nn.Sequential(nn.Linear(2, 3)) end
local function params() return nn.Linear(2, 3):parameters() end
local function sgd() return nn.optim.SGD(params(), {lr = 0.1}) end
local x2, y2 = nn.randn(4, 2), nn.tensor({1, 2, 1, 3}, "int64")
local dir = os.getenv("TMPDIR") or "/tmp"
local png = dir .. "/nnlua_options_spec.png"
local ds = nn.data.tensor_dataset(x2, y2)
local csv = dir .. "/nnlua_options_spec.csv"
do local f = assert(io.open(csv, "w")); f:write("a,b\n1,2\n3,4\n"); f:close() end

local ENTRIES = {
  -- training
  {"fit", function(o)
    local m = model()
    return nn.fit(m, with({train = ds, epochs = 1, verbose = false, loss = nn.CrossEntropyLoss(),
                           optimizer = nn.optim.SGD(m:parameters(), {lr = 0.1})}, o))
  end},
  {"evaluate", function(o) return nn.evaluate(model(), ds, with({loss = nn.CrossEntropyLoss()}, o)) end},
  {"EarlyStopping", function(o) return nn.callbacks.EarlyStopping(with({monitor = "loss"}, o)) end},
  {"ModelCheckpoint", function(o)
    return nn.callbacks.ModelCheckpoint(with({path = dir .. "/nnlua_options_spec_ckpt.safetensors"}, o))
  end},
  {"LambdaCallback", function(o) return nn.callbacks.LambdaCallback(with({on_epoch_end = function() end}, o)) end},
  {"load_checkpoint", function(o)
    local path = dir .. "/nnlua_options_spec.safetensors"
    local m = model()
    nn.save_checkpoint(path, {model = m})
    return nn.load_checkpoint(path, with({model = m}, o))
  end},
  -- data
  {"DataLoader", function(o) return nn.data.DataLoader(ds, with({batch_size = 2}, o)) end},
  {"moons", function(o) return nn.data.synthetic.moons(with({n_samples = 10}, o)) end},
  {"circles", function(o) return nn.data.synthetic.circles(with({n_samples = 10}, o)) end},
  {"blobs", function(o) return nn.data.synthetic.blobs(with({n_samples = 10}, o)) end},
  {"synthetic.classification", function(o) return nn.data.synthetic.classification(with({n_samples = 10}, o)) end},
  {"synthetic.regression", function(o) return nn.data.synthetic.regression(with({n_samples = 10}, o)) end},
  {"mnist", function(o) return nn.data.mnist(with({dir = dir}, o)) end, needs_files = true},
  {"fashion_mnist", function(o) return nn.data.fashion_mnist(with({dir = dir}, o)) end, needs_files = true},
  {"csv", function(o) return nn.data.csv(csv, o) end},
  {"image_folder", function(o) return nn.data.image_folder(dir, o) end, needs_files = true},
  {"RandomCrop", function(o) return nn.transforms.RandomCrop(4, with({padding = 1}, o)) end},
  -- layers and losses
  {"Linear", function(o) return nn.Linear(2, 3, o) end},
  {"Conv2d", function(o) return nn.Conv2d(1, 2, 3, o) end},
  {"ConvTranspose2d", function(o) return nn.ConvTranspose2d(1, 2, 3, o) end},
  {"MaxPool2d", function(o) return nn.MaxPool2d(2, o) end},
  {"AvgPool2d", function(o) return nn.AvgPool2d(2, o) end},
  {"BatchNorm2d", function(o) return nn.BatchNorm2d(3, o) end},
  {"BatchNorm1d", function(o) return nn.BatchNorm1d(3, o) end},
  {"Dropout", function(o) return nn.Dropout(0.5, o) end},
  {"Upsample", function(o) return nn.Upsample(with({scale_factor = 2}, o)) end},
  {"Hardtanh", function(o) return nn.Hardtanh(o) end},
  {"GELU", function(o) return nn.GELU(o) end},
  {"Softplus", function(o) return nn.Softplus(o) end},
  {"CrossEntropyLoss", function(o) return nn.CrossEntropyLoss(o) end},
  {"NLLLoss", function(o) return nn.NLLLoss(o) end},
  {"MSELoss", function(o) return nn.MSELoss(o) end},
  {"HuberLoss", function(o) return nn.HuberLoss(o) end},
  {"BCELoss", function(o) return nn.BCELoss(o) end},
  {"BCEWithLogitsLoss", function(o) return nn.BCEWithLogitsLoss(o) end},
  {"KLDivLoss", function(o) return nn.KLDivLoss(o) end},
  {"MultiMarginLoss", function(o) return nn.MultiMarginLoss(o) end},
  {"load_state_dict", function(o) local m = model(); return m:load_state_dict(m:state_dict(), o) end},
  {"state_dict", function(o) return model():state_dict(o) end},
  {"summary", function(o) return model():summary({1, 2}, with({print = false}, o)) end},
  {"KNeighborsClassifier", function(o) return nn.KNeighborsClassifier(with({n_neighbors = 1}, o)) end},
  {"fgsm", function(o) return nn.attacks.fgsm(model(), x2, y2, with({eps = 0.1}, o)) end},
  {"pgd", function(o) return nn.attacks.pgd(model(), x2, y2, with({eps = 0.1, steps = 1}, o)) end},
  {"kaiming_uniform_", function(o) return nn.init.kaiming_uniform_(nn.zeros(3, 2), o) end},
  {"xavier_uniform_", function(o) return nn.init.xavier_uniform_(nn.zeros(3, 2), o) end},
  {"gradcheck", function(o)
    return nn.gradcheck(function(a) return a * 2 end, {nn.randn(2):requires_grad_()}, o)
  end},
  -- optimizers and schedulers
  {"SGD", function(o) return nn.optim.SGD(params(), with({lr = 0.1}, o)) end},
  {"Adam", function(o) return nn.optim.Adam(params(), with({lr = 0.1}, o)) end},
  {"AdamW", function(o) return nn.optim.AdamW(params(), with({lr = 0.1}, o)) end},
  {"RMSprop", function(o) return nn.optim.RMSprop(params(), with({lr = 0.1}, o)) end},
  {"Adagrad", function(o) return nn.optim.Adagrad(params(), with({lr = 0.1}, o)) end},
  {"zero_grad", function(o) return sgd():zero_grad(o) end},
  {"zero_grad", function(o) return model():zero_grad(o) end},
  {"RandomSearch", function(o) return nn.optim.RandomSearch(params(), with({std = 0.5}, o)) end},
  {"RandomLocalSearch", function(o) return nn.optim.RandomLocalSearch(params(), with({step_size = 0.5}, o)) end},
  {"StepLR", function(o) return nn.optim.StepLR(sgd(), with({step_size = 2}, o)) end},
  {"ExponentialLR", function(o) return nn.optim.ExponentialLR(sgd(), with({gamma = 0.5}, o)) end},
  {"CosineAnnealingLR", function(o) return nn.optim.CosineAnnealingLR(sgd(), with({T_max = 2}, o)) end},
  {"ReduceLROnPlateau", function(o) return nn.optim.ReduceLROnPlateau(sgd(), o) end},
  {"LambdaLR", function(o)
    return nn.optim.LambdaLR(sgd(), with({lr_lambda = function() return 1 end}, o))
  end},
  {"MultiStepLR", function(o) return nn.optim.MultiStepLR(sgd(), with({milestones = {2}}, o)) end},
  {"LinearLR", function(o) return nn.optim.LinearLR(sgd(), o) end},
  {"OneCycleLR", function(o) return nn.optim.OneCycleLR(sgd(), with({max_lr = 1, total_steps = 4}, o)) end},
  {"InverseTimeDecay", function(o)
    return nn.optim.InverseTimeDecay(sgd(), with({decay_steps = 2, decay_rate = 0.5}, o))
  end},
  -- metrics and plots
  {"roc_curve", function(o) return nn.metrics.roc_curve(nn.tensor({0.1, 0.9}), nn.tensor({0, 1}), o) end},
  {"calibration", function(o) return nn.metrics.calibration(nn.tensor({{0.1, 0.9}}), nn.tensor({2}, "int64"), o) end},
  {"plot.lines", function(o) return nn.plot.lines({{name = "a", y = {1, 2}}}, png, o) end},
  {"plot.history", function(o) return nn.plot.history({loss = {1, 2}}, png, o) end},
  {"plot.bar", function(o) return nn.plot.bar({"a", "b"}, png, with({values = {1, 2}}, o)) end},
  {"plot.hist", function(o) return nn.plot.hist({1, 2, 3}, png, o) end},
  {"plot.heatmap", function(o) return nn.plot.heatmap(nn.eye(3), png, o) end},
  {"plot.contour", function(o) return nn.plot.contour(function(a, b) return a + b end, png, with({x = {-1, 1}, y = {-1, 1}}, o)) end},
  {"plot.decision_boundary", function(o)
    return nn.plot.decision_boundary(function(p) return nn.ones(p.shape[1]) end, x2, nn.tensor({1, 2, 1, 2}), png, o)
  end},
  {"plot.pr_curve", function(o) return nn.plot.pr_curve({1, 0.5}, {0, 1}, png, o) end},
  {"plot.roc_curve", function(o) return nn.plot.roc_curve({0, 1}, {0, 1}, png, o) end},
  {"plot.images", function(o) return nn.plot.images(nn.zeros(2, 1, 4, 4), png, o) end},
  -- tensor functions
  {"conv2d", function(o) return nn.conv2d(nn.zeros(1, 1, 3, 3), nn.zeros(1, 1, 1, 1), o) end},
  {"conv_transpose2d", function(o) return nn.conv_transpose2d(nn.zeros(1, 1, 3, 3), nn.zeros(1, 1, 1, 1), o) end},
  {"max_pool2d", function(o) return nn.max_pool2d(nn.zeros(1, 1, 4, 4), 2, o) end},
  {"avg_pool2d", function(o) return nn.avg_pool2d(nn.zeros(1, 1, 4, 4), 2, o) end},
  {"interpolate", function(o) return nn.interpolate(nn.zeros(1, 1, 2, 2), with({scale_factor = 2}, o)) end},
  {"unique", function(o) return nn.unique(nn.tensor({1, 2, 2}), o) end},
  {"bincount", function(o) return nn.bincount(nn.tensor({1, 2, 2}, "int64"), o) end},
  {"var", function(o) return nn.zeros(3):var(o) end},
  {"std", function(o) return nn.zeros(3):std(o) end},
  {"gelu", function(o) return nn.gelu(nn.zeros(3), o) end},
  {"cross_entropy", function(o) return nn.cross_entropy(nn.zeros(2, 3), nn.tensor({1, 2}, "int64"), o) end},
  {"mse_loss", function(o) return nn.mse_loss(nn.zeros(3), nn.zeros(3), o) end},
  {"backward", function(o) return (nn.ones(2):requires_grad_() * 2):sum():backward(nil, o) end},
  {"zeros", function(o) return nn.zeros(2, o) end},
  {"arange", function(o) return nn.arange(3, o) end},
}

describe("strict options", function()
  it("every entry point accepts its valid options", function()
    local failures = {}
    for _, e in ipairs(ENTRIES) do
      local ok, err = pcall(e[2], {})
      if not ok and not e.needs_files then failures[#failures + 1] = e[1] .. ": " .. tostring(err) end
    end
    assert(#failures == 0, table.concat(failures, "\n"))
  end)

  it("every entry point rejects an unknown key naming itself, the key and the known ones", function()
    local failures = {}
    for _, e in ipairs(ENTRIES) do
      local ok, err = pcall(e[2], {bogus_key = 1})
      local want = e[1] .. ": unknown option 'bogus_key' (known: "
      if ok then
        failures[#failures + 1] = e[1] .. ": accepted bogus_key"
      elseif not tostring(err):find(want, 1, true) then
        failures[#failures + 1] = ("%s: %q lacks %q"):format(e[1], tostring(err), want)
      end
    end
    assert(#failures == 0, ("%d of %d entry points:\n"):format(#failures, #ENTRIES) .. table.concat(failures, "\n"))
  end)

  it("suggests the nearest key for a typo", function()
    H.assert_error(function() nn.fit(model(), {train = ds, epoch = 1}) end,
                   "fit: unknown option 'epoch' (did you mean 'epochs'? known: ")
    H.assert_error(function() nn.data.DataLoader(ds, {batchsize = 2}) end,
                   "DataLoader: unknown option 'batchsize' (did you mean 'batch_size'? known: ")
    H.assert_error(function() nn.optim.SGD(params(), {lr = 0.1, momentun = 0.9}) end,
                   "SGD: unknown option 'momentun' (did you mean 'momentum'? known: ")
    H.assert_error(function() nn.optim.StepLR(sgd(), {step_sise = 2}) end,
                   "StepLR: unknown option 'step_sise' (did you mean 'step_size'? known: ")
    H.assert_error(function() nn.conv2d(nn.zeros(1, 1, 3, 3), nn.zeros(1, 1, 1, 1), {paddin = 1}) end,
                   "conv2d: unknown option 'paddin' (did you mean 'padding'? known: ")
  end)
end)
