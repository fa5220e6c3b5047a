-- Indexing: t[i], t[i] = v, select, narrow, index, gather, scatter_,
-- masked_fill(_), masked_select — on contiguous and strided inputs, and
-- their error messages (function name and numbers).
local nn = require "nn"
local H = require "helpers"

local function long(t) return nn.tensor(t, "int64") end

describe("t[i]", function()
  it("gives Lua values on a 1-D tensor, by dtype", function()
    local f = nn.tensor{1.5, 2, 3}
    assert.are.equal(1.5, f[1])
    assert.are.equal("float", math.type(f[2]))
    local l = long{10, 20, 30}
    assert.are.equal(30, l[3])
    assert.are.equal("integer", math.type(l[3]))
    local b = nn.tensor{true, false}
    assert.are.equal(true, b[1])
    assert.are.equal(false, b[2])
  end)

  it("counts negative indices from the end", function()
    local t = nn.tensor{1, 2, 3}
    assert.are.equal(3, t[-1])
    assert.are.equal(1, t[-3])
    assert.are.same({4, 5, 6}, H.grid(2, 3)[-1]:totable())
  end)

  it("gives a view of row i on an N-D tensor", function()
    local t = H.grid(3, 4)
    local row = t[2]
    assert.are.same({5, 6, 7, 8}, row:totable())
    assert.are.same({4}, row.shape)
    row[3] = 70 -- writes through to t
    assert.are.equal(70, t[2][3])
    local plane = nn.zeros(2, 3, 4)[2]
    assert.are.same({3, 4}, plane.shape)
  end)

  it("follows the strides of non-contiguous tensors", function()
    local t = H.grid(3, 4)
    local tt = t:transpose(1, 2) -- [4,3]
    assert.are.same({2, 6, 10}, tt[2]:totable())
    assert.are.equal(7, tt[3][2])
    local n = t:narrow(2, 2, 2) -- columns 2..3
    assert.are.same({6, 7}, n[2]:totable())
    local e = nn.tensor{1, 2, 3}:view(1, 3):expand(4, 3)
    assert.are.same({1, 2, 3}, e[4]:totable())
  end)

  it("raises on index 0, out of range and non-integer indices", function()
    local t = nn.tensor{1, 2, 3}
    H.assert_error(function() return t[0] end, "tensor", "index 0", "1-based", "size 3")
    H.assert_error(function() return t[4] end, "tensor", "index 4", "dim 1", "size 3")
    H.assert_error(function() return t[-4] end, "tensor", "index -4", "size 3")
    H.assert_error(function() return t[1.5] end, "tensor", "1.5")
    H.assert_error(function() return H.grid(2, 3)[3] end, "index 3", "size 2")
    H.assert_error(function() return nn.tensor(5)[1] end, "tensor", "0-dim")
  end)

  it("raises on a key that is not a number, naming its type", function()
    local t = H.grid(2, 3)
    H.assert_error(function() return t[{{}, 1}] end, "index:", "table key", "narrow")
    H.assert_error(function() return t[true] end, "index:", "boolean key")
    H.assert_error(function() return t[t] end, "index:", "userdata key")
    -- methods, properties and unknown names still read as before
    assert.are.equal("function", type(t.sum))
    assert.are.equal("float32", t.dtype)
    assert.is_nil(t.no_such_field)
  end)
end)

describe("t[i] = v", function()
  it("sets an element of a 1-D tensor", function()
    local t = nn.tensor{1, 2, 3}
    t[2] = 20
    t[-1] = 30
    assert.are.same({1, 20, 30}, t:totable())
    local b = nn.tensor{true, true}
    b[1] = false
    assert.are.same({false, true}, b:totable())
  end)

  it("keeps int64 values exact", function()
    local t = long{0, 0}
    t[1] = math.maxinteger
    assert.are.equal(math.maxinteger, t[1])
  end)

  it("fills a row with a number", function()
    local t = H.grid(2, 3)
    t[1] = 0
    assert.are.same({{0, 0, 0}, {4, 5, 6}}, t:totable())
  end)

  it("copies a tensor into a row, broadcasting and converting", function()
    local t = H.grid(2, 3)
    t[2] = long{7, 8, 9}
    assert.are.same({{1, 2, 3}, {7, 8, 9}}, t:totable())
    t[1] = nn.tensor{5}
    assert.are.same({5, 5, 5}, t[1]:totable())
    t[2] = nn.tensor{{1, 2, 3}} -- leading size-1 dims are dropped, as PyTorch
    assert.are.same({1, 2, 3}, t[2]:totable())
    local v = nn.tensor{1, 2, 3}
    v[2] = nn.tensor{{8}}
    assert.are.same({1, 8, 3}, v:totable())
    local l = long{{1, 2}, {3, 4}}
    l[1] = nn.tensor{2.7, -1.5} -- float -> int64 truncates
    assert.are.same({2, -1}, l[1]:totable())
  end)

  it("writes through non-contiguous views", function()
    local t = H.grid(3, 4)
    local tt = t:transpose(1, 2)
    tt[2] = 0 -- column 2 of t
    assert.are.same({{1, 0, 3, 4}, {5, 0, 7, 8}, {9, 0, 11, 12}}, t:totable())
    tt[4] = nn.tensor{-1, -2, -3}
    assert.are.same({-1, -2, -3}, t:select(2, 4):totable())
  end)

  it("reads a source that overlaps the destination before writing", function()
    local t = H.grid(3, 3)
    t[1] = t:select(2, 1) -- column 1 {1,4,7} into row 1, which holds t[1][1]
    assert.are.same({{1, 4, 7}, {4, 5, 6}, {7, 8, 9}}, t:totable())
  end)

  it("raises on bad keys, values and shapes", function()
    local t = H.grid(2, 3)
    H.assert_error(function() t.foo = 1 end, "tensor", "cannot set field 'foo'")
    H.assert_error(function() t[true] = 1 end, "tensor", "boolean")
    H.assert_error(function() t[0] = 1 end, "tensor", "index 0", "1-based")
    H.assert_error(function() t[3] = 1 end, "tensor", "index 3", "size 2")
    H.assert_error(function() t[1] = nn.tensor{1, 2} end, "tensor", "[2]", "[3]")
    H.assert_error(function() t[1] = nn.zeros(2, 3) end, "tensor", "[2,3]", "[3]")
    H.assert_error(function() nn.zeros(3)[1] = nn.zeros(2) end, "tensor", "[2]", "[]")
    H.assert_error(function() t[1] = "x" end, "tensor", "string")
    H.assert_error(function() t[1] = nil end, "tensor", "nil")
    H.assert_error(function() nn.tensor(1)[1] = 2 end, "tensor", "0-dim")
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
  end)

  it("refuses to write into an expanded tensor", function()
    local e = nn.zeros(1, 3):expand(4, 3)
    H.assert_error(function() e[2] = 1 end, "tensor",
                 "more than one element of the written-to tensor refers to a single memory location")
    assert.are.same({0, 0, 0}, e[1]:totable())
  end)
end)

describe("select", function()
  it("takes a view along any dim, negative dims and indices included", function()
    local t = H.grid(3, 4)
    assert.are.same({2, 6, 10}, t:select(2, 2):totable())
    assert.are.same({9, 10, 11, 12}, t:select(1, -1):totable())
    assert.are.same({4, 8, 12}, t:select(-1, 4):totable())
    assert.are.same({5, 6, 7, 8}, nn.select(t, 1, 2):totable())
    local v = t:select(2, 3)
    v[1] = 33
    assert.are.equal(33, t[1][3])
  end)

  it("gives a 0-dim view of a 1-D tensor", function()
    local t = nn.tensor{1, 2, 3}
    local s = t:select(1, 2)
    assert.are.same({}, s.shape)
    assert.are.equal(2, s:item())
    s:fill_(9)
    assert.are.equal(9, t[2])
  end)

  it("works on transposed tensors", function()
    local t = H.grid(2, 3):transpose(1, 2) -- [[1,4],[2,5],[3,6]]
    assert.are.same({4, 5, 6}, t:select(2, 2):totable())
    assert.are.same({3, 6}, t:select(1, 3):totable())
  end)

  it("raises on bad dims and indices", function()
    local t = H.grid(3, 4)
    H.assert_error(function() t:select(2, 5) end, "select", "index 5", "dim 2", "size 4")
    H.assert_error(function() t:select(1, 0) end, "select", "index 0", "1-based")
    H.assert_error(function() t:select(3, 1) end, "select", "dim 3")
    H.assert_error(function() nn.tensor(1):select(1, 1) end, "select", "0-dim")
  end)
end)

describe("narrow", function()
  it("takes a view of a range, sharing storage", function()
    local t = H.grid(3, 4)
    local n = t:narrow(2, 2, 2)
    assert.are.same({{2, 3}, {6, 7}, {10, 11}}, n:totable())
    n[1] = 0
    assert.are.same({1, 0, 0, 4}, t[1]:totable())
    assert.are.same({{9, 10, 11, 12}}, t:narrow(1, -1, 1):totable())
    assert.are.same({3, 0}, t:narrow(2, 5, 0).shape)
  end)

  it("narrows non-contiguous tensors", function()
    local t = H.grid(3, 4):t() -- [4,3]
    assert.are.same({{2, 6, 10}, {3, 7, 11}}, t:narrow(1, 2, 2):totable())
    assert.are.same({{5, 9}, {6, 10}}, t:narrow(1, 1, 2):narrow(2, 2, 2):totable())
  end)

  it("raises on ranges that do not fit", function()
    local t = H.grid(3, 4)
    H.assert_error(function() t:narrow(1, 5, 1) end, "narrow", "start 5", "dim 1", "size 3")
    H.assert_error(function() t:narrow(1, 0, 1) end, "narrow", "start 0", "1-based")
    H.assert_error(function() t:narrow(2, 3, 3) end, "narrow", "start 3", "length 3", "size 4")
    H.assert_error(function() t:narrow(2, 1, -1) end, "narrow", "length -1")
  end)
end)

describe("index", function()
  it("gathers slices along a dim from a tensor or a Lua array", function()
    local t = H.grid(3, 4)
    assert.are.same({{9, 10, 11, 12}, {1, 2, 3, 4}, {9, 10, 11, 12}},
                    t:index(1, long{3, 1, 3}):totable())
    assert.are.same({{4, 1}, {8, 5}, {12, 9}}, t:index(2, {4, 1}):totable())
    assert.are.same({{4, 1}, {8, 5}, {12, 9}}, t:index_select(-1, {4, 1}):totable())
    assert.are.same({3, 0}, t:index(2, {}).shape)
    local r = t:index(1, {1})
    r[1][1] = 100 -- a copy, not a view
    assert.are.equal(1, t[1][1])
  end)

  it("works on strided inputs, strided indices and every dtype", function()
    local t = H.grid(3, 4):t() -- [4,3]
    assert.are.same({{3, 7, 11}, {2, 6, 10}}, t:index(1, {3, 2}):totable())
    local idx = long{{2, 9}, {1, 9}, {2, 9}}:select(2, 1) -- {2,1,2}, stride 2
    assert.are.same({{5, 1, 5}, {6, 2, 6}, {7, 3, 7}, {8, 4, 8}}, t:index(2, idx):totable())
    assert.are.same({30, 10}, long{10, 20, 30}:index(1, {3, 1}):totable())
    assert.are.same({false, true}, nn.tensor{true, false}:index(1, {2, 1}):totable())
    local x = nn.zeros(2, 3, 4)
    assert.are.same({2, 3, 2}, x:index(3, {1, 4}).shape)
  end)

  it("raises on bad index arguments", function()
    local t = H.grid(3, 4)
    H.assert_error(function() t:index(1, nn.tensor{1, 2}) end, "index", "int64", "float32")
    H.assert_error(function() t:index(1, {1, 4}) end, "index", "index 4", "dim 1", "size 3")
    H.assert_error(function() t:index(2, long{0}) end, "index", "index 0", "dim 2", "size 4")
    H.assert_error(function() t:index(1, {1, 1.5}) end, "index", "index[2]", "1.5")
    H.assert_error(function() t:index(1, long{{1}}) end, "index", "1-D", "[1,1]")
    H.assert_error(function() t:index(3, {1}) end, "index", "dim 3")
    H.assert_error(function() t:index(1, "x") end, "index", "string")
    H.assert_error(function() t:index_select(1, {9}) end, "index_select", "index 9")
  end)
end)

describe("gather", function()
  it("gathers along a dim as torch.gather", function()
    local t = nn.tensor{{1, 2}, {3, 4}}
    assert.are.same({{1, 1}, {4, 3}}, t:gather(2, long{{1, 1}, {2, 1}}):totable())
    assert.are.same({{3, 2}}, t:gather(1, long{{2, 1}}):totable())
    assert.are.same({{3, 2}}, nn.gather(t, 1, long{{2, 1}}):totable())
    -- idx may be longer along dim than t, and smaller on other dims
    assert.are.same({{2, 2, 1}}, t:gather(2, long{{2, 2, 1}}):totable())
  end)

  it("works on transposed inputs and indices, every dtype", function()
    local t = H.grid(3, 4):t() -- [4,3]: [[1,5,9],[2,6,10],[3,7,11],[4,8,12]]
    local idx = long{{3, 1, 2, 3}, {1, 1, 1, 2}}:t() -- [4,2]
    assert.are.same({{9, 1}, {2, 2}, {7, 3}, {12, 8}}, t:gather(2, idx):totable())
    assert.are.same({{30}, {10}}, long{{10, 20, 30}, {10, 20, 30}}:gather(2, long{{3}, {1}}):totable())
    assert.are.same({{true}, {false}}, nn.tensor{{false, true}, {false, true}}:gather(2, long{{2}, {1}}):totable())
  end)

  it("raises on bad indices and shapes", function()
    local t = H.grid(2, 3)
    H.assert_error(function() t:gather(2, long{{1}, {4}}) end, "gather", "index 4", "dim 2", "size 3")
    H.assert_error(function() t:gather(1, long{{-1, 1, 1}}) end, "gather", "index -1", "dim 1", "size 2")
    H.assert_error(function() t:gather(2, long{1, 2}) end, "gather", "1 dims", "2")
    H.assert_error(function() t:gather(2, long{{1}, {1}, {1}}) end, "gather", "[3,1]", "[2,3]", "dim 1")
    H.assert_error(function() t:gather(2, nn.tensor{{1}}) end, "gather", "int64", "float32")
    H.assert_error(function() t:gather(2, {{1}}) end, "gather", "int64 tensor", "table")
  end)
end)

describe("scatter_", function()
  it("writes src along a dim as torch.scatter_ and returns t", function()
    local t = nn.zeros(2, 3)
    local src = nn.tensor{{1, 2, 3}, {4, 5, 6}}
    local r = t:scatter_(2, long{{3, 1}, {2, 3}}, src)
    assert.are.equal(t, r)
    assert.are.same({{2, 0, 1}, {0, 4, 5}}, t:totable())
    local u = nn.zeros(3, 2)
    u:scatter_(1, long{{3, 1}}, src) -- src larger than idx
    assert.are.same({{0, 2}, {0, 0}, {1, 0}}, u:totable())
  end)

  it("scatters one value, and converts src", function()
    local t = long{{0, 0, 0}, {0, 0, 0}}
    t:scatter_(2, long{{2}, {3}}, 7)
    assert.are.same({{0, 7, 0}, {0, 0, 7}}, t:totable())
    t:scatter_(1, long{{2, 1, 2}}, nn.tensor{{1.9, 2.9, 3.9}})
    assert.are.same({{0, 2, 0}, {1, 0, 3}}, t:totable())
    local b = nn.tensor{false, false, false}
    b:scatter_(1, long{3}, true)
    assert.are.same({false, false, true}, b:totable())
  end)

  it("writes into non-contiguous tensors from strided indices", function()
    local base = nn.zeros(3, 2)
    local t = base:t() -- [2,3] view
    local idx = long{{3, 9}, {1, 9}}:narrow(2, 1, 1) -- [[3],[1]], strided
    t:scatter_(2, idx, nn.tensor{{5}, {6}})
    assert.are.same({{0, 6}, {0, 0}, {5, 0}}, base:totable())
  end)

  it("scatter leaves the original alone", function()
    local t = nn.zeros(3)
    local r = nn.scatter(t, 1, long{2}, 1)
    assert.are.same({0, 1, 0}, r:totable())
    assert.are.same({0, 0, 0}, t:totable())
  end)

  it("checks every index before writing anything", function()
    local t = nn.zeros(2, 3)
    H.assert_error(function() t:scatter_(2, long{{1, 2}, {3, 4}}, 1) end,
                 "scatter_", "index 4", "dim 2", "size 3")
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, t:totable())
  end)

  it("raises on bad arguments", function()
    local t = nn.zeros(2, 3)
    H.assert_error(function() t:scatter_(2, nn.tensor{{1}}, 1) end, "scatter_", "int64", "float32")
    H.assert_error(function() t:scatter_(2, long{1}, 1) end, "scatter_", "1 dims", "2")
    H.assert_error(function() t:scatter_(1, long{{1, 1, 1, 1}}, 1) end, "scatter_", "[1,4]", "[2,3]", "dim 2")
    H.assert_error(function() t:scatter_(2, long{{1, 2}}, nn.zeros(1, 1)) end,
                 "scatter_", "[1,2]", "[1,1]", "dim 2")
    H.assert_error(function() t:scatter_(2, long{{1}}, nn.zeros(3)) end, "scatter_", "1 dims", "2")
    H.assert_error(function() t:scatter_(2, long{{1}}, "x") end, "scatter_", "string")
    H.assert_error(function() t:scatter_(0, long{{1}}, 1) end, "scatter_", "dim 0")
    H.assert_error(function() nn.zeros(1, 3):expand(2, 3):scatter_(1, long{{1, 1, 1}}, 1) end,
                 "scatter_", "more than one element of the written-to tensor refers to a single memory location")
  end)
end)

describe("scatter_add_ and index_add_", function()
  it("scatter_add_ accumulates repeated targets", function()
    local counts = long{0, 0, 0}
    local r = counts:scatter_add_(1, long{1, 3, 3, 1, 3, 2}, long{1, 1, 1, 1, 1, 1})
    assert.are.equal(counts, r)
    assert.are.same({2, 1, 3}, counts:totable())
    local t = nn.zeros(2, 3)
    t:scatter_add_(2, long{{1, 1}, {3, 2}}, nn.tensor{{1, 2, 99}, {3, 4, 99}})
    assert.are.same({{3, 0, 0}, {0, 4, 3}}, t:totable())
    local c = nn.scatter_add(nn.ones(3), 1, long{2, 2}, nn.tensor{5, 5})
    assert.are.same({1, 11, 1}, c:totable())
  end)

  it("index_add_ adds slices, repeats accumulating, on strided tensors", function()
    local base = nn.zeros(2, 3)
    local t = base:t() -- [3,2] view
    t:index_add_(1, {3, 1, 3}, nn.tensor{{1, 2}, {3, 4}, {5, 6}})
    assert.are.same({{3, 0, 6}, {4, 0, 8}}, base:totable())
    local c = nn.index_add(nn.zeros(2, 2), 2, long{2}, nn.tensor{{1}, {2}})
    assert.are.same({{0, 1}, {0, 2}}, c:totable())
  end)

  it("raises on bad arguments, before writing", function()
    local t = nn.zeros(2, 3)
    H.assert_error(function() t:scatter_add_(2, long{{1, 4}}, nn.ones(1, 2)) end,
                 "scatter_add_", "index 4", "dim 2", "size 3")
    H.assert_error(function() t:scatter_add_(2, long{{1}}, 1) end, "scatter_add_", "src must be a tensor")
    H.assert_error(function() nn.tensor{true}:scatter_add_(1, long{1}, nn.tensor{true}) end,
                 "scatter_add_", "bool")
    H.assert_error(function() t:index_add_(1, {1, 3}, nn.ones(2, 3)) end, "index_add_", "index 3", "dim 1", "size 2")
    H.assert_error(function() t:index_add_(1, {1}, nn.ones(2, 3)) end, "index_add_", "[2,3]", "[1,3]")
    H.assert_error(function() t:index_add_(1, nn.tensor{1}, nn.ones(1, 3)) end, "index_add_", "int64", "float32")
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, t:totable())
    H.assert_error(function() nn.zeros(1, 3):expand(2, 3):index_add_(1, {1}, nn.ones(1, 3)) end,
                 "index_add_", "more than one element of the written-to tensor refers to a single memory location")
  end)
end)

describe("masked_fill", function()
  it("fills where the mask is true, broadcasting the mask", function()
    local t = H.grid(2, 3)
    local r = t:masked_fill(t:gt(4), -1)
    assert.are.same({{1, 2, 3}, {4, -1, -1}}, r:totable())
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, t:totable()) -- a copy
    local row = nn.tensor{{true}, {false}} -- [2,1] broadcast over columns
    assert.are.same({{0, 0, 0}, {4, 5, 6}}, t:masked_fill(row, 0):totable())
    assert.are.same({{1, 9, 3}, {4, 9, 6}}, nn.masked_fill(t, nn.tensor{false, true, false}, 9):totable())
  end)

  it("works on every dtype, 0-dim values and strided tensors", function()
    local l = long{1, 2, 3}:masked_fill(nn.tensor{true, false, true}, 2.9)
    assert.are.same({2, 2, 2}, l:totable())
    local b = nn.tensor{true, true}:masked_fill(nn.tensor{false, true}, false)
    assert.are.same({true, false}, b:totable())
    local f = nn.zeros(2):masked_fill(nn.tensor{true, false}, nn.tensor(5))
    assert.are.same({5, 0}, f:totable())
    local tt = H.grid(2, 3):t() -- [3,2]
    assert.are.same({{1, 0}, {2, 0}, {3, 0}}, tt:masked_fill(nn.tensor{false, true}, 0):totable())
  end)

  it("masked_fill_ writes in place and returns t, through views", function()
    local base = H.grid(2, 3)
    local tt = base:t()
    local r = tt:masked_fill_(tt:gt(4), 0)
    assert.are.equal(tt, r)
    assert.are.same({{1, 2, 3}, {4, 0, 0}}, base:totable())
    local m = nn.tensor{true, false, true}
    local b = m:clone()
    b:masked_fill_(b, false) -- the mask is the tensor itself
    assert.are.same({false, false, false}, b:totable())
  end)

  it("raises on bad masks and values", function()
    local t = H.grid(2, 3)
    H.assert_error(function() t:masked_fill(t, 0) end, "masked_fill", "bool", "float32")
    H.assert_error(function() t:masked_fill(nn.tensor{true, false}, 0) end, "masked_fill", "[2]", "[2,3]")
    H.assert_error(function() t:masked_fill(nn.tensor{{{true}}, {{false}}}, 0) end, "masked_fill", "[2,1,1]", "[2,3]")
    H.assert_error(function() t:masked_fill(t:gt(1), "x") end, "masked_fill", "string")
    H.assert_error(function() t:masked_fill(t:gt(1), nn.tensor{1}) end, "masked_fill", "0-dim", "[1]")
    H.assert_error(function() t:masked_fill_(1, 0) end, "masked_fill_", "number")
    local e = nn.zeros(3, 1):expand(3, 4)
    H.assert_error(function() e:masked_fill_(e:eq(0), 1) end, "masked_fill_",
                 "more than one element of the written-to tensor refers to a single memory location")
    assert.are.same({0, 0, 0, 0}, e[1]:totable())
  end)
end)

describe("masked_select", function()
  it("selects in row-major order into a 1-D tensor", function()
    local t = H.grid(2, 3)
    local even = nn.tensor{{false, true, false}, {true, false, true}}
    assert.are.same({2, 4, 6}, t:masked_select(even):totable())
    assert.are.same({5, 6}, nn.masked_select(t, t:gt(4)):totable())
    assert.are.same({0}, t:masked_select(t:gt(6)).shape)
  end)

  it("broadcasts the mask and the tensor to a common shape", function()
    local t = H.grid(2, 3)
    assert.are.same({1, 2, 3}, t:masked_select(nn.tensor{{true}, {false}}):totable())
    assert.are.same({1, 3, 4, 6}, t:masked_select(nn.tensor{true, false, true}):totable())
    -- t [3] against mask [2,3]: t repeats per mask row
    local v = nn.tensor{10, 20, 30}
    assert.are.same({20, 10, 30}, v:masked_select(nn.tensor{{false, true, false}, {true, false, true}}):totable())
  end)

  it("works on strided tensors and every dtype", function()
    local tt = H.grid(2, 3):t() -- [[1,4],[2,5],[3,6]]
    local m = nn.tensor{{true, false}, {false, true}, {true, true}}
    assert.are.same({1, 5, 3, 6}, tt:masked_select(m):totable())
    assert.are.same({1, 5, 3, 6}, tt:masked_select(m:t():contiguous():t()):totable())
    assert.are.same({30}, long{10, 20, 30}:masked_select(nn.tensor{false, false, true}):totable())
    assert.are.same({false}, nn.tensor{true, false}:masked_select(nn.tensor{false, true}):totable())
  end)

  it("raises on bad masks", function()
    local t = H.grid(2, 3)
    H.assert_error(function() t:masked_select(long{1, 0, 1}) end, "masked_select", "bool", "int64")
    H.assert_error(function() t:masked_select(nn.tensor{true, false}) end, "masked_select", "[2]", "[2,3]")
    H.assert_error(function() t:masked_select() end, "masked_select", "no value")
  end)
end)
