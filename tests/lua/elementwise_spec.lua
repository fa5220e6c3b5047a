-- Elementwise math, comparisons, where, clamp and matrix products: values
-- against PyTorch (tests/fixtures/core/reference.lua) on contiguous,
-- transposed, split and expanded inputs; broadcasting; type promotion;
-- operators with scalars on either side; in-place forms.
local nn = require "nn"
local H = require "helpers"

local ref = H.reference()
local T = H.from_spec

-- The same values in three layouts: contiguous, a transposed view of a
-- transposed copy, and a column slice of a wider tensor.
local function layouts(t)
  local out = {contiguous = t}
  if t:dim() == 2 then
    out.transposed = t:t():contiguous():t()
    local n, m = t:size(1), t:size(2)
    local wide = nn.zeros(n, m + 2, {dtype = t.dtype})
    local piece = wide:split({1, m, 1}, 2)[2]
    piece:copy_(t)
    out.split = piece
  end
  return out
end

describe("unary functions", function()
  local u = ref.unary
  local x, pos = T(u.input), T(u.positive)

  it("match PyTorch on contiguous and strided inputs", function()
    for _, name in ipairs{"neg", "abs", "sign", "relu", "exp", "sigmoid", "tanh", "sin", "cos", "log", "sqrt"} do
      local input = (name == "log" or name == "sqrt") and pos or x
      local want = T(u[name])
      H.assert_close(input[name](input), want, 1e-6, name)
      H.assert_close(nn[name](input), want, 1e-6, "nn." .. name)
      -- the same values as a strided [3,2] view of a [2,3]
      local strided = input:view(2, 3):t()
      H.assert_close(strided[name](strided), want:view(2, 3):t(), 1e-6, name .. " strided")
    end
  end)

  it("in-place forms modify and return self", function()
    for _, name in ipairs{"neg", "abs", "relu", "exp", "sigmoid", "tanh", "sin", "cos", "log", "sqrt"} do
      local input = (name == "log" or name == "sqrt") and pos or x
      local c = input:clone()
      local r = c[name .. "_"](c)
      assert.are.equal(c, r)
      H.assert_close(c, T(u[name]), 1e-6, name .. "_")
      -- through a transposed view, writing into the base
      local base = input:clone():view(2, 3)
      base:t()[name .. "_"](base:t())
      H.assert_close(base:view(6), T(u[name]), 1e-6, name .. "_ on a view")
    end
  end)

  it("keep int64 for neg/abs/sign/relu and give float32 otherwise", function()
    local i = nn.tensor({-3, 0, 2}, "int64")
    for _, name in ipairs{"neg", "abs", "sign", "relu"} do
      assert.are.equal("int64", i[name](i).dtype, name)
    end
    H.assert_values(i:neg(), {3, 0, -2})
    H.assert_values(i:abs(), {3, 0, 2})
    H.assert_values(i:sign(), {-1, 0, 1})
    H.assert_values(i:relu(), {0, 0, 2})
    local e = nn.tensor({0, 1}, "int64"):exp()
    assert.are.equal("float32", e.dtype)
    H.assert_close(e, {1, math.exp(1)}, 1e-6)
    assert.are.equal("float32", nn.tensor{true}:sqrt().dtype)
    H.assert_close(nn.tensor({0, 1}, "int64"):cos(), {1, math.cos(1)}, 1e-6)
    local b = nn.tensor{true, false}:neg()
    assert.are.equal("int64", b.dtype)
    H.assert_values(b, {-1, 0})
  end)

  -- issue 9: rounding, square, log1p, expm1, reciprocal, rsqrt; isnan isinf isfinite
  local float_only = {log1p = true, reciprocal = true, rsqrt = true}
  local more = {"floor", "ceil", "round", "trunc", "square", "expm1", "log1p", "reciprocal", "rsqrt"}

  it("rounding, square, log1p, expm1, reciprocal, rsqrt match PyTorch, values and gradients", function()
    for _, name in ipairs(more) do
      local input = float_only[name] and pos or x
      local want, want_grad = T(u[name]), T(u.grad[name])
      H.assert_close(input[name](input), want, 1e-6, name)
      H.assert_close(nn[name](input), want, 1e-6, "nn." .. name)
      local strided = input:view(2, 3):t()
      H.assert_close(strided[name](strided), want:view(2, 3):t(), 1e-6, name .. " strided")
      -- gradients of op(input):sum(), contiguous and through the strided view
      local leaf = input:clone():requires_grad_()
      leaf[name](leaf):sum():backward()
      H.assert_close(leaf.grad, want_grad, 1e-6, name .. " grad")
      local base = input:clone():view(2, 3):requires_grad_()
      local view = base:t()
      view[name](view):sum():backward()
      H.assert_close(base.grad:view(6), want_grad, 1e-6, name .. " grad strided")
    end
  end)

  it("round halves to even, as PyTorch; floor ceil trunc of halves", function()
    local h = T(u.halves)
    for _, name in ipairs{"floor", "ceil", "round", "trunc"} do
      H.assert_close(h[name](h), T(u[name .. "_halves"]), 0, name)
    end
    H.assert_values(h:round(), {-2, -2, -0, 0, 2, 2})
  end)

  it("in-place forms of the new ops", function()
    for _, name in ipairs(more) do
      local input = float_only[name] and pos or x
      local c = input:clone()
      assert.are.equal(c, c[name .. "_"](c))
      H.assert_close(c, T(u[name]), 1e-6, name .. "_")
      local base = input:clone():view(2, 3)
      base:t()[name .. "_"](base:t())
      H.assert_close(base:view(6), T(u[name]), 1e-6, name .. "_ on a view")
    end
    local i = T(u.ints)
    assert.are.equal("int64", i:clone():floor_().dtype)
    H.assert_values(i:clone():square_(), T(u.square_int64))
    H.assert_error(function() return i:clone():log1p_() end, "log1p_", "float32", "int64")
  end)

  it("keep int64 for floor ceil round trunc square and give float32 otherwise, as PyTorch", function()
    local i = T(u.ints)
    for _, name in ipairs{"floor", "ceil", "round", "trunc", "square", "expm1", "reciprocal"} do
      local want = T(u[name .. "_int64"])
      local got = i[name](i)
      assert.are.equal(want.dtype, got.dtype, name)
      H.assert_close(got, want, 1e-6, name .. " int64")
    end
    assert.are.equal("int64", nn.tensor{true, false}:square().dtype)
  end)

  it("isnan isinf isfinite give bool masks, as PyTorch", function()
    local sp = T(u.special)
    for _, name in ipairs{"isnan", "isinf", "isfinite"} do
      local got, want = sp[name](sp), T(u[name])
      assert.are.equal("bool", got.dtype, name)
      H.assert_values(got, want)
      H.assert_values(nn[name](sp:view(2, 3):t()), want:view(2, 3):t())
      local i = T(u.ints)
      H.assert_values(i[name](i), T(u[name .. "_int64"]))
      assert.is_nil(sp[name .. "_"], name .. "_ has no in-place form")
    end
    H.assert_values(nn.tensor{true, false}:isfinite(), {true, true})
    local r = nn.tensor({0 / 0, 1}):requires_grad_():isnan()
    assert.is_nil(r.grad_fn)
  end)

  it("the new ops name themselves in errors", function()
    H.assert_error(function() return nn.floor(3) end, "floor", "tensor")
    H.assert_error(function() return nn.isnan("x") end, "isnan", "tensor")
  end)

  it("unary minus is neg", function()
    H.assert_close(-x, T(u.neg))
    H.assert_values(-nn.tensor({1, -2}, "int64"), {-1, 2})
    H.assert_values(-(-x), x)
  end)
end)

describe("binary arithmetic", function()
  local b = ref.binary
  local a, y = T(b.a), T(b.b) -- [3,1] and [4]

  it("broadcasts [3,1] with [4] to [3,4], matching PyTorch", function()
    for _, name in ipairs{"add", "sub", "mul", "div", "maximum", "minimum"} do
      local want = T(b[name])
      H.assert_shape(want, {3, 4})
      H.assert_close(a[name](a, y), want, 1e-6, name)
      H.assert_close(nn[name](a, y), want, 1e-6, "nn." .. name)
    end
    H.assert_close(y:view(4, 1):pow(a:view(1, 3)), T(b.pow), 1e-6, "pow")
  end)

  it("operators match the methods", function()
    H.assert_close(a + y, T(b.add))
    H.assert_close(a - y, T(b.sub))
    H.assert_close(a * y, T(b.mul))
    H.assert_close(a / y, T(b.div))
    H.assert_close(y:view(4, 1) ^ a:view(1, 3), T(b.pow), 1e-6)
  end)

  it("take Lua numbers on either side", function()
    H.assert_close(2 - a, T(b.rsub_scalar))
    H.assert_close(2 / y, T(b.rdiv_scalar))
    H.assert_close(a ^ 2, T(b.pow_scalar))
    H.assert_close(2 ^ a, T(b.rpow_scalar), 1e-6)
    H.assert_close(a + 1, a + nn.ones(3, 1))
    H.assert_close(1 + a, a + 1)
    H.assert_close(a * 0.5, a / 2)
    H.assert_close(3 * a, a + a + a)
    H.assert_close(a:sub(1), a - 1)
    H.assert_close(nn.sub(1, a), 1 - a)
  end)

  it("work on non-contiguous operands", function()
    local g = H.grid(3, 4)
    local want = g * 2 + 1
    for name, v in pairs(layouts(g)) do
      H.assert_close(v * 2 + 1, want, 0, name)
      H.assert_close(v + v, g * 2, 0, name)
      H.assert_close(v - g:t():t(), nn.zeros(3, 4), 0, name)
    end
    -- expanded (stride 0) operands
    local col = nn.tensor{{1}, {2}, {3}}:expand(3, 4)
    H.assert_close(col + g, g + nn.tensor{{1}, {2}, {3}})
    H.assert_close(g:t() * nn.tensor{1, 10, 100}, {{1, 50, 900}, {2, 60, 1000}, {3, 70, 1100}, {4, 80, 1200}})
  end)

  it("broadcast across several dims and with 0-dim tensors", function()
    local p = nn.ones(2, 1, 4) + nn.ones(3, 1)
    H.assert_shape(p, {2, 3, 4})
    local s = nn.tensor(5) * H.grid(2, 2)
    H.assert_values(s, {{5, 10}, {15, 20}})
    H.assert_shape(nn.tensor(1) + nn.tensor(2), {})
    H.assert_shape(nn.zeros(0, 3) + nn.ones(3), {0, 3})
  end)
end)

describe("type promotion", function()
  local i = nn.tensor({7, -7, 3, 0}, "int64")
  local f = nn.tensor{1.5, 2.5, 3.5, 4.5}
  local bt = nn.tensor{true, false, true, true}

  it("follows PyTorch for tensors and numbers", function()
    assert.are.equal("float32", (i + 0.5).dtype)  -- int64 + float number
    assert.are.equal("int64", (i * 2).dtype)      -- int64 * integer number
    assert.are.equal("int64", (2 * i).dtype)
    assert.are.equal("float32", (i / i).dtype)    -- true division
    assert.are.equal("float32", (i / 2).dtype)
    assert.are.equal("float32", (i + f).dtype)
    assert.are.equal("float32", (f + i).dtype)
    assert.are.equal("int64", (bt + bt).dtype)    -- bool math runs on int64
    assert.are.equal("int64", (bt + 1).dtype)
    assert.are.equal("float32", (bt * 1.5).dtype)
    assert.are.equal("int64", (i + bt).dtype)
    assert.are.equal("int64", (i + true).dtype)
    assert.are.equal("float32", (i ^ 0.5).dtype)
    assert.are.equal("int64", (i ^ 2).dtype)
    assert.are.equal("float32", nn.maximum(i, f).dtype)
  end)

  it("computes the promoted values exactly as PyTorch", function()
    local z = ref.integer
    local ai, bi = T(z.a), T(z.b)
    H.assert_close(ai / bi, T(z.div))
    H.assert_close(ai * bi, T(z.mul))
    H.assert_close(ai ^ 2, T(z.pow))
    H.assert_close(ai + 0.5, T(z.add_float))
    H.assert_close(ai * 2, T(z.mul_int))
    H.assert_values(bt + bt, {2, 0, 2, 2})
  end)

  it("comparisons give bool", function()
    for _, name in ipairs{"gt", "lt", "ge", "le", "eq", "ne"} do
      assert.are.equal("bool", i[name](i, 0).dtype, name)
      assert.are.equal("bool", f[name](f, i).dtype, name)
      assert.are.equal("bool", i[name](i, 0.5).dtype, name)
    end
    H.assert_values(i:gt(0.5), {true, false, true, false}) -- int64 vs float compares in float
    H.assert_values(i:eq(i:float()), {true, true, true, true})
  end)
end)

describe("comparisons", function()
  local b = ref.binary

  it("broadcast and match PyTorch", function()
    local a, y = T(b.a), T(b.b)
    for _, name in ipairs{"gt", "lt", "ge", "le", "eq", "ne"} do
      H.assert_close(a[name](a, y), T(b[name]), 0, name)
      H.assert_close(nn[name](a, y), T(b[name]), 0, "nn." .. name)
      H.assert_close(a:t()[name](a:t(), y:view(4, 1)), T(b[name]):t(), 0, name .. " transposed")
    end
  end)

  it("compare with numbers and handle NaN as PyTorch", function()
    local t = nn.tensor{1, 2, 0 / 0}
    H.assert_values(t:gt(1), {false, true, false})
    H.assert_values(t:le(2), {true, true, false})
    H.assert_values(t:eq(t), {true, true, false})
    H.assert_values(t:ne(t), {false, false, true})
    H.assert_values(nn.maximum(t, nn.tensor{0, 3, 0}):ne(nn.maximum(t, nn.tensor{0, 3, 0})), {false, false, true})
  end)
end)

describe("in-place arithmetic", function()
  it("returns self and writes into the same storage", function()
    local t = nn.ones(2, 3)
    local v = t:view(6)
    assert.are.equal(t, t:add_(1))
    H.assert_values(v, {2, 2, 2, 2, 2, 2})
    assert.are.equal(t, t:mul_(nn.tensor{1, 2, 3})) -- broadcast operand
    H.assert_values(t, {{2, 4, 6}, {2, 4, 6}})
    assert.are.equal(t, t:sub_(t))
    H.assert_values(v, {0, 0, 0, 0, 0, 0})
    t:fill_(8)
    assert.are.equal(t, t:div_(2))
    assert.are.equal(t, t:pow_(2))
    H.assert_values(t, nn.full({2, 3}, 16.0))
  end)

  it("writes through transposed and split views into the base", function()
    local base = H.grid(3, 4)
    base:t():add_(nn.tensor{100, 200, 300}) -- row of the transposed view = column of base
    H.assert_values(base, {{101, 102, 103, 104}, {205, 206, 207, 208}, {309, 310, 311, 312}})
    local g = H.grid(3, 4)
    g:split(2, 2)[2]:mul_(-1)
    H.assert_values(g, {{1, 2, -3, -4}, {5, 6, -7, -8}, {9, 10, -11, -12}})
  end)

  it("reads an operand that overlaps the target as it was before", function()
    local a = nn.arange(9):float():view(3, 3)
    a:add_(a:t()) -- a + a^T, symmetric
    H.assert_values(a, {{0, 4, 8}, {4, 8, 12}, {8, 12, 16}})
    local v = nn.arange(6):float()
    local lo, hi = v:split(3)[1], v:split(3)[2]
    v:split({1, 3, 2})[2]:sub_(lo) -- writes 1..3 while reading 0..2
    H.assert_values(v, {0, 1, 1, 1, 4, 5})
    hi:mul_(hi)
    H.assert_values(v, {0, 1, 1, 1, 16, 25})
    local b = nn.arange(4):float()
    b:add_(b) -- the very same tensor: elementwise, no copy needed
    H.assert_values(b, {0, 2, 4, 6})
  end)

  it("keeps the tensor's dtype when the result fits", function()
    local i = nn.tensor({1, 2}, "int64")
    i:add_(3)
    assert.are.equal("int64", i.dtype)
    H.assert_values(i, {4, 5})
    i:mul_(nn.tensor{true, false})
    H.assert_values(i, {4, 0})
    local f = nn.tensor{1, 2}
    f:add_(nn.tensor({1, 1}, "int64"))
    H.assert_values(f, {2, 3})
  end)
end)

describe("clamp", function()
  local c = ref.clamp
  local x = T(c.input)

  it("matches PyTorch with both bounds, min only and max only", function()
    H.assert_close(x:clamp(-1, 1), T(c.both))
    H.assert_close(x:clamp(0.1), T(c.min))
    H.assert_close(x:clamp(nil, 0.5), T(c.max))
    H.assert_close(nn.clamp(x, -1, 1), T(c.both))
    local strided = x:view(2, 3):t()
    H.assert_close(strided:clamp(-1, 1), T(c.both):view(2, 3):t())
  end)

  it("clamp_ works in place on views and returns self", function()
    local base = x:clone():view(2, 3)
    local v = base:t()
    assert.are.equal(v, v:clamp_(-1, 1))
    H.assert_close(base:view(6), T(c.both))
  end)

  it("keeps int64 for integer bounds", function()
    local i = nn.tensor({-5, 0, 5}, "int64")
    local r = i:clamp(-2, 2)
    assert.are.equal("int64", r.dtype)
    H.assert_values(r, {-2, 0, 2})
    assert.are.equal("float32", i:clamp(-2.5, 2.5).dtype)
    H.assert_values(i:clamp(-2.5, 2.5), {-2.5, 0, 2.5})
    H.assert_values(i, {-5, 0, 5}) -- out of place
  end)
end)

describe("where", function()
  local w = ref.where

  it("selects with a broadcast mask, matching PyTorch", function()
    local mask, a, b = T(w.mask), T(w.a), T(w.b)
    H.assert_close(nn.where(mask, a, b), T(w.out))
    H.assert_close(nn.where(mask, a, 0.5), T(w.scalar_out))
    H.assert_close(nn.where(mask:t(), a:t(), b:view(3, 1)), T(w.out):t())
  end)

  it("works with masks from comparisons and promotes", function()
    local x = nn.tensor{-1, 2, -3}
    H.assert_values(nn.where(x:gt(0), x, 0), {0, 2, 0})
    local r = nn.where(x:gt(0), nn.tensor({1, 1, 1}, "int64"), 0.5)
    assert.are.equal("float32", r.dtype)
    H.assert_values(r, {0.5, 1, 0.5})
    local i = nn.where(x:lt(0), 1, 0)
    assert.are.equal("int64", i.dtype)
    H.assert_values(i, {1, 0, 1})
    H.assert_values(nn.where(nn.tensor{true, false}, nn.tensor{true, true}, nn.tensor{false, false}),
                    {true, false})
  end)
end)

describe("matmul, mm, outer", function()
  it("match PyTorch for every shape combination", function()
    for _, c in ipairs(ref.matmul) do
      local a, b, want = T(c.a), T(c.b), T(c.out)
      H.assert_close(nn.matmul(a, b), want, 1e-6, c.name)
      H.assert_close(a:matmul(b), want, 1e-6, c.name .. " (method)")
    end
  end)

  it("give the PyTorch result shapes", function()
    H.assert_shape(nn.matmul(nn.ones(3), nn.ones(3)), {})
    H.assert_shape(nn.matmul(nn.ones(2, 3), nn.ones(3)), {2})
    H.assert_shape(nn.matmul(nn.ones(3), nn.ones(3, 4)), {4})
    H.assert_shape(nn.matmul(nn.ones(5, 2, 3), nn.ones(3, 4)), {5, 2, 4})
    H.assert_shape(nn.matmul(nn.ones(2, 1, 2, 3), nn.ones(5, 3, 4)), {2, 5, 2, 4})
    H.assert_shape(nn.matmul(nn.ones(5, 2, 3), nn.ones(3)), {5, 2})
    H.assert_shape(nn.matmul(nn.ones(3), nn.ones(5, 3, 4)), {5, 4})
    assert.are.equal(3, nn.matmul(nn.ones(3), nn.ones(3)):item())
  end)

  it("read transposed, split and expanded operands", function()
    for _, c in ipairs(ref.matmul) do
      local a, b, want = T(c.a), T(c.b), T(c.out)
      if a:dim() == 2 and b:dim() == 2 then
        for na, va in pairs(layouts(a)) do
          for nb, vb in pairs(layouts(b)) do
            H.assert_close(va:matmul(vb), want, 1e-6, c.name .. " " .. na .. " x " .. nb)
          end
        end
      end
    end
    local v = nn.tensor{1, 2, 3}
    local strided = nn.tensor{{1, 0}, {2, 0}, {3, 0}}:split(1, 2)[1]:squeeze(2) -- stride 2
    H.assert_close(nn.matmul(strided, v), 14)
    local ex = nn.tensor{{1}, {2}}:expand(2, 3) -- stride 0 in the last dim
    H.assert_close(ex:matmul(nn.ones(3, 2)), {{3, 3}, {6, 6}})
    local batch = nn.tensor{{1, 2}, {3, 4}}:expand(3, 2, 2) -- stride-0 batch
    H.assert_close(batch:matmul(nn.eye(2)), nn.tensor{{1, 2}, {3, 4}}:expand(3, 2, 2))
  end)

  it("handles k = 0, empty and int64 products", function()
    H.assert_values(nn.matmul(nn.ones(2, 0), nn.ones(0, 3)), nn.zeros(2, 3))
    H.assert_shape(nn.matmul(nn.ones(0, 3), nn.ones(3, 2)), {0, 2})
    local i = nn.tensor({{1, 2}, {3, 4}}, "int64")
    local r = i:matmul(i)
    assert.are.equal("int64", r.dtype)
    H.assert_values(r, {{7, 10}, {15, 22}})
    local mixed = i:matmul(nn.eye(2))
    assert.are.equal("float32", mixed.dtype)
    H.assert_values(mixed, {{1, 2}, {3, 4}})
  end)

  it("mm multiplies 2-D tensors", function()
    local a, b = H.grid(2, 3), H.grid(3, 2)
    H.assert_values(a:mm(b), {{22, 28}, {49, 64}})
    H.assert_values(nn.mm(a, b), a:matmul(b))
    H.assert_values(b:t():mm(a:t()), a:mm(b):t())
  end)

  it("outer multiplies two vectors", function()
    local o = nn.tensor{1, 2, 3}:outer(nn.tensor{1, 10})
    H.assert_values(o, {{1, 10}, {2, 20}, {3, 30}})
    H.assert_values(nn.outer(nn.tensor{1, 2}, nn.tensor{3}), {{3}, {6}})
    local i = nn.outer(nn.tensor({1, 2}, "int64"), nn.tensor({3, 4}, "int64"))
    assert.are.equal("int64", i.dtype)
    local strided = H.grid(3, 2):split(1, 2)[2]:squeeze(2) -- {2, 4, 6}, stride 2
    H.assert_values(nn.outer(strided, nn.tensor{1, -1}), {{2, -2}, {4, -4}, {6, -6}})
  end)
end)

describe("threads", function()
  it("set_num_threads / get_num_threads round-trip and keep results", function()
    local before = nn.get_num_threads()
    assert.is_true(before >= 1)
    local a, b = nn.rand(64, 64), nn.rand(64, 64)
    local r1 = a:matmul(b)
    nn.set_num_threads(2)
    assert.are.equal(2, nn.get_num_threads())
    H.assert_close(a:matmul(b), r1, 1e-5)
    nn.set_num_threads(before)
    assert.are.equal(before, nn.get_num_threads())
  end)
end)
