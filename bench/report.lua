-- bench/report.lua: runs benchmarks one after another (what `make bench`
-- does), echoes their output, and writes what they measured to a
-- Markdown file: the machine (CPU model, cores, OpenBLAS and the kernels
-- it picked, load average), the date, the commit, a summary table of the
-- headline figures and ratios, then every RESULT line of every benchmark
-- as a table, and the time each took.
--
-- Usage: nnlua bench/report.lua [--out bench/RESULTS.md] [--readme README.md] [--resume LOG] [--quick]
--                               BENCH[:T][,OPTION[=VALUE]...] ...
-- BENCH is a script of bench/ without .lua; BENCH:T runs it with
-- --threads T (the scripts that take one thread count), ,reps=1 adds
-- --reps 1 and ,skip-peer adds --skip-peer. --quick passes
-- --quick to every benchmark (the smoke test). --readme FILE also puts
-- the summary into FILE, between the lines `<!-- bench summary: start -->`
-- and `<!-- bench summary: end -->`. --resume LOG reuses the results of
-- the benchmarks (same name and options) that an earlier run, whose
-- output LOG is, finished, and runs only the others. Stops at the first benchmark that
-- fails, after writing what the others measured.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local bench = require "common"
local nn = rawget(_G, "nn") or require "nn"

local bench_dir = arg[0]:match("^(.*)/") or "."
local root = bench_dir .. "/.."

local function usage(msg)
  error("bench/report.lua: " .. msg .. "\nusage: nnlua bench/report.lua [--out FILE] [--readme FILE] "
        .. "[--resume LOG] [--quick] BENCH[:T][,OPTION[=VALUE]...] ...", 0)
end

local opt, names = {out = root .. "/bench/RESULTS.md", quick = false}, {}
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--quick" then
      opt.quick, i = true, i + 1
    elseif a == "--out" or a == "--readme" or a == "--resume" then
      opt[a:sub(3)] = arg[i + 1] or usage("option " .. a .. " needs a file")
      i = i + 2
    elseif a:match("^%-") then
      usage("unknown option '" .. a .. "' (known: --out --readme --resume --quick)")
    else
      local name, threads, rest = a:match("^([%w_]+):?(%d*)(.*)$")
      local extra = {}
      for opt_name, value in (rest or ""):gmatch(",([%w_-]+)(=?[^,]*)") do
        extra[#extra + 1] = "--" .. opt_name .. (value ~= "" and (" '%s'"):format(value:sub(2)) or "")
      end
      if not name or (rest or ""):gsub(",[%w_-]+=?[^,]*", "") ~= "" then usage("not a benchmark: '" .. a .. "'") end
      local f = io.open(bench_dir .. "/" .. name .. ".lua")
      if not f then usage("no benchmark bench/" .. name .. ".lua") end
      f:close()
      if threads ~= "" then table.insert(extra, 1, "--threads " .. threads) end
      names[#names + 1] = {name = name, args = table.concat(extra, " ")}
      i = i + 1
    end
  end
end
if #names == 0 then usage("name at least one benchmark") end

-- ---- the machine ----

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function command(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local s = p:read("a")
  p:close()
  return (s:gsub("%s+$", ""))
end

local function machine()
  local cpuinfo = read_file("/proc/cpuinfo") or ""
  local cores = 0
  for _ in cpuinfo:gmatch("\nprocessor%s*:") do cores = cores + 1 end
  if cpuinfo:match("^processor%s*:") then cores = cores + 1 end
  nn.matmul(nn.ones(2, 2), nn.ones(2, 2)) -- OpenBLAS's kernels are chosen (nn_blas_setup) by then
  local config, core = bench.nnbench.blas_config()
  local dnnl = command("dpkg-query -W -f '${Version}' libdnnl-dev")
  local commit = command("git -C '" .. root .. "' rev-parse --short HEAD")
  local dirty = command("git -C '" .. root .. "' status --porcelain --untracked-files=no") ~= ""
  return {
    cpu = cpuinfo:match("model name%s*:%s*([^\n]+)") or "unknown CPU",
    cores = cores,
    openblas = config:match("^OpenBLAS ([%d.]+)") or config,
    core = core,
    coretype = os.getenv("OPENBLAS_CORETYPE"),
    dnnl = dnnl ~= "" and dnnl or nil,
    commit = commit ~= "" and commit .. (dirty and " (with uncommitted changes)" or "") or "unknown",
    kernel = command("uname -sr"),
  }
end

local function loadavg() return (read_file("/proc/loadavg") or "? ? ?"):match("^(%S+ %S+ %S+)") end

-- ---- running ----

local interpreter = arg[-1] or "nnlua"
local started = bench.now()
local load_before = loadavg()
local m = machine()
local runs = {} -- {name, args, seconds, results = {{key, value}...}...}
local failed

local function parse_result(line)
  local fields = {}
  for k, v in line:gmatch("(%S+)=(%S+)") do fields[#fields + 1] = {k, v} end
  return fields
end

-- --resume LOG: the benchmarks an earlier run (this script's output)
-- finished, by "name args": {results, seconds}. Finished = followed by
-- "== done in" or by the next benchmark's header (a run goes on only
-- after a benchmark succeeds).
local finished, reused = {}, 0
if opt.resume then
  local f = io.open(opt.resume) or usage("cannot read " .. opt.resume)
  local current
  for line in f:lines() do
    local name, args = line:match("^== bench/([%w_]+)%.lua ?(.-)%s*$")
    local done = line:match("^== done in ([%d.]+) s")
    if (name or done) and current and #current.results > 0 then
      current.seconds = tonumber(done)
      finished[current.key] = current
      current = nil
    end
    if name then current = {key = name .. " " .. args, results = {}}
    elseif current and line:match("^RESULT name=") then current.results[#current.results + 1] = parse_result(line) end
  end
  f:close()
end

for _, b in ipairs(names) do
  local old = finished[b.name .. " " .. b.args]
  if old then
    print(("== reusing the results of bench/%s.lua%s from %s"):format(b.name, b.args ~= "" and " " .. b.args or "",
                                                                     opt.resume))
    runs[#runs + 1] = {name = b.name, args = b.args, results = old.results, seconds = old.seconds, reused = true}
    reused = reused + 1
    goto next_bench
  end
  do
  local cmd = ("'%s' '%s/%s.lua' %s"):format(interpreter, bench_dir, b.name, b.args)
  if opt.quick then cmd = cmd .. " --quick" end
  print("== bench/" .. b.name .. ".lua" .. (b.args ~= "" and " " .. b.args or ""))
  io.stdout:flush()
  local t0 = bench.now()
  local p = io.popen(cmd .. " 2>&1")
  local run = {name = b.name, args = b.args, results = {}}
  for line in p:lines() do
    print(line)
    io.stdout:flush()
    if line:match("^RESULT name=") then run.results[#run.results + 1] = parse_result(line) end
  end
  local ok, how, code = p:close()
  run.seconds = bench.now() - t0
  runs[#runs + 1] = run
  if not ok then
    failed = ("bench/%s.lua %s %s"):format(b.name, how == "exit" and "exited with status" or "was killed by signal", code)
    break
  end
  print(("== done in %.1f s"):format(run.seconds))
  end
  ::next_bench::
end
local total = bench.now() - started

-- ---- figures ----

-- get(script, key, T): the value of key in the RESULT lines of
-- bench/<script>.lua at T threads (a line with threads=T, or the key
-- t<T>_key), or without T the first line that has it; nil when absent or
-- "none".
local by_bench = {}
for _, run in ipairs(runs) do
  by_bench[run.name] = by_bench[run.name] or {}
  for _, fields in ipairs(run.results) do table.insert(by_bench[run.name], fields) end
end
local function get(name, key, T)
  for _, fields in ipairs(by_bench[name] or {}) do
    local line_threads
    for _, kv in ipairs(fields) do if kv[1] == "threads" then line_threads = tonumber(kv[2]) end end
    for _, kv in ipairs(fields) do
      local hit = (T == nil or line_threads == T) and kv[1] == key or T ~= nil and kv[1] == ("t%d_%s"):format(T, key)
      if hit and kv[2] ~= "none" then return kv[2] end
    end
  end
end

-- "a / b": values of keys at the thread counts (or keys at T), nil when
-- none is there; a missing one shows as "-".
local function join(values)
  local any, out = false, {}
  for i = 1, values.n do
    out[i] = values[i] or "-"
    any = any or values[i] ~= nil
  end
  return any and table.concat(out, " / ") or nil
end
-- "a, b": two parts of a cell, nil when a is.
local function also(a, b) return a and (b and a .. ", " .. b or a) end
local function at_threads(name, key, fmt)
  local v = {n = 2, get(name, key, 1), get(name, key, 2)}
  local s = join(v)
  return s and (fmt or "%s"):format(s)
end
local function keys(name, list, T, fmt)
  local v = {n = #list}
  for i, k in ipairs(list) do v[i] = get(name, k, T) end
  local s = join(v)
  return s and (fmt or "%s"):format(s)
end

-- The summary: {label, nnlua, against, ratio (target)}; rows whose
-- benchmark did not run are left out.
local function summary()
  local rows = {}
  local function row(name, label, nnlua, against, ratio)
    if nnlua then rows[#rows + 1] = {label, nnlua, against or "", ratio or ""} end
  end
  for _, T in ipairs{1, 2} do
    row("matmul", ("`nn.matmul`, n = 256 / 1024 / 2048, %d thread%s"):format(T, T > 1 and "s" or ""),
        keys("matmul", {"n256_gflops", "n1024_gflops", "n2048_gflops"}, T, "%s GFLOPS"),
        keys("matmul", {"n256_raw_gflops", "n1024_raw_gflops", "n2048_raw_gflops"}, T,
             "raw `cblas_sgemm`, same process: %s GFLOPS"),
        keys("matmul", {"n256_ratio", "n1024_ratio", "n2048_ratio"}, T, "%s of raw (target ≥ 0.95)"))
  end
  for _, n in ipairs{"1m", "16m"} do
    row("elementwise", ("`a:add_(b)`, `a:mul_(s)`, %s floats, 1 thread"):format(n == "1m" and "1M" or "16M"),
        keys("elementwise", {"add_" .. n .. "_gbs", "mul_" .. n .. "_gbs"}, 1, "%s GB/s"),
        keys("elementwise", {"memcpy_" .. n .. "_gbs"}, 1, "`memcpy`, counted the same way: %s GB/s"),
        keys("elementwise", {"add_" .. n .. "_ratio", "mul_" .. n .. "_ratio"}, 1, "%s × memcpy (target ≥ 0.70)"))
  end
  row("overhead", "`a + b` on 1-element / 64×64 tensors, `a:add_(b)` on 1 element (`overhead.lua`)",
      keys("overhead", {"add1_us", "add64_us", "add1_inplace_us"}, nil, "%s µs"),
      keys("overhead", {"add1_peer_us", "add64_peer_us"}, nil, "PyTorch: %s µs"),
      keys("overhead", {"add1_ratio", "add64_ratio"}, nil, "%s (target ≤ 0.2 for 1 element)"))
  row("overhead", "tiny autograd step `(w * x):sum():backward()`, 4 elements (`overhead.lua`)",
      keys("overhead", {"autograd_us"}, nil, "%s µs"), keys("overhead", {"autograd_peer_us"}, nil, "PyTorch: %s µs"),
      keys("overhead", {"autograd_ratio"}, nil, "%s (target ≤ 0.2)"))
  -- e[5]: the epoch's GEMMs are real (the CNN's convolutions run in
  -- oneDNN, their GEMMs only stand in for the ceiling)
  for _, e in ipairs{{"mlp_epoch", "MLP 784-256-128-10, SGD", "0.66 / 0.50", "0.95 / 0.90", true},
                     {"cnn_epoch", "CNN conv32-conv64-fc128, Adam", "0.50 / 0.42", "0.85 / 0.80", false}} do
    local name, what = e[1], e[2]
    local seeds, tseeds = get(name, "seeds"), get(name, "timing_seeds")
    row(name, ("%s, one real Fashion-MNIST epoch (`%s.lua`), 1 / 2 threads, medians over %s / %s seeds"):format(
          what, name, seeds or "?", tseeds or "?"),
        at_threads(name, "nnlua_s", "%s s"), at_threads(name, "peer_s", "PyTorch, same seeds: %s s"),
        at_threads(name, "ratio", "%s (target ≤ " .. e[3] .. ")"))
    row(name, ("%s epoch against its own GEMMs (%s GFLOP; `%s.lua`), 1 / 2 threads"):format(
          what:match("^%S+"), get(name, "epoch_gflop") or "?", name),
        at_threads(name, "gemm_s", "GEMM-only %s s"),
        "raw `cblas_sgemm` replaying the step's GEMM calls, same run",
        at_threads(name, "ceiling", "%s of the ceiling (target ≥ " .. e[4] .. ")"))
    if e[5] then
      row(name, ("%s epoch: its GEMMs as the engine runs them, and the rest, 1 / 2 threads"):format(what:match("^%S+")),
          at_threads(name, "engine_gemm_s", "%s s of GEMMs"), "the same calls through the engine's pool",
          at_threads(name, "other_s", "%s s of everything else"))
    end
    row(name, ("%s epoch, speed-up from 2 threads"):format(what:match("^%S+")),
        keys(name, {"speedup"}, 2, "%s×"), keys(name, {"raw_speedup"}, 2, "raw `cblas_sgemm` on the same calls: %s×"),
        keys(name, {"speedup_of_raw"}, 2, "%s of raw's (target ≥ 0.90)"))
    row(name, ("%s epoch, test accuracy, median over %s seeds"):format(what:match("^%S+"), seeds or "?"),
        get(name, "nnlua_acc"), get(name, "peer_acc") and "PyTorch, same seeds: " .. get(name, "peer_acc"),
        get(name, "acc_diff") and "difference " .. get(name, "acc_diff") .. " (target within 0.005)")
  end
  row("mlp_epoch", "MLP epoch with flip + rotation(10) + crop(28, padding 4), 1 thread",
      get("mlp_epoch", "augment_ratio") and get("mlp_epoch", "augment_ratio") .. " × a plain epoch", "", "(target ≤ 1.3×)")
  row("mlp_epoch", "decoding the 60k gzipped Fashion-MNIST training images",
      get("mlp_epoch", "decode_s") and get("mlp_epoch", "decode_s") .. " s", "", "(target < 1 s)")
  row("mlp_epoch", "a shuffled batch of 64 Fashion-MNIST images from the byte dataset (gathered, converted and "
        .. "normalized in one C pass), 1 thread",
      get("mlp_epoch", "bytes_batch_us") and get("mlp_epoch", "bytes_batch_us") .. " µs",
      get("mlp_epoch", "floats_batch_us") and "from float tensors (`index_select`): " .. get("mlp_epoch", "floats_batch_us") .. " µs", "")
  row("mlp_replay", "MLP epoch from PyTorch's initial weights and batch order (`mlp_replay.lua`)",
      keys("mlp_replay", {"nnlua_acc", "nnlua_loss"}, nil, "test accuracy / mean loss %s"),
      keys("mlp_replay", {"peer_acc", "peer_loss"}, nil, "PyTorch: %s"), "")
  for _, s in ipairs{{"mlp_step", "MLP"}, {"cnn_step", "CNN"}} do
    row(s[1], ("%s, one epoch of synthetic steps (`%s.lua`), 1 thread"):format(s[2], s[1]),
        keys(s[1], {"nnlua_s"}, 1, "%s s"), keys(s[1], {"peer_s"}, 1, "PyTorch `--synthetic`: %s s"),
        keys(s[1], {"ratio"}, 1))
  end
  row("sort", "`sort` / `topk(10)` along the last dim of [1000, 10000] (`sort.lua`), 1 / 2 threads",
      also(keys("sort", {"sort_ms", "topk_ms"}, 1, "%s ms (1 thread)"), keys("sort", {"sort_ms", "topk_ms"}, 2, "%s ms (2)")),
      "PyTorch `peers/sort.py`, same run",
      also(keys("sort", {"sort_ratio", "topk_ratio"}, 1, "%s (1 thread)"),
           keys("sort", {"sort_ratio", "topk_ratio"}, 2, "%s (2) (target ≤ 1.5)")))
  row("knn", "`KNeighborsClassifier` k = 5, 10k Fashion-MNIST test images against 60k (`knn.lua`), 1 / 2 threads",
      also(at_threads("knn", "ms", "%s ms"), keys("knn", {"acc"}, 1, "accuracy %s")),
      also(at_threads("knn", "peer_ms", "scikit-learn brute force: %s ms"), keys("knn", {"peer_acc"}, 1, "accuracy %s")),
      at_threads("knn", "ratio", "%s (target ≤ 1.0)"))
  for _, T in ipairs{1, 2} do
    local threads = ("%d thread%s"):format(T, T > 1 and "s" or "")
    row("conv_variants", "depthwise (MobileNetV2's 17) / grouped / transposed convolutions, forward + backward "
          .. "(`conv_variants.lua`), " .. threads,
        keys("conv_variants", {"depthwise_ms", "grouped_ms", "transposed_ms"}, T, "%s ms"),
        keys("conv_variants", {"depthwise_peer_ms", "grouped_peer_ms", "transposed_peer_ms"}, T, "PyTorch: %s ms"),
        keys("conv_variants", {"depthwise_ratio", "grouped_ratio", "transposed_ratio"}, T, "%s (target ≤ 1.2 / 1.5 / 1.5)"))
  end
  for _, T in ipairs{1, 2} do
    local threads = ("%d thread%s"):format(T, T > 1 and "s" or "")
    local function cases(suffix, fmt_train, fmt_infer)
      return also(keys("models", {"mobilenet_v2_train" .. suffix, "resnet18_train" .. suffix}, T, fmt_train),
                  keys("models", {"mobilenet_v2_infer" .. suffix, "resnet18_infer" .. suffix}, T, fmt_infer))
    end
    row("models", "`nn.models` MobileNetV2 / ResNet-18 (`models.lua`), training step (batch 32, 3×64×64) and "
          .. "inference (batch 64), " .. threads,
        cases("_ms", "train %s ms", "inference %s ms"),
        cases("_peer_ms", "torchvision, same run: train %s ms", "inference %s ms"),
        cases("_ratio", "train %s", "inference %s (target ≤ 1.2)"))
  end
  row("distributed", "data parallelism over MPI (`distributed.lua`): bucketed gradient all-reduce vs one raw "
        .. "`MPI_Allreduce` of the same bytes, MLP / CNN gradients",
      keys("distributed", {"allreduce_ratio_mlp", "allreduce_ratio_cnn"}, nil, "%s of raw's throughput"), "",
      "target ≥ 0.8")
  row("distributed", "CNN / MLP epoch, 2 ranks × 1 thread × batch 32 vs 1 process × batch 64 (`distributed.lua`)",
      keys("distributed", {"cnn_ranks_s", "mlp_ranks_s"}, nil, "%s s"),
      keys("distributed", {"cnn_1proc_s", "mlp_1proc_s"}, nil, "1 process: %s s"),
      keys("distributed", {"cnn_speedup", "mlp_speedup"}, nil, "speed-up %s (CNN target ≥ 1.6)"))
  return rows
end

-- ---- writing ----

local function markdown_table(headers, rows)
  local out = {"| " .. table.concat(headers, " | ") .. " |", "|" .. (" --- |"):rep(#headers)}
  for _, r in ipairs(rows) do out[#out + 1] = "| " .. table.concat(r, " | ") .. " |" end
  return table.concat(out, "\n")
end

local function minutes(s)
  if not s then return "time not recorded" end
  return ("%d min %02d s"):format(s // 60, math.floor(s % 60 + 0.5))
end

local date = os.date("!%Y-%m-%d %H:%M UTC")
local machine_line = ("%s, %d core%s; OpenBLAS %s with its %s kernels%s%s"):format(
  m.cpu, m.cores, m.cores == 1 and "" or "s", m.openblas, m.core,
  m.coretype and (" (OPENBLAS_CORETYPE=%s)"):format(m.coretype) or "",
  m.dnnl and ("; oneDNN %s"):format(m.dnnl) or "")

local function summary_block()
  return table.concat({
    ("Measured on %s by `make bench` (`bench/RESULTS.md` has every figure): %s; load average %s before, %s "
     .. "after. Ratios below 1 mean nnlua is faster; each ratio pairs runs made back to back in the same "
     .. "benchmark."):format(date, machine_line, load_before, loadavg()),
    "",
    markdown_table({"benchmark", "nnlua", "against", "ratio"}, summary()),
  }, "\n")
end

-- One table per benchmark: a column per thread count (from threads=T or
-- t<T>_ keys), one for the run's other figures.
local function details(run)
  local cols, col_index, rows, row_index, cells = {}, {}, {}, {}, {}
  local function put(col, key, value)
    if not col_index[col] then cols[#cols + 1], col_index[col] = col, #cols + 1 end
    if not row_index[key] then rows[#rows + 1], row_index[key] = key, #rows + 1 end
    cells[key .. "\0" .. col] = value
  end
  for _, fields in ipairs(run.results) do
    local T
    for _, kv in ipairs(fields) do if kv[1] == "threads" and kv[2]:match("^%d+$") then T = kv[2] end end
    for _, kv in ipairs(fields) do
      if kv[1] ~= "name" and not (T and kv[1] == "threads") then
        local t, rest = kv[1]:match("^t(%d+)_(.+)$")
        if t then put(t .. (t == "1" and " thread" or " threads"), rest, kv[2])
        elseif T then put(T .. (T == "1" and " thread" or " threads"), kv[1], kv[2])
        else put("run", kv[1], kv[2]) end
      end
    end
  end
  local out = {}
  for _, key in ipairs(rows) do
    local r = {"`" .. key .. "`"}
    for _, col in ipairs(cols) do r[#r + 1] = cells[key .. "\0" .. col] or "" end
    out[#out + 1] = r
  end
  local headers = {"figure"}
  for _, col in ipairs(cols) do headers[#headers + 1] = col end
  return markdown_table(headers, out)
end

local doc = {
  "# Benchmark results",
  "",
  ("Written by `make bench` (`bench/report.lua`) on %s%s."):format(
    date, opt.quick and ", with --quick (smoke-test sizes: the figures mean nothing)" or ""),
  "",
  "- machine: " .. machine_line,
  "- kernel: " .. m.kernel,
  "- commit: " .. m.commit,
  ("- load average (1, 5, 15 min): %s before, %s after"):format(load_before, loadavg()),
  ("- total time: %s for %d benchmark run%s%s%s"):format(minutes(total), #runs - reused, #runs - reused == 1 and "" or "s",
    reused > 0 and ("; %d more reused from an earlier run's output (`--resume`)"):format(reused) or "",
    failed and "; stopped: " .. failed or ""),
  "",
  "Each benchmark compares nnlua with a baseline measured in the same run",
  "(raw OpenBLAS, `memcpy`, the PyTorch peers of `bench/peers/`, the model's",
  "own GEMM calls replayed raw); `bench/README.md` says how. Ratios are",
  "nnlua / PyTorch (lower is better) or nnlua's share of the raw rate.",
  "",
  "## Summary",
  "",
  summary_block(),
  "",
  "## Every figure",
}
for _, run in ipairs(runs) do
  doc[#doc + 1] = ""
  doc[#doc + 1] = ("### %s (`bench/%s.lua%s`, %s%s)"):format(run.name, run.name,
    run.args ~= "" and " " .. run.args:gsub("'", "") or "", minutes(run.seconds), run.reused and ", earlier run" or "")
  doc[#doc + 1] = ""
  doc[#doc + 1] = #run.results > 0 and details(run) or "(no RESULT line)"
end
local f = assert(io.open(opt.out, "w"))
f:write(table.concat(doc, "\n"), "\n")
f:close()

if opt.readme then
  local text = read_file(opt.readme) or usage("cannot read " .. opt.readme)
  local start_mark, end_mark = "<!-- bench summary: start -->", "<!-- bench summary: end -->"
  local a, b = text:find(start_mark, 1, true)
  local c = text:find(end_mark, 1, true)
  if not a or not c or c < b then usage(opt.readme .. " has no '" .. start_mark .. "' ... '" .. end_mark .. "' block") end
  text = text:sub(1, b) .. "\n" .. summary_block() .. "\n" .. text:sub(c)
  f = assert(io.open(opt.readme, "w"))
  f:write(text)
  f:close()
end

print(("== %d benchmark run%s in %s; results in %s%s"):format(#runs, #runs == 1 and "" or "s", minutes(total),
  opt.out, opt.readme and ", summary in " .. opt.readme or ""))
if failed then
  io.stderr:write("bench/report.lua: " .. failed .. "\n")
  os.exit(1)
end
