-- bench/common.lua: what the benchmarks share. Finds the engine and the
-- nnbench baselines module, and gives a monotonic clock, medians, option
-- parsing, aligned tables and the final RESULT line.
--
-- A benchmark loads it from its own folder, then the engine:
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local bench = require "common"
--   local nn = nn or require "nn"   -- preloaded under nnlua, required under lua5.4

local M = {}

local bench_dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = bench_dir .. "/.."

-- The build folder holding lua/nn/core.so and lua/nnbench.so: $NNLUA_BUILD,
-- else the folder of the nnlua program running us, else <repo>/build.
local function find_build()
  local env = os.getenv("NNLUA_BUILD")
  if env and env ~= "" then return env end
  local prog = arg and arg[-1]
  local dir = prog and prog:match("^(.*)/nnlua$")
  return dir or root .. "/build"
end

M.build = find_build()
package.cpath = M.build .. "/lua/?.so;" .. package.cpath
package.path = root .. "/stdlib/?.lua;" .. root .. "/stdlib/?/init.lua;" .. package.path

-- Which interpreter runs us: nnlua preloads the global nn.
M.host = rawget(_G, "nn") and "nnlua" or "lua5.4"

local ok, nnbench = pcall(require, "nnbench")
if not ok then
  error("bench: cannot load nnbench (built by `make build` into " .. M.build
        .. "/lua; set NNLUA_BUILD to use another build folder):\n" .. tostring(nnbench), 0)
end
M.nnbench = nnbench

-- Seconds on the monotonic clock (os.clock is CPU time, summed over threads).
M.now = nnbench.now

-- Options from arg: `--name value` for numbers and strings, `--name` alone
-- for the booleans of defaults (which also lists the known names).
function M.options(defaults)
  local opt = {}
  for k, v in pairs(defaults) do opt[k] = v end
  local i = 1
  while arg[i] do
    local name = arg[i]:match("^%-%-([%w-]+)$")
    local key = name and name:gsub("-", "_")
    if not key or defaults[key] == nil then
      local known = {}
      for k in pairs(defaults) do known[#known + 1] = "--" .. k:gsub("_", "-") end
      table.sort(known)
      error(("%s: unknown option '%s' (known: %s)"):format(arg[0], arg[i], table.concat(known, " ")), 0)
    end
    if type(defaults[key]) == "boolean" then
      opt[key], i = true, i + 1
    else
      local v = arg[i + 1]
      if v == nil then error(("%s: option --%s needs a value"):format(arg[0], name), 0) end
      if type(defaults[key]) == "number" then
        v = tonumber(v) or error(("%s: option --%s needs a number, got '%s'"):format(arg[0], name, v), 0)
      end
      opt[key], i = v, i + 2
    end
  end
  return opt
end

-- Comma-separated numbers: "64,256" -> {64, 256}.
function M.numbers(s)
  local out = {}
  for x in tostring(s):gmatch("[^,]+") do out[#out + 1] = assert(tonumber(x), "not a number: " .. x) end
  return out
end

function M.median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

function M.min(xs)
  local m = math.huge
  for _, x in ipairs(xs) do m = math.min(m, x) end
  return m
end

-- How many iterations make one timed sample last about target_s seconds,
-- given run(k) -> seconds for k iterations. At least 1, a multiple of step.
function M.calibrate(run, target_s, step)
  step = step or 1
  local k = step
  while true do
    local t = run(k)
    if t >= target_s / 4 or k >= 1 << 30 then
      local want = math.ceil(k * target_s / math.max(t, 1e-9) / step) * step
      return math.max(step, want)
    end
    k = k * 4
  end
end

-- Runs each function of fns (name -> run(k) returning seconds for k
-- iterations) reps times with k iterations, rotating their order every
-- round so slow drift of the machine falls on all of them alike. Returns
-- name -> list of seconds per iteration.
function M.interleave(fns, names, reps, k)
  local out = {}
  for _, name in ipairs(names) do out[name] = {} end
  for r = 1, reps do
    for j = 0, #names - 1 do
      local name = names[(r + j - 1) % #names + 1]
      out[name][r] = fns[name](k) / k
    end
  end
  return out
end

-- How much faster x ran than ref, robust to the machine's drift: the
-- median over rounds of ref's time / x's time within the same round (lists
-- from interleave, so each pair ran back to back).
function M.paired_ratio(ref, x)
  local r = {}
  for i = 1, #ref do r[i] = ref[i] / x[i] end
  return M.median(r)
end

-- Prints rows (arrays of strings/numbers) under headers, right-aligned.
function M.table(headers, rows)
  local width = {}
  for i, h in ipairs(headers) do width[i] = #h end
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do width[i] = math.max(width[i], #tostring(cell)) end
  end
  local function line(cells)
    local parts = {}
    for i, cell in ipairs(cells) do parts[i] = ("%" .. width[i] .. "s"):format(tostring(cell)) end
    print(table.concat(parts, "  "))
  end
  line(headers)
  for _, row in ipairs(rows) do line(row) end
end

-- The first lines of every benchmark: what ran, where, on how many threads.
function M.header(title, threads)
  local config, core = nnbench.blas_config()
  print("# " .. title)
  print(("# host=%s threads=%d openblas_threads=%d openblas=%q core=%s"):format(
    M.host, threads, nnbench.blas_threads(), config, core))
end

-- The last line: RESULT name=NAME k=v ... from an array of {key, value}.
function M.result(name, fields)
  local parts = {"RESULT name=" .. name}
  for _, kv in ipairs(fields) do parts[#parts + 1] = kv[1] .. "=" .. tostring(kv[2]) end
  print(table.concat(parts, " "))
end

--- x with d decimals (2 by default); "none" for NaN (a peer not run).
--- Runs a peer: `/usr/bin/python3 bench/SCRIPT ARGS` (env: variable
-- settings put before it, e.g. "OPENBLAS_CORETYPE=SkylakeX"). With a
-- pattern, returns its captures in the output and raises with the whole
-- output when it has none; without, returns the output.
function M.python(script, args, pattern, env)
  local p = io.popen(("%s /usr/bin/python3 %s/%s %s 2>&1"):format(env or "", bench_dir, script, args or ""))
  local out = p:read("a")
  p:close()
  if not pattern then return out end
  local found = table.pack(out:match(pattern))
  if found[1] == nil then error(("bench: %s printed no result:\n%s"):format(script, out), 0) end
  return table.unpack(found, 1, found.n)
end

function M.fmt(x, d)
  if x ~= x then return "none" end
  return ("%." .. (d or 2) .. "f"):format(x)
end

return M
