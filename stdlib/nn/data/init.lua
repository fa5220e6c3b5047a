-- nn.data: datasets and the DataLoader.
--
-- This file has the IDX loaders (fashion_mnist, mnist), tensor_dataset,
-- random_split, kfold and the DataLoader; the other file formats have one
-- file each beside it (csv.lua, cifar10.lua), and image_folder lives with
-- the PNG reader in stdlib/nn/image.lua. They make their datasets with
-- tensor_dataset (csv) or _byte_dataset (cifar10, image_folder), requiring
-- nn.data at call time.
--
-- Every built-in dataset is in memory, in one of two forms. A tensor
-- dataset (tensor_dataset, csv, the synthetic sets) holds `ds.x` and
-- `ds.y`; a byte dataset (fashion_mnist, mnist, cifar10, image_folder)
-- holds its images as the file's bytes and `ds.y`, and makes float batches
-- in C (bytes.lua); its `ds.x` is made on demand, each time it is read.
-- Either way `#ds` is the sample count, `ds:get(i)` returns sample i
-- (1-based), and a DataLoader cuts batches with one call per tensor
-- (ds:_batch), so no Lua code runs per sample.

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local with_seed = require "nn.data.seed"
local bytes = require "nn.data.bytes"
local fail = A.fail

local data = {}

-- ---- in-memory datasets ----

local Dataset = {}
Dataset.__index = Dataset
Dataset.__name = "nn.data.Dataset"

-- Byte datasets have Dataset's methods; their x is every sample converted
-- (and transformed), made anew on each read: it costs four times the
-- bytes, so it is not kept.
local ByteDataset = {__name = "nn.data.Dataset"}
function ByteDataset.__index(self, key)
  if key == "x" then return bytes.batch(self, nil, 1, self._n) end
  return Dataset[key]
end

function Dataset:__len() return rawget(self, "_n") or self.x.shape[1] end

--- ds:get(i) -> x_i (a view of row i; a byte dataset's converted and
-- transformed), y_i (a Lua number).
function Dataset:get(i)
  local n = #self
  i = A.int("get", "index", i, math.mininteger)
  if i < 1 or i > n then fail("get", "index %d out of range for a dataset of %d samples", i, n) end
  if rawget(self, "_store") then return bytes.batch(self, nil, i, 1)[1], self.y[i] end
  return self.x[i], self.y[i]
end

function Dataset:__tostring()
  if rawget(self, "_store") then return ("Dataset(%d samples, %s)"):format(#self, bytes.describe(self)) end
  local s = self.x.shape
  return ("Dataset(%d samples, x %s)"):format(s[1], table.concat(s, "x"))
end
ByteDataset.__len = Dataset.__len
ByteDataset.__tostring = Dataset.__tostring

-- ds:_batch(order, start, len) -> x, y: the samples order[start..start+len-1]
-- (order: 1-based int64 positions) or, when order is nil, start..start+len-1.
function Dataset:_batch(order, start, len)
  if rawget(self, "_store") then return bytes.batch(self, order, start, len) end
  if order then
    local idx = order:narrow(1, start, len)
    return self.x:index_select(1, idx), self.y:index_select(1, idx)
  end
  return self.x:narrow(1, start, len), self.y:narrow(1, start, len)
end

-- ds:_subset(idx): the samples at the 1-based int64 positions idx, copied.
function Dataset:_subset(idx)
  if rawget(self, "_store") then return setmetatable(bytes.select(self, idx), ByteDataset) end
  return setmetatable({x = self.x:index_select(1, idx), y = self.y:index_select(1, idx),
                       classes = self.classes}, Dataset)
end

-- ds:_range(start, len): samples start..start+len-1 as a view sharing ds's memory.
function Dataset:_range(start, len)
  if rawget(self, "_store") then return setmetatable(bytes.range(self, start, len), ByteDataset) end
  return setmetatable({x = self.x:narrow(1, start, len), y = self.y:narrow(1, start, len),
                       classes = self.classes}, Dataset)
end

local function new_dataset(x, y, classes)
  return setmetatable({x = x, y = y, classes = classes}, Dataset)
end

--- _byte_dataset(store, y, {classes=, transform=, files=}): the dataset of
-- a byte store's samples (the loaders' constructor).
function data._byte_dataset(store, y, opts)
  return setmetatable(bytes.new(store, y, opts), ByteDataset)
end
--- _is_dataset(v): whether v is an in-memory dataset (nn.fit, nn.evaluate).
function data._is_dataset(v)
  local mt = getmetatable(v)
  return mt == Dataset or mt == ByteDataset
end

--- tensor_dataset(x, y [, classes]): samples along the first dim of both;
-- classes, the class names (ds.classes), when the labels have names.
function data.tensor_dataset(x, y, classes)
  if not nn.is_tensor(x) then fail("tensor_dataset", "x must be a tensor, got %s", type(x)) end
  if not nn.is_tensor(y) then fail("tensor_dataset", "y must be a tensor, got %s", type(y)) end
  if x:dim() == 0 or y:dim() == 0 then
    fail("tensor_dataset", "x and y need a sample dim, got %d-D x and %d-D y", x:dim(), y:dim())
  end
  if x.shape[1] ~= y.shape[1] then
    fail("tensor_dataset", "x has %d samples but y has %d", x.shape[1], y.shape[1])
  end
  if classes ~= nil and type(classes) ~= "table" then
    fail("tensor_dataset", "classes must be a list of names, got %s", type(classes))
  end
  return new_dataset(x, y, classes)
end

local function check_dataset(fname, ds)
  if not data._is_dataset(ds) then
    fail(fname, "dataset must be an in-memory dataset (with x and y), got %s", type(ds))
  end
end

--- subset(ds, indices | n): the samples at 1-based indices (a Lua array or
-- a 1-D int64 tensor, in that order, repeats allowed), or the first n
-- samples; keeps ds.classes. The samples are copied: a small subset of a
-- big dataset does not hold the big one's memory.
function data.subset(ds, indices)
  local fname = "subset"
  check_dataset(fname, ds)
  local n = #ds
  if type(indices) == "number" then
    local k = A.int(fname, "n", indices, 0)
    if k > n then fail(fname, "n is %d but the dataset has only %d samples", k, n) end
    return ds:_subset(nn.arange(1, k + 1, {dtype = "int64"}))
  end
  local idx
  if type(indices) == "table" and not nn.is_tensor(indices) then
    for i, v in ipairs(indices) do
      if type(v) ~= "number" or not math.tointeger(v) then
        fail(fname, "indices[%d] must be an integer, got %s", i, A.show(v))
      end
    end
    idx = nn.tensor(indices, "int64"):view(#indices)
  elseif nn.is_tensor(indices) then
    if indices.dtype ~= "int64" or indices:dim() ~= 1 then
      fail(fname, "indices must be a 1-D int64 tensor, got %s %s", indices.dtype,
           A.shape_str(indices))
    end
    idx = indices
  else
    fail(fname, "indices must be a Lua array, an int64 tensor or a count, got %s", type(indices))
  end
  if idx.shape[1] > 0 then
    local bad = idx:clamp(1, math.max(n, 1)):ne(idx)
    if bad:any():item() then
      local vals, shown = idx:masked_select(bad):totable(), {}
      for i = 1, math.min(#vals, 5) do shown[i] = tostring(math.tointeger(vals[i]) or vals[i]) end
      fail(fname, "indices %s%s out of range 1..%d", table.concat(shown, ", "),
           #vals > 5 and (" (and %d more)"):format(#vals - 5) or "", n)
    end
  end
  return ds:_subset(idx)
end

-- ---- IDX datasets (MNIST family) ----

local FASHION_CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"}
local DIGITS = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

-- dir/name.gz, else dir/name; raises with the install hint when neither opens.
local function find_idx(fname, dir, name, hint)
  local gz = dir .. "/" .. name .. ".gz"
  local f, err = io.open(gz, "rb")
  if f then f:close() return gz end
  local plain = dir .. "/" .. name
  f = io.open(plain, "rb")
  if f then f:close() return plain end
  local reason = err and err:match(": ([^:]*)$") or "cannot be read"
  fail(fname, "cannot open '%s': %s (%s)", gz, reason, hint)
end

local function load_idx(fname, opts, default_dir, hint, classes)
  opts = A.options(fname, opts, {split = true, dir = true, limit = true, transform = true})
  local limit = opts.limit and A.int(fname, "limit", opts.limit)
  bytes.check_transform(fname, opts.transform)
  local split = opts.split or "train"
  local prefix = ({train = "train", test = "t10k"})[split]
  if not prefix then fail(fname, "split must be 'train' or 'test', got %s", A.show(split)) end
  local dir = opts.dir or default_dir
  if type(dir) ~= "string" then fail(fname, "dir must be a string, got %s", type(dir)) end
  local images = find_idx(fname, dir, prefix .. "-images-idx3-ubyte", hint)
  local labels = find_idx(fname, dir, prefix .. "-labels-idx1-ubyte", hint)
  -- the images as bytes [N,1,H,W] (the first `limit` only), and N as the header says
  local store, total = core._bytes_read_idx(images, limit, fname)
  local y = core._read_idx(labels, {name = fname})
  if y:dim() ~= 1 then fail(fname, "'%s' holds %d-D data, expected [N] labels", labels, y:dim()) end
  if total ~= y.shape[1] then
    fail(fname, "'%s' has %d images but '%s' has %d labels", images, total, labels, y.shape[1])
  end
  local n = core._bytes_info(store)
  if n < total then y = y:narrow(1, 1, n):clone() end
  -- Files store labels 0..9; nnlua's class labels are 1-based.
  y:add_(1)
  bytes.check_normalize(fname, opts.transform, store)
  return data._byte_dataset(store, y, {classes = classes, transform = opts.transform})
end

--- fashion_mnist{split='train'|'test', dir=, limit=, transform=}: x [N,1,28,28] in [0,1]
-- (then transformed), held as bytes; y 1..10.
function data.fashion_mnist(opts)
  return load_idx("fashion_mnist", opts,
                  os.getenv("NNLUA_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist",
                  "install the Debian package dataset-fashion-mnist or set NNLUA_FASHION_MNIST",
                  FASHION_CLASSES)
end

--- mnist{split=, dir=, limit=, transform=}: the same IDX layout; labels 1..10 for digits 0..9.
function data.mnist(opts)
  return load_idx("mnist", opts, os.getenv("NNLUA_MNIST") or "/usr/share/datasets/mnist",
                  "pass dir= or set NNLUA_MNIST", DIGITS)
end

-- ---- splits ----

--- random_split(ds, sizes, seed): sizes are fractions summing to 1 or
--- sample counts summing to #ds; returns the parts as values.
function data.random_split(ds, sizes, seed)
  check_dataset("random_split", ds)
  if type(sizes) ~= "table" or #sizes == 0 then
    fail("random_split", "sizes must be a non-empty array, got %s", type(sizes))
  end
  local n, counts, total, integral = #ds, {}, 0, true
  for i, s in ipairs(sizes) do
    if type(s) ~= "number" or s < 0 then
      fail("random_split", "sizes[%d] must be a non-negative number, got %s", i, A.show(s))
    end
    total = total + s
    integral = integral and math.type(s) == "integer"
  end
  if integral and total == n then
    for i, s in ipairs(sizes) do counts[i] = s end
  elseif math.abs(total - 1) <= 1e-6 then
    -- floor of each share, then the remainder one by one from the first (PyTorch).
    local given = 0
    for i, s in ipairs(sizes) do counts[i] = math.floor(s * n) given = given + counts[i] end
    for i = 0, n - given - 1 do
      local k = i % #counts + 1
      counts[k] = counts[k] + 1
    end
  else
    fail("random_split", "sizes must sum to 1 (fractions) or to %d (counts), got %g", n, total)
  end
  local perm = with_seed(seed, function() return nn.randperm(n) end)
  local parts, start = {}, 1
  for i, c in ipairs(counts) do
    parts[i] = ds:_subset(perm:narrow(1, start, c))
    start = start + c
  end
  return table.unpack(parts)
end

--- kfold(ds, k, seed) -> { {train=ds, val=ds}, ... }: k disjoint
--- validation folds covering every sample once; the first #ds % k folds
--- have one extra sample.
function data.kfold(ds, k, seed)
  check_dataset("kfold", ds)
  local n = #ds
  k = A.int("kfold", "k", k, 2)
  if k > n then fail("kfold", "k is %d but the dataset has only %d samples", k, n) end
  local perm = with_seed(seed, function() return nn.randperm(n) end)
  local folds, start = {}, 1
  for i = 1, k do
    local len = n // k + (i <= n % k and 1 or 0)
    local rest = {}
    if start > 1 then rest[#rest + 1] = perm:narrow(1, 1, start - 1) end
    if start + len <= n then rest[#rest + 1] = perm:narrow(1, start + len, n - start - len + 1) end
    folds[i] = {train = ds:_subset(nn.cat(rest, 1)), val = ds:_subset(perm:narrow(1, start, len))}
    start = start + len
  end
  return folds
end

-- ---- DataLoader ----

local DataLoader = {}
DataLoader.__index = DataLoader
DataLoader.__name = "nn.data.DataLoader"

-- The number of samples each of `world` ranks takes from n, as PyTorch's
-- DistributedSampler: ceil(n / world), padded; with drop_last the tail
-- past a multiple of world is dropped instead.
local function shard_size(n, world, drop_last)
  if drop_last then return n // world end
  return (n + world - 1) // world
end

-- Rank `rank`'s (1-based) shard of an epoch's order (a 1-D int64 tensor of
-- sample indices), as PyTorch's DistributedSampler: the order padded by
-- repeating it from its start up to a multiple of world (or cut down to one
-- with drop_last), then positions rank, rank + world, ... Every rank gets
-- the same number of samples, so the same number of batches: no rank waits
-- alone in a collective at the end of an epoch.
function data._shard(order, rank, world, drop_last)
  local n = order.shape[1]
  local per_rank = shard_size(n, world, drop_last)
  local total = per_rank * world
  if per_rank == 0 then return nn.zeros(0, {dtype = "int64"}) end
  local padded = order
  if total > n then
    local copies = {}
    for i = 1, (total + n - 1) // n do copies[i] = order end
    padded = nn.cat(copies, 1)
  end
  -- Row-major [per_rank, world]: column `rank` holds positions rank, rank + world, ...
  return padded:narrow(1, 1, total):view(per_rank, world):select(2, rank):contiguous()
end

--- DataLoader(ds, {batch_size=1, shuffle=false, drop_last=false,
--- transform=nil, seed=nil, rank=nil, world_size=nil}). With a seed, the
--- shuffles of successive epochs come from a private stream: the same seed
--- gives the same epochs. With rank and world_size, the loader gives only
--- that rank's shard of every epoch (data._shard); the ranks must agree on
--- the order, so a sharded shuffle without a seed uses seed 0, as PyTorch's
--- DistributedSampler.
function data.DataLoader(ds, opts)
  local fname = "DataLoader"
  check_dataset(fname, ds)
  opts = A.options(fname, opts, {batch_size = true, shuffle = true, drop_last = true, transform = true, seed = true,
                                 rank = true, world_size = true})
  local self = setmetatable({dataset = ds}, DataLoader)
  self.batch_size = A.int(fname, "batch_size", opts.batch_size or 1)
  self.shuffle = opts.shuffle or false
  self.drop_last = opts.drop_last or false
  for _, key in ipairs({"shuffle", "drop_last"}) do
    if type(self[key]) ~= "boolean" then
      fail(fname, "%s must be a boolean, got %s", key, A.show(self[key]))
    end
  end
  local tr = opts.transform
  if tr ~= nil and type(tr) ~= "function" and not (getmetatable(tr) or {}).__call then
    fail(fname, "transform must be callable, got %s", type(tr))
  end
  self.transform = tr
  if (opts.rank == nil) ~= (opts.world_size == nil) then
    fail(fname, "rank and world_size go together (got only %s)", opts.rank == nil and "world_size" or "rank")
  end
  if opts.world_size ~= nil then
    self.world_size = A.int(fname, "world_size", opts.world_size, 1)
    self.rank = A.int(fname, "rank", opts.rank, 1)
    if self.rank > self.world_size then
      fail(fname, "rank %d is outside a world of %d (ranks are 1..%d)", self.rank, self.world_size, self.world_size)
    end
  end
  local seed = opts.seed
  if seed == nil and self.world_size and self.shuffle then seed = 0 end
  if seed ~= nil then
    seed = A.int(fname, "seed", seed, math.mininteger)
    self.rng_state = with_seed(seed, function() return nn.get_rng_state() end)
  end
  return self
end

-- The number of samples this loader serves per epoch (its shard's, when sharded).
function DataLoader:_samples()
  local n = #self.dataset
  if not self.world_size then return n end
  return shard_size(n, self.world_size, self.drop_last)
end

--- #loader: the number of batches per epoch (of this rank's shard, when sharded).
function DataLoader:__len()
  local n, b = self:_samples(), self.batch_size
  return self.drop_last and n // b or (n + b - 1) // b
end

-- This epoch's sample order (1-based int64), or nil for the natural order.
function DataLoader:_order()
  local n = #self.dataset
  local order
  if self.shuffle then
    if not self.rng_state then
      order = nn.randperm(n)
    else
      local saved = nn.get_rng_state()
      nn.set_rng_state(self.rng_state)
      order = nn.randperm(n)
      self.rng_state = nn.get_rng_state()
      nn.set_rng_state(saved)
    end
  end
  if not self.world_size then return order end
  return data._shard(order or nn.arange(1, n + 1, {dtype = "int64"}), self.rank, self.world_size, self.drop_last)
end

--- for x, y in loader:iter() do ... end: one epoch of batches.
function DataLoader:iter()
  local ds, b, nb = self.dataset, self.batch_size, #self
  local n, order, transform = self:_samples(), self:_order(), self.transform
  local k = 0
  return function()
    if k >= nb then return nil end
    local start = k * b + 1
    local len = math.min(b, n - start + 1)
    k = k + 1
    local x, y = ds:_batch(order, start, len)
    if transform then x = transform(x) end
    return x, y
  end
end

-- ---- file formats ----

data.csv = require "nn.data.csv"
data.cifar10 = require "nn.data.cifar10"
data.image_folder = require("nn.image").image_folder
data.synthetic = require "nn.data.synthetic"

return data
