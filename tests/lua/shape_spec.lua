-- Shapes and views: size/stride/dim/numel/#t, view/reshape, transpose/t/
-- permute, squeeze/unsqueeze/flatten, expand/expand_as, contiguous,
-- cat/stack/split/chunk -- on contiguous and non-contiguous inputs, and
-- views sharing storage with their base.
local nn = require "nn"
local H = require "helpers"

local grid = H.grid

describe("size, stride, dim, numel, #", function()
  local t = nn.zeros(2, 3, 4)

  it("report the geometry, 1-based and negative dims", function()
    H.assert_values(t:size(), {2, 3, 4})
    H.assert_values(t.shape, {2, 3, 4})
    -- shape arrays print their sizes, in scripts as in the REPL
    assert.are.equal("{2, 3, 4}", tostring(t.shape))
    assert.are.equal("{2, 3, 4}", tostring(t:size()))
    assert.are.equal("{}", tostring(nn.tensor(1).shape))
    assert.are.equal("{0, 5}", tostring(nn.zeros(0, 5).shape))
    -- otherwise plain arrays: #, ipairs, unpack, writable, usable as a shape
    local s = t.shape
    assert.are.equal(3, #s)
    assert.are.same({2, 3, 4}, {table.unpack(s)})
    s[1] = 7
    assert.are.equal("{7, 3, 4}", tostring(s))
    H.assert_shape(nn.zeros(t.shape), {2, 3, 4})
    assert.are.equal(3, t:size(2))
    assert.are.equal(4, t:size(-1))
    assert.are.equal(2, t:size(-3))
    H.assert_values(t:stride(), {12, 4, 1})
    assert.are.equal(4, t:stride(2))
    assert.are.equal(1, t:stride(-1))
    assert.are.equal(3, t:dim())
    assert.are.equal(24, t:numel())
    assert.are.equal(2, #t)
    assert.are.equal(0, nn.tensor(1.5):dim())
    assert.are.equal(1, nn.tensor(1.5):numel())
    H.assert_values(nn.tensor(1.5):size(), {})
    assert.are.equal(0, #nn.zeros(0, 3))
  end)

  it("are also module functions", function()
    assert.are.equal(24, nn.numel(t))
    assert.are.equal(3, nn.size(t, 2))
  end)

  it("follow a transpose", function()
    local u = t:transpose(1, 3)
    H.assert_values(u:size(), {4, 3, 2})
    H.assert_values(u:stride(), {1, 4, 12})
    assert.are.equal(4, #u)
    assert.is_false(u:is_contiguous())
    assert.is_true(t:is_contiguous())
  end)
end)

describe("view and reshape", function()
  it("view a contiguous tensor, inferring -1", function()
    local t = nn.arange(12)
    local v = t:view(3, 4)
    H.assert_values(v, {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}})
    H.assert_shape(t:view(2, -1), {2, 6})
    H.assert_shape(t:view{-1, 3}, {4, 3})
    H.assert_shape(t:view(2, 2, 3), {2, 2, 3})
    H.assert_shape(t:view(1, 12, 1), {1, 12, 1})
    H.assert_shape(nn.tensor(5):view(1), {1})
    H.assert_shape(nn.tensor{5}:view(), {}) -- one element as 0-dim
    H.assert_shape(nn.zeros(0, 4):view(-1, 2), {0, 2})
  end)

  it("share storage with the base", function()
    local t = nn.zeros(2, 3)
    local v = t:view(6)
    v:fill_(7)
    H.assert_values(t, {{7, 7, 7}, {7, 7, 7}})
    t:view(3, 2):copy_(nn.arange(6):view(3, 2))
    H.assert_values(t, {{0, 1, 2}, {3, 4, 5}})
    H.assert_values(v, {0, 1, 2, 3, 4, 5})
  end)

  it("view a non-contiguous tensor where strides allow (split dims)", function()
    local t = grid(4, 6):t() -- [6, 4], not contiguous
    local v = t:view(2, 3, 4) -- splits dim 1 only
    H.assert_values(v, t:contiguous():view(2, 3, 4))
    v:fill_(0) -- and it is a view
    H.assert_values(t, nn.zeros(6, 4))
    -- a narrowed last dim: rows of the piece are viewable
    local piece = nn.arange(24):view(2, 3, 4):split(2, 3)[1] -- [2,3,2]
    H.assert_values(piece:view(6, 2), {{0, 1}, {4, 5}, {8, 9}, {12, 13}, {16, 17}, {20, 21}})
  end)

  it("reshape copies only when a view is impossible", function()
    local t = grid(3, 4)
    local r = t:reshape(4, 3)
    r:fill_(0)
    H.assert_values(t, nn.zeros(3, 4)) -- a view of a contiguous tensor
    local u = grid(3, 4):t() -- [4, 3]
    local flat = u:reshape(-1)
    H.assert_values(flat, {1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12})
    flat:fill_(0)
    H.assert_values(u, grid(3, 4):t()) -- a copy: the source is untouched
    H.assert_shape(u:reshape{2, 6}, {2, 6})
  end)
end)

describe("transpose, t, permute", function()
  local g = grid(2, 3)

  it("transpose swaps two dims as a view", function()
    H.assert_values(g:transpose(1, 2), {{1, 4}, {2, 5}, {3, 6}})
    H.assert_values(g:transpose(-1, -2), {{1, 4}, {2, 5}, {3, 6}})
    H.assert_values(g:transpose(1, 1), g)
    local t3 = nn.arange(24):view(2, 3, 4)
    local u = t3:transpose(1, 3)
    H.assert_shape(u, {4, 3, 2})
    assert.are.equal(12, u:contiguous():view(-1):totable()[2]) -- u[1,1,2] = t3[2,1,1]
    local x = nn.zeros(2, 3)
    x:transpose(1, 2):fill_(1)
    H.assert_values(x, nn.ones(2, 3))
  end)

  it("t transposes 2-D and leaves 1-D and 0-D alone", function()
    H.assert_values(g:t(), {{1, 4}, {2, 5}, {3, 6}})
    H.assert_values(g:t():t(), g)
    H.assert_values(nn.tensor{1, 2}:t(), {1, 2})
    assert.are.equal(2.5, nn.tensor(2.5):t():item())
  end)

  it("permute reorders dims, negative dims included", function()
    local t = nn.arange(24):view(2, 3, 4)
    local p = t:permute(3, 1, 2)
    H.assert_shape(p, {4, 2, 3})
    H.assert_values(p:stride(), {1, 12, 4})
    H.assert_values(t:permute{3, 1, 2}, p)
    H.assert_values(t:permute(-1, -3, -2), p)
    H.assert_values(t:permute(1, 2, 3), t)
    local c = p:contiguous()
    H.assert_values(c, {
      {{0, 4, 8}, {12, 16, 20}},
      {{1, 5, 9}, {13, 17, 21}},
      {{2, 6, 10}, {14, 18, 22}},
      {{3, 7, 11}, {15, 19, 23}},
    })
  end)
end)

describe("squeeze, unsqueeze, flatten", function()
  it("squeeze drops size-1 dims", function()
    local t = nn.zeros(1, 3, 1, 2)
    H.assert_shape(t:squeeze(), {3, 2})
    H.assert_shape(t:squeeze(1), {3, 1, 2})
    H.assert_shape(t:squeeze(-2), {1, 3, 2})
    H.assert_shape(t:squeeze(2), {1, 3, 1, 2}) -- not size 1: unchanged, as PyTorch
    H.assert_shape(nn.zeros(1, 1):squeeze(), {})
    local s = nn.zeros(1, 3)
    s:squeeze():fill_(2)
    H.assert_values(s, {{2, 2, 2}})
  end)

  it("unsqueeze inserts a size-1 dim anywhere", function()
    local t = grid(2, 3)
    H.assert_shape(t:unsqueeze(1), {1, 2, 3})
    H.assert_shape(t:unsqueeze(2), {2, 1, 3})
    H.assert_shape(t:unsqueeze(3), {2, 3, 1})
    H.assert_shape(t:unsqueeze(-1), {2, 3, 1})
    H.assert_shape(t:unsqueeze(-3), {1, 2, 3})
    H.assert_shape(nn.tensor(1):unsqueeze(1), {1})
    H.assert_values(t:t():unsqueeze(2):squeeze(2), t:t())
    H.assert_values(t:unsqueeze(2), {{{1, 2, 3}}, {{4, 5, 6}}})
  end)

  it("flatten merges a dim range", function()
    local t = nn.arange(24):view(2, 3, 4)
    H.assert_shape(t:flatten(), {24})
    H.assert_shape(t:flatten(2), {2, 12})
    H.assert_shape(t:flatten(1, 2), {6, 4})
    H.assert_shape(t:flatten(-2, -1), {2, 12})
    H.assert_shape(nn.tensor(3):flatten(), {1})
    H.assert_values(grid(2, 3):t():flatten(), {1, 4, 2, 5, 3, 6}) -- non-contiguous: a copy
    local v = t:flatten()
    v:fill_(0) -- contiguous: a view
    H.assert_values(t, nn.zeros(2, 3, 4, {dtype = "int64"}))
  end)
end)

describe("expand, expand_as, contiguous", function()
  it("expand repeats size-1 dims without copying", function()
    local col = nn.tensor{{1}, {2}, {3}}
    local e = col:expand(3, 4)
    H.assert_values(e, {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}})
    H.assert_values(e:stride(), {1, 0})
    H.assert_shape(col:expand(2, 3, 4), {2, 3, 4})
    H.assert_shape(col:expand(-1, 5), {3, 5})
    H.assert_shape(col:expand{3, 2}, {3, 2})
    H.assert_shape(nn.tensor(7):expand(2, 2), {2, 2})
    col:fill_(9)
    H.assert_values(e, nn.full({3, 4}, 9)) -- shares storage
  end)

  it("expand_as takes another tensor's shape", function()
    local row = nn.tensor{1, 2}
    local e = row:expand_as(nn.zeros(3, 2))
    H.assert_values(e, {{1, 2}, {1, 2}, {1, 2}})
  end)

  it("contiguous copies only when needed", function()
    local t = grid(2, 3)
    local same = t:contiguous()
    same:fill_(0)
    H.assert_values(t, nn.zeros(2, 3)) -- the same storage
    local u = grid(2, 3):t()
    local c = u:contiguous()
    assert.is_true(c:is_contiguous())
    H.assert_values(c:stride(), {2, 1})
    H.assert_values(c, u)
    local e = nn.tensor{{1}, {2}}:expand(2, 3):contiguous()
    H.assert_values(e:stride(), {3, 1})
    H.assert_values(e, {{1, 1, 1}, {2, 2, 2}})
  end)
end)

describe("cat and stack", function()
  local a, b = grid(2, 3), grid(1, 3) * 10

  it("cat joins along an existing dim", function()
    H.assert_values(nn.cat({a, b}), {{1, 2, 3}, {4, 5, 6}, {10, 20, 30}})
    H.assert_values(nn.cat({a, a}, 2), {{1, 2, 3, 1, 2, 3}, {4, 5, 6, 4, 5, 6}})
    H.assert_values(nn.cat({a, a}, -1), nn.cat({a, a}, 2))
    H.assert_values(nn.cat({a}), a)
    H.assert_values(nn.cat({nn.tensor{1}, nn.tensor{2, 3}}), {1, 2, 3})
  end)

  it("cat reads non-contiguous inputs and promotes dtypes", function()
    local t = nn.cat({a:t(), b:t()}, 2) -- [3,2] and [3,1]
    H.assert_values(t, {{1, 4, 10}, {2, 5, 20}, {3, 6, 30}})
    local mixed = nn.cat({nn.tensor({1, 2}, "int64"), nn.tensor{0.5}})
    assert.are.equal("float32", mixed.dtype)
    H.assert_values(mixed, {1, 2, 0.5})
    local ints = nn.cat({nn.tensor({1}, "int64"), nn.tensor{true}})
    assert.are.equal("int64", ints.dtype)
    H.assert_values(ints, {1, 1})
    local ex = nn.cat({nn.tensor{{1}, {2}}:expand(2, 2), a}, 2)
    H.assert_values(ex, {{1, 1, 1, 2, 3}, {2, 2, 4, 5, 6}})
  end)

  it("cat output is a new tensor", function()
    local c = nn.cat({a, b})
    c:fill_(0)
    H.assert_values(a, grid(2, 3))
  end)

  it("stack joins along a new dim", function()
    local x, y = nn.tensor{1, 2}, nn.tensor{3, 4}
    H.assert_values(nn.stack({x, y}), {{1, 2}, {3, 4}})
    H.assert_values(nn.stack({x, y}, 2), {{1, 3}, {2, 4}})
    H.assert_values(nn.stack({x, y}, -1), {{1, 3}, {2, 4}})
    H.assert_shape(nn.stack({a, a, a}, 2), {2, 3, 3})
    H.assert_values(nn.stack({a, a * 2}, 3):totable()[1][1], {1, 2})
    H.assert_values(nn.stack({nn.tensor(1), nn.tensor(2)}), {1, 2})
    H.assert_values(nn.stack({a:t(), a:t()}), {a:t():totable(), a:t():totable()})
  end)
end)

describe("split and chunk", function()
  it("split by size gives views, the last one smaller", function()
    local t = nn.arange(10)
    local parts = t:split(4)
    assert.are.equal(3, #parts)
    H.assert_values(parts[1], {0, 1, 2, 3})
    H.assert_values(parts[3], {8, 9})
    parts[2]:fill_(-1)
    H.assert_values(t, {0, 1, 2, 3, -1, -1, -1, -1, 8, 9})
  end)

  it("split by a list of sizes and along any dim", function()
    local g = grid(3, 4)
    local p = g:split({1, 3}, 2)
    H.assert_values(p[1], {{1}, {5}, {9}})
    H.assert_values(p[2], {{2, 3, 4}, {6, 7, 8}, {10, 11, 12}})
    local q = g:split(2, -1)
    assert.are.equal(2, #q)
    H.assert_values(q[2], {{3, 4}, {7, 8}, {11, 12}})
    assert.is_false(q[2]:is_contiguous())
    local r = g:t():split(1, 2) -- pieces of a transposed tensor
    assert.are.equal(3, #r)
    H.assert_values(r[3], {{9}, {10}, {11}, {12}})
    H.assert_values(g:split({0, 3}, 1)[1]:size(), {0, 4})
    local empty = nn.zeros(2, 0):split(1, 2) -- one empty piece, as PyTorch
    assert.are.equal(1, #empty)
    H.assert_shape(empty[1], {2, 0})
  end)

  it("chunk splits into n nearly equal pieces", function()
    local t = nn.arange(10)
    local c = t:chunk(3)
    assert.are.equal(3, #c)
    H.assert_values(c[1], {0, 1, 2, 3})
    H.assert_values(c[3], {8, 9})
    assert.are.equal(2, #nn.arange(4):chunk(3)) -- pieces of ceil(4/3)=2, as PyTorch
    local base = grid(2, 6)
    local g = base:chunk(2, 2)
    H.assert_values(g[2], {{4, 5, 6}, {10, 11, 12}})
    g[1]:zero_() -- pieces are views
    H.assert_values(base, {{0, 0, 0, 4, 5, 6}, {0, 0, 0, 10, 11, 12}})
    assert.are.equal(5, #nn.arange(5):chunk(10))
  end)
end)

describe("t[i] (smoke)", function()
  it("reads a 1-D element and an N-D row", function()
    local v = nn.tensor{10, 20, 30}
    assert.are.equal(20, v[2])
    H.assert_values(grid(2, 3)[2], {4, 5, 6})
  end)
end)
