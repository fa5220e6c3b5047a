-- The readers' memory ceilings (issue 16) through the Lua API: a file
-- claiming more than it can hold is refused with an error naming the
-- limit. safetensors and checkpoints (a 1 TB tensor in a small file),
-- gzipped IDX (tests/fixtures/limits, gen_limits_fixtures.py), PNG (sides
-- and decoded size, headers crafted here) and CSV (field and row).
local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"

local FIX = (os.getenv("NNLUA_SOURCE_DIR") or ".") .. "/tests/fixtures/limits/"

-- An 8-byte little-endian length, the JSON header, then data_bytes zeros.
local function safetensors(json, data_bytes)
  return string.pack("<I8", #json) .. json .. string.rep("\0", data_bytes)
end

-- A PNG whose header says w x h, 8-bit, of the color type (0 gray, 2 RGB);
-- its data is an empty deflate stream: the limits act on the header.
local function png_header(w, h, color)
  return require("png_bytes").file(w, h, 8, color, "\x78\x9c\x03\x00\x00\x00\x00\x01")
end

describe("memory ceilings", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmrf(dir) end)

  it("refuse a safetensors header claiming 1 TB in a small file", function()
    local p = dir .. "/tb.safetensors"
    H.write_file(p, safetensors('{"w":{"dtype":"F32","shape":[250000000000],"data_offsets":[0,16]}}', 16))
    H.assert_error(function() nn.load(p) end, "load: ", "needs 1000000000000 bytes",
                   "more than the file holds (16 bytes of data)")
    H.write_file(p, safetensors('{"w":{"dtype":"F32","shape":[250000000000],' ..
                                '"data_offsets":[0,1000000000000]}}', 16))
    H.assert_error(function() nn.load(p) end, "out of range", "data section has 16 bytes")
  end)

  it("refuse a checkpoint claiming 1 TB", function()
    local p = dir .. "/ck.safetensors"
    local meta = '{"__metadata__":{"nnlua_checkpoint":"{\\"format\\":1}"},'
    H.write_file(p, safetensors(meta .. '"model.w":{"dtype":"F32","shape":[250000000000],' ..
                                '"data_offsets":[0,8]}}', 8))
    H.assert_error(function() nn.load_checkpoint(p) end, "needs 1000000000000 bytes",
                   "more than the file holds")
  end)

  it("refuse a gzipped IDX that inflates past its header, or is too small for it", function()
    H.assert_error(function() core._read_idx(FIX .. "inflates.idx.gz") end,
                   "decompressed data exceeds the 13 bytes its header declares")
    H.assert_error(function() core._read_idx(FIX .. "claims.idx.gz") end,
                   "47040000 values", "deflate inflates at most 1032:1")
    local t = core._read_idx(FIX .. "fits.idx.gz")
    H.assert_shape(t, {6000, 28, 28})
  end)

  it("refuse PNG images over 16384 a side or 1 GiB decoded", function()
    local p = dir .. "/big.img"
    H.write_file(p, png_header(16385, 2, 0))
    H.assert_error(function() nn.image.load(p) end, "16385x2", "exceeds the 16384x16384 limit")
    H.write_file(p, png_header(16384, 16384, 2))
    H.assert_error(function() nn.image.load(p) end, "decodes to 3221225472 bytes",
                   "over the 1 GiB limit")
  end)

  it("refuse a CSV field over 1 MiB and a row over 16 MiB", function()
    local p = dir .. "/big.csv"
    H.write_file(p, "a,b\n" .. string.rep("7", 1024 * 1024 + 1) .. ",1\n")
    H.assert_error(function() nn.data.csv(p) end, "csv: '" .. p .. "' line 2: a field of 1048577 bytes",
                   "exceeds the 1 MiB limit")
    local field = string.rep("7", 1024 * 1024 - 1)
    H.write_file(p, string.rep(field, 17, ","))
    H.assert_error(function() nn.data.csv(p, {header = false}) end, "line 1: a line of 17825791 bytes",
                   "exceeds the 16 MiB limit")
    H.write_file(p, "a,b\n" .. string.rep("7", 1024 * 1024) .. ",1\n")
    assert.are.equal(1, #nn.data.csv(p))
  end)
end)
