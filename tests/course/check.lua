-- The ctest of one course script (issue 12 item 5):
--   nnlua tests/course/check.lua NNLUA SCRIPT OUTDIR
-- runs `NNLUA SCRIPT --quick --out OUTDIR` and fails (exit 1, saying why,
-- with the script's output) when the script exits non-zero, its header is
-- missing, a VERDICT line is missing, repeated, malformed or out of order,
-- a [quick] id prints `fails`, or a `wrote` line names no file.
local nnlua, script, out = arg[1], arg[2], arg[3]
if not (nnlua and script and out) then
  io.stderr:write("usage: nnlua tests/course/check.lua NNLUA SCRIPT OUTDIR\n")
  os.exit(2)
end
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local expect = dofile(here .. "/expect.lua")
local name = script:match("([%w_]+)%.lua$")

local entry
for _, e in ipairs(expect) do
  if e.name == name then entry = e end
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local problems = {}
local function problem(fmt, ...) problems[#problems + 1] = fmt:format(...) end

local output, code = "", nil
if not entry then
  problem("%s is not listed in tests/course/expect.lua", name)
else
  local p = io.popen(("%s %s --quick --out %s 2>&1"):format(quote(nnlua), quote(script), quote(out)))
  output = p:read("a")
  local _, how, status = p:close()
  code = how == "exit" and status or 128 + status
  if code ~= 0 then problem("exit status %d", code) end

  local lines = {}
  for line in output:gmatch("[^\n]*") do lines[#lines + 1] = line end
  local header = "# " .. name .. " — " .. table.concat(entry.ids, ", ") .. " — "
  local first = 1
  while lines[first] == "" do first = first + 1 end
  if (lines[first] or ""):sub(1, #header) ~= header then
    problem("the first line is not the header '%s<notes>'", header)
  end

  local quick = {}
  for _, id in ipairs(entry.quick) do quick[id] = true end
  local seen, last_verdict = {}, 0
  for i, line in ipairs(lines) do
    if line:match("^VERDICT") then
      local id, result = line:match("^VERDICT (S%d%-%d%d) (%a+): .")
      if not id or (result ~= "holds" and result ~= "fails") then
        problem("malformed verdict line: %s", line)
      else
        seen[#seen + 1] = id
        last_verdict = i
        if quick[id] and result == "fails" then problem("[quick] verdict %s fails", id) end
      end
    end
  end
  if table.concat(seen, " ") ~= table.concat(entry.ids, " ") then
    problem("verdicts printed for [%s], expected exactly [%s] in that order", table.concat(seen, " "),
            table.concat(entry.ids, " "))
  end
  for i, line in ipairs(lines) do
    local path = line:match("^wrote (.+)$")
    if path then
      local f = io.open(path, "rb")
      if f then f:close() else problem("'%s' says it was written but does not exist", path) end
      if i < last_verdict then problem("'wrote %s' comes before the verdicts", path) end
    end
  end
end

if #problems == 0 then
  print(("course/%s: ok (%d verdicts)"):format(name, #entry.ids))
  os.exit(0)
end
io.stdout:write(output, "\n")
for _, p in ipairs(problems) do print("FAIL course/" .. name .. ": " .. p) end
os.exit(1)
