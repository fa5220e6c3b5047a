-- state_dict{keys='torch'} and load_state_dict(sd, {keys='torch'}): PyTorch's
-- 0-based child numbering, weights moving both ways (fixtures from
-- tests/fixtures/gen_state_dict_fixtures.py), num_batches_tracked in old and
-- new checkpoints, and the errors of a state dict of another architecture.
local nn = require "nn"
local H = require "helpers"

local ref = H.reference("state_dict")
local dir = (os.getenv("NNLUA_SOURCE_DIR")
             or debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$") or ".") .. "/tests/fixtures/state_dict/"

-- The fixture's torch.nn.Sequential, child for child.
local function seq_bn()
  return nn.Sequential{
    nn.Conv2d(2, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(),
    nn.Sequential{nn.Conv2d(4, 4, 3, {padding = 1, bias = false}), nn.BatchNorm2d(4, {momentum = false}), nn.ReLU()},
    nn.MaxPool2d(2), nn.Flatten(), nn.Identity(),
    nn.Linear(36, 6), nn.BatchNorm1d(6, {momentum = 0.3}), nn.ReLU(),
    nn.Dropout(0.5), nn.Linear(6, 3), nn.Identity()}
end

local function keys(sd)
  local out = {}
  for k in pairs(sd) do out[#out + 1] = k end
  return out
end

local function sorted(list)
  local copy = {table.unpack(list)}
  table.sort(copy)
  return copy
end

-- max |a - b| / max |b|, the parity measure of the issue.
local function rel_err(a, b)
  return (a - b):abs():max():item() / b:abs():max():item()
end

describe("keys='torch'", function()
  it("numbers children from 0, nested Sequentials and ModuleLists too", function()
    local m = nn.Sequential{nn.Linear(2, 2), nn.Sequential{nn.ReLU(), nn.BatchNorm1d(2)}}
    assert.are.same({"0.weight", "0.bias", "1.1.weight", "1.1.bias", "1.1.running_mean", "1.1.running_var",
                     "1.1.num_batches_tracked"}, keys(m:state_dict{keys = 'torch'}))
    assert.are.same({"1.weight", "1.bias", "2.2.weight", "2.2.bias", "2.2.running_mean", "2.2.running_var",
                     "2.2.num_batches_tracked"}, keys(m:state_dict{keys = 'nnlua'}))
    local Net = nn.Module:extend("TorchKeysNet")
    function Net:init()
      self.blocks = nn.ModuleList{nn.Linear(2, 3), nn.Linear(3, 3)}
      self.heads = nn.ModuleDict{cls = nn.Linear(3, 2)}
      self.scale = nn.ones(1):requires_grad_()
    end
    assert.are.same({"scale", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "heads.cls.weight", "heads.cls.bias"}, keys(Net():state_dict{keys = 'torch'}))
  end)

  it("matches the keys of the PyTorch model, in order", function()
    assert.are.same(ref.seq_bn.keys, keys(seq_bn():state_dict{keys = 'torch'}))
  end)

  it("loads a PyTorch state dict: the same eval outputs and training statistics", function()
    local sd = nn.load(dir .. "seq_bn.safetensors")
    local m = seq_bn()
    local r = m:load_state_dict(sd, {keys = 'torch'})
    assert.are.same({}, r.missing_keys)
    assert.are.same({}, r.unexpected_keys)
    assert.are.equal("int64", m[2].num_batches_tracked.dtype)
    assert.are.equal(3, m[2].num_batches_tracked:item())
    m:eval()
    local out = m(H.from_spec(ref.seq_bn.input))
    assert.is_true(rel_err(out, H.from_spec(ref.seq_bn.output)) < 1e-5)
    -- one more training forward: running statistics (the cumulative average
    -- of momentum=false included) and counts as PyTorch's
    m:train()
    m(H.from_spec(ref.seq_bn.train_input))
    local after = m:state_dict{keys = 'torch'}
    for name, s in pairs(ref.seq_bn.buffers_after_train) do
      local want = H.from_spec(s)
      assert.are.equal(want.dtype, after[name].dtype, name)
      H.assert_close(after[name], want, 1e-5, name)
    end
    assert.are.equal(4, after["3.1.num_batches_tracked"]:item())
  end)

  it("saves weights PyTorch loads: the same keys, values and int64 counts", function()
    local m = seq_bn()
    m:load_state_dict(nn.load(dir .. "seq_bn.safetensors"), {keys = 'torch'})
    local path = os.tmpname()
    nn.save(m:state_dict{keys = 'torch'}, path)
    local back, fixture = nn.load(path), nn.load(dir .. "seq_bn.safetensors")
    os.remove(path)
    assert.are.same(sorted(ref.seq_bn.keys), sorted(keys(back)))
    for _, k in ipairs(ref.seq_bn.keys) do
      assert.are.equal(fixture[k].dtype, back[k].dtype, k)
      H.assert_values(back[k], fixture[k], k)
    end
  end)

  it("round-trips: torch keys out, torch keys in", function()
    nn.manual_seed(4)
    local a, b = seq_bn(), seq_bn()
    a(nn.randn(3, 2, 6, 6))
    b:load_state_dict(a:state_dict{keys = 'torch'}, {keys = 'torch'})
    a:eval()
    b:eval()
    local x = nn.randn(2, 2, 6, 6)
    H.assert_values(b(x), a(x))
    assert.are.equal(1, b[2].num_batches_tracked:item())
  end)
end)

describe("scripts/export_torchvision.py's output", function()
  it("nn.load reads it: PyTorch's keys, float32 weights, int64 counts", function()
    local sd = nn.load(dir .. "mobilenet_v2_w0.1.safetensors")
    assert.are.same(sorted(ref.mobilenet_v2_w01.keys), sorted(keys(sd)))
    assert.are.equal("int64", sd["features.0.1.num_batches_tracked"].dtype)
    assert.are.equal(0, sd["features.0.1.num_batches_tracked"]:dim())
    assert.are.equal("float32", sd["classifier.1.weight"].dtype)
    H.assert_shape(sd["classifier.1.weight"], {10, 1280})
  end)

  it("loads into nn.models.mobilenet_v2 with keys='torch': torchvision's keys and eval outputs", function()
    local model = nn.models.mobilenet_v2{width_mult = 0.1, num_classes = 10}
    assert.are.same(ref.mobilenet_v2_w01.keys, keys(model:state_dict{keys = 'torch'}))
    local r = model:load_state_dict(nn.load(dir .. "mobilenet_v2_w0.1.safetensors"), {keys = 'torch'})
    assert.are.same({}, r.missing_keys)
    assert.are.same({}, r.unexpected_keys)
    model:eval()
    local out = model(H.from_spec(ref.mobilenet_v2_w01.input))
    local err = rel_err(out, H.from_spec(ref.mobilenet_v2_w01.output))
    assert.is_true(err < 1e-4, "max |a-b| / max |b| = " .. err)
  end)
end)

describe("num_batches_tracked", function()
  it("round-trips as int64 through safetensors, beyond 2^31", function()
    local bn = nn.BatchNorm1d(2)
    bn.num_batches_tracked:fill_(2 ^ 40 + 3)
    local path = os.tmpname()
    nn.save(bn:state_dict(), path)
    local sd = nn.load(path)
    os.remove(path)
    assert.are.equal("int64", sd.num_batches_tracked.dtype)
    assert.are.equal(0, sd.num_batches_tracked:dim())
    local other = nn.BatchNorm1d(2)
    other:load_state_dict(sd)
    assert.are.equal(math.tointeger(2 ^ 40 + 3), other.num_batches_tracked:item())
  end)

  it("old checkpoints without it load, strict too, with the count reset", function()
    local sd = nn.load(dir .. "seq_bn.safetensors")
    for _, k in ipairs(keys(sd)) do
      if k:match("num_batches_tracked$") then sd[k] = nil end
    end
    local m = seq_bn()
    m[2].num_batches_tracked:fill_(7)
    local r = m:load_state_dict(sd, {keys = 'torch'})
    assert.are.same({}, r.missing_keys) -- as PyTorch: not reported missing
    assert.are.equal(0, m[2].num_batches_tracked:item())
    r = seq_bn():load_state_dict(sd, {keys = 'torch', strict = false})
    assert.are.same({}, r.missing_keys)
    -- an old nnlua checkpoint of one BatchNorm
    local bn = nn.BatchNorm2d(3)
    bn:load_state_dict({weight = nn.ones(3), bias = nn.zeros(3), running_mean = nn.zeros(3), running_var = nn.ones(3)})
    assert.are.equal(0, bn.num_batches_tracked:item())
  end)

  it("counts only training forwards, and only with running statistics", function()
    local bn = nn.BatchNorm1d(2, {track_running_stats = false})
    bn(nn.randn(4, 2))
    assert.is_nil(bn.num_batches_tracked)
    assert.are.same({"weight", "bias"}, keys(bn:state_dict()))
  end)
end)

describe("a state dict of another architecture", function()
  it("strict: names the first mismatching keys with their shapes", function()
    local m = nn.Sequential{nn.Linear(4, 3), nn.Linear(3, 2), nn.ReLU(), nn.ReLU(), nn.Linear(2, 2)}
    local other = nn.Sequential{nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Linear(8, 3), nn.BatchNorm1d(3)}
    local before = m[1].weight:clone()
    local err = H.assert_error(function() m:load_state_dict(other:state_dict()) end, "load_state_dict",
                               "missing keys: 5.weight [2,2], 5.bias [2]; ",
                               "unexpected keys: 2.running_mean [2], 2.running_var [2], 2.num_batches_tracked [], "
                               .. "3.weight [3,8], 3.bias [3] and 5 more; ",
                               "size mismatch for 1.weight: [2,1,3,3] in the state dict, [3,4] in the model; "
                               .. "size mismatch for 1.bias: [2] in the state dict, [3] in the model; "
                               .. "size mismatch for 2.weight: [2] in the state dict, [2,3] in the model")
    H.assert_values(m[1].weight, before) -- nothing copied
    assert.is_nil(err:find("4.num_batches_tracked", 1, true)) -- past the first five
    assert.is_nil(err:find("2.bias", 1, true))                -- [2] on both sides
  end)

  it("lists at most five keys of each kind, counting the rest", function()
    local wide = nn.Sequential{}
    for _ = 1, 12 do wide:add(nn.Linear(1, 1)) end
    H.assert_error(function() nn.Sequential{nn.ReLU()}:load_state_dict(wide:state_dict()) end,
                   "unexpected keys: 1.weight [1,1], 1.bias [1], 2.weight [1,1], 2.bias [1], 3.weight [1,1] and 19 more")
    -- a table without order (a loaded file's) sorts, digit runs as numbers
    local plain = {}
    for k, v in pairs(wide:state_dict()) do plain[k] = v end
    local r = nn.Sequential{nn.ReLU()}:load_state_dict(plain, {strict = false})
    assert.are.same({"1.bias", "1.weight", "2.bias"}, {table.unpack(r.unexpected_keys, 1, 3)})
    assert.are.equal("9.weight", r.unexpected_keys[18])
    assert.are.equal("10.bias", r.unexpected_keys[19])
  end)

  it("strict=false returns missing and unexpected keys (PyTorch's lists) and loads the rest", function()
    local m = nn.Sequential{nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 4)}
    local src = nn.Sequential{nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 4), nn.Linear(4, 1)}
    local r = m:load_state_dict(src:state_dict{keys = 'torch'}, {keys = 'torch', strict = false})
    assert.are.same({"1.weight", "1.bias", "1.running_mean", "1.running_var"}, r.missing_keys)
    assert.are.same({"3.weight", "3.bias"}, r.unexpected_keys)
    H.assert_values(m[1].weight, src[1].weight)
    -- shapes must match even then
    H.assert_error(function()
      nn.Sequential{nn.Linear(3, 5)}:load_state_dict(src:state_dict(), {strict = false})
    end, "load_state_dict", "size mismatch for 1.weight: [2,3] in the state dict, [5,3] in the model")
  end)

  it("says when the keys are the other numbering", function()
    local m = seq_bn()
    local torch_sd = nn.load(dir .. "seq_bn.safetensors")
    H.assert_error(function() m:load_state_dict(torch_sd) end, "load_state_dict", "missing keys: 2.weight [4]",
                   "unexpected keys: 0.bias [4], 0.weight [4,2,3,3]", "numbers children from 0, as PyTorch does: load it with {keys='torch'}")
    H.assert_error(function() m:load_state_dict(m:state_dict(), {keys = 'torch'}) end, "load_state_dict",
                   "numbers children from 1, as nnlua does: load it without keys='torch'")
    local err = H.assert_error(function() m:load_state_dict({["features.0.weight"] = nn.zeros(1)}) end, "missing keys")
    assert.is_nil(err:find("PyTorch", 1, true)) -- no hint when the keys do not fit either way
  end)
end)

describe("bad input", function()
  it("keys= must be 'nnlua' or 'torch'", function()
    local m = nn.Linear(2, 2)
    H.assert_error(function() m:state_dict{keys = 'pytorch'} end, "state_dict", "keys must be one of 'nnlua', 'torch'",
                   "'pytorch'")
    H.assert_error(function() m:load_state_dict(m:state_dict(), {keys = 0}) end, "load_state_dict", "keys", "0")
    H.assert_error(function() m:state_dict{key = 'torch'} end, "state_dict", "unknown option 'key'", "did you mean 'keys'")
    H.assert_error(function() m:state_dict('torch') end, "state_dict", "options must be a table")
    H.assert_error(function() m:load_state_dict(nn.zeros(2)) end, "load_state_dict", "got a tensor")
  end)
end)
