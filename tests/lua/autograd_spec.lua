-- Autograd: gradients of every differentiable op by finite differences,
-- hand-checked values, graph lifetime, grad mode and error messages.
local nn = require "nn"

local function close(a, b, tol)
  tol = tol or 1e-5
  local x, y = a:reshape(-1):totable(), b:reshape(-1):totable()
  assert.are.equal(#y, #x)
  for i = 1, #x do
    assert(math.abs(x[i] - y[i]) <= tol * (1 + math.abs(y[i])),
           ("element %d: %g vs %g"):format(i, x[i], y[i]))
  end
end

describe("gradcheck of each op", function()
  nn.manual_seed(7)
  -- Positive inputs away from the kinks of abs/relu/clamp/maximum.
  local x = nn.rand(2, 3):add(0.5):requires_grad_()
  local y = nn.rand(2, 3):add(0.5):requires_grad_()
  local x_zeros = x:detach() * nn.tensor{{0, 1, 0}, {1, 0, 0}}
  local cases = {
    add = function(a, b) return a + b end,
    add_broadcast = function(a, b) return a + b:sum(1) end,
    sub = function(a, b) return a - b * 2 end,
    rsub = function(a) return 3 - a end,
    mul = function(a, b) return a * b end,
    div = function(a, b) return a / b end,
    rdiv = function(a) return 2 / a end,
    pow = function(a, b) return a ^ b end,
    pow_scalar = function(a) return a ^ 3 end,
    maximum = function(a, b) return nn.maximum(a, b) end,
    minimum = function(a, b) return nn.minimum(a, b * 1.1) end,
    neg = function(a) return -a end,
    abs = function(a) return (a - 1):abs() end,
    relu = function(a) return (a - 1):relu() end,
    exp = function(a) return a:exp() end,
    log = function(a) return a:log() end,
    sqrt = function(a) return a:sqrt() end,
    sigmoid = function(a) return a:sigmoid() end,
    tanh = function(a) return a:tanh() end,
    sin = function(a) return a:sin() end,
    cos = function(a) return (a * 2):cos() end,
    floor = function(a) return (a * 3):floor() + a end, -- zero gradient of its own
    ceil = function(a) return (a * 3):ceil() * a end,
    round = function(a) return (a * 3):round() * a end,
    trunc = function(a) return (a * 3):trunc() + a * 2 end,
    square = function(a) return (a - 1):square() end,
    log1p = function(a) return a:log1p() end,
    expm1 = function(a) return a:expm1() end,
    reciprocal = function(a) return a:reciprocal() end,
    rsqrt = function(a) return a:rsqrt() end,
    cumsum = function(a) return a:cumsum(2) end,
    cumsum_strided = function(a) return a:t():cumsum(1) * nn.arange(6):view(3, 2) end,
    cumprod = function(a) return a:cumprod(2) end,
    cumprod_dim1 = function(a) return a:t():cumprod(2) * nn.arange(6):view(3, 2) end,
    -- exact zeros in the middle of a row and at its start (a - x_zeros is
    -- 0 there at x itself): PyTorch's zero-aware gradient
    cumprod_zeros = function(a) return (a - x_zeros):cumprod(2) end,
    clamp = function(a) return a:clamp(0.9, 1.4) end,
    where = function(a, b) return nn.where(a:gt(1), a, b) end,
    view = function(a) return a:view(3, 2) * nn.arange(6):view(3, 2) end,
    reshape_copy = function(a) return a:t():reshape(6) end,
    transpose = function(a) return a:transpose(1, 2) * nn.arange(6):view(3, 2) end,
    permute = function(a) return a:unsqueeze(1):permute(3, 1, 2) end,
    squeeze = function(a) return a:unsqueeze(2):squeeze(2) end,
    flatten = function(a) return a:flatten() end,
    expand = function(a) return a:sum(1, true):expand(4, 3) end,
    contiguous = function(a) return a:t():contiguous() end,
    clone = function(a) return a:clone() * 2 end,
    cat = function(a, b) return nn.cat({a, b, a}, 2) end,
    stack = function(a, b) return nn.stack({a, b}, 3) end,
    split = function(a) local p = a:split(2, 2); return p[1] * 2 + p[2]:sum() end,
    chunk = function(a) return a:chunk(2, 1)[2] end,
    matmul = function(a, b) return a:matmul(b:t()) end,
    matmul_vec = function(a, b) return a:matmul(b:split(1, 1)[1]:squeeze(1)) end,
    matmul_batched = function(a, b) return nn.matmul(a:view(2, 3, 1), b:view(2, 1, 3)) end,
    matmul_broadcast = function(a, b) return nn.matmul(nn.ones(4, 2, 2), a) + b:sum() end,
    dot = function(a, b) return nn.matmul(a:flatten(), b:flatten()) end,
    mm = function(a, b) return a:mm(b:t()) end,
    outer = function(a, b) return nn.outer(a:flatten(), b:sum(1)) end,
    sum = function(a) return a:sum() end,
    sum_dim = function(a) return a:sum(2) end,
    sum_keepdim = function(a) return a:sum(-1, true) * a end,
    mean = function(a) return a:mean() end,
    mean_dim = function(a) return a:mean(1) end,
    max_all = function(a) return a:max() end,
    min_all = function(a) return a:min() * 2 end,
    max_dim = function(a) return (a:max(2)) end,
    min_dim_keepdim = function(a) return (a:min(1, true)) * a end,
    var = function(a) return a:var() end,
    var_dim = function(a) return a:var(2, false, {unbiased = false}) end,
    std = function(a) return a:std() end,
    std_dim = function(a) return a:std(1, true) end,
    norm = function(a) return a:norm() end,
    norm_p1 = function(a) return a:norm(1, 2) end,
    norm_p3 = function(a) return a:norm(3, 1, true) end,
    norm_inf = function(a) return a:norm(math.huge, 2) end,
    row = function(a) return a[2] * 3 end,
    select = function(a) return a:select(2, 3) end,
    narrow = function(a) return a:narrow(2, 2, 2) end,
    index = function(a) return a:index(2, {3, 1, 3}) end,
    gather = function(a) return a:gather(2, nn.tensor({{1, 1}, {3, 2}}, "int64")) end,
    masked_fill = function(a) return a:masked_fill(a:gt(1), 0) end,
    masked_select = function(a) return a:masked_select(nn.tensor({true, false, true}, "bool")) end,
    linear = function(a, b) return nn.linear(a, b, b[1]:narrow(1, 1, 2)) end,
    linear_3d = function(a, b) return nn.linear(a:view(2, 1, 3), b:t():contiguous():view(3, 2):t()) end,
    batch_norm_train = function(a, b) return nn.batch_norm(a, nil, nil, b[1], b[2], true, 0.1, 1e-5) end,
    batch_norm_eval = function(a, b)
      return nn.batch_norm(a:view(2, 3, 1), nn.zeros(3), nn.ones(3), b[1], nil, false, 0.1, 1e-5)
    end,
    dropout = function(a)
      nn.manual_seed(5) -- the same mask on every call
      return nn.dropout(a, 0.4, true)
    end,
  }
  for name, f in pairs(cases) do
    it(name, function() assert.is_true(nn.gradcheck(f, {x, y})) end)
  end

  it("shares the gradient of a tied max evenly, as PyTorch", function()
    local t = nn.tensor({1, 3, 3}):requires_grad_()
    t:max():backward()
    close(t.grad, nn.tensor({0, 0.5, 0.5}))
  end)

  it("reports a wrong gradient", function()
    local ok, msg = nn.gradcheck(function(a) return a:detach() * a end, {x}, {raise = false})
    assert.is_false(ok)
    assert.matches("input 1 element", msg)
  end)
end)

describe("layers", function()
  it("linear matches x W^T + b and reports feature mismatches", function()
    local x, w, b = nn.randn(4, 3), nn.randn(5, 3), nn.randn(5)
    close(nn.linear(x, w, b), x:matmul(w:t()) + b, 1e-5)
    local ok, err = pcall(nn.linear, nn.zeros(2, 783), nn.zeros(256, 784))
    assert.is_false(ok)
    assert.matches("linear: input has 783 features, expected 784", err)
  end)

  it("dropout keeps about 1-p, scales survivors, and classic scales at eval", function()
    nn.manual_seed(1)
    local y = nn.dropout(nn.ones(10000), 0.25, true)
    local kept = y:gt(0):sum():item()
    assert(math.abs(kept / 10000 - 0.75) < 0.02)
    close(y:masked_select(y:gt(0)):mean(), nn.tensor(1 / 0.75))
    close(nn.dropout(nn.ones(3), 0.25, false), nn.ones(3))
    close(nn.dropout(nn.ones(3), 0.25, false, "classic"), nn.full({3}, 0.75))
    local c = nn.dropout(nn.ones(100), 0.25, true, "classic") -- survivors stay 1
    assert.are.equal(100, (c:eq(0):sum() + c:eq(1):sum()):item())
  end)

  it("batch_norm updates running stats as PyTorch (unbiased variance)", function()
    local rm, rv = nn.zeros(3), nn.ones(3)
    local y = nn.batch_norm(nn.tensor({{1, 2, 3}, {3, 6, 9}}), rm, rv, nil, nil, true, 0.1, 1e-5)
    -- torch.nn.functional.batch_norm(..., training=True, momentum=0.1)
    close(rm, nn.tensor({0.2, 0.4, 0.6}))
    close(rv, nn.tensor({1.1, 1.7, 2.7}))
    close(y, nn.tensor({{-1, -1, -1}, {1, 1, 1}}), 1e-4)
    local ok, err = pcall(nn.batch_norm, nn.ones(1, 3), nil, nil, nil, nil, true)
    assert.is_false(ok)
    assert.matches("batch_norm: expected more than 1 value per channel", err)
  end)
end)

describe("backward", function()
  it("matches PyTorch on a small network", function()
    local x = nn.tensor({{1, 2}, {3, 4}}):requires_grad_()
    local w = nn.tensor({{0.5, -1}, {2, 0.25}}):requires_grad_()
    ;((x:matmul(w) + 1):relu() * x):sum():backward()
    -- torch: same expression, x.grad and w.grad
    close(x.grad, nn.tensor({{4, 3}, {12, 6}}))
    close(w.grad, nn.tensor({{10, 2}, {14, 4}}))
  end)

  it("accumulates into .grad across calls and a tensor used twice", function()
    local a = nn.tensor({1, 2, 3}):requires_grad_()
    ;(a * a):sum():backward()
    ;(a * 3):sum():backward()
    close(a.grad, nn.tensor({5, 7, 9}))
    a.grad = nil
    assert.is_nil(a.grad)
  end)

  it("refuses a second backward unless the graph is retained", function()
    local a = nn.tensor({1, 2}):requires_grad_()
    local loss = (a:exp()):sum()
    loss:backward({retain_graph = true})
    loss:backward()
    close(a.grad, a:detach():exp() * 2)
    local ok, err = pcall(function() loss:backward() end)
    assert.is_false(ok)
    assert.matches("backward: .*second time", err)
    ok, err = pcall(function() loss:backward({retain = true}) end)
    assert.is_false(ok)
    assert.matches("backward: unknown option 'retain' %(did you mean 'retain_graph'%? known: retain_graph%)", err)
  end)

  it("needs a gradient for a non-scalar output", function()
    local a = nn.ones(2, 3):requires_grad_()
    local ok, err = pcall(function() (a * 2):backward() end)
    assert.is_false(ok)
    assert.matches("backward: .*non%-scalar output %[2,3%]", err)
    ;(a * 2):backward(nn.ones(2, 3))
    close(a.grad, nn.full({2, 3}, 2.0))
  end)

  it("refuses tensors that do not require grad", function()
    local ok, err = pcall(function() nn.ones(2):sum():backward() end)
    assert.is_false(ok)
    assert.matches("backward: the tensor does not require grad", err)
  end)

  it("names the op that produced NaN under detect_anomaly", function()
    nn.detect_anomaly(true)
    local a = nn.tensor({0, 1}):requires_grad_()
    local ok, err = pcall(function() (a:sqrt()):sum():backward() end)
    nn.detect_anomaly(false)
    assert.is_false(ok)
    assert.matches("backward: detect_anomaly: the backward of 'sqrt' produced NaN or Inf", err)
  end)

  it("handles a deep chain without recursion", function()
    local a = nn.tensor({1}):requires_grad_()
    local y = a
    for _ = 1, 20000 do y = y + 0 end
    y:sum():backward()
    close(a.grad, nn.tensor({1}))
  end)
end)

describe("grad mode and graph inspection", function()
  it("no_grad and enable_grad run a function and return its results", function()
    local a = nn.ones(2):requires_grad_()
    local r, extra = nn.no_grad(function(t) return t * 2, "x" end, a)
    assert.is_false(r.requires_grad)
    assert.are.equal("x", extra)
    assert.is_true(nn.no_grad(function() return nn.enable_grad(function() return (a * 2).requires_grad end) end))
    assert.is_true(nn.is_grad_enabled())
  end)

  it("restores grad mode when the function raises", function()
    assert.is_false(pcall(nn.no_grad, function() error("boom") end))
    assert.is_true(nn.is_grad_enabled())
  end)

  it("exposes is_leaf, grad_fn and detach", function()
    local a = nn.ones(2):requires_grad_()
    local b = a * 2
    assert.is_true(a.is_leaf)
    assert.is_false(b.is_leaf)
    assert.are.equal("mul", b.grad_fn)
    local d = b:detach()
    assert.is_false(d.requires_grad)
    d:fill_(5)
    close(b, nn.tensor({5, 5})) -- detach shares storage
  end)

  it("only float tensors can require grad", function()
    local ok, err = pcall(function() nn.arange(3):requires_grad_() end)
    assert.is_false(ok)
    assert.matches("requires_grad_: only float32 tensors", err)
  end)

  it("refuses in-place changes to tensors in a graph", function()
    local a = nn.ones(2):requires_grad_()
    local ok, err = pcall(function() a:add_(1) end)
    assert.is_false(ok)
    assert.matches("add_: a tensor that requires grad cannot be modified in place", err)
    nn.no_grad(function() a:add_(1) end)
    close(a:detach(), nn.tensor({2, 2}))
  end)

  it("checks gradients assigned to .grad", function()
    local a = nn.ones(2, 2):requires_grad_()
    local ok, err = pcall(function() a.grad = nn.ones(3) end)
    assert.is_false(ok)
    assert.matches("grad: .*%[2,2%]", err)
    ok, err = pcall(function() a.foo = 1 end)
    assert.is_false(ok)
    assert.matches("cannot set field 'foo'", err)
  end)
end)
