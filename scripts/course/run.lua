-- Runs the course (COURSE.md §1 "The runner") and writes one report:
--
--   nnlua scripts/course/run.lua [--quick] [--only a,b,...] [--out DIR]
--
-- Each script runs as its own process, in the order of the course, with
-- `--out DIR/NAME` (and --quick passed on). DIR/REPORT.md (default
-- out/course/REPORT.md) starts with a summary table of every verdict, then
-- per script: its claim, header, command, wall time, tables, verdicts and
-- pictures. A script that errors gets its last 20 lines in the report. One
-- line per script is printed as it finishes; the exit status is non-zero
-- when a script errored or is missing.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local root = here .. "/../.."
local course_list = dofile(root .. "/tests/course/expect.lua") -- names and ids, in course order

-- The program running us, to run the scripts with the same build.
local nnlua = arg[-1] or "nnlua"
for i = -2, -math.huge, -1 do
  if arg[i] == nil then break end
  nnlua = arg[i]
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- ---- command line ----
local function usage(fmt, ...)
  io.stderr:write(("run.lua: %s\nusage: nnlua scripts/course/run.lua [--quick] [--only a,b,...] [--out DIR]\n")
                  :format(fmt:format(...)))
  os.exit(2)
end

local opts = {quick = false, out = "out/course"}
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "--quick" then
    opts.quick = true
  elseif a == "--only" or a == "--out" then
    if arg[i + 1] == nil then usage("%s needs a value", a) end
    opts[a:sub(3)] = arg[i + 1]
    i = i + 1
  else
    usage("unknown argument '%s' (known: --quick, --only a,b,..., --out DIR)", a)
  end
  i = i + 1
end

local scripts = course_list
if opts.only then
  local by_name, names = {}, {}
  for _, s in ipairs(course_list) do
    by_name[s.name] = s
    names[#names + 1] = s.name
  end
  local wanted = {}
  for name in opts.only:gmatch("[^,]+") do
    if not by_name[name] then usage("--only: no script '%s' in the course (scripts: %s)", name, table.concat(names, ", ")) end
    wanted[name] = true
  end
  scripts = {}
  for _, s in ipairs(course_list) do
    if wanted[s.name] then scripts[#scripts + 1] = s end
  end
end
os.execute("mkdir -p " .. quote(opts.out))

-- Wall-clock seconds (os.clock counts this process's CPU time only).
local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

-- The claim of a script from the README index (the row whose first cell
-- names it), or nil.
local function claims()
  local f = io.open(here .. "/README.md")
  local out = {}
  if not f then return out end
  for line in f:lines() do
    local cells = {}
    -- "\|" inside a cell is a literal bar: hide it while splitting.
    for cell in line:gsub("\\|", "\0"):gmatch("|([^|]*)") do
      cells[#cells + 1] = cell:match("^%s*(.-)%s*$"):gsub("%z", "\\|")
    end
    local name = cells[1] and cells[1]:match("^%[?`?([%w_]+)%.lua")
    if name and cells[3] then out[name] = cells[3] end
  end
  f:close()
  return out
end
local claim = claims()

-- ---- run ----
local results, total_start = {}, now()
for _, s in ipairs(scripts) do
  local path = here .. "/" .. s.name .. ".lua"
  local out_dir = opts.out .. "/" .. s.name
  local command = ("nnlua scripts/course/%s.lua%s --out %s"):format(s.name, opts.quick and " --quick" or "", out_dir)
  local r = {script = s, command = command, lines = {}, verdicts = {}, pictures = {}, tables = {}, other = {}}
  local f = io.open(path)
  if not f then
    r.status = "missing"
  else
    f:close()
    local t0 = now()
    local p = io.popen(("%s %s%s --out %s 2>&1"):format(quote(nnlua), quote(path), opts.quick and " --quick" or "",
                                                         quote(out_dir)))
    for line in p:lines() do r.lines[#r.lines + 1] = line end
    local _, how, code = p:close()
    r.seconds = now() - t0
    r.status = (how == "exit" and code == 0) and "ok" or "error"
    -- Sort the output: header, tables (runs of "|" lines), verdicts, pictures, the rest.
    local in_table = false
    for _, line in ipairs(r.lines) do
      local id, result, facts = line:match("^VERDICT (%S+) (%a+): (.*)$")
      local picture = line:match("^wrote (.+%.png)$")
      if line:match("^# ") and not r.header then
        r.header = line:sub(3)
      elseif line:match("^|") then
        if not in_table then r.tables[#r.tables + 1] = {} end
        table.insert(r.tables[#r.tables], line)
      elseif id then
        r.verdicts[#r.verdicts + 1] = {id = id, result = result, facts = facts}
      elseif picture then
        r.pictures[#r.pictures + 1] = picture
      elseif line ~= "" then
        r.other[#r.other + 1] = line
      end
      in_table = line:match("^|") ~= nil
    end
  end
  local holds, fails = 0, 0
  for _, v in ipairs(r.verdicts) do
    if v.result == "holds" then holds = holds + 1 else fails = fails + 1 end
  end
  r.holds, r.fails = holds, fails
  results[#results + 1] = r
  if r.status == "missing" then
    print(("%-22s missing (%s)"):format(s.name, path))
  else
    print(("%-22s %7.1f s  %d holds, %d fails%s"):format(s.name, r.seconds, holds, fails,
                                                        r.status == "error" and "  ERROR" or ""))
  end
  io.stdout:flush()
end
local total_seconds = now() - total_start

-- ---- report ----
local function cell(s) return (s:gsub("|", "\\|")) end

local report = {}
local function w(fmt, ...) report[#report + 1] = select("#", ...) > 0 and fmt:format(...) or fmt end

local n_holds, n_fails, n_errors = 0, 0, 0
for _, r in ipairs(results) do
  n_holds, n_fails = n_holds + r.holds, n_fails + r.fails
  if r.status ~= "ok" then n_errors = n_errors + 1 end
end

w("# The course: report%s", opts.quick and " (--quick)" or "")
w("")
w("%d scripts in %.0f s: %d verdicts hold, %d fail, %d scripts errored or missing. " ..
  "Generated by `nnlua scripts/course/run.lua%s%s`; %s.", #results, total_seconds, n_holds, n_fails, n_errors,
  opts.quick and " --quick" or "", opts.only and " --only " .. opts.only or "", os.date("!%Y-%m-%d %H:%M UTC"))
w("")
w("## Summary")
w("")
w("| id | script | result | facts |")
w("| --- | --- | --- | --- |")
for _, r in ipairs(results) do
  local printed = {}
  for _, v in ipairs(r.verdicts) do
    printed[v.id] = true
    w("| %s | [%s](#%s) | %s | %s |", v.id, r.script.name, r.script.name, v.result, cell(v.facts))
  end
  for _, id in ipairs(r.script.ids) do -- ids without a verdict: the script errored or is missing
    if not printed[id] then
      w("| %s | [%s](#%s) | %s | — |", id, r.script.name, r.script.name, r.status == "ok" and "no verdict" or r.status)
    end
  end
end
w("")
w("| script | seconds | holds | fails | status |")
w("| --- | --- | --- | --- | --- |")
for _, r in ipairs(results) do
  w("| %s | %s | %d | %d | %s |", r.script.name, r.seconds and ("%.1f"):format(r.seconds) or "—", r.holds, r.fails,
    r.status)
end
w("")

for _, r in ipairs(results) do
  w("## %s", r.script.name)
  w("")
  if claim[r.script.name] then
    w("**Claim.** %s", claim[r.script.name])
    w("")
  end
  if r.header then
    w("**Notes.** %s", r.header)
    w("")
  end
  w("`%s` — %s", r.command, r.seconds and ("%.1f s"):format(r.seconds) or "not run")
  w("")
  if r.status == "missing" then
    w("**Missing:** scripts/course/%s.lua does not exist.", r.script.name)
    w("")
  end
  for _, t in ipairs(r.tables) do
    for _, line in ipairs(t) do w(line) end
    w("")
  end
  if #r.verdicts > 0 then
    w("```")
    for _, v in ipairs(r.verdicts) do w("VERDICT %s %s: %s", v.id, v.result, v.facts) end
    w("```")
    w("")
  end
  for _, picture in ipairs(r.pictures) do
    local file = picture:match("([^/]+)$")
    w("![%s: %s](%s/%s)", r.script.name, file, r.script.name, file)
    w("")
  end
  if r.status == "error" then
    w("**Error** (the last 20 lines of its output):")
    w("")
    w("```")
    for k = math.max(1, #r.lines - 19), #r.lines do w(r.lines[k]) end
    w("```")
    w("")
  elseif #r.other > 0 then
    w("<details><summary>other output</summary>")
    w("")
    w("```")
    for _, line in ipairs(r.other) do w(line) end
    w("```")
    w("")
    w("</details>")
    w("")
  end
end

local report_path = opts.out .. "/REPORT.md"
local f = assert(io.open(report_path, "w"))
f:write(table.concat(report, "\n"), "\n")
f:close()
print(("%d scripts, %.1f s: %d holds, %d fails, %d errored or missing; report: %s"):format(
  #results, total_seconds, n_holds, n_fails, n_errors, report_path))
os.exit(n_errors == 0 and 0 or 1)
