-- Tensor creation: nn.tensor, zeros/ones/empty/full, arange/linspace/eye
-- (values and dtype inference against PyTorch), the random constructors,
-- *_like, the in-place random fills, and the generator's seed and state.
local nn = require "nn"
local H = require "helpers"

describe("nn.tensor", function()
  it("builds float32 tensors from nested tables", function()
    local t = nn.tensor{{1, 2, 3}, {4, 5, 6}}
    H.assert_shape(t, {2, 3})
    assert.are.equal("float32", t.dtype)
    H.assert_values(t, {{1, 2, 3}, {4, 5, 6}})
    assert.are.equal("float", math.type(t:totable()[1][1]))
  end)

  it("takes a dtype", function()
    local t = nn.tensor({1, 2, 3}, "int64")
    assert.are.equal("int64", t.dtype)
    assert.are.equal("integer", math.type(t:totable()[1]))
    assert.are.equal("bool", nn.tensor({0, 2}, "bool").dtype)
    H.assert_values(nn.tensor({0, 2}, "bool"), {false, true})
    -- aliases
    assert.are.equal("float32", nn.tensor({1}, "float").dtype)
    assert.are.equal("int64", nn.tensor({1}, "long").dtype)
  end)

  it("infers bool from boolean leaves", function()
    local b = nn.tensor{{true, false}, {false, true}}
    assert.are.equal("bool", b.dtype)
    H.assert_values(b, {{true, false}, {false, true}})
  end)

  it("keeps int64 values exactly, beyond float precision", function()
    local big = math.maxinteger
    local t = nn.tensor({big, -big, 2^53 + 1}, "int64")
    H.assert_values(t, {big, -big, 2^53 + 1})
    H.assert_values(nn.tensor({2.9, -2.9}, "int64"), {2, -2}) -- truncates as PyTorch
  end)

  it("makes 0-dim tensors from numbers and booleans", function()
    local s = nn.tensor(3.5)
    assert.are.equal(0, s:dim())
    assert.are.equal(3.5, s:item())
    assert.are.equal("float32", s.dtype)
    local i = nn.tensor(7, "int64")
    assert.are.equal(7, i:item())
    assert.are.equal("integer", math.type(i:item()))
    assert.are.equal(math.maxinteger, nn.tensor(math.maxinteger, "int64"):item())
    assert.are.equal(true, nn.tensor(true):item())
    assert.are.equal("bool", nn.tensor(true).dtype)
  end)

  it("copies a tensor, optionally converting it", function()
    local a = nn.tensor{1.5, 2.5}
    local b = nn.tensor(a)
    b:fill_(0)
    H.assert_values(a, {1.5, 2.5})
    local c = nn.tensor(a, "int64")
    assert.are.equal("int64", c.dtype)
    H.assert_values(c, {1, 2})
    H.assert_values(nn.tensor(a:t()), {1.5, 2.5})
  end)

  it("builds empty tensors", function()
    local e = nn.tensor{}
    H.assert_shape(e, {0})
    assert.are.equal(0, e:numel())
    H.assert_shape(nn.tensor{{}, {}}, {2, 0})
  end)
end)

describe("zeros, ones, empty, full", function()
  it("take sizes as numbers or one table", function()
    for _, f in ipairs{"zeros", "ones", "empty"} do
      H.assert_shape(nn[f](2, 3), {2, 3})
      H.assert_shape(nn[f]{2, 3}, {2, 3})
      H.assert_shape(nn[f](4), {4})
      assert.are.equal("float32", nn[f](2).dtype)
    end
    H.assert_values(nn.zeros(2, 2), {{0, 0}, {0, 0}})
    H.assert_values(nn.ones{3}, {1, 1, 1})
    H.assert_shape(nn.zeros(2, 0, 3), {2, 0, 3})
    assert.are.equal(0, nn.zeros(2, 0, 3):numel())
    assert.are.equal(0, nn.zeros():dim()) -- no sizes: 0-dim, as torch.zeros(())
  end)

  it("take a dtype option", function()
    local z = nn.zeros(2, 3, {dtype = "int64"})
    assert.are.equal("int64", z.dtype)
    H.assert_values(z, {{0, 0, 0}, {0, 0, 0}})
    local o = nn.ones({2}, {dtype = "bool"})
    assert.are.equal("bool", o.dtype)
    H.assert_values(o, {true, true})
    assert.are.equal("int64", nn.empty({1}, {dtype = "int64"}).dtype)
  end)

  it("refuse options other than dtype", function()
    H.assert_error(function() nn.zeros(2, {dtyp = "int64"}) end, "zeros: unknown option 'dtyp' (did you mean 'dtype'? known: dtype)")
    H.assert_error(function() nn.full({2}, 1, {device = "cpu"}) end, "full: unknown option 'device'")
    H.assert_error(function() nn.eye(2, {size = 3}) end, "eye: unknown option 'size'")
    H.assert_error(function() nn.zeros_like(nn.zeros(2), {dtyp = "bool"}) end, "zeros_like: unknown option 'dtyp'")
  end)

  it("accept integral floats as sizes (1e3)", function()
    H.assert_shape(nn.zeros(1e3), {1000})
  end)

  it("full infers the dtype from the value, as PyTorch", function()
    for _, c in ipairs(H.reference().creation) do
      if c.fn == "full" then
        local t = nn.full(c.args[1], c.args[2])
        H.assert_close(t, H.from_spec(c.out), 0, "full(" .. tostring(c.args[2]) .. ")")
      end
    end
    assert.are.equal("float32", nn.full({2}, 3, {dtype = "float32"}).dtype)
    H.assert_values(nn.full({2}, 3, {dtype = "float32"}), {3, 3})
    H.assert_values(nn.full({2}, math.mininteger), {math.mininteger, math.mininteger})
    H.assert_shape(nn.full(3, 1.5), {3})
  end)
end)

describe("ranges", function()
  it("arange, linspace and eye match PyTorch values and dtypes", function()
    for _, c in ipairs(H.reference().creation) do
      if c.fn ~= "full" then
        local t = nn[c.fn](table.unpack(c.args))
        local label = ("%s(%s)"):format(c.fn, table.concat(c.args, ", "))
        H.assert_close(t, H.from_spec(c.out), 1e-6, label)
      end
    end
  end)

  it("arange is int64 for integer bounds and float32 otherwise", function()
    assert.are.equal("int64", nn.arange(5).dtype)
    assert.are.equal("int64", nn.arange(1, 5, 2).dtype)
    assert.are.equal("float32", nn.arange(5.0).dtype)
    assert.are.equal("float32", nn.arange(0, 2, 0.5).dtype)
    assert.are.equal("float32", nn.arange(5, {dtype = "float32"}).dtype)
    H.assert_values(nn.arange(5, {dtype = "float32"}), {0, 1, 2, 3, 4})
    H.assert_shape(nn.arange(3, 3), {0})
    H.assert_values(nn.arange(-3, 0), {-3, -2, -1})
  end)

  it("linspace includes both ends", function()
    local t = nn.linspace(0, 10, 11)
    assert.are.equal(0, t:totable()[1])
    assert.are.equal(10, t:totable()[11])
    assert.are.equal("float32", t.dtype)
    H.assert_shape(nn.linspace(0, 1, 0), {0})
    H.assert_values(nn.linspace(5, 9, 1), {5}) -- one step is the start, as PyTorch
  end)

  it("eye is square by default and can be rectangular", function()
    H.assert_values(nn.eye(2), {{1, 0}, {0, 1}})
    H.assert_values(nn.eye(3, 2), {{1, 0}, {0, 1}, {0, 0}})
    H.assert_shape(nn.eye(0), {0, 0})
    H.assert_shape(nn.eye(0, 3), {0, 3})
    assert.are.equal("float32", nn.eye(2).dtype)
    local i = nn.eye(2, {dtype = "int64"})
    assert.are.equal("int64", i.dtype)
    H.assert_values(i, {{1, 0}, {0, 1}})
    local b = nn.eye(2, 3, {dtype = "bool"})
    assert.are.equal("bool", b.dtype)
    H.assert_values(b, {{true, false, false}, {false, true, false}})
  end)

  it("checks their arguments", function()
    H.assert_error(function() nn.arange(3, {dtype = "bool"}) end, "arange: dtype bool is not supported")
    H.assert_error(function() nn.arange(0, 3, 0) end, "arange: start 0, end 3 and step 0 must be finite")
    H.assert_error(function() nn.arange(0, 1 / 0) end, "must be finite with a nonzero step")
    H.assert_error(function() nn.arange(3, 0) end, "arange: end 0 is not reachable from start 3 with step 1")
    H.assert_error(function() nn.arange(0, 1e300, 1e-300) end, "arange: ", "elements is too many")
    H.assert_error(function() nn.arange() end, "arange: expects 1 to 3 numbers, got 0")
    H.assert_error(function() nn.arange("a") end, "arange: start must be a number, got string")
    H.assert_error(function() nn.linspace(0, 1, -1) end, "linspace: steps must be non-negative, got -1")
    H.assert_error(function() nn.linspace(0, "b", 2) end, "linspace: end must be a number, got string")
    H.assert_error(function() nn.eye(-1) end, "eye: sizes must be non-negative, got -1 and -1")
    H.assert_error(function() nn.eye(2, -3) end, "eye: sizes must be non-negative, got 2 and -3")
  end)

  it("arange steps down and by fractions", function()
    H.assert_values(nn.arange(5, 0, -2), {5, 3, 1})
    H.assert_values(nn.arange(0, 1, 0.25), {0, 0.25, 0.5, 0.75})
    H.assert_values(nn.arange(1, 0, -0.5), {1, 0.5})
  end)
end)

describe("random constructors", function()
  it("rand is uniform in [0, 1)", function()
    nn.manual_seed(1)
    local t = nn.rand(100, 100)
    H.assert_shape(t, {100, 100})
    assert.are.equal("float32", t.dtype)
    local lo, hi, sum = 1, 0, 0
    for _, row in ipairs(t:totable()) do
      for _, v in ipairs(row) do
        lo, hi, sum = math.min(lo, v), math.max(hi, v), sum + v
      end
    end
    assert.is_true(lo >= 0 and hi < 1)
    assert.is_true(math.abs(sum / 1e4 - 0.5) < 0.02)
    H.assert_shape(nn.rand{2, 3}, {2, 3})
  end)

  it("randn has mean 0 and std 1", function()
    nn.manual_seed(2)
    local v = nn.randn(20000):totable()
    local s, s2 = 0, 0
    for _, x in ipairs(v) do s = s + x end
    local mean = s / #v
    for _, x in ipairs(v) do s2 = s2 + (x - mean) ^ 2 end
    assert.is_true(math.abs(mean) < 0.03)
    assert.is_true(math.abs(math.sqrt(s2 / (#v - 1)) - 1) < 0.03)
    H.assert_shape(nn.randn(2, 3), {2, 3})
  end)

  it("randint excludes high and is int64", function()
    nn.manual_seed(3)
    local t = nn.randint(-2, 3, {1000})
    assert.are.equal("int64", t.dtype)
    local seen = {}
    for _, x in ipairs(t:totable()) do
      assert.is_true(x >= -2 and x < 3)
      assert.are.equal("integer", math.type(x))
      seen[x] = true
    end
    for x = -2, 2 do assert.is_true(seen[x]) end
    local u = nn.randint(4, {2, 5}) -- randint(high, size) starts at 0
    H.assert_shape(u, {2, 5})
    for _, row in ipairs(u:totable()) do
      for _, x in ipairs(row) do assert.is_true(x >= 0 and x < 4) end
    end
  end)

  it("randperm is a permutation of 1..n", function()
    nn.manual_seed(4)
    local p = nn.randperm(50)
    assert.are.equal("int64", p.dtype)
    local v, seen = p:totable(), {}
    assert.are.equal(50, #v)
    for _, x in ipairs(v) do
      assert.is_true(x >= 1 and x <= 50 and not seen[x])
      seen[x] = true
    end
    H.assert_shape(nn.randperm(0), {0})
    H.assert_values(nn.randperm(1), {1})
  end)
end)

describe("manual_seed and the generator state", function()
  it("the same seed gives identical tensors", function()
    nn.manual_seed(123)
    local a, b, c, d = nn.rand(5), nn.randn(3, 3), nn.randint(0, 100, {4}), nn.randperm(6)
    nn.manual_seed(123)
    H.assert_values(nn.rand(5), a)
    H.assert_values(nn.randn(3, 3), b)
    H.assert_values(nn.randint(0, 100, {4}), c)
    H.assert_values(nn.randperm(6), d)
    nn.manual_seed(124)
    assert.is_false(H.equal(nn.rand(5), a))
  end)

  it("get_rng_state / set_rng_state replay the stream", function()
    nn.manual_seed(9)
    nn.rand(3)
    local state = nn.get_rng_state()
    assert.are.equal("int64", state.dtype)
    H.assert_shape(state, {4})
    local x = nn.randn(10)
    local y = nn.rand(2, 2)
    nn.set_rng_state(state)
    H.assert_values(nn.randn(10), x)
    H.assert_values(nn.rand(2, 2), y)
    -- the state is a copy: drawing does not change a saved state
    local s2 = nn.get_rng_state()
    nn.rand(100)
    assert.is_false(H.equal(nn.get_rng_state(), s2))
    nn.set_rng_state(s2:clone())
    H.assert_values(nn.get_rng_state(), s2)
  end)
end)

describe("*_like", function()
  local src = nn.tensor({{1, 2, 3}, {4, 5, 6}}, "int64")

  it("keep shape and dtype", function()
    local z = nn.zeros_like(src)
    H.assert_shape(z, {2, 3})
    assert.are.equal("int64", z.dtype)
    H.assert_values(z, {{0, 0, 0}, {0, 0, 0}})
    H.assert_values(nn.ones_like(src), {{1, 1, 1}, {1, 1, 1}})
    H.assert_values(nn.full_like(src, 7), {{7, 7, 7}, {7, 7, 7}})
    H.assert_values(nn.full_like(src:float(), 0.5), {{0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}})
  end)

  it("take a dtype option", function()
    local z = nn.zeros_like(src, {dtype = "float32"})
    assert.are.equal("float32", z.dtype)
    assert.are.equal("bool", nn.ones_like(src, {dtype = "bool"}).dtype)
  end)

  it("work on non-contiguous sources", function()
    local t = nn.zeros(3, 4):t()
    H.assert_shape(nn.ones_like(t), {4, 3})
    assert.is_true(nn.ones_like(t):is_contiguous())
    local r = nn.rand_like(t)
    H.assert_shape(r, {4, 3})
    H.assert_shape(nn.randn_like(nn.zeros(2, 5)), {2, 5})
  end)

  it("rand_like and randn_like follow the seed", function()
    local t = nn.zeros(2, 3)
    nn.manual_seed(5)
    local a, b = nn.rand_like(t), nn.randn_like(t)
    nn.manual_seed(5)
    H.assert_values(nn.rand_like(t), a)
    H.assert_values(nn.randn_like(t), b)
  end)
end)

describe("in-place random fills", function()
  it("uniform_ and normal_ fill views and return self", function()
    nn.manual_seed(6)
    local base = nn.zeros(4, 6)
    local half = base:split(3, 2)[1] -- columns 1..3, a strided view
    assert.are.equal(half, half:uniform_(2, 3))
    for _, row in ipairs(base:totable()) do
      for j, v in ipairs(row) do
        if j <= 3 then assert.is_true(v >= 2 and v < 3) else assert.are.equal(0, v) end
      end
    end
    local n = nn.zeros(10000)
    assert.are.equal(n, n:normal_(5, 2))
    local s = 0
    for _, v in ipairs(n:totable()) do s = s + v end
    assert.is_true(math.abs(s / 10000 - 5) < 0.1)
  end)

  it("bernoulli_ gives 0/1 with probability p", function()
    nn.manual_seed(7)
    local t = nn.zeros(10000)
    assert.are.equal(t, t:bernoulli_(0.3))
    local ones = 0
    for _, v in ipairs(t:totable()) do
      assert.is_true(v == 0 or v == 1)
      ones = ones + v
    end
    assert.is_true(math.abs(ones / 10000 - 0.3) < 0.03)
    H.assert_values(nn.zeros(5):bernoulli_(1), {1, 1, 1, 1, 1})
    H.assert_values(nn.ones(5):bernoulli_(0), {0, 0, 0, 0, 0})
  end)
end)
