-- nn.data: IDX loaders (fixtures from tests/fixtures/gen_data_fixtures.py,
-- gzipped and plain), in-memory datasets, DataLoader batching and
-- shuffling, random_split, kfold, subset, csv and cifar10 on small files
-- this spec writes, every loader's limit=, and the errors for missing and
-- broken files and bad arguments.
-- Loads the real Fashion-MNIST when installed. image_folder: image_spec.lua.
local nn = require "nn"
local core = require "nn.core" -- the private entry points
local H = require "helpers"

local FIX = (os.getenv("NNLUA_SOURCE_DIR") or ".") .. "/tests/fixtures/data/"

-- The fixture images: pixel (n, r, c) = (n*6 + r*3 + c) * 8 / 255 (0-based
-- n, r, c), label n = (n*3) % 10 stored, +1 loaded.
local function pixel(n, r, c) return (n * 6 + r * 3 + c) * 8 / 255 end
local function label(n) return (n * 3) % 10 + 1 end

local function fixture_images(count)
  local t = {}
  for n = 0, count - 1 do
    t[n + 1] = {{{pixel(n, 0, 0), pixel(n, 0, 1), pixel(n, 0, 2)},
                 {pixel(n, 1, 0), pixel(n, 1, 1), pixel(n, 1, 2)}}}
  end
  return t
end

local function fixture_labels(count)
  local t = {}
  for n = 0, count - 1 do t[n + 1] = label(n) end
  return t
end

-- A dataset of n samples: x[i] = {i, 10i}, y[i] = i.
local function numbered(n)
  local x = nn.arange(1, n + 1):view(n, 1):mul(nn.tensor({{1, 10}}))
  return nn.data.tensor_dataset(x, nn.arange(1, n + 1, {dtype = "int64"}))
end

describe("IDX loaders", function()
  for _, kind in ipairs({"gz", "plain"}) do
    it("loads " .. kind .. " files, labels shifted to 1-based", function()
      local ds = nn.data.mnist{dir = FIX .. kind}
      assert.are.equal(5, #ds)
      H.assert_shape(ds.x, {5, 1, 2, 3})
      assert.are.equal("float32", ds.x.dtype)
      assert.are.equal("int64", ds.y.dtype)
      H.assert_close(ds.x, fixture_images(5), 1e-6)
      H.assert_values(ds.y, fixture_labels(5))
      local test = nn.data.mnist{dir = FIX .. kind, split = "test"}
      assert.are.equal(3, #test)
      H.assert_values(test.y, fixture_labels(3))
    end)
  end

  it("get(i) returns x_i [1,H,W] and y_i as a Lua integer", function()
    local ds = nn.data.fashion_mnist{dir = FIX .. "gz"}
    local x, y = ds:get(4)
    H.assert_shape(x, {1, 2, 3})
    H.assert_close(x, fixture_images(4)[4], 1e-6)
    assert.are.equal(label(3), y)
    assert.are.equal("integer", math.type(y))
    assert.are.equal(10, #ds.classes)
    assert.are.equal("T-shirt/top", ds.classes[1])
    assert.are.equal("Ankle boot", ds.classes[10])
    H.assert_error(function() ds:get(6) end, "get", "6", "5")
    H.assert_error(function() ds:get(0) end, "get", "0")
  end)

  it("names the path and the package when the files are missing", function()
    local dir = FIX .. "nowhere"
    local err = H.assert_error(function() nn.data.fashion_mnist{dir = dir} end, "fashion_mnist",
                               dir .. "/train-images-idx3-ubyte.gz", "No such file",
                               "dataset-fashion-mnist", "NNLUA_FASHION_MNIST")
    assert.matches("^[^\n]-data_spec%.lua:%d+: fashion_mnist: cannot open", err) -- the user's line
    H.assert_error(function() nn.data.mnist{dir = dir, split = "test"} end, "mnist",
                   "t10k-images-idx3-ubyte.gz")
  end)

  it("checks its options", function()
    H.assert_error(function() nn.data.mnist{dir = FIX .. "gz", split = "val"} end,
                   "mnist", "split", "'val'")
    H.assert_error(function() nn.data.mnist{dir = 3} end, "mnist", "dir", "number")
    H.assert_error(function() nn.data.mnist(5) end, "mnist", "options")
    H.assert_error(function() nn.data.mnist{dir = FIX .. "mismatch"} end, "mnist", "5", "6")
    local err = H.assert_error(function() nn.data.mnist{dir = FIX .. "broken"} end,
                               "mnist: ", "broken/train-images-idx3-ubyte", "truncated", "30", "29")
    assert.is_nil(err:find("data%.lua"), "no library position in " .. err)
  end)

  it("limit=n keeps the first n samples; unknown options are errors", function()
    local ds = nn.data.mnist{dir = FIX .. "gz", limit = 2}
    assert.are.equal(2, #ds)
    H.assert_close(ds.x, fixture_images(2), 1e-6)
    H.assert_values(ds.y, fixture_labels(2))
    assert.are.equal("0", ds.classes[1])
    assert.are.equal(5, #nn.data.fashion_mnist{dir = FIX .. "gz", limit = 2000}) -- more than there are
    assert.are.equal(3, #nn.data.fashion_mnist{dir = FIX .. "plain", split = "test", limit = 3})
    H.assert_error(function() nn.data.fashion_mnist{dir = FIX .. "gz", limit = 0} end,
                   "fashion_mnist: ", "limit must be a positive integer, got 0")
    H.assert_error(function() nn.data.mnist{dir = FIX .. "gz", limit = 1.5} end, "mnist: ", "limit", "1.5")
    H.assert_error(function() nn.data.fashion_mnist{dir = FIX .. "gz", limt = 10} end,
                   "fashion_mnist: ", "unknown option 'limt'")
  end)

  it("rejects broken files with the path and the reason", function()
    local bad = FIX .. "bad/"
    H.assert_error(function() core._read_idx(bad .. "magic.idx") end, "_read_idx",
                   bad .. "magic.idx", "magic", "01 02")
    H.assert_error(function() core._read_idx(bad .. "float.idx") end, "0x0D", "float32")
    H.assert_error(function() core._read_idx(bad .. "truncated.idx") end, "truncated", "5", "3")
    H.assert_error(function() core._read_idx(bad .. "truncated.idx.gz") end, "truncated",
                   bad .. "truncated.idx.gz", "5", "3")
    H.assert_error(function() core._read_idx(bad .. "extra.idx") end, "after", "5")
    H.assert_error(function() core._read_idx(bad .. "absurd.idx") end, "absurd", "4294967295")
    H.assert_error(function() core._read_idx(bad .. "ndim.idx") end, "9 dims", "8")
    H.assert_error(function() core._read_idx(bad .. "header.idx") end, "truncated header", "3")
    H.assert_error(function() core._read_idx(FIX .. "nowhere.idx") end, "_read_idx",
                   "cannot open", "nowhere.idx", "No such file")
    H.assert_error(function() core._read_idx(FIX .. "bad/magic.idx", {name = "mnist"}) end,
                   "mnist: ")
    H.assert_error(function() core._read_idx(42) end, "_read_idx", "path", "number")
    H.assert_error(function() core._read_idx(FIX .. "gz", {scale = 1}) end, "scale", "boolean")
  end)

  it("reads raw bytes as int64 without scale", function()
    local t = core._read_idx(FIX .. "plain/train-images-idx3-ubyte")
    assert.are.equal("int64", t.dtype)
    assert.are.equal(232, t:max():item())
  end)
end)

describe("tensor_dataset", function()
  it("pairs samples along the first dim", function()
    local ds = numbered(4)
    assert.are.equal(4, #ds)
    local x, y = ds:get(3)
    H.assert_values(x, {3, 30})
    assert.are.equal(3, y)
  end)

  it("checks the sample counts agree", function()
    H.assert_error(function() nn.data.tensor_dataset(nn.zeros(4, 2), nn.zeros(3)) end,
                   "tensor_dataset", "4", "3")
    H.assert_error(function() nn.data.tensor_dataset({}, nn.zeros(3)) end, "tensor_dataset", "x")
  end)

  it("keeps class names", function()
    local ds = nn.data.tensor_dataset(nn.zeros(2, 1), nn.tensor({1, 2}, "int64"), {"cat", "dog"})
    assert.are.same({"cat", "dog"}, ds.classes)
    local a = nn.data.random_split(ds, {1, 1}, 0)
    assert.are.same({"cat", "dog"}, a.classes)
    H.assert_error(function() nn.data.tensor_dataset(nn.zeros(2), nn.zeros(2), "cat") end,
                   "tensor_dataset: classes must be a list of names, got string")
  end)
end)

describe("subset", function()
  local function named(n)
    local ds = numbered(n)
    ds.classes = {"a", "b"}
    return ds
  end

  it("takes 1-based indices from a Lua array or an int64 tensor, in order", function()
    local ds = named(6)
    local s = nn.data.subset(ds, {5, 2, 2})
    assert.are.equal(3, #s)
    H.assert_values(s.y, {5, 2, 2})
    H.assert_close(s.x, {{5, 50}, {2, 20}, {2, 20}}, 0)
    assert.are.same({"a", "b"}, s.classes)
    local t = nn.data.subset(ds, nn.tensor({6, 1}, "int64"))
    H.assert_values(t.y, {6, 1})
    assert.are.same({"a", "b"}, t.classes)
    assert.are.equal(0, #nn.data.subset(ds, {}))
    -- a subset is a dataset: it splits and loads
    assert.are.equal(2, #nn.data.random_split(nn.data.subset(ds, {1, 2, 3, 4}), {0.5, 0.5}, 1))
  end)

  it("takes a count: the first n samples", function()
    local s = nn.data.subset(named(6), 4)
    H.assert_values(s.y, {1, 2, 3, 4})
    assert.are.same({"a", "b"}, s.classes)
    assert.are.equal(0, #nn.data.subset(named(6), 0))
  end)

  it("names the indices out of range", function()
    local ds = named(6)
    H.assert_error(function() nn.data.subset(ds, {1, 0, 7, 3}) end,
                   "subset: ", "indices 0, 7 out of range 1..6")
    H.assert_error(function() nn.data.subset(ds, nn.tensor({-2, 9}, "int64")) end,
                   "subset: ", "indices -2, 9 out of range 1..6")
    H.assert_error(function() nn.data.subset(ds, {7, 8, 9, 10, 11, 12, 13}) end,
                   "indices 7, 8, 9, 10, 11 (and 2 more) out of range 1..6")
    H.assert_error(function() nn.data.subset(ds, 7) end, "subset: ", "n is 7 but the dataset has only 6 samples")
    H.assert_error(function() nn.data.subset(ds, -1) end, "subset: ", "n must be a non-negative integer, got -1")
    H.assert_error(function() nn.data.subset(ds, {1, 2.5}) end, "subset: ", "indices[2] must be an integer, got 2.5")
    H.assert_error(function() nn.data.subset(ds, nn.tensor({1, 2})) end, "subset: ", "1-D int64 tensor", "float32")
    H.assert_error(function() nn.data.subset(ds, "1") end, "subset: ", "indices must be", "string")
    H.assert_error(function() nn.data.subset({}, {1}) end, "subset: ", "in-memory dataset")
  end)
end)

describe("DataLoader", function()
  it("cuts batches in order, the last one short", function()
    local loader = nn.data.DataLoader(numbered(10), {batch_size = 4})
    assert.are.equal(3, #loader)
    local sizes, ys = {}, {}
    for x, y in loader:iter() do
      sizes[#sizes + 1] = x.shape[1]
      H.assert_shape(x, {x.shape[1], 2})
      for i = 1, #y do ys[#ys + 1] = y[i] end
    end
    assert.are.same({4, 4, 2}, sizes)
    assert.are.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ys)
  end)

  it("drop_last drops the short batch", function()
    local loader = nn.data.DataLoader(numbered(10), {batch_size = 4, drop_last = true})
    assert.are.equal(2, #loader)
    local count = 0
    for x in loader:iter() do
      count = count + 1
      assert.are.equal(4, x.shape[1])
    end
    assert.are.equal(2, count)
  end)

  it("defaults to batches of one", function()
    local loader = nn.data.DataLoader(numbered(3))
    assert.are.equal(3, #loader)
  end)

  -- All y values of one epoch, in order.
  local function epoch(loader)
    local ys = {}
    for x, y in loader:iter() do
      for i = 1, #y do
        ys[#ys + 1] = y[i]
        assert.are.equal(y[i] * 10, x[i][2]) -- x and y stay paired
      end
    end
    return ys
  end

  it("shuffles a permutation, reproducibly with a seed", function()
    local ds = numbered(20)
    local a = nn.data.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 7})
    nn.manual_seed(1)
    local a1, a2 = epoch(a), epoch(a)
    local b = nn.data.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 7})
    nn.manual_seed(99) -- the seed, not the global generator, decides
    local b1, b2 = epoch(b), epoch(b)
    assert.are.same(a1, b1)
    assert.are.same(a2, b2)
    assert.are_not.same(a1, a2) -- each epoch draws a new order
    local sorted = {table.unpack(a1)}
    table.sort(sorted)
    assert.are.same(epoch(nn.data.DataLoader(ds, {batch_size = 5})), sorted)
    -- the global stream is left as it was
    nn.manual_seed(3)
    local r1 = nn.rand(2):totable()
    nn.manual_seed(3)
    epoch(a)
    assert.are.same(r1, nn.rand(2):totable())
  end)

  it("shuffles with the global generator without a seed", function()
    local ds = numbered(20)
    local loader = nn.data.DataLoader(ds, {batch_size = 6, shuffle = true})
    nn.manual_seed(5)
    local a = epoch(loader)
    nn.manual_seed(5)
    assert.are.same(a, epoch(loader))
  end)

  it("applies the transform to each batch", function()
    local loader = nn.data.DataLoader(numbered(4), {batch_size = 2,
                                                    transform = function(x) return x * 2 end})
    local first = loader:iter()()
    H.assert_values(first, {{2, 20}, {4, 40}})
  end)

  it("checks its arguments", function()
    local ds = numbered(4)
    H.assert_error(function() nn.data.DataLoader(ds, {batch_size = 0}) end,
                   "DataLoader", "batch_size", "0")
    H.assert_error(function() nn.data.DataLoader(ds, {shuffle = 1}) end, "DataLoader", "shuffle")
    H.assert_error(function() nn.data.DataLoader(ds, {transform = 3}) end,
                   "DataLoader", "transform")
    H.assert_error(function() nn.data.DataLoader({}, {}) end, "DataLoader", "dataset")
  end)
end)

describe("random_split and kfold", function()
  -- The y values of ds, sorted.
  local function ids(ds)
    local t = ds.y:totable()
    table.sort(t)
    return t
  end

  it("random_split returns parts that partition the dataset", function()
    local ds = numbered(20)
    local a, b = nn.data.random_split(ds, {0.85, 0.15}, 1)
    assert.are.equal(17, #a)
    assert.are.equal(3, #b)
    local all = ids(a)
    for _, v in ipairs(ids(b)) do all[#all + 1] = v end
    table.sort(all)
    assert.are.same(ids(ds), all)
    local a2 = nn.data.random_split(ds, {0.85, 0.15}, 1)
    assert.are.same(a.y:totable(), a2.y:totable())
    -- x and y stay paired
    for i = 1, #a do
      local x, y = a:get(i)
      assert.are.equal(y * 10, x[2])
    end
  end)

  it("random_split accepts counts and spreads a rounding remainder", function()
    local ds = numbered(10)
    local p, q, r = nn.data.random_split(ds, {5, 3, 2}, 4)
    assert.are.same({5, 3, 2}, {#p, #q, #r})
    local x, y, z = nn.data.random_split(ds, {1 / 3, 1 / 3, 1 / 3}, 4)
    assert.are.same({4, 3, 3}, {#x, #y, #z})
  end)

  it("random_split checks its arguments", function()
    local ds = numbered(10)
    H.assert_error(function() nn.data.random_split(ds, {0.5, 0.2}) end, "random_split", "0.7", "10")
    H.assert_error(function() nn.data.random_split(ds, {}) end, "random_split", "sizes")
    H.assert_error(function() nn.data.random_split(ds, {-1, 2}) end, "random_split", "-1")
    H.assert_error(function() nn.data.random_split(5, {1}) end, "random_split", "dataset")
  end)

  it("kfold gives k disjoint validation folds covering the data", function()
    local ds = numbered(11)
    local folds = nn.data.kfold(ds, 3, 2)
    assert.are.equal(3, #folds)
    local seen = {}
    for i, f in ipairs(folds) do
      assert.are.equal(i == 3 and 3 or 4, #f.val)
      assert.are.equal(11 - #f.val, #f.train)
      local inval = {}
      for _, v in ipairs(ids(f.val)) do
        assert.is_nil(seen[v])
        seen[v], inval[v] = true, true
      end
      for _, v in ipairs(ids(f.train)) do assert.is_nil(inval[v]) end
    end
    for i = 1, 11 do assert.is_true(seen[i]) end
    assert.are.same(folds[1].val.y:totable(), nn.data.kfold(ds, 3, 2)[1].val.y:totable())
  end)

  it("kfold checks k", function()
    local ds = numbered(4)
    H.assert_error(function() nn.data.kfold(ds, 1) end, "kfold", "k", "1")
    H.assert_error(function() nn.data.kfold(ds, 5) end, "kfold", "5", "4")
  end)
end)

-- ---- file formats: CSV text and CIFAR-10 binary records this spec writes ----

local tmpdir, write, rmrf, near = H.tmpdir, H.write_file, H.rmrf, H.near

-- The error of f(...), which must fail, after its position: the line of
-- this file that called f (errors name the user's line, never the
-- library's), so the pcall must stay in this file.
local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok)
  local message = tostring(e):match("^[^\n]-data_spec%.lua:%d+: (.*)$")
  assert(message, "no position of the caller in " .. tostring(e))
  return message
end

describe("csv", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir) end)

  it("reads numeric features and a float target by name", function()
    local p = dir .. "/a.csv"
    write(p, "x1,y,x2\r\n1,10,2\r\n3.5,20,-4e1\r\n\r\n")
    local ds = nn.data.csv(p, {target = "y"})
    assert.are.equal(2, #ds)
    assert.are.same({2, 2}, ds.x.shape)
    assert.are.equal("float32", ds.x.dtype)
    assert.are.equal("float32", ds.y.dtype)
    near(ds.x[2][1], 3.5); near(ds.x[2][2], -40)
    near(ds.y[1], 10); near(ds.y[2], 20)
    assert.are.same({"x1", "x2"}, ds.columns)
    local x, y = ds:get(1)
    near(x[2], 2); near(y, 10)
  end)

  it("limit=n keeps the first n rows, classes from all rows; unknown options are errors", function()
    local p = dir .. "/l.csv"
    write(p, "a,label\n1,dog\n2,cat\n3,emu\n4,cat\n")
    local ds = nn.data.csv(p, {classes = true, limit = 2})
    assert.are.equal(2, #ds)
    H.assert_values(ds.y, {2, 1})
    assert.are.same({"cat", "dog", "emu"}, ds.classes)
    assert.are.same({"a"}, ds.columns)
    assert.are.equal("label", ds.target)
    assert.are.equal(4, #nn.data.csv(p, {classes = true, limit = 10}))
    assert.matches("^csv: limit must be a positive integer, got 0", errmsg(nn.data.csv, p, {limit = 0}))
    assert.matches("^csv: unknown option 'limits'", errmsg(nn.data.csv, p, {limits = 2}))
  end)

  it("defaults to the last column and takes indices without a header", function()
    local p = dir .. "/b.csv"
    write(p, "1,2,3\n4,5,6\n")
    local ds = nn.data.csv(p, {header = false})
    assert.are.same({2, 2}, ds.x.shape)
    near(ds.y[2], 6)
    ds = nn.data.csv(p, {header = false, target = 1})
    near(ds.y[2], 4); near(ds.x[2][1], 5)
    ds = nn.data.csv(p, {header = false, target = -2})
    near(ds.y[1], 2)
  end)

  it("maps string classes to 1..K in sorted order", function()
    local p = dir .. "/c.csv"
    write(p, 'f,species\n1,"virginica"\n2,setosa\n3,versicolor\n4,setosa\n')
    local ds = nn.data.csv(p, {target = "species", classes = true})
    assert.are.same({"setosa", "versicolor", "virginica"}, ds.classes)
    assert.are.equal("int64", ds.y.dtype)
    assert.are.same({3, 1, 2, 1}, {ds.y[1], ds.y[2], ds.y[3], ds.y[4]})
  end)

  it("maps numeric classes in numeric order and keeps them as strings", function()
    local p = dir .. "/d.csv"
    write(p, "a,t\n0,10\n0,2\n0,10\n0,-1\n")
    local ds = nn.data.csv(p, {target = "t", classes = true})
    assert.are.same({"-1", "2", "10"}, ds.classes)
    assert.are.same({3, 2, 3, 1}, {ds.y[1], ds.y[2], ds.y[3], ds.y[4]})
  end)

  it("handles quoted fields with commas and quotes", function()
    local p = dir .. "/e.csv"
    write(p, 'v,name\n1,"a, ""b"""\n')
    local ds = nn.data.csv(p, {target = "name", classes = true})
    assert.are.same({'a, "b"'}, ds.classes)
  end)

  it("reports errors with path, line and column", function()
    local e = errmsg(nn.data.csv, dir .. "/missing.csv")
    assert.matches("^csv: ", e); assert.matches("missing.csv", e, 1, true)
    assert.matches("No such file", e)
    local p = dir .. "/r.csv"
    write(p, "a,b,c\n1,2,3\n4,5\n")
    e = errmsg(nn.data.csv, p)
    assert.matches("^csv: ", e); assert.matches("line 3", e); assert.matches("2 fields", e)
    assert.matches("expected 3", e)
    write(p, "a,b,c\n1,2,3\n4,oops,6\n")
    e = errmsg(nn.data.csv, p)
    assert.matches("line 3", e); assert.matches("column 2", e); assert.matches("oops", e)
    write(p, "a,b\n1,2\n")
    e = errmsg(nn.data.csv, p, {target = "zz"})
    assert.matches("^csv: ", e); assert.matches("zz", e)
    e = errmsg(nn.data.csv, p, {target = 5})
    assert.matches("5", e); assert.matches("2 columns", e)
    e = errmsg(nn.data.csv, p, {tagret = "b"})
    assert.matches("tagret", e)
    write(p, "a,b\n1,x\n")
    e = errmsg(nn.data.csv, p, {target = "b"})
    assert.matches("classes=true", e)
    write(p, "a,b\n")
    assert.matches("no data rows", errmsg(nn.data.csv, p))
  end)
end)

describe("cifar10", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir) end)

  -- record k of a file: label (k*3+base)%10, pixel i = (i + k + base) % 256
  local function batch(path, n, base)
    local recs = {}
    for k = 0, n - 1 do
      local px = {}
      for i = 0, 3071 do px[#px + 1] = string.char((i + k + base) % 256) end
      recs[#recs + 1] = string.char((k * 3 + base) % 10) .. table.concat(px)
    end
    write(path, table.concat(recs))
  end

  it("reads the train batches in order and the test batch", function()
    for b = 1, 5 do batch(dir .. "/data_batch_" .. b .. ".bin", b, b) end
    batch(dir .. "/test_batch.bin", 2, 0)
    local ds = nn.data.cifar10{dir = dir}
    assert.are.equal(15, #ds)
    assert.are.same({15, 3, 32, 32}, ds.x.shape)
    assert.are.equal("int64", ds.y.dtype)
    assert.are.equal("airplane", ds.classes[1]); assert.are.equal("truck", ds.classes[10])
    -- sample 1 = batch 1 record 0: label 1 -> 2; pixel (c=2,h=1,w=3) index 1024+2 -> (1026+1)%256
    assert.are.equal(2, ds.y[1])
    near(ds.x[1][2][1][3], (1026 + 1) % 256 / 255)
    -- sample 2 = batch 2 record 0: label 2 -> 3
    assert.are.equal(3, ds.y[2])
    local t = nn.data.cifar10{dir = dir, split = "test"}
    assert.are.equal(2, #t)
    assert.are.same({1, 4}, {t.y[1], t.y[2]})
    near(t.x[2][3][32][32], (3071 + 1) % 256 / 255)
  end)

  it("limit=n keeps the first n samples; unknown options are errors", function()
    batch(dir .. "/test_batch.bin", 3, 0)
    local t = nn.data.cifar10{dir = dir, split = "test", limit = 2}
    assert.are.equal(2, #t)
    assert.are.same({1, 4}, {t.y[1], t.y[2]})
    assert.are.equal("truck", t.classes[10])
    assert.are.equal(3, #nn.data.cifar10{dir = dir, split = "test", limit = 50})
    assert.matches("^cifar10: limit must be a positive integer", errmsg(nn.data.cifar10, {dir = dir, limit = -1}))
    assert.matches("^cifar10: unknown option 'splt'", errmsg(nn.data.cifar10, {dir = dir, splt = "test"}))
  end)

  it("reports missing and truncated files", function()
    local e = errmsg(nn.data.cifar10, {dir = dir, split = "test"})
    assert.matches("^cifar10: ", e); assert.matches("test_batch.bin", e, 1, true)
    assert.matches("Debian", e); assert.matches("dir=", e, 1, true)
    write(dir .. "/test_batch.bin", string.rep("\0", 3073 + 5))
    e = errmsg(nn.data.cifar10, {dir = dir, split = "test"})
    assert.matches("^cifar10: ", e); assert.matches("3078", e); assert.matches("3073", e)
    write(dir .. "/test_batch.bin", "\12" .. string.rep("\0", 3072))
    e = errmsg(nn.data.cifar10, {dir = dir, split = "test"})
    assert.matches("label 12", e)
    assert.matches("split", errmsg(nn.data.cifar10, {dir = dir, split = "val"}))
  end)
end)

describe("image_folder limit", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir) end)

  it("loads only the first n images in sample order, every class listed", function()
    for _, c in ipairs({"cat", "dog"}) do
      os.execute("mkdir -p '" .. dir .. "/" .. c .. "'")
      for i = 1, 2 do nn.image.save(nn.full({1, 2, 3}, i / 4), dir .. "/" .. c .. "/" .. i .. ".png") end
    end
    local ds = nn.data.image_folder(dir, {limit = 3})
    assert.are.equal(3, #ds)
    H.assert_values(ds.y, {1, 1, 2})
    assert.are.same({"cat", "dog"}, ds.classes)
    assert.are.equal(3, #ds.files)
    assert.are.equal(dir .. "/dog/1.png", ds.files[3])
    assert.are.equal(4, #nn.data.image_folder(dir, {limit = 9}))
    assert.matches("^image_folder: limit must be a positive integer, got 0",
                   errmsg(nn.data.image_folder, dir, {limit = 0}))
    assert.matches("^image_folder: unknown option 'limitt'", errmsg(nn.data.image_folder, dir, {limitt = 1}))
  end)
end)

describe("Fashion-MNIST", function()
  -- (how fast it decodes is bench/mlp_epoch.lua's decode_s)
  it("loads the 60000 training images", function()
    local ds = nn.data.fashion_mnist{dir = H.fashion_mnist_dir()}
    assert.are.equal(60000, #ds)
    H.assert_shape(ds.x, {60000, 1, 28, 28})
    assert.are.equal(1, ds.y:min():item())
    assert.are.equal(10, ds.y:max():item())
    assert.is_true(ds.x:min():item() >= 0 and ds.x:max():item() <= 1)
  end)
end)
