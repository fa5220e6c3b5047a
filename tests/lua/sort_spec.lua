-- Sorting and selection (sort argsort topk kthvalue median mode), counting
-- (unique bincount histc) and nn.cdist: PyTorch's values and gradients
-- (tests/fixtures/sort/reference.lua) on contiguous and strided inputs,
-- 1-based indices, the tie rule, gradchecks and the error messages.
local nn = require "nn"
local H = require "helpers"

describe("PyTorch reference values", function()
  local ref = H.reference("sort")
  for _, c in ipairs(ref.cases) do
    local label = ("%s%s: %s"):format(c.input, c.view == "t" and "ᵀ" or "", c.call)
    it("match for " .. label, function()
      local env = setmetatable({nn = nn}, {__index = _G})
      for name, s in pairs(ref.inputs) do
        env[name] = H.from_spec(s)
        if c.grads and c.grads[name] then env[name]:requires_grad_() end
      end
      local x = env[c.input]
      env.t = c.view == "t" and x:transpose(1, x:dim()) or x
      local results = table.pack(assert(load("return " .. c.call, c.call, "t", env))())
      assert.are.equal(#c.out, results.n)
      for k, want in ipairs(c.out) do
        local got = results[k]
        assert.are.equal(want.dtype, got.dtype)
        H.assert_shape(got, want.shape)
        if want.dtype == "float32" then H.assert_flat_close(got, want.data, 1e-5, "output " .. k)
        else H.assert_values(H.flat(got), want.data, "output " .. k) end
      end
      if c.grads then
        results[1]:backward(H.from_spec(c.gout))
        for name, g in pairs(c.grads) do
          H.assert_flat_close(env[name].grad, g.data, 1e-4, "gradient of " .. name)
        end
      end
    end)
  end
end)

describe("sort", function()
  it("returns values and 1-based indices along the last dim by default", function()
    local v, i = nn.tensor({{3, 1, 2}, {0, -5, 7}}):sort()
    H.assert_values(v, {{1, 2, 3}, {-5, 0, 7}})
    H.assert_values(i, {{2, 3, 1}, {2, 1, 3}})
    assert.are.equal("int64", i.dtype)
    v, i = nn.sort(nn.tensor({{3, 1, 2}, {0, -5, 7}}), 1, true)
    H.assert_values(v, {{3, 1, 7}, {0, -5, 2}})
    H.assert_values(i, {{1, 1, 2}, {2, 2, 1}})
  end)

  it("is stable, ascending and descending, and puts NaN last (first descending)", function()
    local t = nn.tensor({2, 1, 0 / 0, 2, 1, -0.0, 0, 2})
    local v, i = t:sort()
    H.assert_values(i, {6, 7, 2, 5, 1, 4, 8, 3})
    assert.is_true(v:totable()[8] ~= v:totable()[8])
    v, i = t:sort(1, true)
    H.assert_values(i, {3, 1, 4, 8, 2, 5, 6, 7})
    -- long rows go through the radix sort: still stable
    local vals = {}
    for k = 1, 200 do vals[k] = (k * 37) % 7 end
    local _, li = nn.tensor(vals):sort()
    li = li:totable()
    for k = 2, 200 do
      local a, b = li[k - 1], li[k]
      if vals[a] == vals[b] then assert.is_true(a < b) end
    end
  end)

  it("sorts int64 (values stay int64) and 0-dim tensors", function()
    local v, i = nn.tensor({5, -3, 9, -3}, "int64"):sort(1, true)
    assert.are.equal("int64", v.dtype)
    H.assert_values(v, {9, 5, -3, -3})
    H.assert_values(i, {3, 1, 2, 4})
    v, i = nn.tensor(4):sort()
    assert.are.equal(0, v:dim())
    assert.are.equal(4, v:item())
    assert.are.equal(1, i:item())
    H.assert_shape(nn.zeros(2, 0):sort(), {2, 0})
  end)

  it("argsort gives the indices alone", function()
    H.assert_values(nn.tensor({3, 1, 2}):argsort(), {2, 3, 1})
    H.assert_values(nn.tensor({{3, 1}, {2, 4}}):argsort(1, true), {{1, 2}, {2, 1}})
  end)

  it("sends each value's gradient back to its position", function()
    local x = nn.tensor({{3, 1, 2}}):requires_grad_()
    local v = x:sort(2, true)
    v:backward(nn.tensor({{10, 20, 30}}))
    H.assert_values(x.grad, {{10, 30, 20}})
  end)
end)

describe("topk", function()
  it("gives the k largest (or smallest) in order, ties in input order", function()
    local t = nn.tensor({1, 5, 3, 5, 2})
    local v, i = t:topk(3)
    H.assert_values(v, {5, 5, 3})
    H.assert_values(i, {2, 4, 3})
    v, i = t:topk(2, 1, false)
    H.assert_values(v, {1, 2})
    H.assert_values(i, {1, 5})
    v, i = t:topk(2, -1, true, false)
    H.assert_values(i, {2, 4})
    H.assert_shape(t:topk(0), {0})
  end)

  it("agrees with a full sort on long rows (the chunked scan)", function()
    local vals = {}
    for r = 1, 4 do
      vals[r] = {}
      for k = 1, 1000 do vals[r][k] = (k * 7919 + r * 13) % 101 end
    end
    local x = nn.tensor(vals)
    local v, i = x:topk(10)
    local sv, si = x:sort(2, true)
    H.assert_values(v, sv:narrow(2, 1, 10))
    H.assert_values(i, si:narrow(2, 1, 10))
    v, i = x:topk(10, 2, false)
    sv, si = x:sort(2)
    H.assert_values(i, si:narrow(2, 1, 10))
  end)

  it("sends each value's gradient back to its position", function()
    local x = nn.tensor({{1, 4, 2, 8}}):requires_grad_()
    x:topk(2):sum():backward()
    H.assert_values(x.grad, {{0, 1, 0, 1}})
  end)
end)

describe("kthvalue, median, mode", function()
  it("kthvalue gives the k-th smallest and the first position holding it", function()
    local v, i = nn.tensor({{3, 1, 2, 1}}):kthvalue(2)
    H.assert_values(v, {1})
    H.assert_values(i, {2})
    v, i = nn.tensor({{3, 1}, {2, 1}}):kthvalue(2, 1, true)
    H.assert_shape(v, {1, 2})
    H.assert_values(v, {{3, 1}})
    H.assert_values(i, {{1, 1}})
  end)

  it("median is the lower median, NaN where a row has one", function()
    assert.are.equal(2, nn.tensor({4, 1, 2, 3}):median():item())
    local m = nn.tensor({1, 0 / 0, 2}):median():item()
    assert.is_true(m ~= m)
    local v, i = nn.tensor({{1, 0 / 0, 2}, {5, 6, 4}}):median(2)
    local vt = v:totable()
    assert.is_true(vt[1] ~= vt[1])
    H.assert_values(i, {2, 1})
    assert.are.equal(5, vt[2])
    m = nn.zeros(0):median():item()
    assert.is_true(m ~= m)
    assert.are.equal(3, nn.tensor({3, 1, 5}, "int64"):median():item())
  end)

  it("mode is the smallest of the most frequent values, at its first position", function()
    local v, i = nn.tensor({{1, 2, 2, 3, 3, 1}}):mode()
    H.assert_values(v, {1})
    H.assert_values(i, {1})
    v, i = nn.tensor({3, 0 / 0, 0 / 0, 3, 1}):mode()
    assert.are.equal(3, v:item())
    assert.are.equal(1, i:item())
  end)

  it("send the gradient to the chosen position", function()
    local x = nn.tensor({{3, 1, 2}, {7, 9, 8}}):requires_grad_()
    x:median(2):sum():backward()
    H.assert_values(x.grad, {{0, 0, 1}, {0, 0, 1}})
    x.grad = nil
    x:median():backward()
    H.assert_values(x.grad, {{1, 0, 0}, {0, 0, 0}})
    x.grad = nil
    x:kthvalue(1, 1, true):sum():backward()
    H.assert_values(x.grad, {{1, 1, 1}, {0, 0, 0}})
    x.grad = nil
    local m = x:mode(1)
    m:backward(nn.tensor({1, 2, 3}))
    H.assert_values(x.grad, {{1, 2, 3}, {0, 0, 0}})
  end)
end)

describe("unique, bincount, histc", function()
  it("unique gives sorted values, 1-based inverse and counts", function()
    local t = nn.tensor({{3, 1}, {3, 2}})
    H.assert_values(t:unique(), {1, 2, 3})
    local v, inv, cnt = t:unique({return_inverse = true, return_counts = true})
    H.assert_values(v, {1, 2, 3})
    H.assert_values(inv, {{3, 1}, {3, 2}})
    H.assert_values(cnt, {1, 1, 2})
    local u, c = nn.tensor({2, 2, 7}, "int64"):unique({return_counts = true})
    assert.are.equal("int64", u.dtype)
    H.assert_values(c, {2, 1})
    H.assert_shape(nn.zeros(0):unique(), {0})
  end)

  it("bincount counts 1-based labels: result[v] counts v", function()
    H.assert_values(nn.bincount(nn.tensor({1, 3, 3}, "int64")), {1, 0, 2})
    H.assert_values(nn.bincount(nn.tensor({2}, "int64"), {minlength = 4}), {0, 1, 0, 0})
    H.assert_close(nn.bincount(nn.tensor({1, 2, 1}, "int64"), {weights = nn.tensor({0.5, 1, 2})}),
                   {2.5, 1})
    H.assert_values(nn.bincount(nn.zeros(0):long()), {})
    H.assert_values(nn.tensor({2, 2}, "int64"):bincount(), {0, 2})
  end)

  it("histc bins from min to max, the last bin holding max", function()
    H.assert_values(nn.tensor({1, 2, 1}):histc(4, 0, 3), {0, 2, 1, 0})
    H.assert_values(nn.tensor({0, 3}):histc(3, 0, 3), {1, 0, 1})
    H.assert_values(nn.tensor({2, 2}):histc(4), {0, 0, 2, 0})
    H.assert_values(nn.tensor({5, -1, 0 / 0}):histc(2, 0, 1), {0, 0})
    H.assert_shape(nn.rand(10):histc(), {100})
  end)
end)

describe("cdist", function()
  it("gives pairwise distances of the rows", function()
    local a, b = nn.tensor({{0, 0}, {3, 4}}), nn.tensor({{0, 0}, {6, 8}, {3, 0}})
    H.assert_close(nn.cdist(a, b), {{0, 10, 3}, {5, 5, 4}}, 1e-5)
    H.assert_close(nn.cdist(a, b, 1), {{0, 14, 3}, {7, 7, 4}}, 1e-5)
    H.assert_close(nn.cdist(a, b, math.huge), {{0, 8, 3}, {4, 4, 4}}, 1e-5)
    H.assert_close(nn.cdist(a, b, 0), {{0, 2, 1}, {2, 2, 1}}, 1e-5)
    H.assert_shape(nn.cdist(nn.zeros(0, 3), nn.zeros(2, 3)), {0, 2})
  end)

  it("gives a zero gradient where a distance is 0", function()
    local a = nn.tensor({{1, 2}}):requires_grad_()
    nn.cdist(a, nn.tensor({{1, 2}, {4, 6}})):sum():backward()
    H.assert_close(a.grad, {{-0.6, -0.8}}, 1e-5)
  end)
end)

describe("gradcheck", function()
  nn.manual_seed(11)
  local x = nn.randn(3, 5):requires_grad_()
  local y = nn.randn(4, 5):requires_grad_()
  local w = nn.randn(3, 5)
  local cases = {
    sort = function(a) return a:sort(2, true) * w end,
    sort_strided = function(a) return a:t():sort(2):t() * w end,
    topk = function(a) return a:topk(2, 1) end,
    kthvalue = function(a) return a:kthvalue(3) end,
    median = function(a) return a:median(1, true) end,
    median_all = function(a) return a:median() end,
    mode = function(a) return a:mode(2) end,
    cdist = function(a, b) return nn.cdist(a, b) end,
    cdist_p1 = function(a, b) return nn.cdist(a, b, 1) end,
    cdist_p3 = function(a, b) return nn.cdist(a:t(), b:narrow(2, 1, 3), 3) end,
    cdist_gemm = function(a, b) return nn.cdist(a:expand(10, 3, 5):reshape(30, 5) * nn.arange(1, 31):view(30, 1), b) end,
    cdist_inf = function(a, b) return nn.cdist(a, b, math.huge) end,
  }
  for name, f in pairs(cases) do
    it(name, function() assert.is_true(nn.gradcheck(f, {x, y})) end)
  end
end)

describe("errors", function()
  local t = nn.rand(2, 10)
  it("name k beyond the dim", function()
    H.assert_error(function() t:topk(12) end, "topk", "k 12", "dim 2", "size 10")
    H.assert_error(function() t:topk(-1) end, "topk", "k -1")
    H.assert_error(function() t:kthvalue(11) end, "kthvalue", "k 11", "dim 2", "size 10")
    H.assert_error(function() t:kthvalue(0, 1) end, "kthvalue", "k 0", "dim 1", "size 2")
  end)

  it("name a dim out of range", function()
    H.assert_error(function() t:sort(3) end, "sort", "3")
    H.assert_error(function() t:argsort(-3) end, "argsort", "-3")
    H.assert_error(function() t:topk(1, 5) end, "topk", "5")
    H.assert_error(function() t:kthvalue(1, 3) end, "kthvalue", "3")
    H.assert_error(function() t:median(4) end, "median", "4")
    H.assert_error(function() t:mode(0) end, "mode", "0")
  end)

  it("name bad arguments and empty dims", function()
    H.assert_error(function() t:sort(1, "yes") end, "sort", "descending must be a boolean")
    H.assert_error(function() t:topk(1, 1, 1) end, "topk", "largest must be a boolean")
    H.assert_error(function() t:median(1, 1) end, "median", "keepdim must be a boolean")
    H.assert_error(function() nn.zeros(3, 0):median(2) end, "median", "dim 2", "size 0")
    H.assert_error(function() nn.zeros(3, 0):mode() end, "mode", "dim 2", "size 0")
    H.assert_error(function() t:gt(0.5):sort() end, "sort", "float32 or int64", "bool")
    H.assert_error(function() nn.zeros(0):long():median() end, "median", "empty int64")
  end)

  it("name unknown options", function()
    H.assert_error(function() t:unique({return_inverses = true}) end, "unique", "return_inverses")
    H.assert_error(function() nn.bincount(nn.tensor({1}, "int64"), {minlen = 2}) end,
                   "bincount", "minlen")
  end)

  it("name bad bincount inputs", function()
    H.assert_error(function() nn.bincount(nn.tensor({1, 0, 2}, "int64")) end,
                   "bincount", "value 0", "position 2", "< 1")
    H.assert_error(function() nn.bincount(nn.tensor({1, -4}, "int64")) end, "bincount", "-4")
    H.assert_error(function() nn.bincount(nn.tensor({1, 2.5})) end,
                   "bincount", "2.5", "not an integer")
    H.assert_error(function() nn.bincount(nn.tensor({1, 0 / 0})) end, "bincount", "nan")
    H.assert_error(function() nn.bincount(nn.ones(2, 2):long()) end, "bincount", "1-D", "[2,2]")
    H.assert_error(function() nn.bincount(nn.tensor({1}, "int64"), {minlength = -1}) end,
                   "bincount", "minlength -1")
    H.assert_error(function() nn.bincount(nn.tensor({1}, "int64"), {weights = nn.ones(2)}) end,
                   "bincount", "weights", "[2]", "[1]")
    H.assert_error(function() nn.bincount(nn.tensor({1}, "int64"), {weights = 3}) end,
                   "bincount", "weights must be")
  end)

  it("name bad histc inputs", function()
    H.assert_error(function() t:histc(5, 3, 1) end, "histc", "min 3", "max 1")
    H.assert_error(function() t:histc(0) end, "histc", "bins")
    H.assert_error(function() t:histc(5, 0, math.huge) end, "histc", "not finite")
    H.assert_error(function() t:histc(5, "a") end, "histc", "min must be a number")
  end)

  it("name bad cdist inputs", function()
    H.assert_error(function() nn.cdist(nn.rand(2, 3), nn.rand(4, 2)) end,
                   "cdist", "[2,3]", "[4,2]", "3", "2")
    H.assert_error(function() nn.cdist(nn.rand(2, 2, 3), nn.rand(4, 3)) end, "cdist", "2-D")
    H.assert_error(function() nn.cdist(nn.rand(2, 3), nn.rand(4, 3), -1) end, "cdist", "p", "-1")
    H.assert_error(function() nn.cdist(nn.rand(2, 3):long(), nn.rand(4, 3)) end,
                   "cdist", "float32", "int64")
  end)
end)
