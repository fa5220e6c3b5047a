-- The ctest of scripts/course/run.lua (issue 12 item 5):
--   nnlua tests/course/check_runner.lua NNLUA SOURCE_DIR OUTDIR
-- 1. `run.lua --quick --only dropout_arithmetic,gradient_descent_1d`: exit 0,
--    REPORT.md lists both scripts (summary rows of every id, sections in
--    course order, wall times) and its picture links point at files.
-- 2. A copy of the course folder whose script raises: run.lua exits
--    non-zero and the report shows the error with the script's last lines.
-- 3. An unknown --only name is an error naming it.
local nnlua, source, out = arg[1], arg[2], arg[3]
if not (nnlua and source and out) then
  io.stderr:write("usage: nnlua tests/course/check_runner.lua NNLUA SOURCE_DIR OUTDIR\n")
  os.exit(2)
end
local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local problems = {}
local function check(ok, fmt, ...)
  if not ok then problems[#problems + 1] = fmt:format(...) end
end

-- Runs a command; returns its output and exit status.
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local text = p:read("a")
  local _, how, code = p:close()
  return text, how == "exit" and code or 128 + code
end
local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
local function has(text, s) return text ~= nil and text:find(s, 1, true) ~= nil end

os.execute("rm -rf " .. quote(out) .. " && mkdir -p " .. quote(out))

-- 1. Two real scripts.
local dir = out .. "/two"
local text, code = run(("%s %s/scripts/course/run.lua --quick --only gradient_descent_1d,dropout_arithmetic --out %s")
                       :format(quote(nnlua), quote(source), quote(dir)))
check(code == 0, "run.lua --only: exit status %d", code)
check(text:match("dropout_arithmetic +[%d.]+ s  2 holds, 0 fails"), "no progress line for dropout_arithmetic")
check(text:match("gradient_descent_1d +[%d.]+ s  2 holds, 0 fails"), "no progress line for gradient_descent_1d")
local report = read(dir .. "/REPORT.md")
check(report ~= nil, "%s/REPORT.md was not written", dir)
report = report or ""
for _, id in ipairs{"S0-01", "S0-02", "S2-05", "S3-02"} do
  check(report:find("| " .. id .. " | [", 1, true), "the summary has no row for %s", id)
end
local a, b = report:find("## dropout_arithmetic", 1, true), report:find("## gradient_descent_1d", 1, true)
check(a and b and a < b, "the report lacks a section per script in course order")
check(not has(report, "## activations"), "the report lists a script that --only left out")
check(report:match("`nnlua scripts/course/dropout_arithmetic%.lua %-%-quick %-%-out [^`]+` — [%d.]+ s"),
      "the dropout_arithmetic section has no command and time")
check(has(report, "| quantity"), "the report has no table")
local pictures = 0
for link in report:gmatch("!%[[^]]*%]%(([^)]+)%)") do
  pictures = pictures + 1
  check(link:sub(1, 1) ~= "/", "picture link %s is not relative", link)
  check(read(dir .. "/" .. link) ~= nil, "picture link %s names no file", link)
end
check(pictures >= 4, "the report shows %d pictures, expected dropout.png and gradient_descent_1d's three", pictures)

-- 2. A script that errors, in a copy of the course folder.
local fake = out .. "/fake"
os.execute(("mkdir -p %s/scripts/course %s/tests/course && cp %s/scripts/course/run.lua %s/scripts/course/common.lua "
            .. "%s/scripts/course/ && cp %s/tests/course/expect.lua %s/tests/course/")
           :format(quote(fake), quote(fake), quote(source), quote(source), quote(fake), quote(source), quote(fake)))
local f = assert(io.open(fake .. "/scripts/course/dropout_arithmetic.lua", "w"))
f:write('local course = require "common"\n',
        'course.start{name = "dropout_arithmetic", ids = {"S0-01", "S0-02"}, notes = "n"}\n',
        'for i = 1, 30 do print("line " .. i) end\n',
        'course.verdict("S0-01", true, "fine")\n',
        'error("the script broke")\n')
f:close()
text, code = run(("%s %s/scripts/course/run.lua --only dropout_arithmetic --out %s/out")
                 :format(quote(nnlua), quote(fake), quote(fake)))
check(code ~= 0, "run.lua exits 0 although a script errored")
check(text:match("dropout_arithmetic .*ERROR"), "the progress line does not say ERROR: %s", text)
report = read(fake .. "/out/REPORT.md") or ""
check(has(report, "| S0-01 | [dropout_arithmetic](#dropout_arithmetic) | holds | fine |"),
      "the verdict printed before the error is not in the summary")
check(has(report, "| S0-02 | [dropout_arithmetic](#dropout_arithmetic) | error | — |"),
      "the id without a verdict is not marked error")
check(has(report, "the script broke") and has(report, "line 30") and not has(report, "line 10\n"),
      "the error section does not hold the last 20 lines")

-- 3. An unknown name.
text, code = run(("%s %s/scripts/course/run.lua --only dropout,activations --out %s/bad")
                 :format(quote(nnlua), quote(source), quote(out)))
check(code ~= 0 and has(text, "no script 'dropout' in the course"), "an unknown --only name: %s", text)

if #problems == 0 then
  print("course/run: ok")
  os.exit(0)
end
for _, p in ipairs(problems) do print("FAIL course/run: " .. p) end
os.exit(1)
