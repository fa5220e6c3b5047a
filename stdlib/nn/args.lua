-- Argument checks shared by the library, and its one way to raise an
-- error: fail(fname, fmt, ...) raises "file:line: fname: message", where
-- file:line is the user's line (the first Lua frame outside the library),
-- so a message names the function and points at the call that went wrong,
-- never at a line of the library. The C side (nnb_error) follows the same
-- rule. Example: "train.lua:12: Linear: in_features must be a positive
-- integer, got -1".

local A = {}

-- "@<folder of this file>/": frames whose source starts with it are the
-- library's. (No folder, e.g. loaded from a string: no frame is.)
local LIBRARY = debug.getinfo(1, "S").source:match("^(@.*/)[^/]*$") or "\0"

--- "file:line: " of the first Lua frame outside the library, "" when
-- there is none (the library was called from C).
function A.where()
  for level = 2, math.huge do
    local info = debug.getinfo(level, "Sl")
    if not info then return "" end
    if info.what ~= "C" and info.source:sub(1, #LIBRARY) ~= LIBRARY then
      return info.currentline > 0 and ("%s:%d: "):format(info.short_src, info.currentline) or ""
    end
  end
end

--- Raises "where: fname: message" (message = fmt:format(...)); with
-- fname nil, "where: message", for a message that already names its
-- place (a container's "Sequential[2] (Linear 4->5): Linear: ...").
local function fail(fname, fmt, ...)
  local msg = fmt:format(...)
  error(A.where() .. (fname and fname .. ": " .. msg or msg), 0)
end
A.fail = fail

--- The message of an error caught inside the library, without the
-- position where() gives it: a library error caught on the way out (to
-- add context and fail again) carries the same user's line.
function A.message(err)
  err = tostring(err)
  local where = A.where()
  if where ~= "" and err:sub(1, #where) == where then return err:sub(#where + 1) end
  return err
end

--- The reason in io.open's error ("No such file or directory"), for a
-- message that names the path itself.
function A.open_reason(err)
  return err and err:match(": ([^:]*)$") or "cannot be read"
end

-- A value as it appears in a message: strings quoted, others plain.
local function show(v)
  if type(v) == "string" then return ("'%s'"):format(v) end
  return tostring(v)
end
A.show = show

--- n must be an integer >= min (default 1); returns it as a Lua integer.
function A.int(fname, what, n, min)
  min = min or 1
  if math.type(n) == "float" and n == math.floor(n) then n = math.tointeger(n) end
  if math.type(n) ~= "integer" or n < min then
    local kind = min == 1 and "a positive integer" or min == 0 and "a non-negative integer"
                 or min == math.mininteger and "an integer" or ("an integer >= %d"):format(min)
    fail(fname, "%s must be %s, got %s", what, kind, show(n))
  end
  return n
end

--- x must be a number (in [lo, hi] when given).
function A.number(fname, what, x, lo, hi)
  if type(x) ~= "number" then fail(fname, "%s must be a number, got %s", what, show(x)) end
  if (lo and x < lo) or (hi and x > hi) or x ~= x then
    fail(fname, "%s must be between %g and %g, got %g", what, lo or -math.huge, hi or math.huge, x)
  end
  return x
end

--- A size given as one integer or a pair {a, b}; returns a fresh pair.
function A.pair(fname, what, v, min)
  if type(v) == "table" then
    if #v ~= 2 then fail(fname, "%s must be a number or a pair {a, b}, got a table of %d values", what, #v) end
    return {A.int(fname, what, v[1], min), A.int(fname, what, v[2], min)}
  end
  if type(v) ~= "number" then fail(fname, "%s must be a number or a pair {a, b}, got %s", what, show(v)) end
  local n = A.int(fname, what, v, min)
  return {n, n}
end

--- v must be one of the listed strings.
function A.choice(fname, what, v, choices)
  for _, c in ipairs(choices) do
    if v == c then return v end
  end
  local quoted = {}
  for i, c in ipairs(choices) do quoted[i] = "'" .. c .. "'" end
  fail(fname, "%s must be one of %s, got %s", what, table.concat(quoted, ", "), show(v))
end

--- opts must be nil or a table whose keys are all in `allowed` (a set);
-- catches typos such as {padidng=1}. Returns opts or an empty table.
function A.options(fname, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then fail(fname, "options must be a table, got %s", show(opts)) end
  for k in pairs(opts) do
    if not allowed[k] then A.unknown_option(fname, k, allowed) end
  end
  return opts
end

-- Edit distance of a and b (insertions, deletions, substitutions).
local function edit_distance(a, b)
  local row = {}
  for j = 0, #b do row[j] = j end
  for i = 1, #a do
    local diag = row[0]
    row[0] = i
    for j = 1, #b do
      local up = row[j]
      row[j] = math.min(up + 1, row[j - 1] + 1, diag + (a:byte(i) == b:byte(j) and 0 or 1))
      diag = up
    end
  end
  return row[#b]
end

--- The name in names (a list) that key most likely meant: within 2
-- edits, or one a prefix of the other; nil when none is that near.
function A.nearest(key, names)
  local best, best_d = nil, 3
  for _, name in ipairs(names) do
    local d = edit_distance(key, name)
    local n = math.min(#key, #name)
    if n >= 3 and key:sub(1, n) == name:sub(1, n) then d = math.min(d, 2) end
    if d < best_d then best, best_d = name, d end
  end
  return best
end

--- Raises fname's error for the unknown option key, allowed being the set
-- {name = true} of the known ones: "unknown option 'epoch' (did you mean
-- 'epochs'? known: batch_size, epochs)".
function A.unknown_option(fname, key, allowed)
  local names = {}
  for name in pairs(allowed) do names[#names + 1] = name end
  table.sort(names)
  local near = type(key) == "string" and A.nearest(key, names)
  fail(fname, "unknown option %s (%sknown: %s)", show(key), near and ("did you mean '%s'? "):format(near) or "",
       table.concat(names, ", "))
end

--- A boolean option with a default.
function A.bool(fname, what, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then fail(fname, "%s must be true or false, got %s", what, show(v)) end
  return v
end

--- "[64,784]", the shape notation of error messages.
function A.shape_str(t)
  return "[" .. table.concat(t.shape, ",") .. "]"
end

return A
