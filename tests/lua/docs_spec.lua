-- The manual is checked, not hoped: every public name has an entry in
-- docs/ with its signature, options with defaults (when it takes options),
-- what it returns, its errors and an example; every example runs, and
-- the output the manual shows is the output the example prints.
local help = require "nn.help"
local public = require "docs_public_names"

local NNLUA = assert(os.getenv("NNLUA"), "NNLUA: the nnlua program to run the examples with")
local SOURCE = assert(os.getenv("NNLUA_SOURCE_DIR"), "NNLUA_SOURCE_DIR: the source tree")

local list, by_name = help.entries()

describe("the manual", function()
  it("is found in the source tree and has the pages of its index", function()
    assert.is_truthy(list, by_name)
    local function read(path)
      local f = assert(io.open(path))
      local s = f:read("a")
      f:close()
      return s
    end
    assert.are.equal(read(SOURCE .. "/docs/README.md"), read(help.docs_dir() .. "/README.md"))
    local files = {}
    for _, page in ipairs(help.pages()) do files[#files + 1] = page.file end
    for _, want in ipairs({"conventions.md", "getting-started.md", "tensors.md", "autograd.md", "layers.md",
                           "losses.md", "optim.md", "data.md", "training.md", "metrics.md", "plots.md",
                           "files.md", "classic.md", "program.md", "from-pytorch.md", "from-keras.md"}) do
      assert(table.concat(files, " "):find(want, 1, true), "docs/README.md does not link " .. want)
    end
  end)

  it("has an entry for every public name", function()
    local missing = {}
    local names = public.names()
    for _, name in ipairs(names) do
      if not help.lookup(name) then missing[#missing + 1] = name end
    end
    assert(#missing == 0, ("%d of %d public names have no entry in docs/ (a signature line calling them):\n  %s")
      :format(#missing, #names, table.concat(missing, "\n  ")))
  end)

  it("documents only names that exist (a misspelt signature documents nothing)", function()
    local exists = {help = true} -- the global help() is the program's
    for _, name in ipairs(public.names()) do exists[name] = true end
    local unknown = {}
    for _, e in ipairs(list) do
      for _, name in ipairs(e.names) do
        local method = debug.getregistry()["nn.Tensor.methods"][name:match("^nn%.([%w_]+)$") or ""]
        if not exists[name] and not method then
          unknown[#unknown + 1] = ("docs/%s:%d %s"):format(e.file, e.line, name)
        end
      end
    end
    assert(#unknown == 0, "signatures calling no public name:\n  " .. table.concat(unknown, "\n  "))
  end)

  it("gives every entry a signature, its options, returns, errors and an example", function()
    local bad = {}
    for _, e in ipairs(list) do
      local lacks = {}
      if #e.signatures == 0 then lacks[#lacks + 1] = "a signature line" end
      local takes_options = false
      for _, sig in ipairs(e.signatures) do
        if sig:find("opts", 1, true) or sig:find("{", 1, true) then takes_options = true end
      end
      if takes_options and not (e.parts.Options and e.parts.Options:find("=", 1, true)) then
        lacks[#lacks + 1] = "Options (name = default)"
      end
      if not e.parts.Returns or e.parts.Returns == "" then lacks[#lacks + 1] = "Returns" end
      if not e.parts.Errors or e.parts.Errors == "" then lacks[#lacks + 1] = "Errors" end
      if #e.examples == 0 then lacks[#lacks + 1] = "an example (**Example:** and a ```lua block)" end
      if #lacks > 0 then
        bad[#bad + 1] = ("docs/%s:%d %s lacks %s"):format(e.file, e.line, e.title, table.concat(lacks, ", "))
      end
    end
    assert(#bad == 0, ("%d entries are incomplete:\n  %s"):format(#bad, table.concat(bad, "\n  ")))
  end)

  it("lists the options of every function whose code checks an options table", function()
    -- The names the library's option checks report (A.options("Linear", ...)
    -- in Lua, nnb_check_options(..., "gelu") in C), where they are literals.
    local fnames = {}
    local files = io.popen(("find %s/stdlib %s/bindings -name '*.lua' -o -name '*.c'"):format(SOURCE, SOURCE))
    for path in files:lines() do
      local f = assert(io.open(path))
      local text = f:read("a")
      f:close()
      for name in text:gmatch('A%.options%(%s*"([%w_%.]+)"') do fnames[name] = true end
      for name in text:gmatch('nnb_check_options%([^;]-"([%w_]+)"%)') do fnames[name] = true end
    end
    files:close()
    -- Other functions that happen to share a checked name, and take no options.
    local other = {["knn:fit"] = true, ["opt:state_dict"] = true, ["sched:state_dict"] = true}
    local bad, checked = {}, 0
    for fname in pairs(fnames) do
      for _, e in ipairs(list) do
        for _, name in ipairs(e.names) do
          local tail = name:sub(-#fname - 1)
          if (tail == "." .. fname or tail == ":" .. fname) and not other[name] then
            checked = checked + 1
            if not (e.parts.Options and e.parts.Options:find("=", 1, true)) then
              bad[#bad + 1] = ("docs/%s:%d %s takes options (%s) but lists none"):format(e.file, e.line, name, fname)
            end
          end
        end
      end
    end
    assert(checked >= 15, "found only " .. checked .. " documented names with option checks")
    assert(#bad == 0, table.concat(bad, "\n"))
  end)

  it("documents each name once", function()
    local where, twice = {}, {}
    for _, e in ipairs(list) do
      for _, name in ipairs(e.names) do
        local here = ("docs/%s:%d"):format(e.file, e.line)
        if where[name] and where[name] ~= here then twice[#twice + 1] = name .. ": " .. where[name] .. " and " .. here end
        where[name] = where[name] or here
      end
    end
    assert(#twice == 0, table.concat(twice, "\n"))
  end)
end)

describe("the manual's examples", function()
  for _, page in ipairs(help.pages() or {}) do
    it("run, and print what " .. page.file .. " shows", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir))
      local cmd = ("cd %s && %s %s/tests/lua/docs_examples.lua %s 2>&1"):format(dir, NNLUA, SOURCE, page.file)
      local p = io.popen(cmd)
      local out = p:read("a")
      local ok = p:close()
      os.execute("rm -rf " .. dir)
      assert(ok, out)
    end)
  end
end)
