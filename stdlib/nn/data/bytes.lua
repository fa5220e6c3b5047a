-- Datasets held as bytes (SPEC §8): fashion_mnist, mnist, cifar10 and
-- image_folder keep their pixels as the file's uint8 values in one C
-- buffer (a byte store: bindings/byte_store.c, runtime/byte_store.c), and
-- each batch is made by one C call that gathers the batch's samples,
-- converts them to floats in [0,1] and normalizes them, straight into the
-- batch tensor. So a dataset costs what its file holds, not four times
-- that, and nothing of it is ever decoded twice.
--
-- A byte dataset is an nn.data.Dataset (init.lua) with these fields:
--   _store   the byte store (shared by views of the same samples)
--   _first   the store row of sample 1, 0-based
--   _n       the number of samples
--   y        the labels, int64
--   transform  the dataset-level transform (torchvision's `transform=`)
-- and `ds.x`, made on demand by init.lua through batch().
--
-- The dataset transform runs on each batch after the conversion, as
-- torchvision's runs after ToTensor. A Normalize, alone or first in a
-- Compose, is not run as a pass of its own: its mean and std go into the
-- conversion (the same float operations, so bit-identical values), and
-- the rest of the transform runs on the normalized batch.

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail

local bytes = {}

-- A plain instance of cls (not one with its own forward, which does
-- something else and must run as itself).
local function plain(t, cls)
  return type(t) == "table" and getmetatable(t) == cls and rawget(t, "forward") == nil
end

-- tr split into the Normalize fused into the conversion (or nil) and the
-- transform that runs after it (or nil).
local function split(tr)
  local T = nn.transforms
  if plain(tr, T.Normalize) then return tr, nil end
  if plain(tr, T.Compose) and plain(tr.transforms[1], T.Normalize) then
    local list = tr.transforms
    return list[1], #list > 1 and T.Compose({table.unpack(list, 2)}) or nil
  end
  return nil, tr
end

-- ds's split transform, worked out again only when ds.transform changes.
local function parts(ds)
  local tr = rawget(ds, "transform")
  if rawget(ds, "_split_of") ~= tr or rawget(ds, "_split_done") == nil then
    bytes.check_transform("Dataset", tr) -- it may have been set after the loader checked it
    local norm, rest = split(tr)
    rawset(ds, "_norm", norm)
    rawset(ds, "_rest", rest)
    rawset(ds, "_split_of", tr)
    rawset(ds, "_split_done", true)
  end
  return rawget(ds, "_norm"), rawget(ds, "_rest")
end

--- check_transform(fname, tr): tr is nil or callable (checked before any
-- file is read).
function bytes.check_transform(fname, tr)
  if tr ~= nil and type(tr) ~= "function" and not (getmetatable(tr) or {}).__call then
    fail(fname, "transform must be callable (such as nn.transforms.Normalize(0.5, 0.5)), got %s",
         A.show(tr))
  end
end

--- check_normalize(fname, tr, store): the mean and std of a Normalize
-- that tr fuses fit the store's channels.
function bytes.check_normalize(fname, tr, store)
  local norm = split(tr)
  -- an empty batch checks mean and std against the channels
  if norm then core._bytes_batch(store, 0, 0, nil, 0, 0, norm.mean, norm.std, fname) end
end

--- new(store, y, opts): the byte dataset of all of store's samples; opts
-- has classes, transform, files.
function bytes.new(store, y, opts)
  return {_store = store, _first = 0, _n = core._bytes_info(store), y = y,
          classes = opts.classes, transform = opts.transform, files = opts.files}
end

-- A dataset like ds over other samples: fields copied, the caches not.
local function like(ds, store, first, n, y)
  return {_store = store, _first = first, _n = n, y = y, classes = rawget(ds, "classes"),
          transform = rawget(ds, "transform")}
end

--- batch(ds, order, start, len) -> x, y: samples order[start..start+len-1]
-- (order: 1-based int64 positions in ds) or, without order, start.. (1-based).
function bytes.batch(ds, order, start, len)
  local norm, rest = parts(ds)
  local mean, std = norm and norm.mean, norm and norm.std
  local x, y
  if order then
    local idx = order:narrow(1, start, len)
    x = core._bytes_batch(ds._store, ds._first, ds._n, idx, 0, 0, mean, std, "Dataset")
    y = ds.y:index_select(1, idx)
  else
    x = core._bytes_batch(ds._store, ds._first, ds._n, nil, start - 1, len, mean, std, "Dataset")
    y = ds.y:narrow(1, start, len)
  end
  if rest then x = rest(x) end
  return x, y
end

--- select(ds, idx) -> the fields of a dataset of the samples at the
-- 1-based int64 positions idx, their bytes copied.
function bytes.select(ds, idx)
  local store = core._bytes_select(ds._store, ds._first, ds._n, idx, 0, 0, "subset")
  return like(ds, store, 0, idx.shape[1], ds.y:index_select(1, idx))
end

--- range(ds, start, len) -> the fields of a view of samples start..start+len-1
-- (1-based), sharing ds's bytes.
function bytes.range(ds, start, len)
  return like(ds, ds._store, ds._first + start - 1, len, ds.y:narrow(1, start, len))
end

--- describe(ds) -> "x 60000x1x28x28 as bytes (47.0 MB)", and the transform.
function bytes.describe(ds)
  local _, shape = core._bytes_info(ds._store)
  local n, row = ds._n, 1
  for _, s in ipairs(shape) do row = row * s end
  local size = n * row
  size = size < 1e6 and ("%.1f kB"):format(size / 1e3) or ("%.1f MB"):format(size / 1e6)
  local s = ("x %dx%s as bytes (%s)"):format(n, table.concat(shape, "x"), size)
  local tr = rawget(ds, "transform")
  if tr ~= nil then s = s .. ", transform " .. tostring(tr) end
  return s
end

return bytes
