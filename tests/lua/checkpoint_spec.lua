-- Checkpoints: a resumed run continues bit-identically, fields round-trip,
-- and bad input is refused without touching a good file.
local nn = require "nn"

local function tmpfile()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".safetensors"
end

local function make()
  local model = nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3)}
  local opt = nn.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
  local sched = nn.optim.StepLR(opt, {step_size = 2, gamma = 0.5})
  return model, opt, sched
end

local function train(model, opt, sched, x, y, steps)
  local loss_fn = nn.CrossEntropyLoss()
  for _ = 1, steps do
    opt:zero_grad()
    loss_fn(model(x), y):backward()
    opt:step()
    sched:step()
  end
end

local function same(a, b)
  local x, y = a:reshape(-1):totable(), b:reshape(-1):totable()
  assert.are.equal(#x, #y)
  for i = 1, #x do assert.are.equal(x[i], y[i]) end
end

describe("checkpoints", function()
  local x = nn.randn(16, 4)
  local y = nn.randint(1, 4, {16})

  it("resume continues exactly as an uninterrupted run", function()
    nn.manual_seed(1)
    local m1, o1, s1 = make()
    train(m1, o1, s1, x, y, 3)
    local path = tmpfile()
    nn.save_checkpoint(path, {model = m1, optimizer = o1, scheduler = s1, epoch = 3, history = {loss = {1.5, 1.25}}})
    train(m1, o1, s1, x, y, 4) -- the uninterrupted run

    nn.manual_seed(99) -- a different generator state, restored by loading
    local m2, o2, s2 = make()
    local fields = nn.load_checkpoint(path, {model = m2, optimizer = o2, scheduler = s2})
    assert.are.equal(3, fields.epoch)
    assert.are.same({loss = {1.5, 1.25}}, fields.history)
    train(m2, o2, s2, x, y, 4)
    local p1, p2 = m1:parameters(), m2:parameters()
    for i = 1, #p1 do same(p1[i]:detach(), p2[i]:detach()) end
    assert.are.same(s1:get_last_lr(), s2:get_last_lr())
    os.remove(path)
  end)

  it("keeps tensor fields and infinite numbers", function()
    local path = tmpfile()
    nn.save_checkpoint(path, {best = math.huge, weights = nn.arange(3):float()})
    local f = nn.load_checkpoint(path)
    assert.are.equal(math.huge, f.best)
    same(f.weights, nn.tensor({0, 1, 2}))
    os.remove(path)
  end)

  it("refuses a checkpoint of another model, naming the file", function()
    local path = tmpfile()
    nn.save_checkpoint(path, {model = nn.Sequential{nn.Linear(4, 8)}})
    local ok, err = pcall(nn.load_checkpoint, path, {model = nn.Sequential{nn.Linear(5, 8)}})
    assert.is_false(ok)
    assert.matches("load_checkpoint: .*does not fit this model", err)
    os.remove(path)
  end)

  it("refuses files that are not checkpoints and fields it cannot store", function()
    local path = tmpfile()
    nn.save({w = nn.ones(2)}, path)
    local ok, err = pcall(nn.load_checkpoint, path)
    assert.is_false(ok)
    assert.matches("not an nnlua checkpoint", err)
    local before = io.open(path, "rb"):read("a")
    ok, err = pcall(nn.save_checkpoint, path, {callback = print})
    assert.is_false(ok)
    assert.matches("save_checkpoint: cannot encode a function", err)
    assert.are.equal(before, io.open(path, "rb"):read("a")) -- the good file is untouched
    os.remove(path)
    ok, err = pcall(nn.load_checkpoint, "/nonexistent/ckpt.safetensors")
    assert.is_false(ok)
    assert.matches("/nonexistent/ckpt.safetensors", err)
  end)
end)
