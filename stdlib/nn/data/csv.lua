-- nn.data.csv: a CSV file of numeric features and one target column, as
-- an in-memory dataset. The text is split into fields in C
-- (runtime/csv.c: quoting, blank lines, the field and row ceilings);
-- numbers, the target and the classes are done here.

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"
local fail = A.fail
local show = A.show

-- nn.data is required at call time: it requires this file while it loads.
local function dataset(x, y, classes)
  return require("nn.data").tensor_dataset(x, y, classes)
end

local SPECIAL = {nan = 0 / 0, ["+nan"] = 0 / 0, ["-nan"] = 0 / 0, inf = math.huge,
                 ["+inf"] = math.huge, ["-inf"] = -math.huge}

local function to_number(s)
  return tonumber(s) or SPECIAL[s:lower()]
end

local CSV_OPTS = {target = true, classes = true, header = true, limit = true}

--- csv(path, {target=, classes=false, header=true, limit=}) -> dataset.
-- target: a column name (needs the header) or a 1-based column index
-- (negative counts from the end); default the last column. Every other
-- column must be numeric: x is float32 [N,F]. y is float32 [N], or with
-- classes=true int64 labels 1..K over the target's distinct values in
-- sorted order (numerically when all are numbers, else as strings), and
-- ds.classes lists those values as strings. ds.columns names x's columns.
-- limit=n keeps the first n data rows (classes still come from all rows).
local function csv(path, opts)
  local fname = "csv"
  if type(path) ~= "string" then fail(fname, "path must be a string, got %s", type(path)) end
  opts = A.options(fname, opts, CSV_OPTS)
  local header = A.bool(fname, "header", opts.header, true)
  local classes = A.bool(fname, "classes", opts.classes, false)
  local limit = opts.limit and A.int(fname, "limit", opts.limit)
  local target = opts.target
  if target ~= nil and type(target) ~= "string" and math.type(target) ~= "integer" then
    fail(fname, "target must be a column name or an integer index, got %s", show(target))
  end
  local f, err = io.open(path, "rb")
  if not f then fail(fname, "cannot open '%s': %s", path, A.open_reason(err)) end
  local text = f:read("a")
  f:close()
  if not text then fail(fname, "cannot read '%s'", path) end

  local rows, lines = core._csv_split(text, path)
  local ncol = rows[1] and #rows[1]
  local names
  if header and rows[1] then
    names = table.remove(rows, 1)
    table.remove(lines, 1)
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
  if limit and limit < #ds then ds = require("nn.data").subset(ds, limit) end
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

return csv
