-- Reductions: sum mean max min argmax argmin std var norm any all
-- count_nonzero, and the scans cumsum cumprod — full and per
-- dim, keepdim, negative dims, the two results of max/min with 1-based
-- indices, ties, dtypes, empty tensors, strided inputs, PyTorch reference
-- values (tests/fixtures/reduce/reference.lua) and error messages.
local nn = require "nn"
local H = require "helpers"

local function same_shape(t, shape)
  assert.are.same(shape, t.shape)
end

-- Every value of t within rel of want (NaN matches NaN).
local function assert_close(want, t, rel)
  local got = H.flat(t)
  assert.are.equal(#want, #got)
  for i = 1, #want do
    local w, g = want[i], got[i]
    if type(w) ~= "number" then
      assert.are.equal(w, g)
    elseif w ~= w then
      assert.is_true(g ~= g, ("element %d: want NaN, got %s"):format(i, tostring(g)))
    else
      assert.is_true(math.abs(g - w) <= (rel or 1e-5) * (1 + math.abs(w)),
                     ("element %d: want %.9g, got %.9g"):format(i, w, g))
    end
  end
end

-- {{1,5,3},{4,2,6}}
local function m23() return nn.tensor{{1, 5, 3}, {4, 2, 6}} end

describe("sum and mean", function()
  it("reduce everything to a 0-dim tensor", function()
    local s = m23():sum()
    assert.are.equal(0, s:dim())
    assert.are.equal(21, s:item())
    assert.are.equal(3.5, m23():mean():item())
    assert.are.equal(21, nn.sum(m23()):item())
  end)

  it("reduce one dim, 1-based, negative from the end", function()
    assert.are.same({5, 7, 9}, m23():sum(1):totable())
    assert.are.same({9, 12}, m23():sum(2):totable())
    assert.are.same({9, 12}, m23():sum(-1):totable())
    assert.are.same({5, 7, 9}, m23():sum(-2):totable())
    assert.are.same({3, 4}, m23():mean(2):totable())
    assert.are.same({2.5, 3.5, 4.5}, nn.mean(m23(), 1):totable())
  end)

  it("keep the reduced dim as size 1 with keepdim", function()
    local s = m23():sum(2, true)
    same_shape(s, {2, 1})
    assert.are.same({{9}, {12}}, s:totable())
    same_shape(m23():mean(1, true), {1, 3})
    same_shape(m23():sum(1, false), {3})
    same_shape(m23():sum(nil, true), {1, 1})
  end)

  it("sum int64 to int64 and bool to an int64 count", function()
    local l = nn.tensor({{1, 2}, {3, 4}}, "int64")
    local s = l:sum()
    assert.are.equal("int64", s.dtype)
    assert.are.equal(math.type(s:item()), "integer")
    assert.are.equal(10, s:item())
    assert.are.same({4, 6}, l:sum(1):totable())
    local mask = m23():gt(2.5)
    assert.are.equal("int64", mask:sum().dtype)
    assert.are.equal(4, mask:sum():item())
    assert.are.same({2, 2}, mask:sum(2):totable())
  end)

  it("compute mean of int64 in float32 (PyTorch refuses)", function()
    local m = nn.tensor({1, 2, 4}, "int64"):mean()
    assert.are.equal("float32", m.dtype)
    assert.is_true(math.abs(m:item() - 7 / 3) < 1e-6)
  end)

  it("give 0 and NaN for empty tensors", function()
    assert.are.equal(0, nn.zeros(0):sum():item())
    local m = nn.zeros(0):mean():item()
    assert.is_true(m ~= m)
    assert.are.same({0, 0, 0}, nn.zeros(3, 0):sum(2):totable())
    same_shape(nn.zeros(0, 3):sum(1), {3})
    same_shape(nn.zeros(0, 3):sum(2), {0})
  end)

  it("reduce a 0-dim tensor to itself", function()
    local s = nn.tensor(2.5)
    assert.are.equal(2.5, s:sum():item())
    assert.are.equal(2.5, s:sum(1):item())
    assert.are.equal(2.5, s:mean(-1):item())
    assert.are.equal(0, s:sum(1, true):dim())
  end)
end)

describe("max and min", function()
  it("give a 0-dim value over everything", function()
    local v = m23():max()
    assert.are.equal(0, v:dim())
    assert.are.equal(6, v:item())
    assert.are.equal(1, m23():min():item())
    assert.are.equal(1, select("#", m23():max()))
  end)

  it("give values, then 1-based int64 indices, over a dim", function()
    local v, i = m23():max(2)
    assert.are.same({5, 6}, v:totable())
    assert.are.same({2, 3}, i:totable())
    assert.are.equal("int64", i.dtype)
    v, i = m23():min(1)
    assert.are.same({1, 2, 3}, v:totable())
    assert.are.same({1, 2, 1}, i:totable())
    v, i = nn.max(m23(), -1, true)
    same_shape(v, {2, 1})
    same_shape(i, {2, 1})
    assert.are.same({{2}, {3}}, i:totable())
  end)

  it("keep int64 and bool dtypes", function()
    local v, i = nn.tensor({{7, -2}, {7, 9}}, "int64"):max(1)
    assert.are.equal("int64", v.dtype)
    assert.are.same({7, 9}, v:totable())
    assert.are.same({1, 2}, i:totable())
    local b = m23():gt(4):max(2)
    assert.are.equal("bool", b.dtype)
    assert.are.same({true, true}, b:totable())
  end)

  it("propagate NaN", function()
    local t = nn.tensor{1, 0 / 0, 3}
    local v = t:max():item()
    assert.is_true(v ~= v)
    local mv, mi = t:min(1)
    assert.is_true(mv:item() ~= mv:item())
    assert.are.equal(2, mi:item())
  end)

  it("refuse empty tensors, as PyTorch", function()
    H.assert_error(function() return nn.zeros(0):max() end, "max", "empty", "[0]")
    H.assert_error(function() return nn.zeros(0, 3):min(1) end, "min", "dim 1", "size 0")
    H.assert_error(function() return nn.zeros(2, 0):argmax() end, "argmax", "[2,0]")
    local v, i = nn.zeros(0, 3):max(2)
    same_shape(v, {0})
    same_shape(i, {0})
  end)

  it("treat a 0-dim tensor as one element", function()
    local v, i = nn.tensor(-2):max(1)
    assert.are.equal(-2, v:item())
    assert.are.equal(1, i:item())
    assert.are.equal(0, i:dim())
    assert.are.equal(1, nn.tensor(7):argmin():item())
    assert.are.equal(1, nn.tensor(7):argmax(-1, true):item())
  end)
end)

describe("argmax and argmin", function()
  it("give a 1-based flat index over everything", function()
    local i = m23():argmax()
    assert.are.equal(0, i:dim())
    assert.are.equal("int64", i.dtype)
    assert.are.equal(6, i:item())
    assert.are.equal(1, m23():argmin():item())
  end)

  it("give 1-based indices over a dim, keepdim", function()
    assert.are.same({2, 1, 2}, m23():argmax(1):totable())
    assert.are.same({1, 2}, m23():argmin(-1):totable())
    assert.are.same({{2}, {3}}, nn.argmax(m23(), 2, true):totable())
  end)

  it("pick the first of tied extremes", function()
    local t = nn.tensor{{1, 3, 3, 0}, {0, 3, 3, 1}}
    assert.are.same({2, 2}, t:argmax(2):totable())
    assert.are.same({4, 1}, t:argmin(2):totable())
    assert.are.same({1, 1, 1, 2}, t:argmax(1):totable())
    assert.are.equal(2, t:argmax():item())
    local _, i = t:max(2)
    assert.are.same({2, 2}, i:totable())
    assert.are.equal(1, nn.tensor({5, 5, 5}, "int64"):argmax():item())
  end)
end)

describe("var and std", function()
  it("are unbiased by default", function()
    local t = nn.tensor{1, 2, 3, 4}
    assert.is_true(math.abs(t:var():item() - 5 / 3) < 1e-6)
    assert.is_true(math.abs(t:std():item() - math.sqrt(5 / 3)) < 1e-6)
    assert.are.same({4, 4}, m23():var(2):totable())
    same_shape(m23():std(1, true), {1, 3})
  end)

  it("take {unbiased=false} or {correction=n} as a trailing table", function()
    local t = nn.tensor{1, 2, 3, 4}
    assert.is_true(math.abs(t:var{unbiased = false}:item() - 1.25) < 1e-6)
    assert.is_true(math.abs(t:var{correction = 0}:item() - 1.25) < 1e-6)
    assert.is_true(math.abs(t:var(1, {correction = 2}):item() - 2.5) < 1e-6)
    assert_close({8 / 3, 8 / 3}, m23():var(2, false, {unbiased = false}))
    same_shape(m23():std(2, true, {unbiased = false}), {2, 1})
    assert.is_true(math.abs(nn.std(t, {unbiased = true}):item() - math.sqrt(5 / 3)) < 1e-6)
  end)

  it("give NaN for one element unbiased", function()
    local v = nn.tensor{3}:var():item()
    assert.is_true(v ~= v)
    assert.are.equal(0, nn.tensor{3}:var{unbiased = false}:item())
  end)

  it("compute int64 in float32", function()
    local v = nn.tensor({1, 2, 3, 4}, "int64"):var()
    assert.are.equal("float32", v.dtype)
    assert.is_true(math.abs(v:item() - 5 / 3) < 1e-6)
  end)
end)

describe("norm", function()
  local t = nn.tensor{{3, -4}, {0, 1}}
  it("is the 2-norm of everything by default", function()
    assert.is_true(math.abs(t:norm():item() - math.sqrt(26)) < 1e-5)
    assert.is_true(math.abs(t:norm("fro"):item() - math.sqrt(26)) < 1e-5)
  end)

  it("takes p: 1, 2, any positive number, math.huge, 0", function()
    assert.are.equal(8, t:norm(1):item())
    assert.are.equal(4, t:norm(math.huge):item())
    assert.are.equal(3, t:norm(0):item())
    assert.is_true(math.abs(t:norm(3):item() - (27 + 64 + 1) ^ (1 / 3)) < 1e-5)
    assert.is_true(math.abs(t:norm(0.5):item() - (math.sqrt(3) + 2 + 1) ^ 2) < 1e-4)
  end)

  it("takes (p, dim [, keepdim])", function()
    assert_close({5, 1}, t:norm(2, 2))
    assert.are.same({3, 5}, t:norm(1, 1):totable())
    assert.are.same({{4}, {1}}, t:norm(math.huge, -1, true):totable())
    assert_close({5, 1}, nn.norm(t, nil, 2))
  end)

  it("computes int64 in float32", function()
    local n = nn.tensor({3, 4}, "int64"):norm()
    assert.are.equal("float32", n.dtype)
    assert.are.equal(5, n:item())
  end)
end)

describe("reductions of strided tensors", function()
  local base = nn.arange(24):float():view(2, 3, 4)
  it("reduce transposed views", function()
    local t = base:transpose(1, 3) -- [4,3,2]
    assert.are.same(base:sum(3):transpose(1, 2):totable(), t:sum(1):totable())
    assert.are.same(base:sum(1):transpose(1, 2):totable(), t:sum(3):totable())
    local v, i = t:max(2)
    assert.are.same(base:max(2):transpose(1, 2):totable(), v:totable())
    assert.are.same({{3, 3}, {3, 3}, {3, 3}, {3, 3}}, i:totable())
  end)

  it("reduce expanded (stride 0) views", function()
    local e = nn.tensor{1, 2, 3}:expand(4, 3)
    assert.are.same({4, 8, 12}, e:sum(1):totable())
    assert.are.same({6, 6, 6, 6}, e:sum(2):totable())
    assert.are.equal(24, e:sum():item())
    assert.are.same({1, 1, 1}, e:argmax(1):totable())
    assert.is_true(math.abs(e:var():item() - 8 / 11) < 1e-6)
  end)

  it("sum the columns of a wide matrix (the block walk)", function()
    local w = nn.arange(3 * 700):float():view(3, 700)
    local s = w:sum(1):totable()
    for j = 1, 700, 99 do assert.are.equal(3 * (j - 1) + 2100, s[j]) end
    local _, i = w:max(1)
    assert.are.equal(3, i:totable()[700])
  end)
end)

describe("any, all and count_nonzero", function()
  local z = nn.tensor{{0, 1, 2}, {0, 0, 0}}

  it("reduce everything or one dim, with keepdim for any and all", function()
    assert.is_true(z:any():item())
    assert.is_false(z:all():item())
    assert.are.equal(0, z:any():dim())
    H.assert_values(z:any(2), {true, false})
    H.assert_values(z:all(1), {false, false, false})
    H.assert_values(z:any(1, true), {{false, true, true}})
    same_shape(z:all(-1, true), {2, 1})
    H.assert_values(nn.count_nonzero(z), 2)
    H.assert_values(z:count_nonzero(1), {0, 1, 1})
    H.assert_values(z:count_nonzero(-1), {2, 0})
  end)

  it("give bool for any/all and int64 for count_nonzero, of every dtype", function()
    for _, t in ipairs{z, z:long(), z:bool()} do
      assert.are.equal("bool", t:any().dtype)
      assert.are.equal("bool", t:all(1).dtype)
      assert.are.equal("int64", t:count_nonzero().dtype)
      H.assert_values(t:count_nonzero(2), {2, 0})
    end
  end)

  it("count NaN as nonzero, as PyTorch", function()
    local t = nn.tensor{0 / 0, 0}
    assert.is_true(t:any():item())
    assert.are.equal(1, t:count_nonzero():item())
  end)

  it("give any false, all true, count 0 for nothing", function()
    local e = nn.zeros(0, 3)
    assert.is_false(e:any():item())
    assert.is_true(e:all():item())
    assert.are.equal(0, e:count_nonzero():item())
    H.assert_values(e:all(1), {true, true, true})
  end)

  it("work on strided views and record no gradient", function()
    local t = nn.tensor{{1, 0}, {2, 3}, {0, 4}}
    H.assert_values(t:t():all(2), {false, false})
    H.assert_values(t:t():count_nonzero(2), {2, 2})
    H.assert_values(t:expand(2, 3, 2):count_nonzero(1), {{2, 0}, {2, 2}, {0, 2}})
    local g = nn.tensor({1, 2}):requires_grad_()
    assert.is_nil(g:any().grad_fn)
    assert.is_nil(g:count_nonzero().grad_fn)
  end)
end)

describe("cumsum and cumprod", function()
  it("scan along a dim, 1-based or from the end", function()
    H.assert_values(m23():cumsum(1), {{1, 5, 3}, {5, 7, 9}})
    H.assert_values(m23():cumsum(2), {{1, 6, 9}, {4, 6, 12}})
    H.assert_values(m23():cumprod(-1), {{1, 5, 15}, {4, 8, 48}})
    H.assert_values(nn.cumprod(m23(), -2), {{1, 5, 3}, {4, 10, 18}})
    H.assert_values(m23():t():cumsum(2), {{1, 5}, {5, 7}, {3, 9}})
  end)

  it("keep float32 and int64, scan bool as int64, as PyTorch", function()
    assert.are.equal("float32", m23():cumsum(1).dtype)
    local i = nn.tensor({{1, 2}, {3, 4}}, "int64")
    assert.are.equal("int64", i:cumsum(2).dtype)
    H.assert_values(i:cumprod(1), {{1, 2}, {3, 8}})
    local b = nn.tensor{true, false, true}:cumsum(1)
    assert.are.equal("int64", b.dtype)
    H.assert_values(b, {1, 1, 2})
  end)

  it("treat a 0-dim tensor as one element and pass empty dims", function()
    assert.are.equal(3, nn.tensor(3):cumsum(1):item())
    same_shape(nn.zeros(0, 2):cumprod(1), {0, 2})
  end)

  it("send the gradient through zeros as PyTorch", function()
    -- y = cumprod{2, 0, 3, 0}: dy3/dx2 = 2 * 3, the rest through the first zero only
    local x = nn.tensor{2, 0, 3, 0}:requires_grad_()
    x:cumprod(1):sum():backward()
    H.assert_values(x.grad, {1, 2 + 6, 0, 0})
    local s = nn.tensor{1, 2, 3}:requires_grad_()
    s:cumsum(1):sum():backward()
    H.assert_values(s.grad, {3, 2, 1})
  end)
end)

describe("reduction errors", function()
  it("name the function and the 1-based dim range", function()
    H.assert_error(function() return m23():sum(0) end, "sum", "dim 0", "1-based")
    H.assert_error(function() return m23():mean(3) end, "mean", "dim 3", "2-D")
    H.assert_error(function() return m23():max(-3) end, "max", "-3")
    H.assert_error(function() return m23():argmin(5) end, "argmin", "5")
    H.assert_error(function() return m23():norm(2, 3) end, "norm", "dim 3")
    H.assert_error(function() return m23():var(0) end, "var", "dim 0")
  end)

  it("reject non-tensors, bad dims and keepdims", function()
    H.assert_error(function() return nn.sum({1, 2}) end, "sum", "tensor", "table")
    H.assert_error(function() return nn.std(3) end, "std", "tensor", "number")
    H.assert_error(function() return m23():sum(1.5) end, "sum", "dim", "integer")
    H.assert_error(function() return m23():sum("x") end, "sum", "dim")
    H.assert_error(function() return m23():sum(1, 1) end, "sum", "keepdim", "boolean")
    H.assert_error(function() return m23():max(m23()) end, "max", "maximum")
  end)

  it("name any, all, count_nonzero, cumsum and cumprod with their bad arguments", function()
    H.assert_error(function() return m23():any(3) end, "any", "dim 3")
    H.assert_error(function() return m23():all(1, 1) end, "all", "keepdim", "boolean")
    H.assert_error(function() return m23():count_nonzero(0) end, "count_nonzero", "dim 0")
    H.assert_error(function() return m23():count_nonzero(1, true) end, "count_nonzero", "keepdim")
    H.assert_error(function() return m23():cumsum() end, "cumsum", "needs a dim")
    H.assert_error(function() return m23():cumprod(3) end, "cumprod", "dim 3")
    H.assert_error(function() return m23():cumsum(1.5) end, "cumsum", "dim", "integer")
    H.assert_error(function() return m23():cumsum(1, true) end, "cumsum", "third argument")
    H.assert_error(function() return nn.cumprod({1, 2}, 1) end, "cumprod", "tensor", "table")
  end)

  it("reject a bad p and bad var options", function()
    H.assert_error(function() return m23():norm(-1) end, "norm", "p", "-1")
    H.assert_error(function() return m23():norm(0 / 0) end, "norm", "p")
    H.assert_error(function() return m23():norm("nuc") end, "norm", "p", "string")
    H.assert_error(function() return m23():var{unbaised = false} end, "var", "unbaised")
    H.assert_error(function() return m23():std{unbiased = 1} end, "std", "unbiased", "boolean")
    H.assert_error(function() return m23():var{correction = -1} end, "var", "correction")
  end)

  it("leave the runtime working after a caught error", function()
    pcall(function() return m23():sum(9) end)
    assert.are.equal(21, m23():sum():item())
  end)
end)

describe("PyTorch reference values", function()
  local dir = (os.getenv("NNLUA_SOURCE_DIR") or ".") .. "/tests/fixtures/reduce/"
  local ref = dofile(dir .. "reference.lua")

  local function input(name, view, patch)
    local spec = ref.inputs[name]
    local data = spec.data
    if patch then data = table.move(data, 1, #data, 1, {}); patch(data) end
    if spec.dtype == "bool" then
      local ints = {}
      for i, v in ipairs(data) do ints[i] = v and 1 or 0 end
      data = ints
    end
    local t = nn.tensor(data, spec.dtype == "float32" and "float32" or "int64"):view(spec.shape)
    if spec.dtype == "bool" then t = t:bool() end
    if view == "t" then t = t:transpose(1, 3) end
    return t
  end

  -- The case's arguments, written as Lua source ("2, true").
  local function lua_args(src)
    return src == "" and {} or {load("return " .. src)()}
  end

  for _, c in ipairs(ref.cases) do
    local label = ("%s%s:%s(%s)"):format(c.input, c.view == "t" and "ᵀ" or "", c.method, c.args)
    it("match for " .. label, function()
      local t = input(c.input, c.view)
      local results = table.pack(t[c.method](t, table.unpack(lua_args(c.args))))
      assert.are.equal(#c.out, results.n)
      for k, want in ipairs(c.out) do
        assert.are.equal(want.dtype, results[k].dtype)
        same_shape(results[k], want.shape)
        if want.dtype == "float32" then
          assert_close(want.data, results[k], 1e-5)
        else
          assert.are.same(want.data, H.flat(results[k]))
        end
      end
    end)
  end

  -- (y * w):sum() backward for y = t:cumsum(d) / t:cumprod(d), w =
  -- arange * 0.25 + 1 in y's shape; z's NaN is replaced by 0.5 there, as in
  -- the generator.
  for _, c in ipairs(ref.grads) do
    local label = ("%s%s:%s(%s)"):format(c.input, c.view == "t" and "ᵀ" or "", c.method, c.args)
    it("give PyTorch's gradient for " .. label, function()
      local patch = c.input == "z" and function(d) d[1] = 0.5 end or nil
      local t = input(c.input, c.view, patch):requires_grad_()
      local y = t[c.method](t, tonumber(c.args))
      local w = (nn.arange(y:numel()):float() * 0.25 + 1):view(y.shape)
      ;(y * w):sum():backward()
      assert.are.equal(c.view == "t", not t:is_contiguous())
      assert_close(c.grad, t.grad, 1e-5)
    end)
  end

  it("match on a million elements (float32 accumulation)", function()
    local big = nn.arange(ref.big.n):float() * ref.big.scale
    local square = big:view(1000, 1000)
    for _, c in ipairs(ref.big.cases) do
      local t = c.view == "square" and square or big
      local r = t[c.method](t, table.unpack(lua_args(c.args)))
      same_shape(r, c.shape)
      assert_close(c.data, r, 2e-6)
    end
  end)
end)
