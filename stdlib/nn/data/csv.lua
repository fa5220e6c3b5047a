-- nn.data.csv: a CSV file of numeric features and one target column, as
-- an in-memory dataset. Parsed here in Lua, which is plenty for the
-- course's tabular files.

local nn = require "nn"
local A = require "nn.args"
local fail = A.fail
local show = A.show

-- nn.data is required at call time: it requires this file while it loads.
local function dataset(x, y, classes)
  return require("nn.data").tensor_dataset(x, y, classes)
end

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
