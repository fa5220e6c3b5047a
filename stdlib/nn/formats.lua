-- File formats for nn.data and nn.image: csv, cifar10, image_folder and
-- PNG load/save. Returns {csv=, cifar10=, image_folder=, image={load=, save=}}.
--
-- The byte-heavy formats (CIFAR-10, PNG) are decoded in C
-- (bindings/data.c, bindings/image.c); CSV is parsed here, which is plenty for the
-- course's tabular files. Datasets are nn.data's in-memory datasets, made
-- through nn.data.tensor_dataset (required at call time, so nn.data may
-- itself require this file).

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail
local show = A.show

local F = {}

local function dataset(x, y, classes)
  local ds = require("nn.data").tensor_dataset(x, y)
  ds.classes = classes
  return ds
end

local function open_reason(err)
  return err and err:match(": ([^:]*)$") or "cannot be read"
end

-- ---- CSV ----

-- Splits one line into fields: commas separate, double quotes enclose
-- fields that hold commas ("" is a quote inside). Returns nil, message on
-- an unterminated quote.
local function split_line(line)
  local fields = {}
  local pos, n = 1, #line
  while true do
    if line:sub(pos, pos) == '"' then
      local buf, i = {}, pos + 1
      while true do
        local q = line:find('"', i, true)
        if not q then return nil, "unterminated quoted field" end
        buf[#buf + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          i = q + 2
        else
          pos = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      local c = line:find(",", pos, true)
      if not c then break end
      pos = c + 1
    else
      local c = line:find(",", pos, true)
      if not c then
        fields[#fields + 1] = line:sub(pos)
        break
      end
      fields[#fields + 1] = line:sub(pos, c - 1)
      pos = c + 1
    end
    if pos > n + 1 then break end
  end
  for i, f in ipairs(fields) do fields[i] = f:match("^%s*(.-)%s*$") end
  return fields
end

local SPECIAL = {nan = 0 / 0, ["+nan"] = 0 / 0, ["-nan"] = 0 / 0, inf = math.huge,
                 ["+inf"] = math.huge, ["-inf"] = -math.huge}

local function to_number(s)
  return tonumber(s) or SPECIAL[s:lower()]
end

local CSV_OPTS = {target = true, classes = true, header = true}

--- csv(path, {target=, classes=false, header=true}) -> dataset.
-- target: a column name (needs the header) or a 1-based column index
-- (negative counts from the end); default the last column. Every other
-- column must be numeric: x is float32 [N,F]. y is float32 [N], or with
-- classes=true int64 labels 1..K over the target's distinct values in
-- sorted order (numerically when all are numbers, else as strings), and
-- ds.classes lists those values as strings. ds.columns names x's columns.
function F.csv(path, opts)
  local fname = "csv"
  if type(path) ~= "string" then fail(fname, "path must be a string, got %s", type(path)) end
  opts = A.options(fname, opts, CSV_OPTS)
  local header = A.bool(fname, "header", opts.header, true)
  local classes = A.bool(fname, "classes", opts.classes, false)
  local target = opts.target
  if target ~= nil and type(target) ~= "string" and math.type(target) ~= "integer" then
    fail(fname, "target must be a column name or an integer index, got %s", show(target))
  end
  local f, err = io.open(path, "rb")
  if not f then fail(fname, "cannot open '%s': %s", path, open_reason(err)) end
  local text = f:read("a")
  f:close()
  if not text then fail(fname, "cannot read '%s'", path) end
  if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end -- UTF-8 BOM

  local rows, lines, names = {}, {}, nil
  local ncol
  local lineno = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:find("%S") then
      local fields, why = split_line(line)
      if not fields then fail(fname, "'%s' line %d: %s", path, lineno, why) end
      if not ncol then
        ncol = #fields
      elseif #fields ~= ncol then
        fail(fname, "'%s' line %d has %d fields, expected %d (as the first line)", path, lineno,
             #fields, ncol)
      end
      if header and not names then
        names = fields
      else
        rows[#rows + 1] = fields
        lines[#lines + 1] = lineno
      end
    end
  end
  if #rows == 0 then fail(fname, "'%s' has no data rows", path) end

  local t
  if target == nil then
    t = ncol
  elseif type(target) == "string" then
    if not names then fail(fname, "target %s is a column name but header=false", show(target)) end
    for i, name in ipairs(names) do
      if name == target then t = i break end
    end
    if not t then
      fail(fname, "unknown target column %s in '%s' (columns: %s)", show(target), path,
           table.concat(names, ", "))
    end
  else
    t = target < 0 and ncol + 1 + target or target
    if t < 1 or t > ncol then
      fail(fname, "target column %d out of range for '%s' with %d columns", target, path, ncol)
    end
  end

  local xs, ys = {}, {}
  for r, fields in ipairs(rows) do
    local xr = {}
    for c = 1, ncol do
      local cell = fields[c]
      if c == t then
        ys[r] = cell
      else
        local v = to_number(cell)
        if not v then
          fail(fname, "'%s' line %d column %d%s: %s is not a number", path, lines[r], c,
               names and (" (" .. names[c] .. ")") or "", show(cell))
        end
        xr[#xr + 1] = v
      end
    end
    xs[r] = xr
  end

  local y, class_names
  if classes then
    local seen, values, all_numbers = {}, {}, true
    for _, v in ipairs(ys) do
      if not seen[v] then
        seen[v] = true
        values[#values + 1] = v
        if not to_number(v) then all_numbers = false end
      end
    end
    if all_numbers then
      table.sort(values, function(a, b)
        local na, nb = to_number(a), to_number(b)
        if na ~= nb then return na < nb end
        return a < b
      end)
    else
      table.sort(values)
    end
    local index = {}
    for i, v in ipairs(values) do index[v] = i end
    local labels = {}
    for r, v in ipairs(ys) do labels[r] = index[v] end
    y = nn.tensor(labels, "int64")
    class_names = values
  else
    local vals = {}
    for r, v in ipairs(ys) do
      local n = to_number(v)
      if not n then
        fail(fname, "'%s' line %d target column %d: %s is not a number " ..
             "(use classes=true for labels)",
             path, lines[r], t, show(v))
      end
      vals[r] = n
    end
    y = nn.tensor(vals)
  end

  local x
  if ncol == 1 then
    x = nn.zeros(#rows, 0)
  else
    x = nn.tensor(xs)
  end
  local ds = dataset(x, y, class_names)
  if names then
    local cols = {}
    for c = 1, ncol do
      if c ~= t then cols[#cols + 1] = names[c] end
    end
    ds.columns = cols
    ds.target = names[t]
  end
  return ds
end

-- ---- CIFAR-10 ----

local CIFAR_CLASSES = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck"}

--- cifar10{dir=, split='train'|'test'}: the binary version (data_batch_1..5.bin,
-- test_batch.bin); x [N,3,32,32] float32 in [0,1], y int64 1..10.
function F.cifar10(opts)
  local fname = "cifar10"
  opts = A.options(fname, opts, {dir = true, split = true})
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
           "download cifar-10-binary.tar.gz and give dir=)", p, open_reason(err))
    end
    f:close()
    paths[i] = p
  end
  local x, y = core._read_cifar(paths, fname)
  return dataset(x, y, CIFAR_CLASSES)
end

-- ---- PNG images ----

F.image = {}

--- image.load(path) -> float32 [C,H,W] in [0,1]: C = 1 gray, 2 gray+alpha,
-- 3 RGB, 4 RGBA (alpha kept as the last channel; palettes expand).
function F.image.load(path)
  return core._image_load(path)
end

--- image.save(t, path): t [C,H,W] (C = 1..4) or [H,W], values clamped to
-- [0,1], written as an 8-bit PNG (temp file + rename).
function F.image.save(t, path)
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

--- image_folder(dir, {size=}): one sub-folder per class (sorted names =
-- ds.classes), *.png files inside (sorted). With size (a number or
-- {H, W}) every image is resized bilinearly (PyTorch's align_corners=False)
-- to it; without, all images must share [H,W]. All must have the same
-- channel count. x [N,C,H,W], y int64 1..K; ds.files lists the paths in
-- sample order.
function F.image_folder(dir, opts)
  local fname = "image_folder"
  if type(dir) ~= "string" then fail(fname, "dir must be a string, got %s", type(dir)) end
  opts = A.options(fname, opts, {size = true})
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
  local classes, images, labels, files = {}, {}, {}, {}
  local shape
  for _, name in ipairs(entries) do
    local sub = dir .. "/" .. name
    if is_dir(sub) then
      classes[#classes + 1] = name
      local k = #classes
      for _, file in ipairs(list_dir(sub) or {}) do
        if file:lower():match("%.png$") then
          local path = sub .. "/" .. file
          local ok, img = pcall(core._image_load, path)
          if not ok then fail(fname, "%s", (A.message(img):gsub("^image%.load: ", ""))) end
          if size and (img.shape[2] ~= size[1] or img.shape[3] ~= size[2]) then
            img = core._image_resize(img, size[1], size[2], fname)
          end
          local s = img.shape
          if not shape then
            shape = s
          elseif s[1] ~= shape[1] or s[2] ~= shape[2] or s[3] ~= shape[3] then
            fail(fname, "'%s' is %s but '%s' is %s: all images must have the same [C,H,W]", path,
                 A.shape_str(img), files[1], A.shape_str(images[1]))
          end
          images[#images + 1] = img
          labels[#labels + 1] = k
          files[#files + 1] = path
        end
      end
    end
  end
  if #classes == 0 then fail(fname, "'%s' has no class sub-folders", dir) end
  if #images == 0 then fail(fname, "'%s' has no PNG files in its class sub-folders", dir) end
  local x = nn.stack(images, 1)
  local ds = dataset(x, nn.tensor(labels, "int64"), classes)
  ds.files = files
  return ds
end

return F
