-- Tensor files: nn.save/nn.load (safetensors) and nn.save_npy/nn.load_npy.
-- Round trips of every dtype and layout, the fixtures written by
-- tests/fixtures/gen_io_fixtures.py (numpy, torch), and the errors for
-- broken files and bad arguments (function name, path, numbers).
local nn = require "nn"
local H = require "helpers"

local FIX = (os.getenv("NNLUA_SOURCE_DIR") or ".") .. "/tests/fixtures/io/"

local dir
local function path(name) return dir .. "/" .. name end

local function write(p, bytes)
  local f = assert(io.open(p, "wb"))
  f:write(bytes)
  f:close()
end

local function read(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function listdir()
  local names, p = {}, assert(io.popen("ls -A '" .. dir .. "'"))
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

-- A safetensors file with this JSON header and `data` zero bytes.
local function safetensors(json, data)
  return string.pack("<I8", #json) .. json .. string.rep("\0", data or 0)
end

before_each(function()
  dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir '" .. dir .. "'"))
end)

after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

describe("nn.save / nn.load", function()
  it("round-trips float32, int64 and bool tensors by name", function()
    local f = nn.tensor{{1.5, -2, 0.25}, {1e-30, 3e38, -0.0}}
    local i = nn.tensor({math.mininteger, -1, 0, math.maxinteger}, "int64")
    local b = nn.tensor{true, false, true}
    nn.save({weight = f, labels = i, mask = b}, path("a.safetensors"))
    local t = nn.load(path("a.safetensors"))
    assert.are.same({"labels", "mask", "weight"}, (function()
      local keys = {}
      for k in pairs(t) do keys[#keys + 1] = k end
      table.sort(keys)
      return keys
    end)())
    assert.are.equal("float32", t.weight.dtype)
    assert.are.same({2, 3}, t.weight.shape)
    assert.are.same(f:totable(), t.weight:totable())
    assert.are.equal("int64", t.labels.dtype)
    assert.are.same({math.mininteger, -1, 0, math.maxinteger}, t.labels:totable())
    assert.are.equal("integer", math.type(t.labels:totable()[4]))
    assert.are.equal("bool", t.mask.dtype)
    assert.are.same({true, false, true}, t.mask:totable())
  end)

  it("stores a lone tensor under the name 'tensor'", function()
    nn.save(nn.tensor{1, 2, 3}, path("lone.safetensors"))
    local t, meta = nn.load(path("lone.safetensors"))
    assert.are.same({1, 2, 3}, t.tensor:totable())
    assert.is_nil(meta)
  end)

  it("round-trips 0-dim and empty tensors", function()
    nn.save({s = nn.tensor(7.5), e = nn.zeros(0, 3), l = nn.tensor({}, "int64")},
            path("z.safetensors"))
    local t = nn.load(path("z.safetensors"))
    assert.are.same({}, t.s.shape)
    assert.are.equal(7.5, t.s:item())
    assert.are.same({0, 3}, t.e.shape)
    assert.are.equal("int64", t.l.dtype)
    assert.are.same({0}, t.l.shape)
  end)

  it("saves views as their values: transposed, narrowed, expanded", function()
    local g = nn.arange(12):view(3, 4)
    local tr, nar = g:transpose(1, 2), g:narrow(2, 2, 2)
    assert.is_false(tr:is_contiguous())
    nn.save({tr = tr, nar = nar, ex = nn.tensor{1, 2}:view(2, 1):expand(2, 3)},
            path("v.safetensors"))
    local t = nn.load(path("v.safetensors"))
    assert.are.same(tr:totable(), t.tr:totable())
    assert.are.same({{1, 2}, {5, 6}, {9, 10}}, t.nar:totable())
    assert.are.same({{1, 1, 1}, {2, 2, 2}}, t.ex:totable())
  end)

  it("round-trips a 1000x1000 tensor", function()
    local big = nn.arange(1000000):view(1000, 1000):float()
    nn.save({big = big}, path("big.safetensors"))
    local t = nn.load(path("big.safetensors")).big
    assert.are.same({1000, 1000}, t.shape)
    assert.are.equal(0, (t - big):abs():max():item())
    assert.are.equal(999999, t[1000][1000])
  end)

  it("writes and returns __metadata__ as a string table", function()
    local meta = {epoch = "3", note = 'say "hi"\n', empty = ""}
    nn.save({w = nn.ones(2)}, path("m.safetensors"), meta)
    local t, m = nn.load(path("m.safetensors"))
    assert.are.same({1, 1}, t.w:totable())
    assert.is_nil(t.__metadata__)
    assert.are.same(meta, m)
  end)

  it("loads the generator's file, converting F64/F16/BF16 and integer types", function()
    local t, meta = nn.load(FIX .. "types.safetensors")
    assert.are.same({format = "pt", note = 'say "hi"'}, meta)
    assert.are.equal("float32", t.f64.dtype)
    local f64 = t.f64:totable()
    assert.is_true(math.abs(f64[1][2] - (-2 / 3)) < 1e-7)
    local f16 = t.f16:totable()
    assert.are.same({0, 1, -2.5, 65504}, {f16[1], f16[2], f16[3], f16[4]})
    assert.are.equal(math.huge, f16[5])
    assert.are.equal(-math.huge, f16[6])
    assert.is_true(f16[7] ~= f16[7]) -- NaN
    assert.are.equal(2 ^ -24, f16[8])
    assert.are.equal(0.0999755859375, f16[10])
    local bf16 = t.bf16:totable()
    assert.are.same({1, -2, 3.140625, 2 ^ 100}, {bf16[1], bf16[2], bf16[3], bf16[4]})
    assert.are.equal(0.10009765625, bf16[7])
    assert.are.equal("int64", t.i32.dtype)
    assert.are.same({{-2147483648, 2147483647}, {0, -7}}, t.i32:totable())
    assert.are.same({-32768, 32767}, t.i16:totable())
    assert.are.same({-128, 127, 5}, t.i8:totable())
    assert.are.same({0, 255, 7}, t.u8:totable())
    assert.are.same({0, 65535}, t.u16:totable())
    assert.are.same({0, 4294967295}, t.u32:totable())
    assert.are.same({math.mininteger, math.maxinteger, 0, -1}, t.i64:totable())
    assert.are.same({true, false, true}, t.bool:totable())
    assert.are.equal(42, t.scalar:item())
    assert.are.same({0, 3}, t.empty.shape)
  end)

  it("names the path and reason when a file cannot be read", function()
    H.assert_error(function() nn.load(path("missing.safetensors")) end,
                 "load:", "missing.safetensors", "No such file")
    H.assert_error(function() nn.load(dir) end, "load:", "directory")
    write(path("short"), string.pack("<I8", 4096) .. string.rep(" ", 92))
    H.assert_error(function() nn.load(path("short")) end, "load:", "truncated", "4096", "100")
    write(path("tiny"), "\1\0")
    H.assert_error(function() nn.load(path("tiny")) end, "load:", "truncated")
  end)

  it("rejects malformed headers", function()
    local cases = {
      {'{"a": ', 0, "invalid JSON"},
      {'[1]', 0, "not a JSON object"},
      {'{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}', 24, "[2,3]", "20 bytes"},
      {'{"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}', 24, "out of range", "400"},
      {'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', 4, "'w'", "shape"},
      {'{"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}', 4, "'w'", "X9"},
      {'{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},' ..
       ' "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}', 24, "overlap"},
      {'{"__metadata__": {"k": 1}}', 0, "'k'", "string"},
    }
    for _, c in ipairs(cases) do
      write(path("bad.safetensors"), safetensors(c[1], c[2]))
      H.assert_error(function() nn.load(path("bad.safetensors")) end, "load:", "bad.safetensors",
                   table.unpack(c, 3))
    end
  end)

  it("names the dtype it cannot load", function()
    H.assert_error(function() nn.load(FIX .. "u64.safetensors") end,
                 "load:", "tensor 'w'", "unsupported dtype U64")
    H.assert_error(function() nn.load(FIX .. "f8.safetensors") end, "load:", "F8_E4M3")
  end)

  it("checks its arguments before touching the file", function()
    nn.save({w = nn.ones(3)}, path("keep.safetensors"))
    local before = read(path("keep.safetensors"))
    H.assert_error(function() nn.save({w = nn.ones(3), b = 4}, path("keep.safetensors")) end,
                 "save:", "'b'", "tensor", "number")
    H.assert_error(function() nn.save({nn.ones(3)}, path("keep.safetensors")) end,
                 "save:", "keys must be strings", "number")
    H.assert_error(function() nn.save({__metadata__ = nn.ones(1)}, path("keep.safetensors")) end,
                 "save:", "reserved")
    H.assert_error(function() nn.save({w = nn.ones(1)}, path("keep.safetensors"), {epoch = 3}) end,
                 "save:", "'epoch'", "string")
    H.assert_error(function() nn.save("w", path("keep.safetensors")) end, "save:", "string")
    H.assert_error(function() nn.save(nn.ones(1)) end, "save:", "path")
    assert.are.equal(before, read(path("keep.safetensors")))
    assert.are.same({"keep.safetensors"}, listdir())
  end)

  it("fails cleanly when the target cannot be written", function()
    H.assert_error(function() nn.save(nn.ones(2), path("no/such/dir/x.safetensors")) end,
                 "save:", "no/such/dir/x.safetensors", "No such file")
    assert(os.execute("mkdir '" .. path("adir") .. "'"))
    H.assert_error(function() nn.save(nn.ones(2), path("adir")) end, "save:", "adir")
    assert.are.same({"adir"}, listdir()) -- no temporary file left behind
  end)

  it("keeps no engine memory after loads, failed or not", function()
    local function live()
      collectgarbage()
      collectgarbage()
      return nn.memory_stats().live_count
    end
    local base = live()
    for _ = 1, 3 do
      pcall(nn.load, FIX .. "u64.safetensors")
      pcall(nn.load, path("missing"))
      pcall(nn.load_npy, FIX .. "c8.npy")
      local t = nn.load(FIX .. "types.safetensors")
      nn.save(t, path("again.safetensors"))
      local f = nn.load_npy(FIX .. "fortran.npy")
      t, f = nil, nil
    end
    assert.are.equal(base, live())
  end)

  it("replaces an existing file", function()
    nn.save(nn.ones(2), path("r.safetensors"))
    nn.save({x = nn.zeros(3)}, path("r.safetensors"))
    local t = nn.load(path("r.safetensors"))
    assert.is_nil(t.tensor)
    assert.are.same({0, 0, 0}, t.x:totable())
    assert.are.same({"r.safetensors"}, listdir())
  end)
end)

describe("nn.load_npy / nn.save_npy", function()
  local base = {{-2, -1, 0}, {1, 2, 3}}

  it("loads every supported NumPy dtype", function()
    for _, name in ipairs{"f4", "f2", "f4_be"} do
      local t = nn.load_npy(FIX .. name .. ".npy")
      assert.are.equal("float32", t.dtype)
      assert.are.same(base, t:totable())
    end
    assert.are.same({{-0.5, -0.25, 0}, {0.25, 0.5, 0.75}}, nn.load_npy(FIX .. "f8.npy"):totable())
    local ints = {
      i1 = {-128, 127}, i2 = {-32768, 32767}, i4 = {-2147483648, 2147483647},
      i4_be = {-2147483648, 2147483647}, i8 = {math.mininteger, math.maxinteger},
      u1 = {0, 255}, u2 = {0, 65535}, u4 = {0, 4294967295},
    }
    for name, ends in pairs(ints) do
      local t = nn.load_npy(FIX .. name .. ".npy")
      assert.are.equal("int64", t.dtype)
      local v = t:totable()
      assert.are.same(ends, {v[1][1], v[2][3]}, name)
    end
    local b = nn.load_npy(FIX .. "b1.npy")
    assert.are.equal("bool", b.dtype)
    assert.are.same({{true, false, true}, {false, false, true}}, b:totable())
  end)

  it("reads Fortran order, format versions 2.0 and 3.0, 0-dim and empty arrays", function()
    local f = nn.load_npy(FIX .. "fortran.npy")
    assert.are.same({2, 3, 4}, f.shape)
    assert.are.same(nn.arange(24):view(2, 3, 4):totable(), f:totable())
    assert.are.same({{0, 1, 2}, {3, 4, 5}}, nn.load_npy(FIX .. "fortran_be_f8.npy"):totable())
    assert.are.same({0, 1, 2, 3, 4}, nn.load_npy(FIX .. "v2.npy"):totable())
    assert.are.same({0, 1, 2}, nn.load_npy(FIX .. "v3.npy"):totable())
    local s = nn.load_npy(FIX .. "scalar.npy")
    assert.are.same({}, s.shape)
    assert.are.equal(3.5, s:item())
    assert.are.same({0, 3}, nn.load_npy(FIX .. "empty.npy").shape)
  end)

  it("round-trips float32, int64, bool, 0-dim and strided tensors", function()
    local cases = {
      nn.tensor{{1.5, -2}, {3, 4e-20}},
      nn.tensor({math.mininteger, 0, math.maxinteger}, "int64"),
      nn.tensor{true, false},
      nn.tensor(2.5),
      nn.arange(6):view(2, 3):transpose(1, 2),
      nn.zeros(0, 2),
    }
    for i, t in ipairs(cases) do
      nn.save_npy(t, path(i .. ".npy"))
      local back = nn.load_npy(path(i .. ".npy"))
      assert.are.equal(t.dtype, back.dtype)
      assert.are.same(t.shape, back.shape)
      assert.are.same(t:totable(), back:totable())
    end
  end)

  it("writes the header NumPy writes", function()
    nn.save_npy(nn.zeros(2, 3), path("h.npy"))
    local bytes = read(path("h.npy"))
    assert.are.equal("\147NUMPY\1\0", bytes:sub(1, 8))
    local hlen = string.unpack("<I2", bytes, 9)
    assert.are.equal(0, (10 + hlen) % 64)
    assert.is_truthy(bytes:find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 1, true))
    assert.are.equal(10 + hlen + 24, #bytes)
  end)

  it("names the path and reason for bad files", function()
    H.assert_error(function() nn.load_npy(path("missing.npy")) end,
                 "load_npy:", "missing.npy", "No such file")
    write(path("zip.npy"), "PK\3\4 not numpy")
    H.assert_error(function() nn.load_npy(path("zip.npy")) end, "load_npy:", "zip.npy", "magic")
    write(path("cut.npy"), read(FIX .. "f4.npy"):sub(1, -5))
    H.assert_error(function() nn.load_npy(path("cut.npy")) end, "load_npy:", "truncated", "24")
    H.assert_error(function() nn.load_npy(FIX .. "u8.npy") end, "load_npy:", "'<u8'")
    H.assert_error(function() nn.load_npy(FIX .. "c8.npy") end, "load_npy:", "'<c8'")
    H.assert_error(function() nn.load_npy(FIX .. "structured.npy") end, "load_npy:", "structured")
    H.assert_error(function() nn.save_npy({}, path("x.npy")) end, "save_npy:", "tensor")
    H.assert_error(function() nn.save_npy(nn.ones(1), path("no/x.npy")) end,
                 "save_npy:", "no/x.npy", "No such file")
    assert.are.same({"cut.npy", "zip.npy"}, listdir())
  end)
end)
