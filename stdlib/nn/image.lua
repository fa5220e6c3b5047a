-- The image family's Lua side (bindings/image.c, runtime/image.c): PNG
-- load and save, which are nn.image, and image_folder, the dataset of a
-- folder of PNGs, which nn.data exposes as nn.data.image_folder. Returns
-- {load=, save=, image_folder=}; the PNGs are decoded and encoded in C.

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail
local show = A.show

local M = {}

-- ---- PNG images ----

--- load(path) -> float32 [C,H,W] in [0,1]: C = 1 gray, 2 gray+alpha,
-- 3 RGB, 4 RGBA (alpha kept as the last channel; palettes expand).
function M.load(path)
  return core._image_load(path)
end

--- save(t, path): t [C,H,W] (C = 1..4) or [H,W], values clamped to
-- [0,1], written as an 8-bit PNG (temp file + rename).
function M.save(t, path)
  core._image_save(t, path)
end

-- ---- image folders ----

-- Entries of dir (no . and ..), sorted; nil, reason when it cannot be listed.
local function list_dir(dir)
  local q = "'" .. dir:gsub("'", "'\\''") .. "'"
  local p = io.popen("ls -1A -- " .. q .. " 2>/dev/null")
  if not p then return nil end
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  local ok = p:close()
  if not ok then return nil end
  table.sort(names)
  return names
end

local function is_dir(path)
  local p = io.popen("test -d '" .. path:gsub("'", "'\\''") .. "' && echo d")
  local r = p and p:read("l")
  if p then p:close() end
  return r == "d"
end

--- image_folder(dir, {size=, limit=, transform=}): one sub-folder per class
-- (sorted names = ds.classes), *.png files inside (sorted). The images are
-- held as their 8-bit values (nn.data.bytes), converted to [0,1] floats
-- per batch. With size (a number or {H, W}) every image is resized
-- bilinearly (PyTorch's align_corners=False) to it and rounded back to
-- bytes, as torchvision's Resize of a uint8 image; without, all images
-- must share [H,W]. All must have the same channel count. x [N,C,H,W], y
-- int64 1..K; ds.files lists the paths in sample order. limit=n loads only
-- the first n images (in sample order; ds.classes still lists every class
-- sub-folder). transform: the dataset transform, as fashion_mnist's.
function M.image_folder(dir, opts)
  local fname = "image_folder"
  if type(dir) ~= "string" then fail(fname, "dir must be a string, got %s", type(dir)) end
  opts = A.options(fname, opts, {size = true, limit = true, transform = true})
  local limit = opts.limit and A.int(fname, "limit", opts.limit)
  local bytes = require "nn.data.bytes"
  bytes.check_transform(fname, opts.transform)
  local size
  if opts.size ~= nil then
    local s = opts.size
    if type(s) == "number" then s = {s, s} end
    if type(s) ~= "table" or #s ~= 2 or math.type(s[1]) ~= "integer" or math.type(s[2]) ~= "integer"
       or s[1] < 1 or s[2] < 1 then
      fail(fname, "size must be a positive integer or {H, W}, got %s", show(opts.size))
    end
    size = s
  end
  if not is_dir(dir) then fail(fname, "cannot open '%s': not a readable directory", dir) end
  local entries = list_dir(dir)
  if not entries then fail(fname, "cannot list '%s'", dir) end
  local classes, labels, files = {}, {}, {}
  local shape
  for _, name in ipairs(entries) do
    local sub = dir .. "/" .. name
    if is_dir(sub) then
      classes[#classes + 1] = name
      local k = #classes
      for _, file in ipairs(list_dir(sub) or {}) do
        if file:lower():match("%.png$") and not (limit and #files >= limit) then
          local path = sub .. "/" .. file
          -- the header only: the pixels are decoded once, into the store
          local c, h, w = core._png_info(path, fname)
          if size then h, w = size[1], size[2] end
          if not shape then
            shape = {c, h, w}
          elseif c ~= shape[1] or h ~= shape[2] or w ~= shape[3] then
            fail(fname, "'%s' is [%d,%d,%d] but '%s' is [%d,%d,%d]: all images must have the same [C,H,W]",
                 path, c, h, w, files[1], shape[1], shape[2], shape[3])
          end
          labels[#labels + 1] = k
          files[#files + 1] = path
        end
      end
    end
  end
  if #classes == 0 then fail(fname, "'%s' has no class sub-folders", dir) end
  if #files == 0 then fail(fname, "'%s' has no PNG files in its class sub-folders", dir) end
  local store = core._bytes_new(#files, shape, fname)
  for i, path in ipairs(files) do core._bytes_read_png(store, i, path, fname) end
  bytes.check_normalize(fname, opts.transform, store)
  -- nn.data is required at call time: it requires this file while it loads.
  return require("nn.data")._byte_dataset(store, nn.tensor(labels, "int64"),
                                          {classes = classes, transform = opts.transform, files = files})
end

return M
