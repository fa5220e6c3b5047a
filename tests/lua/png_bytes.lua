-- Hand-made PNG files for the specs (image_spec, limits_spec): chunks with
-- their CRC, and a whole file whose image data is one stored (uncompressed)
-- deflate block, so no zlib is needed to write one.
local M = {}

local CRC = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do c = (c & 1 == 1) and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  CRC[n] = c
end

local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = CRC[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return (b << 16) | a
end

--- chunk(kind, data): length, kind, data and CRC.
function M.chunk(kind, data)
  return string.pack(">I4", #data) .. kind .. data .. string.pack(">I4", crc32(kind .. data))
end

--- file(w, h, depth, ctype, idat): signature, IHDR, one IDAT with the
--- given zlib stream, IEND.
function M.file(w, h, depth, ctype, idat)
  local ihdr = string.pack(">I4I4BBBBB", w, h, depth, ctype, 0, 0, 0)
  return "\137PNG\r\n\26\n" .. M.chunk("IHDR", ihdr) .. M.chunk("IDAT", idat) .. M.chunk("IEND", "")
end

--- make(w, h, depth, ctype, rows): rows are raw scanline bytes (without
--- the filter byte), stored in one deflate block.
function M.make(w, h, depth, ctype, rows)
  local raw = {}
  for i = 1, h do raw[i] = "\0" .. rows[i] end
  raw = table.concat(raw)
  assert(#raw < 65536)
  local z = "\120\1" .. "\1" .. string.pack("<I2I2", #raw, (~#raw) & 0xFFFF) .. raw ..
            string.pack(">I4", adler32(raw))
  return M.file(w, h, depth, ctype, z)
end

return M
