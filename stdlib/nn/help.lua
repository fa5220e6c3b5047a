-- help(): the reference manual (docs/*.md) in the REPL and in scripts.
--
-- The manual is the only copy of the text: this file parses its pages,
-- and the docs checker (tests/lua/docs_spec.lua) parses them the same way
-- (M.pages, M.entries). An entry is
--
--   ### nn.Linear                             the title
--   `nn.Linear(in_features, out_features [, opts])`   one or more signature lines;
--                                             the names they call are the
--                                             names the entry documents
--   Text...
--   - **Options:** `bias = true`: ...         (when it takes options)
--   - **Returns:** ...
--   - **Errors:** ...
--   **Example:**
--   ```lua ... ```                            runs in ctest
--   ```text ... ```                           (optional) its exact output
local M = {}

local function dir_of(path) return path:match("^(.*)/[^/]*$") or "." end

local function readable(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- The folder of this file: stdlib/nn in the source tree and in an
-- install (share/nnlua/stdlib/nn), <tree>/share/lua/5.4/nn from luarocks.
local HERE = dir_of(debug.getinfo(1, "S").source:match("^@(.*)$") or "./help.lua")

--- The folder holding the manual: $NNLUA_DOCS, else docs/ beside the
-- stdlib (the source tree and `cmake --install`), else nn/docs (luarocks).
function M.docs_dir()
  local candidates = {HERE .. "/../../docs", HERE .. "/docs"}
  local env = os.getenv("NNLUA_DOCS")
  if env and env ~= "" then table.insert(candidates, 1, env) end
  for _, dir in ipairs(candidates) do
    if readable(dir .. "/README.md") then return dir end
  end
  return nil
end

-- The pages of the manual in reading order: docs/README.md's list of
-- links decides it, so help() lists them as the index does.
local function page_files(dir)
  local files, seen = {}, {}
  for line in io.lines(dir .. "/README.md") do
    local file = line:match("%]%(([%w_%-]+%.md)%)")
    if file and not seen[file] and readable(dir .. "/" .. file) then
      seen[file] = true
      files[#files + 1] = file
    end
  end
  return files
end

-- The names a signature line calls: `nn.Linear(...)` gives nn.Linear,
-- `t:sum(dim)` t:sum, `t.shape` t.shape, `a, b = t:max(d)` t:max.
local function signature_name(sig)
  local call = sig:match("^[%w_, ]+=%s*(.*)$") or sig
  return call:match("^%s*([%a_][%w_%.:]*)")
end

-- Reads a fenced block starting at lines[i] ("```lang"); returns its
-- language, its text and the index of its closing fence.
local function read_fence(lines, i)
  local lang = lines[i]:match("^```(%w*)%s*$")
  local body, j = {}, i + 1
  while lines[j] and not lines[j]:match("^```%s*$") do
    body[#body + 1] = lines[j]
    j = j + 1
  end
  return lang, table.concat(body, "\n") .. "\n", j
end

local function next_nonblank(lines, i, stop)
  while i <= stop and lines[i]:match("^%s*$") do i = i + 1 end
  return i
end

-- The ```lua block at lines[i] as an example {code=, line=, output=}
-- (output: the ```text block right after it, if any, before line last);
-- also returns the index of the last fence read.
local function read_example(lines, i, last)
  local _, code, close = read_fence(lines, i)
  local example = {code = code, line = i + 1}
  local k = next_nonblank(lines, close + 1, last)
  if k <= last and lines[k]:match("^```text%s*$") then
    _, example.output, close = read_fence(lines, k)
  end
  return example, close
end

-- Fills an entry from its lines first..last of the page.
local function parse_entry(entry, lines, first, last)
  for n = first, last do entry.text[#entry.text + 1] = lines[n] end
  while entry.text[#entry.text] and entry.text[#entry.text]:match("^%s*$") do entry.text[#entry.text] = nil end
  local i = next_nonblank(lines, first, last)
  while i <= last and lines[i]:match("^`[^`].*`$") do -- the signature lines
    local sig = lines[i]:match("^`(.*)`$")
    entry.signatures[#entry.signatures + 1] = sig
    local name = signature_name(sig)
    if name then entry.names[#entry.names + 1] = name end
    i = i + 1
  end
  local in_example = false
  while i <= last do
    local line = lines[i]
    if line:match("^```") then
      local lang, _, close = read_fence(lines, i)
      if lang == "lua" and in_example then
        local example
        example, close = read_example(lines, i, last)
        entry.examples[#entry.examples + 1] = example
      end
      i = close + 1
    else
      local label, rest = line:match("^%- %*%*(%a+):%*%*%s*(.*)$")
      if label then entry.parts[label] = rest end
      if line:match("^%*%*Example:%*%*") then
        entry.parts.Example = true
        in_example = true
      end
      i = i + 1
    end
  end
end

-- Parses one page into {file=, title=, entries={...}, examples={...}}
-- (examples: every ```lua block, {code=, output=, line=}); each entry has
-- title, file, line, signatures, names (those its signatures call),
-- text (its lines), parts (label -> text: Options, Returns, Errors,
-- Example) and examples ({code=, output=, line=}).
local function parse_page(dir, file)
  local page = {file = file, entries = {}}
  local lines = {}
  for line in io.lines(dir .. "/" .. file) do lines[#lines + 1] = line end
  local heads, i = {}, 1
  page.examples = {} -- every ```lua block of the page, with its ```text output
  while i <= #lines do -- headings, outside code blocks
    local line = lines[i]
    if line:match("^```") then
      local lang, _, close = read_fence(lines, i)
      if lang == "lua" then
        local example
        example, close = read_example(lines, i, #lines)
        page.examples[#page.examples + 1] = example
      end
      i = close
    elseif line:match("^#+%s") then
      local level, title = line:match("^(#+)%s+(.-)%s*$")
      heads[#heads + 1] = {level = #level, title = title, line = i}
      if #level == 1 and not page.title then page.title = title end
    end
    i = i + 1
  end
  for k, h in ipairs(heads) do
    if h.level == 3 then
      local last = heads[k + 1] and heads[k + 1].line - 1 or #lines
      local entry = {title = h.title, line = h.line, file = file, signatures = {}, names = {},
                     text = {}, parts = {}, examples = {}}
      parse_entry(entry, lines, h.line + 1, last)
      page.entries[#page.entries + 1] = entry
    end
  end
  page.title = page.title or file
  return page
end

local cache
--- The manual: an array of pages in index order, or nil and a message.
function M.pages()
  if cache then return cache end
  local dir = M.docs_dir()
  if not dir then
    return nil, "help: the manual (docs/) was not found beside the library; set NNLUA_DOCS to its folder"
  end
  local pages = {}
  for _, file in ipairs(page_files(dir)) do pages[#pages + 1] = parse_page(dir, file) end
  cache = pages
  return pages
end

--- Every entry of the manual, a map name -> entry (the names its
-- signature lines call) and a map title -> entry.
function M.entries()
  local pages, err = M.pages()
  if not pages then return nil, err end
  local list, by_name, by_title = {}, {}, {}
  for _, page in ipairs(pages) do
    for _, e in ipairs(page.entries) do
      list[#list + 1] = e
      e.page = page
      for _, name in ipairs(e.names) do by_name[name] = by_name[name] or e end
      by_title[e.title] = by_title[e.title] or e
    end
  end
  return list, by_name, by_title
end

--- The entry documenting name ("nn.optim.Adam", "t:sum"), or nil. A
-- function nn.f that is also the tensor method t:f is documented there
-- (the manual's convention: nn.f(t, ...) is t:f(...)).
function M.lookup(name)
  local _, by_name = M.entries()
  if not by_name then return nil end
  if by_name[name] then return by_name[name] end
  local f = name:match("^nn%.([%w_]+)$")
  local methods = debug.getregistry()["nn.Tensor.methods"]
  if f and methods and methods[f] then return by_name["t:" .. f] end
  return nil
end

-- ---------------------------------------------------------------------------
-- Showing entries

-- Markdown made plain for a terminal: no ``` fences (code indented),
-- no ** or backticks.
local function plain(lines)
  local out, in_code = {}, false
  for _, line in ipairs(lines) do
    if line:match("^```") then
      if line:match("^```text") then out[#out + 1] = "Output:" end
      in_code = not in_code
    elseif in_code then
      out[#out + 1] = "    " .. line
    else
      line = line:gsub("%*%*", ""):gsub("`", "")
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n")
end

local function show_entry(e)
  return ("%s  (docs/%s)\n%s"):format(e.title, e.file, plain(e.text))
end

-- Names of values reachable from nn, for help(value).
local function name_of(value)
  local seen = {}
  local function walk(t, prefix, depth)
    if seen[t] or depth > 4 then return nil end
    seen[t] = true
    for k, v in pairs(t) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" then
        local name = prefix .. "." .. k
        if rawequal(v, value) then return name end
        if type(v) == "table" and getmetatable(v) == nil then
          local found = walk(v, name, depth + 1)
          if found then return found end
        end
      end
    end
  end
  local nn = require "nn"
  local found = walk(nn, "nn", 0)
  if found then return found end
  local methods = debug.getregistry()["nn.Tensor.methods"]
  for k, v in pairs(methods or {}) do
    if rawequal(v, value) then return "t:" .. k end
  end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- Words wrapped to 78 columns after an indent.
local function wrap(words, indent)
  local lines, line = {}, indent
  for _, w in ipairs(words) do
    if #line + #w + 1 > 78 and line ~= indent then
      lines[#lines + 1] = line
      line = indent
    end
    line = line .. (line == indent and "" or " ") .. w
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

local function tensor_help(t)
  local shape = {}
  for i, s in ipairs(t.shape) do shape[i] = tostring(s) end
  local grad = t.requires_grad and (t.grad_fn and (", grad_fn=<" .. t.grad_fn .. ">") or ", requires_grad=true") or ""
  local methods = sorted_keys(debug.getregistry()["nn.Tensor.methods"] or {})
  return ("tensor of shape [%s], dtype %s%s\nfields: shape, dtype, grad, requires_grad, grad_fn, is_leaf\n" ..
          "methods (help \"t:NAME\" for one; docs/tensors.md):\n%s"):format(
    table.concat(shape, ","), t.dtype, grad, wrap(methods, "  "))
end

-- The methods of an object (a module, optimizer, ...) from its classes.
local function object_methods(obj)
  local names, seen = {}, {}
  local mt = getmetatable(obj)
  local cls = mt and rawget(mt, "__index")
  for _ = 1, 8 do
    if type(cls) ~= "table" then break end
    for k, v in pairs(cls) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) == "function" and not seen[k] then
        seen[k] = true
        names[#names + 1] = k
      end
    end
    local m = getmetatable(cls)
    cls = m and rawget(m, "__index")
  end
  table.sort(names)
  return names
end

local function sections_text(pages)
  local out = {"The nnlua manual: help(nn.Linear), help \"nn.optim.Adam\", help(t) for a tensor,",
               "help \"tensors\" for the entries of a section. Sections:"}
  for _, page in ipairs(pages) do
    local n = #page.entries
    local count = n == 0 and "" or n == 1 and " (1 entry)" or (" (%d entries)"):format(n)
    out[#out + 1] = ("  %-18s %s%s"):format((page.file:gsub("%.md$", "")), page.title, count)
  end
  return table.concat(out, "\n")
end

local function section_text(page)
  local names = {}
  for _, e in ipairs(page.entries) do names[#names + 1] = e.title end
  return ("%s  (docs/%s)\n%s"):format(page.title, page.file, wrap(names, "  "))
end

-- A namespace (nn.optim, nn.data.synthetic): the entries of its names.
local function namespace_text(list, name)
  local titles, seen = {}, {}
  for _, e in ipairs(list) do
    for _, n in ipairs(e.names) do
      if n:sub(1, #name + 1) == name .. "." and not seen[e] then
        seen[e] = true
        titles[#titles + 1] = e.title .. "  (docs/" .. e.file .. ")"
      end
    end
  end
  return ("%s: help \"NAME\" for one of\n  %s"):format(name, table.concat(titles, "\n  "))
end

-- Entries whose names end with query after a '.' or ':' ("Adam",
-- "sum"), for a short query.
local function by_suffix(list, query)
  local hits = {}
  for _, e in ipairs(list) do
    for _, name in ipairs(e.names) do
      if name == query or name:sub(-#query - 1) == "." .. query or name:sub(-#query - 1) == ":" .. query then
        hits[#hits + 1] = e
        break
      end
    end
  end
  return hits
end

--- The help text for a value or a name (the function behind help()).
function M.text(what, ...)
  local pages, err = M.pages()
  if not pages then return err end
  local nargs = select("#", ...) + (what == nil and 0 or 1)
  if nargs == 0 then return sections_text(pages) end
  local nn = require "nn"
  if nn.is_tensor(what) then return tensor_help(what) end
  local list, by_name, by_title = M.entries()
  if type(what) == "string" then
    local query = what:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%(%)$", "")
    local exact = M.lookup(query) or by_title[query]
    if exact then return show_entry(exact) end
    for _, page in ipairs(pages) do
      if page.file == query .. ".md" or page.file == query then return section_text(page) end
    end
    local value = _G
    for part in query:gmatch("[^%.]+") do value = type(value) == "table" and rawget(value, part) or nil end
    if type(value) == "table" and getmetatable(value) == nil and query:match("^nn%.") then
      return namespace_text(list, query)
    end
    local hits = by_suffix(list, query)
    if #hits == 1 then return show_entry(hits[1]) end
    if #hits > 1 then
      local titles = {}
      for _, e in ipairs(hits) do titles[#titles + 1] = e.names[1] or e.title end
      return ("help: %q names several entries: %s"):format(query, table.concat(titles, ", "))
    end
    return ("help: no entry for %q; help() lists the sections"):format(query)
  end
  if rawequal(what, nn) then return sections_text(pages) end
  local name = name_of(what)
  if name and M.lookup(name) then return show_entry(M.lookup(name)) end
  if name and type(what) == "table" and getmetatable(what) == nil then
    return namespace_text(list, name)
  end
  if type(what) == "table" and getmetatable(what) then
    local mt = getmetatable(what)
    local class = rawget(mt, "__name") or rawget(mt, "name")
    local cname = class and name_of(mt)
    local head = cname and M.lookup(cname) and show_entry(M.lookup(cname)) .. "\n\n" or ""
    return ("%s%s object; methods:\n%s"):format(head, class or "table", wrap(object_methods(what), "  "))
  end
  if name then return ("help: %s has no entry in the manual"):format(name) end
  return ("help: no entry for this %s; try help \"name\" or help()"):format(type(what))
end

--- help(x): prints the manual's entry for x (a value of nn, a name, a
-- tensor) or, with no argument, the list of sections.
function M.help(...)
  print(M.text(...))
end

return M
