-- Losses and regularizers: PyTorch reference values and input gradients
-- (tests/fixtures/loss/reference.lua) for every loss, reduction and option,
-- finite-difference gradchecks, extreme logits, where gradients flow, graph
-- memory, and error messages; the loss modules against PyTorch.
local nn = require "nn"
local H = require "helpers"

local REF = H.reference("loss")

local assert_close = H.assert_flat_close

local function all_finite(t)
  for _, v in ipairs(H.flat(t)) do
    if v ~= v or v == math.huge or v == -math.huge then return false end
  end
  return true
end

local ACTIVATIONS = {leaky_relu = true, elu = true, softmax = true, log_softmax = true}

describe("PyTorch reference values", function()
  for _, c in ipairs(REF.cases) do
    if not ACTIVATIONS[c.fn] then
      it(("%s(%s)"):format(c.fn, c.args), function() H.run_fixture_case(REF, c) end)
    end
  end
end)

describe("gradcheck", function()
  nn.manual_seed(11)
  local x = nn.randn(4, 5):requires_grad_()
  local x3 = nn.randn(2, 4, 3):requires_grad_()
  local y = nn.tensor({3, 1, 5, 2}, "int64")
  local y3 = nn.tensor({{1, 4, 2}, {3, 3, 1}}, "int64")
  local w = nn.rand(5) + 0.5
  local p = nn.softmax(nn.randn(4, 5)):requires_grad_()
  local a, b = nn.randn(3, 4):requires_grad_(), nn.randn(3, 4):requires_grad_()
  local pr = (nn.rand(3, 4) * 0.8 + 0.1):requires_grad_()
  local t = (nn.rand(3, 4) * 0.8 + 0.1):requires_grad_()
  local lq = nn.log_softmax(nn.randn(3, 4)):requires_grad_()
  local tq = nn.softmax(nn.randn(3, 4)):requires_grad_()
  local teacher = nn.randn(4, 5) * 2
  local bw = nn.rand(4) + 0.5
  local cases = {
    ce = {function(v) return nn.cross_entropy(v, y) end, {x}},
    ce_sum = {function(v) return nn.cross_entropy(v, y, {reduction = "sum"}) end, {x}},
    ce_none = {function(v) return nn.cross_entropy(v, y, "none") end, {x}},
    ce_smoothing = {function(v) return nn.cross_entropy(v, y, {label_smoothing = 0.1}) end, {x}},
    ce_weight = {function(v) return nn.cross_entropy(v, y, {weight = w}) end, {x}},
    ce_weight_smoothing_ignore = {function(v)
      return nn.cross_entropy(v, y, {weight = w, label_smoothing = 0.3, ignore_index = 5})
    end, {x}},
    ce_kdim = {function(v) return nn.cross_entropy(v, y3, {label_smoothing = 0.1, reduction = "none"}) end, {x3}},
    ce_probs = {function(v, q) return nn.cross_entropy(v, q, {weight = w, label_smoothing = 0.2}) end, {x, p}},
    ce_strided = {function(v) return nn.cross_entropy(v:t(), {1, 2, 3, 5}) end,
                  {nn.randn(4, 5):t():contiguous():requires_grad_()}},
    nll = {function(v) return nn.nll_loss(nn.log_softmax(v), y, {weight = w}) end, {x}},
    nll_none = {function(v) return nn.nll_loss(v, y, "none") end, {x}},
    mse = {function(u, v) return nn.mse_loss(u, v) end, {a, b}},
    mse_broadcast = {function(u, v) return nn.mse_loss(u, v:sum(1), "sum") end, {a, b}},
    mse_broadcast_rank = {function(u, v) return nn.mse_loss(u:sum(1), v:sum():view(1, 1), "none") end, {a, b}},
    kl_broadcast_input = {function(u, v) return nn.kl_div(u:sum(1, true), v:exp(), "batchmean") end, {a, b}},
    l1 = {function(u, v) return nn.l1_loss(u, v * 0.5 + 3, "none") end, {a, b}},
    bce = {function(u, v) return nn.bce_loss(u, v, {weight = bw}) end, {pr, t}},
    bce_logits = {function(u, v)
      return nn.bce_with_logits(u, v, {weight = nn.ones(3, 1) * 0.7, pos_weight = nn.tensor({0.5, 1, 2, 3})})
    end, {a, t}},
    bce_logits_none = {function(u, v) return nn.bce_with_logits(u, v, "none") end, {a, t}},
    kl = {function(u, v) return nn.kl_div(u, v, {reduction = "batchmean"}) end, {lq, tq}},
    kl_mean = {function(u, v) return nn.kl_div(u, v) end, {lq, tq}},
    kl_log_target = {function(u, v) return nn.kl_div(u, v, {log_target = true, reduction = "none"}) end, {lq, a}},
    distillation = {function(s) return nn.distillation_loss(s, teacher, y, {T = 4, alpha = 0.7}) end, {x}},
    l1_penalty = {function(u, v) return nn.l1_penalty({u, v}) end, {a, b}},
    l2_penalty = {function(u, v) return nn.l2_penalty({u, v * 2}) end, {a, b}},
  }
  for name, c in pairs(cases) do
    it(name, function() assert.is_true(nn.gradcheck(c[1], c[2])) end)
  end
end)

describe("cross_entropy", function()
  it("takes a Lua array of labels like an int64 tensor", function()
    local x = nn.randn(3, 4)
    assert.are.equal(nn.cross_entropy(x, nn.tensor({4, 1, 2}, "int64")):item(), nn.cross_entropy(x, {4, 1, 2}):item())
  end)

  it("matches log_softmax followed by nll_loss", function()
    local x = nn.randn(5, 7)
    local y = {1, 7, 3, 3, 2}
    assert_close(nn.cross_entropy(x, y, "none"), H.flat(nn.nll_loss(nn.log_softmax(x), y, "none")), 1e-6)
  end)

  it("is finite for logits of +-1000, loss and gradient", function()
    local x = nn.tensor({{1000, -1000, 0}, {-1000, 1000, 999}, {-1000, -1000, -1000}}):requires_grad_()
    local loss = nn.cross_entropy(x, {2, 3, 1}, {label_smoothing = 0.1})
    assert.is_true(all_finite(loss))
    loss:backward()
    assert.is_true(all_finite(x.grad))
    local ls = nn.log_softmax(x)
    assert.is_true(all_finite(ls))
    assert.is_true(all_finite(nn.softmax(x)))
    assert.is_true(all_finite(nn.bce_with_logits(nn.tensor({1000, -1000}), nn.tensor({0, 1}))))
  end)

  it("gives per-position losses with 'none', shaped like the target", function()
    assert.are.same({4}, nn.cross_entropy(nn.randn(4, 3), {1, 2, 3, 1}, "none").shape)
    assert.are.same({2, 5}, nn.cross_entropy(nn.randn(2, 3, 5), nn.ones(2, 5):long(), "none").shape)
    assert.are.same({}, nn.cross_entropy(nn.randn(3), 2, "none").shape)
    assert.are.same({}, nn.cross_entropy(nn.randn(4, 3), {1, 2, 3, 1}).shape)
  end)

  it("averages over the counted weight, 0/0 when everything is ignored", function()
    local x = nn.randn(2, 3)
    local loss = nn.cross_entropy(x, {2, 2}, {ignore_index = 2})
    assert.is_true(loss:item() ~= loss:item())
  end)

  it("reads strided int64 labels as they are", function()
    local x = nn.randn(2, 3, 2)
    local strided = nn.tensor({{1, 3}, {2, 1}}, "int64"):t() -- [[1, 2], [3, 1]], not contiguous
    assert.is_false(strided:is_contiguous())
    assert.are.equal(nn.cross_entropy(x, strided:contiguous(), "sum"):item(), nn.cross_entropy(x, strided, "sum"):item())
    assert.are.equal(nn.nll_loss(x, strided:contiguous(), "sum"):item(), nn.nll_loss(x, strided, "sum"):item())
  end)

  it("skips the ignore_index even outside 1..C, as PyTorch's -100", function()
    local x = nn.randn(3, 4)
    local want = nn.cross_entropy(x:narrow(1, 1, 2), {2, 4}):item()
    assert.are.equal(want, nn.cross_entropy(x, {2, 4, -100}, {ignore_index = -100}):item())
    assert.are.same({0}, {nn.nll_loss(x, {2, 4, -100}, {ignore_index = -100, reduction = "none"})[3]})
  end)

  it("names the bad label, its position and the class count", function()
    local x = nn.zeros(5, 10)
    H.assert_error(function() nn.cross_entropy(x, {1, 2, 3, 4, 11}) end,
                 "cross_entropy:", "target 11 at position 5", "1..10", "1-based")
    H.assert_error(function() nn.cross_entropy(x, nn.tensor({1, 0, 3, 4, 5}, "int64")) end,
                 "cross_entropy:", "target 0 at position 2", "1..10")
    H.assert_error(function() nn.cross_entropy(x, {1, 2, -3, 4, 5}) end, "target -3 at position 3")
    H.assert_error(function() nn.cross_entropy(nn.zeros(2, 3, 2), nn.tensor({{1, 1}, {1, 4}}, "int64")) end,
                 "target 4 at position [2,2]", "1..3")
  end)

  it("refuses float labels, naming the dtype", function()
    H.assert_error(function() nn.cross_entropy(nn.zeros(5, 10), nn.zeros(5)) end,
                 "cross_entropy:", "int64", "float32", "[5]", "[5,10]")
    H.assert_error(function() nn.nll_loss(nn.zeros(5, 10), nn.zeros(5)) end, "nll_loss:", "float32")
    H.assert_error(function() nn.cross_entropy(nn.zeros(2, 3), {1.5, 2}) end, "target[1]", "1.5")
    H.assert_error(function() nn.cross_entropy(nn.zeros(2, 3), nn.ones(2):gt(0)) end, "bool")
  end)

  it("reports batch and shape mismatches with both shapes", function()
    H.assert_error(function() nn.cross_entropy(nn.zeros(5, 10), nn.ones(4):long()) end,
                 "cross_entropy:", "[5,10]", "[4]", "5 vs 4")
    H.assert_error(function() nn.cross_entropy(nn.zeros(2, 3, 4), nn.ones(2, 5):long()) end,
                 "[2,3,4]", "[2,5]", "[2,4]")
    H.assert_error(function() nn.cross_entropy(nn.zeros(0), {}) end, "cross_entropy:")
    H.assert_error(function() nn.cross_entropy(nn.tensor(1), 1) end, "0-dim")
  end)

  it("checks its options", function()
    local x, y = nn.zeros(2, 3), {1, 2}
    H.assert_error(function() nn.cross_entropy(x, y, {weight = nn.ones(4)}) end, "weight", "3 class weights", "[4]")
    H.assert_error(function() nn.cross_entropy(x, y, {label_smoothing = 1.5}) end, "label_smoothing", "1.5")
    H.assert_error(function() nn.cross_entropy(x, y, {reduction = "avg"}) end, "reduction", "'avg'")
    H.assert_error(function() nn.cross_entropy(x, y, {reduction = "batchmean"}) end, "reduction", "batchmean")
    H.assert_error(function() nn.cross_entropy(x, y, {smoothing = 0.1}) end, "unknown option 'smoothing'")
    H.assert_error(function() nn.cross_entropy(x, y, {weight = nn.ones(3):requires_grad_()}) end,
                 "weight does not take gradients")
    H.assert_error(function() nn.cross_entropy(x, y, 5) end, "options must be a table")
  end)
end)

describe("pointwise losses", function()
  it("mse and l1 let gradients reach the target too", function()
    local a, b = nn.randn(3, 4):requires_grad_(), nn.randn(3, 4):requires_grad_()
    nn.mse_loss(a, b):backward()
    assert_close(b.grad, H.flat(-a.grad), 1e-6)
    assert_close(a.grad, H.flat((a:detach() - b:detach()) * (2 / 12)), 1e-6)
  end)

  it("bce_loss clamps the log at -100 as PyTorch", function()
    local loss = nn.bce_loss(nn.tensor({0, 1, 0.5}), nn.tensor({1, 0, 0.5}), "none")
    assert_close(loss, {100, 100, math.log(2)}, 1e-6)
  end)

  it("check shapes and ranges", function()
    H.assert_error(function() nn.mse_loss(nn.zeros(3, 4), nn.zeros(3)) end, "mse_loss:", "[3,4]", "[3]", "broadcast")
    H.assert_error(function() nn.bce_loss(nn.zeros(3, 1), nn.zeros(3)) end, "bce_loss:", "[3,1]", "[3]", "same shape")
    H.assert_error(function() nn.bce_with_logits(nn.zeros(3), nn.zeros(4)) end, "bce_with_logits:", "[3]", "[4]")
    H.assert_error(function() nn.bce_loss(nn.tensor({0.5, 1.5}), nn.tensor({0, 1})) end,
                 "bce_loss:", "input", "[0, 1]", "1.5", "position 2")
    H.assert_error(function() nn.bce_loss(nn.tensor({0.5, 0.5}), nn.tensor({0, -1})) end, "target", "-1")
    H.assert_error(function() nn.bce_loss(nn.tensor({0.5, 0.5}), nn.tensor({0, 1}), {weight = nn.ones(3)}) end,
                 "weight [3] cannot be broadcast", "[2]")
    H.assert_error(function() nn.mse_loss(nn.zeros(2), nn.zeros(2), {reduction = "batchmean"}) end, "reduction")
    H.assert_error(function() nn.mse_loss(nn.zeros(2), {1, 2}) end, "mse_loss:", "target must be a tensor")
    H.assert_error(function() nn.l1_loss(nn.zeros(2), nn.zeros(2), {weight = nn.ones(2)}) end, "unknown option 'weight'")
    H.assert_error(function() nn.kl_div(nn.zeros(2), nn.zeros(2), {log_target = 1}) end,
                 "kl_div:", "log_target", "boolean", "number")
  end)

  it("kl_div 'batchmean' is the sum over the batch size, 'mean' over every element", function()
    local lq, tq = nn.log_softmax(nn.randn(3, 4)), nn.softmax(nn.randn(3, 4))
    local s = nn.kl_div(lq, tq, "sum"):item()
    assert_close(nn.kl_div(lq, tq, {reduction = "batchmean"}), {s / 3}, 1e-6)
    assert_close(nn.kl_div(lq, tq), {s / 12}, 1e-6)
  end)

  it("accept int64 targets, computed in float32", function()
    assert.are.equal(2.5, nn.mse_loss(nn.tensor({1, 2}), nn.tensor({0, 0}, "int64")):item())
  end)
end)

describe("distillation_loss", function()
  it("sends gradients to the student only", function()
    local s = nn.randn(4, 5):requires_grad_()
    local t = nn.randn(4, 5):requires_grad_()
    local loss = nn.distillation_loss(s, t, {1, 2, 3, 4}, {T = 4, alpha = 0.7})
    loss:backward()
    assert.is_not_nil(s.grad)
    assert.is_nil(t.grad)
  end)

  it("is the hard-label cross entropy when alpha is 0", function()
    local s, t = nn.randn(4, 5), nn.randn(4, 5)
    assert_close(nn.distillation_loss(s, t, {1, 2, 3, 4}, {T = 3, alpha = 0}), H.flat(nn.cross_entropy(s, {1, 2, 3, 4})), 1e-6)
  end)

  it("checks its arguments", function()
    local s = nn.zeros(2, 3)
    H.assert_error(function() nn.distillation_loss(s, s, {1, 2}) end, "distillation_loss:", "T", "alpha", "required")
    H.assert_error(function() nn.distillation_loss(s, nn.zeros(2, 4), {1, 2}, {T = 2, alpha = 0.5}) end, "[2,3]", "[2,4]")
    H.assert_error(function() nn.distillation_loss(s, s, {1, 4}, {T = 2, alpha = 0.5}) end, "target 4 at position 2")
    H.assert_error(function() nn.distillation_loss(s, s, {1, 2}, {T = 0, alpha = 0.5}) end, "T must be positive")
    H.assert_error(function() nn.distillation_loss(s, s, {1, 2}, {T = 1, alpha = 2}) end, "alpha", "2")
  end)
end)

describe("l1_penalty and l2_penalty", function()
  it("sum |p| and p^2 (no 1/2) over a list, a tensor or a module", function()
    local p1, p2 = nn.tensor({1, -2}), nn.tensor({{3}, {-4}})
    assert.are.equal(10, nn.l1_penalty({p1, p2}):item())
    assert.are.equal(30, nn.l2_penalty({p1, p2}):item())
    assert.are.equal(5, nn.l2_penalty(p1):item())
    assert.are.equal(0, nn.l2_penalty({}):item())
    local module = {parameters = function() return {p1, p2} end}
    assert.are.equal(30, nn.l2_penalty(module):item())
  end)

  it("give 2p and sign(p) as gradients", function()
    local p = nn.tensor({1, -2, 0}):requires_grad_()
    nn.l2_penalty({p}):backward()
    assert.are.same({2, -4, 0}, p.grad:totable())
    p.grad = nil
    nn.l1_penalty({p, p}):backward()
    assert.are.same({2, -2, 0}, p.grad:totable())
  end)

  it("name the bad entry", function()
    H.assert_error(function() nn.l2_penalty({nn.ones(2), 3}) end, "l2_penalty:", "params[2]", "number")
    H.assert_error(function() nn.l1_penalty({nn.ones(2):long()}) end, "l1_penalty:", "params[1]", "int64")
    H.assert_error(function() nn.l1_penalty("x") end, "l1_penalty:", "string")
  end)
end)

describe("graphs", function()
  it("record nothing under no_grad", function()
    local x = nn.randn(2, 3):requires_grad_()
    nn.no_grad(function()
      assert.is_false(nn.cross_entropy(x, {1, 2}).requires_grad)
      assert.is_false(nn.mse_loss(x, x).requires_grad)
      assert.is_false(nn.l2_penalty({x}).requires_grad)
    end)
    assert.are.equal("cross_entropy", nn.cross_entropy(x, {1, 2}).grad_fn)
    assert.are.equal("kl_div", nn.kl_div(x, x:detach():exp()).grad_fn)
  end)

  it("take no new memory from the system once a training step is warm", function()
    local w = nn.randn(5, 3):requires_grad_()
    local x, y = nn.randn(8, 5), nn.tensor({1, 2, 3, 1, 2, 3, 1, 2}, "int64")
    local function step()
      local logits = x:matmul(w)
      local loss = nn.cross_entropy(logits, y, {label_smoothing = 0.1}) + nn.l2_penalty({w}) * 1e-3
      loss:backward()
      w.grad = nil
      collectgarbage() -- what is garbage now goes back to the allocator's cache
    end
    for _ = 1, 3 do step() end
    collectgarbage()
    local before = nn.memory_stats().count
    for _ = 1, 20 do step() end
    assert.are.equal(before, nn.memory_stats().count)
  end)
end)

-- The loss modules (nn.CrossEntropyLoss, ...) on the module fixtures
-- (tests/fixtures/module/reference.lua, from gen_module_fixtures.py), as
-- the layers in layers_spec.lua.
local MODULE_REF = H.reference("module")

-- Runs a fixture's `make` chunk (Lua source returning a module).
local function make(case)
  return assert(load(case.make, "=" .. case.name))()
end

-- float32 results: relative 1e-4 of PyTorch's.
local TOL = 1e-4

describe("losses match PyTorch", function()
  for _, case in ipairs(MODULE_REF.losses) do
    it(case.name, function()
      local crit = make(case)
      local x = H.from_spec(case.input):requires_grad_()
      local out = crit(x, H.from_spec(case.target))
      H.assert_close(out, H.from_spec(case.out), TOL, "loss")
      ;(out * H.from_spec(case.grad_out)):sum():backward()
      H.assert_close(x.grad, H.from_spec(case.grad_input), TOL, "input gradient")
    end)
  end

  it("take class targets as a Lua array", function()
    local case = MODULE_REF.losses[1]
    local crit, x = make(case), H.from_spec(case.input)
    local labels = H.from_spec(case.target):totable()
    H.assert_close(crit(x, labels), H.from_spec(case.out), TOL)
    H.assert_close(nn.NLLLoss()(nn.log_softmax(x, 2), labels), H.from_spec(case.out), TOL)
  end)

  it("check their options", function()
    H.assert_error(function() nn.CrossEntropyLoss{reduction = "avg"} end, "CrossEntropyLoss", "reduction", "avg")
    H.assert_error(function() nn.MSELoss{reduction = "batchmean"} end, "MSELoss", "batchmean")
    H.assert_error(function() nn.CrossEntropyLoss{label_smoothing = 1.5} end, "CrossEntropyLoss", "1.5")
    H.assert_error(function() nn.L1Loss{weight = nn.ones(2)} end, "L1Loss", "unknown option", "weight")
    assert.are.equal("mean", nn.KLDivLoss().reduction)
    assert.are.equal("batchmean", nn.KLDivLoss{reduction = "batchmean"}.reduction)
  end)

  it("keep class weights as a buffer", function()
    local crit = nn.CrossEntropyLoss{weight = nn.tensor{1, 2, 3}}
    H.assert_values(crit:state_dict().weight, {1, 2, 3})
    assert.are.equal(0, #crit:parameters())
  end)
end)
