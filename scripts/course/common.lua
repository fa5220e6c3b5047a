-- What every course script repeats (COURSE.md §1): the command line, the
-- header, the measured-vs-notes table, the VERDICT lines in id order, the
-- list of pictures written, seeds, a Keras early-stopping replay, and the
-- data helpers. A script says `local course = require "common"` (nnlua
-- puts the script's own folder first on package.path).
--
--   local opts = course.start{name=, ids={...}, notes=, flags={...}}
--   course.table{{quantity, measured, notes_say, remark}, ...}
--   course.verdict(id, ok, fmt, ...)
--   course.plot_path(opts, "file.png") ... course.finish()
local nn = require "nn"

local course = {}

-- The running script: name, ids, how many verdicts printed, plots recorded.
local run

-- Errors name the function and point at the script's line (the first frame
-- outside this file), as the library's do.
local SELF = debug.getinfo(1, "S").source
local function where()
  for level = 3, math.huge do
    local info = debug.getinfo(level, "Sl")
    if not info then return "" end
    if info.what ~= "C" and info.source ~= SELF then
      return info.currentline > 0 and ("%s:%d: "):format(info.short_src, info.currentline) or ""
    end
  end
end

local function fail(fname, fmt, ...)
  error(("%scourse.%s: %s"):format(where(), fname, fmt:format(...)), 0)
end

local function show(v)
  if type(v) == "string" then return ("'%s'"):format(v) end
  return tostring(v)
end

-- ---------------------------------------------------------------------------
-- Numbers in tables

--- fmt(x): integers (and integral floats) as integers, other numbers with up
-- to 4 significant digits, nil and "" as "—", strings as they are.
function course.fmt(x)
  if x == nil or x == "" then return "—" end
  if type(x) == "string" then return x end
  if type(x) == "boolean" then return x and "yes" or "no" end
  if type(x) ~= "number" then fail("fmt", "a cell must be a number or a string, got %s", type(x)) end
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if math.type(x) == "integer" then return tostring(x) end
  if x == math.floor(x) and math.abs(x) < 1e15 then return ("%d"):format(x) end
  -- %.4g writes 1.235e-05 and 1e+06; shown as 1.235e-5 and 1e6.
  return (("%.4g"):format(x):gsub("e%+?(%-?)0*(%d)", "e%1%2"))
end

-- Display width of a cell: UTF-8 characters (the notes are Persian).
local function width(s) return utf8.len(s) or #s end

--- table(rows): a Markdown pipe table `quantity | measured | notes say |
-- remark`, columns padded so it also reads well in a terminal.
function course.table(rows)
  if type(rows) ~= "table" or #rows == 0 then
    fail("table", "rows must be a non-empty list of {quantity, measured, notes_say, remark}, got %s",
         type(rows) == "table" and "an empty table" or type(rows))
  end
  local cells = {{"quantity", "measured", "notes say", "remark"}}
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then fail("table", "row %d must be a table, got %s", i, type(row)) end
    for k in pairs(row) do
      if math.type(k) ~= "integer" or k < 1 or k > 4 then
        fail("table", "row %d has a cell at %s: a row is {quantity, measured, notes_say, remark}", i, show(k))
      end
    end
    local line = {}
    for c = 1, 4 do
      local v = row[c]
      if v ~= nil and type(v) ~= "number" and type(v) ~= "string" and type(v) ~= "boolean" then
        fail("table", "row %d, column %d must be a number or a string, got %s", i, c, type(v))
      end
      -- A "|" would split the cell; newlines would end the row.
      line[c] = (course.fmt(v):gsub("|", "\\|"):gsub("\n", " "))
    end
    cells[#cells + 1] = line
  end
  local widths = {3, 3, 3, 3}
  for _, line in ipairs(cells) do
    for c = 1, 4 do widths[c] = math.max(widths[c], width(line[c])) end
  end
  local function emit(line)
    local out = {}
    for c = 1, 4 do out[c] = line[c] .. (" "):rep(widths[c] - width(line[c])) end
    print("| " .. table.concat(out, " | ") .. " |")
  end
  emit(cells[1])
  local rule = {}
  for c = 1, 4 do rule[c] = ("-"):rep(widths[c]) end
  emit(rule)
  for i = 2, #cells do emit(cells[i]) end
  print()
end

-- ---------------------------------------------------------------------------
-- The command line

local COMMON_FLAGS = {quick = false, out = "", seed = 0}

-- "--epochs N (default 20)" for the list of known flags.
local function describe(name, default)
  local flag = "--" .. name:gsub("_", "-")
  if name == "out" then return flag .. " DIR (default out/course/<name>)" end
  if type(default) == "boolean" then return flag end
  if type(default) == "number" then return ("%s N (default %s)"):format(flag, course.fmt(default)) end
  return ("%s TEXT (default %s)"):format(flag, default == "" and "none" or show(default))
end

local function known_flags(flags)
  local names = {"quick", "out", "seed"}
  local own = {}
  for k in pairs(flags) do own[#own + 1] = k end
  table.sort(own)
  for _, k in ipairs(own) do names[#names + 1] = k end
  local out = {}
  for i, k in ipairs(names) do
    local default = COMMON_FLAGS[k]
    if default == nil then default = flags[k] end
    out[i] = describe(k, default)
  end
  return table.concat(out, ", ")
end

-- Reads args (a list of strings) against defaults; returns the values.
-- Flag errors carry no position: they are the user's command line.
local function parse_flags(name, args, defaults, flags)
  local values = {}
  for k, v in pairs(defaults) do values[k] = v end
  local function usage(fmt, ...)
    error(("%s: %s (known flags: %s)"):format(name, fmt:format(...), known_flags(flags)), 0)
  end
  local i = 1
  while i <= #args do
    local a = args[i]
    local flag, inline = a:match("^%-%-([%w][%w-]*)=(.*)$")
    flag = flag or a:match("^%-%-([%w][%w-]*)$")
    if not flag then usage("unexpected argument %s", show(a)) end
    local key = flag:gsub("-", "_")
    local default = defaults[key]
    if default == nil then usage("unknown flag --%s", flag) end
    local value
    if type(default) == "boolean" then
      if inline == nil then value = true
      elseif inline == "true" or inline == "false" then value = inline == "true"
      else usage("--%s takes no value or =true/=false, got %s", flag, show(inline)) end
    else
      value = inline
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then usage("--%s needs a value", flag) end
      end
      if type(default) == "number" then
        local n = tonumber(value)
        if n == nil then usage("--%s needs a number, got %s", flag, show(value)) end
        value = math.tointeger(n) or n
      end
    end
    values[key] = value
    i = i + 1
  end
  if math.type(values.seed) ~= "integer" or values.seed < 0 then
    usage("--seed must be a non-negative integer, got %s", show(values.seed))
  end
  if values.out == "" then usage("--out needs a folder name") end
  return values
end

local START_FIELDS = {name = true, ids = true, notes = true, flags = true}

--- start{name=, ids=, notes=, flags=}: parses `arg`, seeds nn, creates the
-- output folder, prints the header; returns {quick=, out=, seed=, <flags>}.
function course.start(spec)
  if type(spec) ~= "table" then fail("start", "needs {name=, ids=, notes=, flags=}, got %s", type(spec)) end
  for k in pairs(spec) do
    if not START_FIELDS[k] then fail("start", "unknown field %s (known: name, ids, notes, flags)", show(k)) end
  end
  if type(spec.name) ~= "string" or not spec.name:match("^[%w_]+$") then
    fail("start", "name must be the script's name (letters, digits, _), got %s", show(spec.name))
  end
  if type(spec.ids) ~= "table" or #spec.ids == 0 then fail("start", "ids must be a non-empty list of ids") end
  local index = {}
  for i, id in ipairs(spec.ids) do
    if type(id) ~= "string" or not id:match("^S%d%-%d%d$") then
      fail("start", "ids[%d] must be an id like 'S0-08', got %s", i, show(id))
    end
    if index[id] then fail("start", "id %s is listed twice", id) end
    index[id] = i
  end
  if type(spec.notes) ~= "string" or spec.notes == "" then
    fail("start", "notes must name the notes' file(s) and sections, got %s", show(spec.notes))
  end
  local flags = spec.flags or {}
  if type(flags) ~= "table" then fail("start", "flags must be a table of defaults, got %s", type(flags)) end
  local defaults = {}
  for k, v in pairs(COMMON_FLAGS) do defaults[k] = v end
  for k, v in pairs(flags) do
    if type(k) ~= "string" or not k:match("^[%a][%w_]*$") then
      fail("start", "flag names must be identifiers, got %s", show(k))
    end
    if COMMON_FLAGS[k] ~= nil then fail("start", "flag %s is common to every script: do not declare it", k) end
    local t = type(v)
    if t ~= "number" and t ~= "string" and t ~= "boolean" then
      fail("start", "flag %s's default must be a number, a string or a boolean, got %s", k, t)
    end
    defaults[k] = v
  end
  defaults.out = "out/course/" .. spec.name

  local args = {}
  for i = 1, #(arg or {}) do args[i] = arg[i] end
  local opts = parse_flags(spec.name, args, defaults, flags)
  os.execute(("mkdir -p '%s'"):format(opts.out:gsub("'", "'\\''")))
  run = {name = spec.name, ids = spec.ids, index = index, done = 0, plots = {}, plotted = {}}
  nn.manual_seed(opts.seed)
  print(("# %s — %s — %s"):format(spec.name, table.concat(spec.ids, ", "), spec.notes))
  print()
  return opts
end

local function running(fname)
  if run == nil then fail(fname, "call course.start first") end
  return run
end

-- ---------------------------------------------------------------------------
-- Verdicts and pictures

--- verdict(id, ok, fmt, ...): prints `VERDICT <id> holds|fails: <facts>`;
-- ids must come one each, in the order given to start.
function course.verdict(id, ok, fmt, ...)
  local r = running("verdict")
  if r.index[id] == nil then
    fail("verdict", "%s is not one of this script's ids (%s)", show(id), table.concat(r.ids, ", "))
  end
  if r.index[id] <= r.done then fail("verdict", "%s already has a verdict", id) end
  if r.index[id] ~= r.done + 1 then
    fail("verdict", "%s is out of order: %s comes first (ids in order: %s)", id, r.ids[r.done + 1],
         table.concat(r.ids, ", "))
  end
  if type(ok) ~= "boolean" then fail("verdict", "ok must be a boolean, got %s", show(ok)) end
  if type(fmt) ~= "string" then fail("verdict", "facts must be a format string, got %s", type(fmt)) end
  local facts = select("#", ...) > 0 and fmt:format(...) or fmt
  r.done = r.index[id]
  print(("VERDICT %s %s: %s"):format(id, ok and "holds" or "fails", (facts:gsub("\n", " "))))
end

--- plot_path(opts, "file.png") -> OUT/file.png, listed by finish.
function course.plot_path(opts, file)
  local r = running("plot_path")
  if type(opts) ~= "table" or type(opts.out) ~= "string" then
    fail("plot_path", "opts must be what course.start returned, got %s", type(opts))
  end
  if type(file) ~= "string" or not file:match("^[%w_.-]+%.png$") then
    fail("plot_path", "file must be a plain file name ending in .png, got %s", show(file))
  end
  local path = opts.out .. "/" .. file
  if not r.plotted[path] then
    r.plotted[path] = true
    r.plots[#r.plots + 1] = path
  end
  return path
end

--- finish(): every id must have its verdict; then `wrote PATH` for each
-- recorded picture that exists.
function course.finish()
  local r = running("finish")
  if r.done < #r.ids then
    local missing = {}
    for i = r.done + 1, #r.ids do missing[#missing + 1] = r.ids[i] end
    fail("finish", "no verdict for %s", table.concat(missing, ", "))
  end
  for _, path in ipairs(r.plots) do
    local f = io.open(path, "rb")
    if f then
      f:close()
      print("wrote " .. path)
    end
  end
  run = nil
end

-- ---------------------------------------------------------------------------
-- Seeds and statistics

--- seeds(opts, n, fn) -> {fn(seed), fn(seed+1), ...}, nn.manual_seed before each.
function course.seeds(opts, n, fn)
  if type(opts) ~= "table" or math.type(opts.seed) ~= "integer" then
    fail("seeds", "opts must be what course.start returned")
  end
  if math.type(n) ~= "integer" or n < 1 then fail("seeds", "n must be a positive integer, got %s", show(n)) end
  if type(fn) ~= "function" then fail("seeds", "fn must be a function, got %s", type(fn)) end
  local out = {}
  for s = opts.seed, opts.seed + n - 1 do
    nn.manual_seed(s)
    out[#out + 1] = fn(s)
  end
  return out
end

local function numbers(fname, list)
  if type(list) ~= "table" or #list == 0 then fail(fname, "needs a non-empty list of numbers") end
  for i, v in ipairs(list) do
    if type(v) ~= "number" then fail(fname, "list[%d] must be a number, got %s", i, show(v)) end
  end
  return list
end

--- mean(list): the arithmetic mean.
function course.mean(list)
  numbers("mean", list)
  local s = 0
  for _, v in ipairs(list) do s = s + v end
  return s / #list
end

--- std(list): the sample standard deviation (n − 1, as torch.std); 0 for one value.
function course.std(list)
  numbers("std", list)
  if #list == 1 then return 0 end
  local m, s = course.mean(list), 0
  for _, v in ipairs(list) do s = s + (v - m) ^ 2 end
  return math.sqrt(s / (#list - 1))
end

-- ---------------------------------------------------------------------------
-- Early stopping, replayed

local ES_FIELDS = {monitor = true, patience = true, mode = true, min_delta = true}

--- keras_stop_epoch(history, {monitor='val_loss', patience=0, mode='min'|'max'|'auto',
-- min_delta=0}) -> stop, best: the epoch (1-based) at which Keras's
-- EarlyStopping would end training (nil when it would run to the end of the
-- history) and the best epoch up to then. history is nn.fit's history or a
-- plain list of the monitored values. Keras: after epoch e (0-based) wait
-- grows by 1; an improvement (value - min_delta better than best) resets it;
-- otherwise training stops when wait >= patience and e > 0.
function course.keras_stop_epoch(history, o)
  o = o or {}
  if type(o) ~= "table" then fail("keras_stop_epoch", "options must be a table, got %s", type(o)) end
  for k in pairs(o) do
    if not ES_FIELDS[k] then
      fail("keras_stop_epoch", "unknown option %s (known: monitor, patience, mode, min_delta)", show(k))
    end
  end
  local monitor = o.monitor or "val_loss"
  if type(history) ~= "table" then fail("keras_stop_epoch", "history must be a table, got %s", type(history)) end
  local values = type(history[monitor]) == "table" and history[monitor] or history
  if #values == 0 then
    fail("keras_stop_epoch", "history has no values for %s", show(monitor))
  end
  numbers("keras_stop_epoch", values)
  local patience = o.patience or 0
  if math.type(patience) ~= "integer" or patience < 0 then
    fail("keras_stop_epoch", "patience must be a non-negative integer, got %s", show(patience))
  end
  local min_delta = o.min_delta or 0
  if type(min_delta) ~= "number" then fail("keras_stop_epoch", "min_delta must be a number, got %s", show(min_delta)) end
  min_delta = math.abs(min_delta)
  local mode = o.mode or "min"
  if mode == "auto" then
    -- Keras: 'max' when the monitored name says accuracy ("acc"), else 'min'.
    mode = (monitor:find("acc") or monitor:find("auc")) and "max" or "min"
  end
  if mode ~= "min" and mode ~= "max" then
    fail("keras_stop_epoch", "mode must be 'min', 'max' or 'auto', got %s", show(mode))
  end
  local best, best_epoch, wait = mode == "min" and math.huge or -math.huge, nil, 0
  for epoch, v in ipairs(values) do
    wait = wait + 1
    local better = mode == "min" and v + min_delta < best or mode == "max" and v - min_delta > best
    if better then
      best, best_epoch, wait = v, epoch, 0
    elseif wait >= patience and epoch > 1 then
      return epoch, best_epoch
    end
  end
  return nil, best_epoch
end

-- ---------------------------------------------------------------------------
-- Data

local fashion_cache = {}

--- fashion(split, n, normalize) -> x [n,1,28,28], y (labels 1..10): the
-- first n images of the split (all when n is nil), pixels in [0,1] or, with
-- normalize, standardised with MNIST's constants as the notes do.
function course.fashion(split, n, normalize)
  if split ~= "train" and split ~= "test" then
    fail("fashion", "split must be 'train' or 'test', got %s", show(split))
  end
  if fashion_cache[split] == nil then fashion_cache[split] = nn.data.fashion_mnist{split = split} end
  local ds = fashion_cache[split]
  local total = #ds
  n = n or total
  if math.type(n) ~= "integer" or n < 1 or n > total then
    fail("fashion", "n must be an integer in 1..%d (the %s split), got %s", total, split, show(n))
  end
  if normalize ~= nil and type(normalize) ~= "boolean" then
    fail("fashion", "normalize must be a boolean, got %s", show(normalize))
  end
  -- Copies: callers may change their tensors in place; the cache (bytes)
  -- stays clean. Only the n images asked for are converted to floats.
  local first = nn.data.subset(ds, n)
  local x, y = first.x, first.y
  if normalize then x = nn.transforms.Normalize(0.1307, 0.3081)(x) end
  return x, y
end

--- pad32(x): [N,C,28,28] (or [C,28,28]) zero-padded by 2 pixels on each side
-- to 32×32, CIFAR-10's spatial size.
function course.pad32(x)
  if not nn.is_tensor(x) or (x:dim() ~= 4 and x:dim() ~= 3) or x:size(-1) ~= 28 or x:size(-2) ~= 28 then
    fail("pad32", "x must be a [N,C,28,28] or [C,28,28] tensor, got %s",
         nn.is_tensor(x) and "{" .. table.concat(x.shape, ",") .. "}" or type(x))
  end
  local shape = {}
  for i, s in ipairs(x.shape) do shape[i] = s end
  shape[#shape - 1], shape[#shape] = 32, 32
  local out = nn.zeros(table.unpack(shape))
  out:narrow(-2, 3, 28):narrow(-1, 3, 28):copy_(x)
  return out
end

--- cifar_or_fashion(opts, n_train, n_test) -> train_x, train_y, test_x,
-- test_y, source: CIFAR-10 from --cifar DIR, else Fashion-MNIST padded to
-- 32×32 (the stand-in of COURSE.md §1); pixels in [0,1].
function course.cifar_or_fashion(opts, n_train, n_test)
  if type(opts) ~= "table" then fail("cifar_or_fashion", "opts must be what course.start returned") end
  for what, n in pairs{n_train = n_train, n_test = n_test} do
    if n ~= nil and (math.type(n) ~= "integer" or n < 1) then
      fail("cifar_or_fashion", "%s must be a positive integer or nil, got %s", what, show(n))
    end
  end
  if opts.cifar ~= nil and opts.cifar ~= "" then
    local train = nn.data.cifar10{dir = opts.cifar, split = "train", limit = n_train}
    local test = nn.data.cifar10{dir = opts.cifar, split = "test", limit = n_test}
    return train.x, train.y, test.x, test.y, "CIFAR-10"
  end
  local train_x, train_y = course.fashion("train", n_train)
  local test_x, test_y = course.fashion("test", n_test)
  return course.pad32(train_x), train_y, course.pad32(test_x), test_y,
         "Fashion-MNIST padded to 32x32 (CIFAR-10 stand-in)"
end

return course
