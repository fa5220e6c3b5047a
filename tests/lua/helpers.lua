-- Shared test helpers for the busted specs: error assertions, tensor and
-- nested-table comparison with a tolerance, and the PyTorch fixtures.
local nn = require "nn"

local H = {}

-- fn must raise an error (never crash, never succeed) whose message
-- contains every given fragment (plain find). Returns the message.
function H.assert_error(fn, ...)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error, got success")
  err = tostring(err)
  for _, fragment in ipairs({...}) do
    fragment = tostring(fragment)
    assert(err:find(fragment, 1, true), ("error %q lacks %q"):format(err, fragment))
  end
  return err
end

local function is_nan(x) return x ~= x end

-- Where a and b (numbers, booleans or nested arrays of them) differ by more
-- than tol, a description; nil when they agree. NaN equals NaN.
local function diff(a, b, tol, path)
  if type(a) == "table" and type(b) == "table" then
    if #a ~= #b then return ("%s: length %d, expected %d"):format(path, #a, #b) end
    for i = 1, #b do
      local d = diff(a[i], b[i], tol, path .. "[" .. i .. "]")
      if d then return d end
    end
    return nil
  end
  if type(a) ~= type(b) then
    return ("%s: %s (%s), expected %s (%s)"):format(path, tostring(a), type(a), tostring(b), type(b))
  end
  if type(a) == "number" then
    if is_nan(a) or is_nan(b) then
      if is_nan(a) and is_nan(b) then return nil end
    elseif a == b or math.abs(a - b) <= tol * (1 + math.abs(b)) then
      return nil
    end
  elseif a == b then
    return nil
  end
  return ("%s: %s, expected %s"):format(path, tostring(a), tostring(b))
end

-- Tensors become their totable(); everything else is kept.
local function plain(v)
  if nn.is_tensor(v) then return v:totable() end
  return v
end

-- actual (tensor, table or number) matches expected within a relative
-- tolerance (default 1e-6). When expected is a tensor, shape and dtype
-- must match too.
function H.assert_close(actual, expected, tol, msg)
  tol = tol or 1e-6
  if nn.is_tensor(expected) then
    assert(nn.is_tensor(actual), "expected a tensor, got " .. type(actual))
    H.assert_shape(actual, expected.shape)
    assert(actual.dtype == expected.dtype,
           ("dtype %s, expected %s"):format(actual.dtype, expected.dtype))
  end
  local d = diff(plain(actual), plain(expected), tol, "value")
  if d then error((msg and msg .. ": " or "") .. d, 2) end
end

-- Do a and b (tensors, tables, numbers) hold the same values?
function H.equal(a, b, tol)
  return diff(plain(a), plain(b), tol or 0, "value") == nil
end

-- Exact equality of values (tolerance 0).
function H.assert_values(actual, expected, msg)
  local d = diff(plain(actual), plain(expected), 0, "value")
  if d then error((msg and msg .. ": " or "") .. d, 2) end
end

function H.shape_str(shape)
  return "[" .. table.concat(shape, ",") .. "]"
end

function H.assert_shape(t, shape)
  local got = t.shape
  local ok = #got == #shape
  for i = 1, #shape do ok = ok and got[i] == shape[i] end
  if not ok then
    error(("shape %s, expected %s"):format(H.shape_str(got), H.shape_str(shape)), 2)
  end
end

-- The tensor a fixture spec {shape=, dtype=, values= (or data=)} describes.
function H.from_spec(spec)
  local t = nn.tensor(spec.values or spec.data, spec.dtype)
  if #spec.shape ~= t:dim() then t = t:reshape(spec.shape) end -- empty dims
  return t
end

-- The PyTorch reference values of tests/fixtures/<name>/reference.lua
-- (default "core"), written by the generators in tests/fixtures/.
function H.reference(name)
  name = name or "core"
  H._references = H._references or {}
  if not H._references[name] then
    local dir = os.getenv("NNLUA_SOURCE_DIR")
      or debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$") or "."
    H._references[name] = dofile(dir .. "/tests/fixtures/" .. name .. "/reference.lua")
  end
  return H._references[name]
end

-- Row-major values of t as a flat Lua array.
function H.flat(t)
  if t:dim() == 0 then return {t:item()} end
  return t:reshape(-1):totable()
end

-- Every value of t within rel of the flat list want (relative to 1 + |want|).
function H.assert_flat_close(t, want, rel, what)
  H.assert_close(H.flat(t), want, rel, what)
end

-- Runs case c of a fixture file ref (tests/fixtures/loss/reference.lua):
-- nn.<fn>(<args>) over fresh copies of ref.inputs, then backward,
-- comparing the output and the listed gradients with PyTorch's.
function H.run_fixture_case(ref, c)
  local env = setmetatable({}, {__index = _G})
  for name, s in pairs(ref.inputs) do
    local t = H.from_spec(s)
    if c.grads[name] then t:requires_grad_() end
    env[name] = t
  end
  local out = assert(load("return nn." .. c.fn .. "(" .. c.args .. ")", c.fn, "t", env))()
  H.assert_shape(out, c.out.shape)
  H.assert_flat_close(out, c.out.data, 1e-4, "output")
  if out:dim() == 0 then out:backward() else out:backward(H.from_spec(c.gout)) end
  for name, g in pairs(c.grads) do
    assert(env[name].grad, "no gradient for " .. name)
    H.assert_flat_close(env[name].grad, g.data, 1e-4, "gradient of " .. name)
  end
end

-- 1..n*m as an [n, m] float tensor (row-major), a handy known input.
function H.grid(n, m, dtype)
  return nn.arange(1, n * m + 1):view(n, m):to(dtype or "float32")
end

-- ---- files the specs write ----

--- A new empty directory (remove it with H.rmrf).
function H.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p '" .. d .. "'"))
  return d
end

function H.write_file(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function H.rmrf(d) os.execute("rm -rf '" .. d .. "'") end

-- The real Fashion-MNIST files (Debian's dataset-fashion-mnist, which
-- scripts/setup.sh installs): their folder, or an error saying so.
function H.fashion_mnist_dir()
  local dir = "/usr/share/datasets/fashion-mnist"
  for _, name in ipairs{"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"} do
    local f = io.open(dir .. "/" .. name, "rb")
    assert(f, dir .. "/" .. name .. " is missing: run scripts/setup.sh (package dataset-fashion-mnist)")
    f:close()
  end
  return dir
end

function H.near(a, b, tol)
  assert(math.abs(a - b) <= (tol or 1e-6), ("%s vs %s"):format(a, b))
end

return H
