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
    multi_margin = {function(v) return nn.multi_margin_loss(v, y, {margin = 0.7}) end, {x}},
    multi_margin_p2_weight = {function(v) return nn.multi_margin_loss(v, y, {p = 2, weight = w, reduction = "none"}) end,
                              {x}},
    multi_margin_strided = {function(v) return nn.multi_margin_loss(v:t(), {1, 2, 3, 5}, {p = 2}) end,
                            {nn.randn(5, 4):requires_grad_()}},
    multi_margin_one = {function(v) return nn.multi_margin_loss(v, 2, {reduction = "sum"}) end, {nn.randn(5):requires_grad_()}},
    smooth_l1 = {function(u, v) return nn.smooth_l1_loss(u * 2, v) end, {a, b}},
    smooth_l1_beta = {function(u, v) return nn.smooth_l1_loss(u:t(), v:t(), {beta = 0.5, reduction = "none"}) end, {a, b}},
    smooth_l1_l1 = {function(u, v) return nn.smooth_l1_loss(u, v, {beta = 0, reduction = "sum"}) end, {a, b}},
    smooth_l1_broadcast = {function(u, v) return nn.smooth_l1_loss(u, v:sum(1), {beta = 2}) end, {a, b}},
    huber = {function(u, v) return nn.huber_loss(u * 2, v) end, {a, b}},
    huber_delta = {function(u, v) return nn.huber_loss(u:t(), v:t(), {delta = 0.5, reduction = "none"}) end, {a, b}},
    huber_sum = {function(u, v) return nn.huber_loss(u, v, {delta = 2, reduction = "sum"}) end, {a, b}},
    bce_column = {function(u, v) return nn.bce_loss(u:view(12, 1), v:view(12)) end, {pr, t}},
    bce_logits_column = {function(u, v)
      return nn.bce_with_logits(u:view(12), v:view(12, 1), {pos_weight = nn.tensor({2}), reduction = "none"})
    end, {a, t}},
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
    H.assert_error(function() nn.bce_loss(nn.zeros(3, 2), nn.zeros(3)) end, "bce_loss:", "[3,2]", "[3]", "same shape",
                 "[N] and [N,1]")
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

describe("multi_margin_loss", function()
  it("is the hinge over the other classes, divided by C", function()
    local x = nn.tensor({{0.1, 0.2, 0.4, 0.8}})
    -- PyTorch's doc example: (1-0.8+0.1 + 1-0.8+0.2 + 1-0.8+0.4) / 4
    assert_close(nn.multi_margin_loss(x, {4}), {0.325}, 1e-6)
    assert_close(nn.multi_margin_loss(x, {4}, {p = 2}), {(0.09 + 0.16 + 0.36) / 4}, 1e-6)
    assert_close(nn.multi_margin_loss(x, {4}, {margin = 0}), {0}, 1e-6)
    assert.are.same({3}, nn.multi_margin_loss(nn.randn(3, 4), {1, 2, 3}, "none").shape)
    assert.are.same({}, nn.multi_margin_loss(nn.randn(4), 2, "none").shape)
  end)

  it("reads 1-based labels: label 1 is the first class", function()
    local x = nn.tensor({{5, 0, 0}})
    assert.are.equal(0, nn.multi_margin_loss(x, {1}):item())
    assert_close(nn.multi_margin_loss(x, {2}), {(6 + 1) / 3}, 1e-6)
  end)

  it("checks its labels and options", function()
    local x = nn.zeros(2, 3)
    H.assert_error(function() nn.multi_margin_loss(x, {1, 4}) end,
                 "multi_margin_loss:", "target 4 at position 2", "1..3", "1-based")
    H.assert_error(function() nn.multi_margin_loss(x, {0, 1}) end, "multi_margin_loss:", "target 0 at position 1")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {p = 3}) end, "multi_margin_loss:", "p must be 1 or 2", "3")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {p = 1.5}) end, "multi_margin_loss:", "p")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {margin = -1}) end, "multi_margin_loss:", "margin", ">= 0", "-1")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {margin = 0 / 0}) end, "multi_margin_loss:", "margin")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {margn = 1}) end, "multi_margin_loss:", "unknown option 'margn'")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {weight = nn.ones(2)}) end, "weight", "3 class weights", "[2]")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2}, {reduction = "batchmean"}) end, "reduction")
    H.assert_error(function() nn.multi_margin_loss(x, {1, 2, 3}) end, "multi_margin_loss:", "[2,3]", "[3]")
    H.assert_error(function() nn.multi_margin_loss(nn.zeros(2, 3, 4), {1, 2}) end, "multi_margin_loss:", "[C] or [N,C]",
                 "[2,3,4]")
    H.assert_error(function() nn.multi_margin_loss(x, nn.zeros(2)) end, "multi_margin_loss:", "int64", "float32")
  end)
end)

describe("smooth_l1_loss and huber_loss", function()
  it("are quadratic inside beta (delta) and linear outside", function()
    local x, y = nn.tensor({0, 0.5, 3, -3}), nn.zeros(4)
    assert_close(nn.smooth_l1_loss(x, y, "none"), {0, 0.125, 2.5, 2.5}, 1e-6)
    assert_close(nn.smooth_l1_loss(x, y, {beta = 2, reduction = "none"}), {0, 0.0625, 2, 2}, 1e-6)
    assert_close(nn.huber_loss(x, y, "none"), {0, 0.125, 2.5, 2.5}, 1e-6)
    assert_close(nn.huber_loss(x, y, {delta = 2, reduction = "none"}), {0, 0.125, 4, 4}, 1e-6)
    -- huber = delta * smooth_l1 with beta = delta
    assert_close(nn.huber_loss(x, y, {delta = 0.3}), {nn.smooth_l1_loss(x, y, {beta = 0.3}):item() * 0.3}, 1e-6)
  end)

  it("smooth_l1 with beta 0 is l1_loss, gradient 0 where input = target", function()
    local x, y = nn.tensor({0, 1.5, -2}):requires_grad_(), nn.tensor({0, 1, 1}):requires_grad_()
    local loss = nn.smooth_l1_loss(x, y, {beta = 0, reduction = "sum"})
    assert_close(loss, {nn.l1_loss(x, y, "sum"):item()}, 1e-6)
    loss:backward()
    assert.are.same({0, 1, -1}, x.grad:totable())
    assert.are.same({0, -1, 1}, y.grad:totable())
  end)

  it("check their options", function()
    local x = nn.zeros(2)
    H.assert_error(function() nn.smooth_l1_loss(x, x, {beta = -0.5}) end, "smooth_l1_loss:", "beta must be >= 0", "-0.5")
    H.assert_error(function() nn.smooth_l1_loss(x, x, {beta = 0 / 0}) end, "smooth_l1_loss:", "beta")
    H.assert_error(function() nn.smooth_l1_loss(x, x, {beta = "1"}) end, "smooth_l1_loss:", "beta")
    H.assert_error(function() nn.huber_loss(x, x, {delta = 0}) end, "huber_loss:", "delta must be > 0", "0")
    H.assert_error(function() nn.huber_loss(x, x, {delta = -1}) end, "huber_loss:", "delta", "-1")
    H.assert_error(function() nn.huber_loss(x, x, {beta = 1}) end, "huber_loss:", "unknown option 'beta'")
    H.assert_error(function() nn.smooth_l1_loss(x, x, {delta = 1}) end, "smooth_l1_loss:", "unknown option 'delta'")
    H.assert_error(function() nn.huber_loss(x, x, {reduction = "avg"}) end, "huber_loss:", "reduction", "'avg'")
    H.assert_error(function() nn.smooth_l1_loss(nn.zeros(3), nn.zeros(2)) end, "smooth_l1_loss:", "[3]", "[2]", "broadcast")
  end)
end)

describe("binary losses with [N] and [N,1]", function()
  it("take a target [N] for an input [N,1] and [N,1] for [N], shaped like the input", function()
    local p, t = nn.tensor({0.2, 0.7, 0.9}), nn.tensor({0, 1, 1})
    local want = nn.bce_loss(p, t, "none"):totable()
    assert.are.same({3, 1}, nn.bce_loss(p:view(3, 1), t, "none").shape)
    assert_close(nn.bce_loss(p:view(3, 1), t, "none"), want, 1e-6)
    assert.are.same({3}, nn.bce_loss(p, t:view(3, 1), "none").shape)
    assert_close(nn.bce_loss(p, t:view(3, 1), "none"), want, 1e-6)
    local z = nn.tensor({-1, 0.5, 2})
    local wantz = nn.bce_with_logits(z, t, {pos_weight = nn.tensor({3})}):item()
    assert_close(nn.bce_with_logits(z:view(3, 1), t, {pos_weight = nn.tensor({3})}), {wantz}, 1e-6)
    assert_close(nn.bce_with_logits(z, t:view(3, 1), {pos_weight = nn.tensor({3})}), {wantz}, 1e-6)
  end)

  it("give the target its gradient in its own shape", function()
    local z, t = nn.tensor({{-1}, {0.5}, {2}}):requires_grad_(), nn.tensor({0.1, 0.8, 1}):requires_grad_()
    nn.bce_with_logits(z, t):backward()
    assert.are.same({3, 1}, z.grad.shape)
    assert.are.same({3}, t.grad.shape)
  end)

  it("work in the modules with a Lua array target", function()
    local crit = nn.BCEWithLogitsLoss()
    local z = nn.tensor({{-1}, {0.5}, {2}})
    assert_close(crit(z, {0, 1, 1}), {nn.bce_with_logits(z:view(3), nn.tensor({0, 1, 1})):item()}, 1e-6)
  end)

  it("refuse every other shape", function()
    H.assert_error(function() nn.bce_loss(nn.zeros(3, 1), nn.zeros(4)) end, "bce_loss:", "[3,1]", "[4]", "same shape")
    H.assert_error(function() nn.bce_loss(nn.zeros(3), nn.zeros(3, 2)) end, "bce_loss:", "[3]", "[3,2]")
    H.assert_error(function() nn.bce_loss(nn.zeros(3), nn.zeros(1, 3)) end, "bce_loss:", "[3]", "[1,3]")
    H.assert_error(function() nn.bce_with_logits(nn.zeros(3, 1), nn.zeros(3, 1, 1)) end, "bce_with_logits:", "[3,1,1]")
    H.assert_error(function() nn.bce_with_logits(nn.zeros(2, 3), nn.zeros(3)) end, "bce_with_logits:", "[2,3]", "[3]")
    H.assert_error(function() nn.bce_with_logits(nn.zeros(3, 1), nn.zeros(3), {weight = nn.ones(3)}) end,
                 "weight [3] cannot be broadcast", "[3,1]")
    H.assert_error(function() nn.BCELoss()(nn.zeros(3, 1), {0, 1}) end, "bce_loss:", "[3,1]", "[2]")
  end)
end)

describe("loss modules", function()
  it("MultiMarginLoss, SmoothL1Loss and HuberLoss call their functions with their options", function()
    local x, y = nn.randn(4, 5), {2, 5, 1, 3}
    local w = nn.rand(5) + 0.5
    local crit = nn.MultiMarginLoss{p = 2, margin = 0.5, weight = w, reduction = "sum"}
    assert.are.equal(nn.multi_margin_loss(x, y, {p = 2, margin = 0.5, weight = w, reduction = "sum"}):item(),
                     crit(x, y):item())
    assert.are.same({"weight"}, (function()
      local keys = {}
      for k in pairs(crit:state_dict()) do keys[#keys + 1] = k end
      return keys
    end)())
    local a, b = nn.randn(3, 4), nn.randn(3, 4)
    assert.are.equal(nn.smooth_l1_loss(a, b, {beta = 0.3}):item(), nn.SmoothL1Loss{beta = 0.3}(a, b):item())
    assert.are.equal(nn.huber_loss(a, b, {delta = 2, reduction = "none"})[2][3],
                     nn.HuberLoss{delta = 2, reduction = "none"}(a, b)[2][3])
    assert.are.equal(nn.multi_margin_loss(x, y):item(), nn.MultiMarginLoss()(x, y):item())
  end)

  it("show their options", function()
    assert.are.equal("MultiMarginLoss(p=2, margin=0.5)", tostring(nn.MultiMarginLoss{p = 2, margin = 0.5}))
    assert.are.equal("SmoothL1Loss(beta=0.5)", tostring(nn.SmoothL1Loss{beta = 0.5}))
    assert.are.equal("HuberLoss(reduction='sum', delta=2)", tostring(nn.HuberLoss{delta = 2, reduction = "sum"}))
  end)

  it("check their options when built", function()
    H.assert_error(function() nn.MultiMarginLoss{p = 3} end, "MultiMarginLoss", "p must be 1 or 2", "3")
    H.assert_error(function() nn.MultiMarginLoss{margin = -1} end, "MultiMarginLoss", "margin", "-1")
    H.assert_error(function() nn.MultiMarginLoss{margn = 1} end, "MultiMarginLoss", "unknown option", "margn")
    H.assert_error(function() nn.SmoothL1Loss{beta = -1} end, "SmoothL1Loss", "beta", "-1")
    H.assert_error(function() nn.SmoothL1Loss{delta = 1} end, "SmoothL1Loss", "unknown option", "delta")
    H.assert_error(function() nn.HuberLoss{delta = 0} end, "HuberLoss", "delta must be > 0", "0")
    H.assert_error(function() nn.HuberLoss{delta = "x"} end, "HuberLoss", "delta", "number")
    H.assert_error(function() nn.MultiMarginLoss()(nn.zeros(2, 3), {1, 7}) end, "multi_margin_loss:", "target 7")
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
