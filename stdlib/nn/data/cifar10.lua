-- nn.data.cifar10: the CIFAR-10 binary version as an in-memory dataset,
-- its pixels held as the file's bytes (nn.data.bytes). The records are read
-- in C (core._bytes_read_cifar: bindings/byte_store.c, runtime/data_cifar.c).

local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail
local show = A.show

local bytes = require "nn.data.bytes"

local CIFAR_CLASSES = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck"}

--- cifar10{dir=, split='train'|'test', limit=, transform=}: the binary version
-- (data_batch_1..5.bin, test_batch.bin); limit=n keeps the first n samples;
-- x [N,3,32,32] float32 in [0,1] (then transformed), held as bytes; y int64 1..10.
local function cifar10(opts)
  local fname = "cifar10"
  opts = A.options(fname, opts, {dir = true, split = true, limit = true, transform = true})
  local limit = opts.limit and A.int(fname, "limit", opts.limit)
  bytes.check_transform(fname, opts.transform)
  local split = opts.split or "train"
  local files
  if split == "train" then
    files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
             "data_batch_5.bin"}
  elseif split == "test" then
    files = {"test_batch.bin"}
  else
    fail(fname, "split must be 'train' or 'test', got %s", show(split))
  end
  local dir = opts.dir or os.getenv("NNLUA_CIFAR10")
  if dir == nil then
    fail(fname, "give dir= (the folder of the CIFAR-10 binary version, data_batch_1.bin ... " ..
         "test_batch.bin) or set NNLUA_CIFAR10: the dataset is not packaged in Debian")
  end
  if type(dir) ~= "string" then fail(fname, "dir must be a string, got %s", type(dir)) end
  local paths = {}
  for i, name in ipairs(files) do
    local p = dir .. "/" .. name
    local f, err = io.open(p, "rb")
    if not f then
      fail(fname, "cannot open '%s': %s (the CIFAR-10 binary version is not packaged in Debian; " ..
           "download cifar-10-binary.tar.gz and give dir=)", p, A.open_reason(err))
    end
    f:close()
    paths[i] = p
  end
  local store, y = core._bytes_read_cifar(paths, limit, fname)
  bytes.check_normalize(fname, opts.transform, store)
  -- nn.data is required at call time: it requires this file while it loads.
  return require("nn.data")._byte_dataset(store, y, {classes = CIFAR_CLASSES, transform = opts.transform})
end

return cifar10
