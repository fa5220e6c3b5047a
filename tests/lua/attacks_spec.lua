-- nn.attacks.fgsm and nn.attacks.pgd against PyTorch's computation
-- (tests/fixtures/attacks/reference.lua: a small MLP whose weights the
-- fixture carries): the adversarial inputs, SPEC's call forms, the
-- parameters' gradients and the modules' train/eval modes left as they
-- were, the L-inf ball, random_start, and the error messages.
local nn = require "nn"
local H = require "helpers"

local ref = H.reference("attacks")

local function model()
  local m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
  local state = {}
  for k, s in pairs(ref.state) do
    state[k:gsub("^(%d+)", function(d) return tostring(tonumber(d) + 1) end)] = H.from_spec(s)
  end
  m:load_state_dict(state)
  return m
end

local x, y = H.from_spec(ref.x), nn.tensor(ref.y, "int64")
local target = H.from_spec(ref.target)
local LOSSES = {
  ce = function(out, labels) return nn.cross_entropy(out, labels) end,
  mse = function(out) return nn.mse_loss(out, target) end,
}

describe("attacks match PyTorch", function()
  for i, c in ipairs(ref.cases) do
    it(("%s %d (eps=%g, loss=%s%s)"):format(c.attack, i, c.eps, c.loss, c.clamp and ", clamped" or ""), function()
      local m = model()
      local opts = {eps = c.eps, clamp = c.clamp}
      if c.loss ~= "ce" then opts.loss = LOSSES[c.loss] end
      if c.attack == "pgd" then opts.alpha, opts.steps = c.alpha, c.steps end
      local adv = nn.attacks[c.attack](m, x, y, opts)
      H.assert_shape(adv, c.out.shape)
      H.assert_flat_close(adv, c.out.data, 1e-5, "adversarial input")
      assert.is_false(adv.requires_grad)
      -- SPEC's forms: fgsm(model, loss_fn, x, y, eps, {clamp=}), pgd(model, loss_fn, x, y, {...})
      local adv2
      if c.attack == "fgsm" then
        adv2 = nn.attacks.fgsm(m, LOSSES[c.loss], x, y, c.eps, {clamp = c.clamp})
      else
        adv2 = nn.attacks.pgd(m, LOSSES[c.loss], x, y, {eps = c.eps, alpha = c.alpha, steps = c.steps, clamp = c.clamp})
      end
      H.assert_flat_close(adv2, c.out.data, 1e-5, "adversarial input, SPEC's form")
    end)
  end
end)

describe("attacks", function()
  it("leave the parameters' gradients and every module's mode as they were", function()
    local m = model()
    for _, attack in ipairs{"fgsm", "pgd"} do
      for _, p in ipairs(m:parameters()) do p.grad = nil end
      m:train()
      m[3]:eval()
      nn.attacks[attack](m, x, y, {eps = 0.1})
      for _, p in ipairs(m:parameters()) do
        assert.is_nil(p.grad)
        assert.is_true(p.requires_grad)
      end
      assert.is_true(m.training)
      assert.is_true(m[1].training)
      assert.is_false(m[3].training)
      -- existing gradients stay untouched
      nn.cross_entropy(m(x), y):backward()
      local g = H.flat(m[1].weight.grad)
      nn.attacks[attack](m, x, y, {eps = 0.1})
      H.assert_values(H.flat(m[1].weight.grad), g)
    end
  end)

  it("restore the modes when the loss raises", function()
    local m = model()
    m:train()
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {eps = 0.1, loss = function() error("boom") end}) end, "boom")
    assert.is_true(m.training)
    assert.is_true(m[1].weight.requires_grad)
  end)

  it("run the model in eval mode (dropout off)", function()
    local m = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.9), nn.ReLU(), nn.Linear(8, 3))
    m:train()
    local a = nn.attacks.pgd(m, x, y, {eps = 0.1, steps = 4})
    local b = nn.attacks.pgd(m, x, y, {eps = 0.1, steps = 4})
    H.assert_values(H.flat(a), H.flat(b))
    assert.is_true(m[2].training)
  end)

  it("pgd stays in the L-inf ball, with and without random_start", function()
    local m = model()
    nn.manual_seed(1)
    for _, rs in ipairs{false, true} do
      local adv = nn.attacks.pgd(m, x, y, {eps = 0.05, alpha = 0.04, steps = 6, random_start = rs})
      assert.is_true((adv - x):abs():max():item() <= 0.05 + 1e-6)
    end
    local a = nn.attacks.pgd(m, x, y, {eps = 0.05, steps = 0, random_start = true})
    local d = (a - x):abs()
    assert.is_true(d:max():item() <= 0.05 + 1e-6 and d:max():item() > 0)
    H.assert_values(H.flat(nn.attacks.pgd(m, x, y, {eps = 0.05, steps = 0})), H.flat(x))
  end)

  it("raise on bad input", function()
    local m = model()
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {eps = -0.1}) end, "fgsm", "eps", "-0.1")
    H.assert_error(function() nn.attacks.pgd(m, x, y, {eps = -1}) end, "pgd", "eps", "-1")
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {eps = 0.1, epsilon = 1}) end, "fgsm", "unknown option", "epsilon")
    H.assert_error(function() nn.attacks.pgd(m, x, y, {eps = 0.1, step = 3}) end, "pgd", "unknown option", "step")
    H.assert_error(function() nn.attacks.fgsm(m, LOSSES.ce, x, y, 0.1, {eps = 1}) end, "fgsm", "unknown option", "eps")
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {}) end, "fgsm", "eps must be a number", "nil")
    H.assert_error(function() nn.attacks.pgd(m, x, y, {eps = 0.1, steps = -1}) end, "pgd", "steps")
    H.assert_error(function() nn.attacks.pgd(m, x, y, {eps = 0.1, alpha = -1}) end, "pgd", "alpha")
    H.assert_error(function() nn.attacks.pgd(m, x, y, {eps = 0.1, random_start = 1}) end, "pgd", "random_start")
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {eps = 0.1, clamp = {1, 0}}) end, "fgsm", "clamp")
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {eps = 0.1, loss = 3}) end, "fgsm", "loss must be a function")
    H.assert_error(function() nn.attacks.fgsm(m, x, nil, {eps = 0.1}) end, "fgsm", "y must be given")
    H.assert_error(function() nn.attacks.fgsm("m", x, y, {eps = 0.1}) end, "fgsm", "model must be a module or a function")
    H.assert_error(function() nn.attacks.fgsm(m, "x", y, {eps = 0.1}) end, "fgsm", "argument 2 must be x (a tensor) or a loss function")
    H.assert_error(function() nn.attacks.pgd(m, LOSSES.ce, "x", y, {eps = 0.1}) end, "pgd", "x must be a tensor")
    H.assert_error(function() nn.attacks.fgsm(m, x, y, {eps = 0.1, loss = function(o) return o end}) end,
                   "fgsm", "loss must return a scalar tensor")
  end)
end)
