-- Runs the examples of one page of the manual (every ```lua block):
-- nnlua docs_examples.lua PAGE.md (from a scratch folder: examples write
-- files there). Each example runs in
-- a fresh environment, after nn.manual_seed(0); what it prints is captured
-- and, when the manual shows the output (a ```text block right after the
-- example), compared with it line by line. Prints one "FAIL" line per
-- failing example and exits non-zero when there is one.
local help = require "nn.help"

local page_file = assert(arg[1], "usage: docs_examples.lua PAGE.md")
local pages = assert(help.pages())
local page
for _, p in ipairs(pages) do if p.file == page_file then page = p end end
if not page then
  print("FAIL " .. page_file .. ": not a page of docs/README.md's index")
  os.exit(1, true)
end

local function trim_lines(s)
  local lines = {}
  for line in (s .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = (line:gsub("%s+$", "")) end
  while lines[#lines] == "" do lines[#lines] = nil end
  return table.concat(lines, "\n")
end

-- The entry a line of the page belongs to, for the messages.
local function entry_at(line)
  local title = page.title
  for _, e in ipairs(page.entries) do
    if e.line <= line then title = e.title end
  end
  return title
end

local failures, count = 0, 0
do
  for _, ex in ipairs(page.examples) do
    local entry = {title = entry_at(ex.line)}
    count = count + 1
    local out = {}
    local function capture_print(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
      out[#out + 1] = table.concat(parts, "\t") .. "\n"
    end
    local capture_io = setmetatable({write = function(...)
      for i = 1, select("#", ...) do out[#out + 1] = tostring((select(i, ...))) end
    end}, {__index = io})
    local env = setmetatable({print = capture_print, io = capture_io}, {__index = _G})
    local where = ("%s:%d"):format(page.file, ex.line)
    nn.manual_seed(0)
    local fn, err = load(ex.code, "=" .. where, "t", env)
    local ok = fn ~= nil
    if ok then
      local saved_print = print
      print = capture_print -- help() and library code print through the global
      ok, err = pcall(fn)
      print = saved_print
    end
    if not ok then
      failures = failures + 1
      print(("FAIL %s (%s): %s"):format(where, entry.title, tostring(err)))
    elseif ex.output then
      local got, want = trim_lines(table.concat(out)), trim_lines(ex.output)
      if got ~= want then
        failures = failures + 1
        print(("FAIL %s (%s): output differs\n--- the manual shows\n%s\n--- the example prints\n%s"):format(
          where, entry.title, want, got))
      end
    end
  end
end
print(("%s: %d examples, %d failed"):format(page.file, count, failures))
os.exit(failures == 0 and 0 or 1, true) -- closing the state releases the plots' fonts
