-- Datasets held as bytes (stdlib/nn/data/bytes.lua, bindings/byte_store.c):
-- fashion_mnist, mnist, cifar10 and image_folder keep the file's bytes and
-- make each batch in one C pass. Checked here: the values against the
-- plain float path (decode the whole file to floats, then Normalize), bit
-- for bit; the dataset transform (a leading Normalize fused, the rest run
-- after it, the DataLoader's after that); ds.x made on demand; subset,
-- random_split, kfold, nn.fit with validation_split and nn.evaluate on
-- the bytes, giving the tensor path's results without making ds.x;
-- image_folder's resize against torchvision's uint8 resize
-- (tests/fixtures/gen_bytes_fixtures.py); and the errors.
local nn = require "nn"
local core = require "nn.core" -- the private entry points
local H = require "helpers"

local SRC = os.getenv("NNLUA_SOURCE_DIR") or "."
local FIX = SRC .. "/tests/fixtures/data/"
local T = nn.transforms

-- a and b: same shape and dtype, every value equal.
local function same(a, b)
  assert.are.same(b.shape, a.shape)
  assert.are.equal(b.dtype, a.dtype)
  assert.is_true(a:eq(b):all():item(), "values differ")
end

-- The plain float path for an IDX image file: [N,1,H,W] floats in [0,1].
local function plain_idx(path)
  local x = core._read_idx(path, {scale = true})
  return x:view(x.shape[1], 1, x.shape[2], x.shape[3])
end

local function fixture_mnist(opts)
  opts = opts or {}
  opts.dir = FIX .. "gz"
  return nn.data.mnist(opts)
end
local FIX_IMAGES = FIX .. "gz/train-images-idx3-ubyte.gz"

-- CIFAR-10 batch files in dir: record k of a file has label (k*3+base)%10
-- and pixel i = (i*7 + k + base) % 256.
local function cifar_dir(dir)
  local function batch(path, n, base)
    local recs = {}
    for k = 0, n - 1 do
      local px = {}
      for i = 0, 3071 do px[#px + 1] = string.char((i * 7 + k + base) % 256) end
      recs[#recs + 1] = string.char((k * 3 + base) % 10) .. table.concat(px)
    end
    H.write_file(path, table.concat(recs))
  end
  for b = 1, 5 do batch(dir .. "/data_batch_" .. b .. ".bin", 2, b) end
  batch(dir .. "/test_batch.bin", 4, 0)
end

-- Records every batch core._bytes_batch makes; the largest len it was asked for.
local function watch_batches(fn)
  local real, largest = core._bytes_batch, 0
  core._bytes_batch = function(store, first, count, index, start, len, ...)
    largest = math.max(largest, index and index.shape[1] or len)
    return real(store, first, count, index, start, len, ...)
  end
  local ok, err = pcall(fn)
  core._bytes_batch = real
  assert(ok, err)
  return largest
end

describe("byte datasets", function()
  it("hold the file's bytes and give the plain float path's values, bit for bit", function()
    local ds = fixture_mnist()
    assert.matches("as bytes", tostring(ds))
    assert.is_nil(rawget(ds, "x"))
    local plain = plain_idx(FIX_IMAGES)
    same(ds.x, plain)
    local norm = T.Normalize(0.2860, 0.3530)
    local nds = fixture_mnist{transform = norm}
    same(nds.x, norm(plain))
    -- shuffled batches: the same as batching the normalized floats
    local tds = nn.data.tensor_dataset(norm(plain), nds.y)
    local a = nn.data.DataLoader(nds, {batch_size = 2, shuffle = true, seed = 3})
    local b = nn.data.DataLoader(tds, {batch_size = 2, shuffle = true, seed = 3})
    local bi = b:iter()
    for x, y in a:iter() do
      local x2, y2 = bi()
      same(x, x2)
      same(y, y2)
    end
  end)

  it("ds.x is made on each read, never kept", function()
    local ds = fixture_mnist()
    local a, b = ds.x, ds.x
    assert.is_false(rawequal(a, b))
    a:fill_(7) -- the dataset does not change
    same(ds.x, b)
    assert.is_nil(rawget(ds, "x"))
  end)

  it("fuse a Normalize with one value per channel (cifar10), bit for bit", function()
    local dir = H.tmpdir()
    cifar_dir(dir)
    local mean, std = {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}
    local norm = T.Normalize(mean, std)
    local plain = nn.data.cifar10{dir = dir}.x -- pixel / 255, no Normalize
    local ds = nn.data.cifar10{dir = dir, transform = norm}
    assert.are.equal(10, #ds)
    same(ds.x, norm(plain))
    local x, y = ds:get(3) -- batch 2, record 0: label 2 -> 3
    same(x, norm(plain)[3])
    assert.are.equal(3, y)
    local t = nn.data.cifar10{dir = dir, split = "test", limit = 3, transform = T.Normalize(0.5, 0.25)}
    same(t.x, T.Normalize(0.5, 0.25)(nn.data.cifar10{dir = dir, split = "test"}.x:narrow(1, 1, 3)))
    H.rmrf(dir)
  end)

  it("run the rest of a Compose after the fused Normalize, and other transforms per batch", function()
    local plain = plain_idx(FIX_IMAGES)
    local norm, flip = T.Normalize(0.1307, 0.3081), T.RandomHorizontalFlip(1)
    same(fixture_mnist{transform = T.Compose{norm, flip}}.x, flip(norm(plain)))
    same(fixture_mnist{transform = T.Compose{flip, norm}}.x, norm(flip(plain)))
    local shapes = {}
    local ds = fixture_mnist{transform = function(x) shapes[#shapes + 1] = x.shape[1]; return x * 2 end}
    local loader = nn.data.DataLoader(ds, {batch_size = 2})
    local got = {}
    for x in loader:iter() do got[#got + 1] = x end
    assert.are.same({2, 2, 1}, shapes) -- once per batch, on the batch
    same(nn.cat(got, 1), plain * 2)
    -- get(i) runs the transform on a batch of one sample
    local x = ds:get(4)
    same(x, (plain * 2)[4])
    -- a DataLoader's own transform runs after the dataset's
    local nds = fixture_mnist{transform = norm}
    local l2 = nn.data.DataLoader(nds, {batch_size = 5, transform = function(b) return b + 1 end})
    for b in l2:iter() do same(b, norm(plain) + 1) end
    -- the transform can be set on the dataset afterwards, as torchvision's
    nds.transform = nil
    same(nds.x, plain)
    nds.transform = 5
    H.assert_error(function() return nds:get(1) end, "Dataset: transform must be callable", "5")
  end)

  it("subset, random_split and kfold keep the bytes and the transform", function()
    local norm = T.Normalize(0.5, 0.5)
    local ds = fixture_mnist{transform = norm}
    local tds = nn.data.tensor_dataset(norm(plain_idx(FIX_IMAGES)), ds.y)
    local function match(a, b)
      assert.matches("as bytes", tostring(a))
      assert.matches("Normalize", tostring(a))
      assert.are.equal(#b, #a)
      same(a.x, b.x)
      same(a.y, b.y)
      assert.are.equal(ds.classes, a.classes)
    end
    match(nn.data.subset(ds, {5, 1, 5}), nn.data.subset(tds, {5, 1, 5}))
    match(nn.data.subset(ds, 2), nn.data.subset(tds, 2))
    match(nn.data.subset(ds, nn.tensor({3, 2}, "int64")), nn.data.subset(tds, {3, 2}))
    local a1, a2 = nn.data.random_split(ds, {0.6, 0.4}, 7)
    local b1, b2 = nn.data.random_split(tds, {0.6, 0.4}, 7)
    match(a1, b1)
    match(a2, b2)
    -- a subset of a split of a split
    match(nn.data.subset(a1, {3, 1}), nn.data.subset(b1, {3, 1}))
    local fa, fb = nn.data.kfold(ds, 2, 1), nn.data.kfold(tds, 2, 1)
    for i = 1, 2 do
      match(fa[i].train, fb[i].train)
      match(fa[i].val, fb[i].val)
    end
  end)

  it("train and evaluate in nn.fit and nn.evaluate as the tensor path does, one batch at a time", function()
    local norm = T.Normalize(0.2860, 0.3530)
    local ds = fixture_mnist{transform = norm}
    local tds = nn.data.tensor_dataset(norm(plain_idx(FIX_IMAGES)), ds.y)
    local function train(data)
      nn.manual_seed(5)
      local model = nn.Sequential{nn.Flatten(), nn.Linear(6, 10)}
      local history = nn.fit(model, {train = data, validation_split = 0.4, batch_size = 2, epochs = 3,
                                     loss = nn.CrossEntropyLoss(), verbose = 0,
                                     optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1})})
      return history, nn.evaluate(model, data, {loss = nn.CrossEntropyLoss(), batch_size = 2})
    end
    local h_bytes, r_bytes
    local largest = watch_batches(function() h_bytes, r_bytes = train(ds) end)
    assert.is_true(largest <= 2, "a batch of " .. largest .. " samples was made (ds.x?)")
    local h_tensor, r_tensor = train(tds)
    assert.are.same(h_tensor.loss, h_bytes.loss)
    assert.are.same(h_tensor.val_loss, h_bytes.val_loss)
    assert.are.equal(r_tensor.loss, r_bytes.loss)
    assert.are.equal(r_tensor.accuracy, r_bytes.accuracy)
    -- splits and folds make no float copy of the dataset either
    largest = watch_batches(function()
      local a = nn.data.random_split(ds, {3, 2}, 1)
      nn.data.kfold(ds, 5, 1)
      nn.data.subset(a, 2)
      for _ in nn.data.DataLoader(a, {batch_size = 1, shuffle = true}):iter() do end
    end)
    assert.is_true(largest <= 1)
  end)

  it("image_folder keeps bytes; size= resizes as torchvision's uint8 resize", function()
    local ref = dofile(SRC .. "/tests/fixtures/bytes/resize.lua")
    local dir = H.tmpdir()
    os.execute("mkdir -p '" .. dir .. "/only'")
    local img = nn.tensor(ref.image.data):view(table.unpack(ref.image.shape)) / 255
    nn.image.save(img, dir .. "/only/a.png")
    local ds = nn.data.image_folder(dir)
    assert.matches("as bytes", tostring(ds))
    same(ds.x[1], nn.image.load(dir .. "/only/a.png"))
    for _, case in ipairs(ref.cases) do
      local r = nn.data.image_folder(dir, {size = case.size})
      local got = (r.x[1] * 255):round():reshape(-1):totable()
      assert.are.same(case.data, got, "size " .. table.concat(case.size, "x"))
    end
    -- a dataset transform, and channel counts that differ
    local n = nn.data.image_folder(dir, {transform = T.Normalize({0.5, 0.4, 0.3}, {0.2, 0.2, 0.2})})
    same(n.x, T.Normalize({0.5, 0.4, 0.3}, {0.2, 0.2, 0.2})(ds.x))
    os.execute("mkdir -p '" .. dir .. "/zz'")
    nn.image.save(nn.rand(1, 5, 7), dir .. "/zz/b.png")
    H.assert_error(function() nn.data.image_folder(dir, {size = 4}) end, "image_folder: ",
                   "zz/b.png", "[1,4,4]", "[3,4,4]")
    H.rmrf(dir)
  end)

  it("check every option and argument, naming the function and the values", function()
    H.assert_error(function() fixture_mnist{transform = 5} end, "mnist: ", "transform must be callable", "5")
    H.assert_error(function() nn.data.fashion_mnist{dir = FIX .. "gz", transform = "x"} end,
                   "fashion_mnist: ", "transform must be callable")
    H.assert_error(function() fixture_mnist{transform = T.Normalize({0.1, 0.2}, {1, 1})} end,
                   "mnist: Normalize mean has 2 values, expected 1 (the images have one channel)")
    H.assert_error(function() fixture_mnist{transform = T.Normalize(0.5, 0)} end,
                   "mnist: Normalize std[1] must not be 0")
    H.assert_error(function() fixture_mnist{transform = T.Compose{T.Normalize({"a"}, 1)}} end,
                   "mnist: Normalize mean[1] must be a number, got string")
    H.assert_error(function() fixture_mnist{transform = T.Normalize(0.1, 0 / 0)} end,
                   "mnist: Normalize std[1] must be finite")
    local dir = H.tmpdir()
    cifar_dir(dir)
    H.assert_error(function() nn.data.cifar10{dir = dir, transform = T.Normalize({0.1, 0.2}, 1)} end,
                   "cifar10: Normalize mean has 2 values, expected 1 or 3 (one per channel)")
    H.assert_error(function() nn.data.cifar10{dir = dir, transform = {}} end, "cifar10: transform must be callable")
    H.assert_error(function() nn.data.image_folder(dir, {transform = true}) end,
                   "image_folder: transform must be callable")
    H.rmrf(dir)
    -- a header that announces 2^30 images of 28x28 in a sparse file of that size (no disk
    -- used): refused before any allocation (gzipped, the 1032:1 ceiling refuses it earlier)
    local lie = H.tmpdir()
    H.write_file(lie .. "/train-images-idx3-ubyte", "\0\0\8\3\64\0\0\0\0\0\0\28\0\0\0\28")
    assert(os.execute(("truncate -s %d '%s/train-images-idx3-ubyte'"):format(16 + 2^30 * 784, lie)))
    H.write_file(lie .. "/train-labels-idx1-ubyte", "\0\0\8\1\0\0\0\0")
    H.assert_error(function() nn.data.mnist{dir = lie} end, "mnist: 1073741824 samples need 841.8 GB",
                   "more than this machine's")
    H.rmrf(lie)
    local ds = fixture_mnist()
    H.assert_error(function() ds:get(6) end, "get: index 6 out of range for a dataset of 5 samples")
    H.assert_error(function() nn.data.subset(ds, {6}) end, "subset: indices 6 out of range 1..5")
    H.assert_error(function() nn.data.kfold(ds, 6) end, "kfold: k is 6 but the dataset has only 5 samples")
    local store = rawget(ds, "_store")
    H.assert_error(function() core._bytes_batch(store, 0, 5, nn.tensor({1, 9}, "int64"), 0, 0, nil, nil, "t") end,
                   "t: index 9 out of range 1..5")
    H.assert_error(function() core._bytes_batch(store, 0, 5, nn.tensor({1.0}), 0, 0, nil, nil, "t") end,
                   "t: indices must be a 1-D int64 tensor, got float32")
    H.assert_error(function() core._bytes_batch(store, 0, 5, nil, 4, 2, nil, nil, "t") end,
                   "t: samples 5..6 out of range 1..5")
    H.assert_error(function() core._bytes_batch(store, 3, 5, nil, 0, 1, nil, nil, "t") end,
                   "t: samples 4..8 are outside a store of 5")
    H.assert_error(function() core._bytes_batch({}, 0, 5, nil, 0, 1, nil, nil, "t") end,
                   "t: argument 1 must be a byte store, got table")
    H.assert_error(function() core._bytes_batch(store, 0, 5, nil, 0, 1, 0.5, nil, "t") end,
                   "t: Normalize needs both mean and std")
    local loader = nn.data.DataLoader(ds)
    H.assert_error(function()
      nn.fit(nn.Linear(6, 10), {train = loader, validation_split = 0.2, loss = nn.CrossEntropyLoss(),
                                optimizer = nn.optim.SGD(nn.Linear(1, 1):parameters(), {lr = 1})})
    end, "fit: validation_split needs train to be an in-memory dataset, got a loader")
  end)
end)

describe("Fashion-MNIST as bytes", function()
  it("gives the test split's normalized floats bit for bit, at a quarter of their size", function()
    local REAL = H.fashion_mnist_dir()
    local norm = T.Normalize(0.2860, 0.3530)
    local ds = nn.data.fashion_mnist{split = "test", dir = REAL, transform = norm}
    local _, _, nbytes = core._bytes_info(rawget(ds, "_store"))
    assert.are.equal(10000 * 784, nbytes)
    same(ds.x, norm(plain_idx(REAL .. "/t10k-images-idx3-ubyte.gz")))
  end)
end)
