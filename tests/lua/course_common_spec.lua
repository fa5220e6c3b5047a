-- scripts/course/common.lua: the course scripts' helper (COURSE.md §1).
local nn = require "nn"
package.path = (os.getenv("NNLUA_SOURCE_DIR") or "..") .. "/scripts/course/?.lua;" .. package.path
local course = require "common"

-- Runs fn with print captured; returns the printed lines (and fn's results).
local function captured(fn)
  local lines, old = {}, print
  _G.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    for line in (table.concat(parts, "\t") .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  end
  local ok, a, b = pcall(fn)
  _G.print = old
  if not ok then error(a, 0) end
  return lines, a, b
end

local tmp = os.tmpname()
os.remove(tmp)

-- course.start with `arg` set to the given command-line arguments.
local function start(args, spec)
  local old = _G.arg
  _G.arg = args
  local ok, result = pcall(course.start, spec or {name = "demo", ids = {"S0-01", "S0-02"}, notes = "000 Q1",
                                                 flags = {epochs = 20, cifar = "", lr = 0.5, plot = false}})
  _G.arg = old
  if not ok then error(result, 0) end
  return result
end

local function start_quietly(args, spec)
  local _, opts = captured(function() return start(args, spec) end)
  return opts
end

describe("course.start", function()
  it("parses the common flags and the script's own", function()
    local lines, opts = captured(function()
      return start({"--quick", "--out", tmp, "--seed", "3", "--epochs", "5", "--cifar=/data", "--lr", "1e-3",
                    "--plot"})
    end)
    assert.same({"# demo — S0-01, S0-02 — 000 Q1", ""}, lines)
    assert.is_true(opts.quick)
    assert.equal(tmp, opts.out)
    assert.equal(3, opts.seed)
    assert.equal(5, opts.epochs)
    assert.equal("integer", math.type(opts.epochs))
    assert.equal("/data", opts.cifar)
    assert.equal(1e-3, opts.lr)
    assert.is_true(opts.plot)
    assert.truthy(io.open(tmp .. "/."))
  end)

  it("gives defaults, seeds nn and makes the default folder", function()
    local opts = start_quietly({"--out", tmp})
    assert.same({quick = false, out = tmp, seed = 0, epochs = 20, cifar = "", lr = 0.5, plot = false}, opts)
    local a = nn.randn(3):totable()
    nn.manual_seed(0)
    assert.same(nn.randn(3):totable(), a)
    -- the default out/course/NAME, relative to the working directory
    local cwd = os.tmpname()
    os.remove(cwd)
    os.execute("mkdir -p " .. cwd)
    local code = ("package.path = %q .. package.path; arg = {}; " ..
                  "require('common').start{name = 'x', ids = {'S0-01'}, notes = 'n'}"):format(
                  os.getenv("NNLUA_SOURCE_DIR") .. "/scripts/course/?.lua;")
    assert.is_true(os.execute(("cd %s && %s -e %q >/dev/null"):format(cwd, os.getenv("NNLUA"), code)))
    assert.truthy(io.open(cwd .. "/out/course/x/."))
    os.execute("rm -rf " .. cwd)
  end)

  it("--flag=false and --quick=true for booleans", function()
    assert.is_false(start_quietly({"--out", tmp, "--plot=false"}).plot)
    assert.is_true(start_quietly({"--out", tmp, "--quick=true"}).quick)
  end)

  it("maps --foo-bar to foo_bar", function()
    local opts = start_quietly({"--out", tmp, "--batch-size", "8"},
                               {name = "demo", ids = {"S0-01"}, notes = "n", flags = {batch_size = 64}})
    assert.equal(8, opts.batch_size)
  end)

  it("rejects an unknown flag, listing the known ones", function()
    assert.has_error(function() start({"--epoch", "3"}) end,
      "demo: unknown flag --epoch (known flags: --quick, --out DIR (default out/course/<name>), " ..
      "--seed N (default 0), --cifar TEXT (default none), --epochs N (default 20), --lr N (default 0.5), --plot)")
  end)

  it("demands numbers for number flags and values for the others", function()
    assert.has_error(function() start({"--epochs", "many"}) end)
    local ok, err = pcall(start, {"--epochs", "many"})
    assert.is_false(ok)
    assert.truthy(err:find("demo: --epochs needs a number, got 'many'", 1, true))
    ok, err = pcall(start, {"--cifar"})
    assert.truthy(err:find("--cifar needs a value", 1, true))
    ok, err = pcall(start, {"--seed", "1.5"})
    assert.truthy(err:find("--seed must be a non-negative integer, got 1.5", 1, true))
    ok, err = pcall(start, {"--quick=maybe"})
    assert.truthy(err:find("--quick takes no value or =true/=false, got 'maybe'", 1, true))
    ok, err = pcall(start, {"extra"})
    assert.truthy(err:find("demo: unexpected argument 'extra'", 1, true))
  end)

  it("checks its spec", function()
    local function fails(spec, msg)
      local ok, err = pcall(start, {}, spec)
      assert.is_false(ok)
      assert.truthy(err:find(msg, 1, true), err)
    end
    fails({name = "x", ids = {}, notes = "n"}, "course.start: ids must be a non-empty list")
    fails({name = "x", ids = {"S0-1"}, notes = "n"}, "ids[1] must be an id like 'S0-08', got 'S0-1'")
    fails({name = "x", ids = {"S0-01", "S0-01"}, notes = "n"}, "id S0-01 is listed twice")
    fails({name = "x y", ids = {"S0-01"}, notes = "n"}, "name must be the script's name")
    fails({name = "x", ids = {"S0-01"}}, "notes must name the notes' file(s)")
    fails({name = "x", ids = {"S0-01"}, notes = "n", flag = {}}, "unknown field 'flag'")
    fails({name = "x", ids = {"S0-01"}, notes = "n", flags = {seed = 1}}, "flag seed is common to every script")
    fails({name = "x", ids = {"S0-01"}, notes = "n", flags = {w = {}}}, "flag w's default must be a number")
  end)
end)

describe("course.fmt and course.table", function()
  it("formats numbers with up to 4 significant digits, integers as integers", function()
    assert.equal("184003", course.fmt(184003))
    assert.equal("2624", course.fmt(2624.0))
    assert.equal("0.8543", course.fmt(0.854321))
    assert.equal("104.1", course.fmt(104.0576))
    assert.equal("1.235e-5", course.fmt(1.23456e-5))
    assert.equal("7.55e9", course.fmt(7550208000.5))
    assert.equal("-0.35", course.fmt(-0.35))
    assert.equal("—", course.fmt(nil))
    assert.equal("—", course.fmt(""))
    assert.equal("text", course.fmt("text"))
    assert.equal("nan", course.fmt(0 / 0))
    assert.equal("inf", course.fmt(math.huge))
    assert.equal("-inf", course.fmt(-math.huge))
  end)

  it("prints a padded Markdown pipe table and a blank line", function()
    local lines = captured(function()
      course.table{{"p", 0.5, "0.5", nil}, {"params", 184003, 33603, "notes error: a|b"}}
    end)
    assert.same({
      "| quantity | measured | notes say | remark            |",
      "| -------- | -------- | --------- | ----------------- |",
      "| p        | 0.5      | 0.5       | —                 |",
      "| params   | 184003   | 33603     | notes error: a\\|b |",
      "",
    }, lines)
  end)

  it("pads by characters, not bytes", function()
    local lines = captured(function() course.table{{"σ′(0)", 0.25, "¼", "—"}} end)
    assert.equal("| σ′(0)    | 0.25     | ¼         | —      |", lines[3])
  end)

  it("rejects bad rows", function()
    assert.has_error(function() course.table{} end)
    assert.has_error(function() course.table{{"a", {}, 1, 2}} end)
    assert.has_error(function() course.table{{"a", 1, 2, 3, 4}} end)
    assert.has_error(function() course.table{"row"} end)
    local ok, err = pcall(course.table, {{"a", {}}})
    assert.truthy(err:find("course.table: row 1, column 2 must be a number or a string, got table", 1, true))
    assert.truthy(err:find("course_common_spec.lua:%d+:"), err) -- points at the caller's line
  end)
end)

describe("course.verdict, plot_path and finish", function()
  local ids = {name = "demo", ids = {"S0-01", "S0-02", "S0-03"}, notes = "n"}

  it("prints the verdicts in order, then the pictures that exist", function()
    local opts = start_quietly({"--out", tmp}, ids)
    local lines = captured(function()
      local a = course.plot_path(opts, "a.png")
      assert.equal(tmp .. "/a.png", a)
      io.open(a, "wb"):close()
      course.plot_path(opts, "missing.png")
      course.plot_path(opts, "a.png") -- recorded once
      course.verdict("S0-01", true, "x=%d < %g", 3, 4.5)
      course.verdict("S0-02", false, "100% sure")
      course.verdict("S0-03", true, "two\nlines")
      course.finish()
    end)
    assert.same({"VERDICT S0-01 holds: x=3 < 4.5", "VERDICT S0-02 fails: 100% sure",
                 "VERDICT S0-03 holds: two lines", "wrote " .. tmp .. "/a.png"}, lines)
    os.remove(tmp .. "/a.png")
  end)

  it("errors on an unknown, repeated or out-of-order id", function()
    start_quietly({"--out", tmp}, ids)
    local function fails(msg, fn)
      local ok, err = pcall(captured, fn)
      assert.is_false(ok)
      assert.truthy(err:find(msg, 1, true), err)
    end
    fails("course.verdict: 'S9-99' is not one of this script's ids (S0-01, S0-02, S0-03)",
          function() course.verdict("S9-99", true, "") end)
    fails("course.verdict: S0-02 is out of order: S0-01 comes first", function() course.verdict("S0-02", true, "") end)
    captured(function() course.verdict("S0-01", true, "") end)
    fails("course.verdict: S0-01 already has a verdict", function() course.verdict("S0-01", true, "") end)
    fails("course.verdict: ok must be a boolean, got nil", function() course.verdict("S0-02", nil, "") end)
    fails("course.finish: no verdict for S0-02, S0-03", course.finish)
    fails("course.plot_path: file must be a plain file name ending in .png, got 'a/b.png'",
          function() course.plot_path({out = tmp}, "a/b.png") end)
  end)

  it("needs start first", function()
    captured(function()
      start({"--out", tmp}, {name = "demo", ids = {"S0-01"}, notes = "n"})
      course.verdict("S0-01", true, "")
      course.finish()
    end)
    assert.has_error(function() course.verdict("S0-01", true, "") end)
  end)
end)

describe("course.seeds, mean, std", function()
  it("runs fn over consecutive seeds, seeding nn before each", function()
    local got = course.seeds({seed = 5}, 3, function(s) return {s, nn.rand(1):item()} end)
    assert.equal(3, #got)
    for i, r in ipairs(got) do
      assert.equal(4 + i, r[1])
      nn.manual_seed(4 + i)
      assert.equal(nn.rand(1):item(), r[2])
    end
    assert.has_error(function() course.seeds({seed = 0}, 0, print) end)
    assert.has_error(function() course.seeds({seed = 0}, 2, nil) end)
  end)

  it("mean and sample std", function()
    assert.equal(2, course.mean{1, 2, 3})
    assert.equal(1, course.std{1, 2, 3})
    assert.near(math.sqrt(32 / 7), course.std{2, 4, 4, 4, 5, 5, 7, 9}, 1e-12)
    assert.equal(0, course.std{4})
    assert.has_error(function() course.mean{} end)
    assert.has_error(function() course.std{1, "2"} end)
  end)
end)

describe("course.keras_stop_epoch", function()
  it("follows Keras: patience p stops p epochs after the best", function()
    local h = {val_loss = {1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9}}
    -- best 0.7 at epoch 3; epochs 4, 5, 6 do not improve: patience 3 stops at 6
    assert.same({6, 3}, {course.keras_stop_epoch(h, {monitor = "val_loss", patience = 3})})
    assert.same({5, 3}, {course.keras_stop_epoch(h, {patience = 2})})
    -- patience 0: stops at the first epoch (after the first) without improvement
    assert.same({4, 3}, {course.keras_stop_epoch(h, {patience = 0})})
    -- never stops within the history
    assert.same({nil, 3}, {course.keras_stop_epoch(h, {patience = 5})})
  end)

  it("min_delta: an improvement must beat the best by more than it", function()
    local v = {1.0, 0.95, 0.93, 0.92, 0.5}
    assert.same({3, 1}, {course.keras_stop_epoch(v, {patience = 2, min_delta = 0.1})})
    assert.same({nil, 5}, {course.keras_stop_epoch(v, {patience = 2, min_delta = 0.01})})
  end)

  it("mode max and auto for accuracies", function()
    local h = {val_accuracy = {0.5, 0.6, 0.55, 0.58, 0.59}}
    assert.same({4, 2}, {course.keras_stop_epoch(h, {monitor = "val_accuracy", patience = 2, mode = "max"})})
    assert.same({4, 2}, {course.keras_stop_epoch(h, {monitor = "val_accuracy", patience = 2, mode = "auto"})})
  end)

  it("agrees with nn.callbacks.EarlyStopping on random histories", function()
    nn.manual_seed(1)
    for trial = 1, 50 do
      local values = nn.rand(15):totable()
      local patience, delta = trial % 4, (trial % 3) * 0.05
      local cb = nn.callbacks.EarlyStopping{monitor = "val_loss", patience = patience, min_delta = delta}
      cb:on_train_begin()
      local state, stopped = {stop = false}, nil
      for e, v in ipairs(values) do
        cb:on_epoch_end(e, {val_loss = v}, state)
        if state.stop then stopped = e break end
      end
      local stop, best = course.keras_stop_epoch(values, {patience = patience, min_delta = delta})
      assert.equal(stopped, stop)
      assert.equal(cb.best_epoch, best)
    end
  end)

  it("checks its arguments", function()
    assert.has_error(function() course.keras_stop_epoch({loss = {1}}, {}) end)
    assert.has_error(function() course.keras_stop_epoch({1, 2}, {patience = -1}) end)
    assert.has_error(function() course.keras_stop_epoch({1, 2}, {mode = "up"}) end)
    local ok, err = pcall(course.keras_stop_epoch, {1, 2}, {patiance = 1})
    assert.truthy(err:find("course.keras_stop_epoch: unknown option 'patiance'", 1, true))
  end)
end)

describe("course data helpers", function()
  it("pad32 pads 2 zero pixels on each side", function()
    local x = nn.rand(2, 1, 28, 28) + 1
    local p = course.pad32(x)
    assert.same({2, 1, 32, 32}, {p:size(1), p:size(2), p:size(3), p:size(4)})
    assert.equal(x:sum():item(), p:sum():item())
    assert.equal(0, p:narrow(3, 1, 2):abs():sum():item())
    assert.equal(0, p:narrow(3, 31, 2):abs():sum():item())
    assert.equal(0, p:narrow(4, 1, 2):abs():sum():item())
    assert.equal(0, p:narrow(4, 31, 2):abs():sum():item())
    assert.equal(x[2][1][1][1], p[2][1][3][3])
    assert.equal(x[1][1][28][28], p[1][1][30][30])
    assert.same({3, 32, 32}, course.pad32(nn.rand(3, 28, 28)).shape)
    assert.has_error(function() course.pad32(nn.rand(1, 1, 32, 32)) end)
  end)

  it("fashion gives the first n images, raw or with MNIST's normalisation", function()
    local x, y = course.fashion("test", 5)
    assert.same({5, 1, 28, 28}, x.shape)
    assert.same({10, 3, 2, 2, 7}, y:totable()) -- the test split's first labels, 1-based
    assert.is_true(x:min():item() >= 0 and x:max():item() <= 1)
    local xn = course.fashion("test", 5, true)
    assert.near(0, ((x - 0.1307) / 0.3081 - xn):abs():max():item(), 1e-5)
    x:fill_(7) -- the caller's copy: the next call is untouched
    assert.is_true(course.fashion("test", 5):max():item() <= 1)
    assert.has_error(function() course.fashion("val", 5) end)
    assert.has_error(function() course.fashion("test", 0) end)
    assert.has_error(function() course.fashion("test", 10001) end)
  end)

  it("cifar_or_fashion: the padded stand-in without --cifar", function()
    local tx, ty, vx, vy, source = course.cifar_or_fashion({cifar = ""}, 4, 3)
    assert.same({4, 1, 32, 32}, tx.shape)
    assert.same({3, 1, 32, 32}, vx.shape)
    assert.equal(4, ty:size(1))
    assert.equal(3, vy:size(1))
    assert.truthy(source:find("Fashion-MNIST", 1, true))
    local ok, err = pcall(course.cifar_or_fashion, {cifar = "/nonexistent"}, 4, 3)
    assert.is_false(ok)
    assert.truthy(err:find("cifar10"), err)
  end)
end)
