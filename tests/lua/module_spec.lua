-- The module system: classes from nn.Module:extend, registration of
-- children/parameters/buffers in assignment order, Sequential, modes,
-- gradients, state dicts, printing, summary and error paths.
local nn = require "nn"
local H = require "helpers"

-- A user module with a child, a parameter and a buffer.
local Net = nn.Module:extend("Net")
function Net:init(n)
  self.fc1 = nn.Linear(n, 3)
  self.scale = nn.ones(3):requires_grad_()
  self.plain = nn.zeros(2) -- no requires_grad: a plain field
  self.count = 7
  self:register_buffer("steps", nn.zeros(1))
  self.head = nn.Sequential{nn.ReLU(), nn.Linear(3, 2)}
end
function Net:forward(x)
  return self.head(self.fc1(x) * self.scale)
end

local function keys(ordered)
  local out = {}
  for k in ordered do out[#out + 1] = k end
  return out
end

describe("classes", function()
  it("extend, init and call", function()
    local m = Net(4)
    assert.are.equal("Net", m.__name)
    assert.is_true(m.training)
    H.assert_shape(m(nn.zeros(5, 4)), {5, 2})
    assert.are.equal("class Net", tostring(Net))
  end)

  it("subclasses inherit methods and metamethods", function()
    local Wide = Net:extend("Wide")
    function Wide:init(n)
      Net.init(self, n)
      self.extra = nn.Linear(2, 1)
    end
    function Wide:forward(x) return self.extra(Net.forward(self, x)) end
    local m = Wide(4)
    H.assert_shape(m(nn.zeros(2, 4)), {2, 1})
    assert.are.same({"scale", "fc1.weight", "fc1.bias", "head.2.weight", "head.2.bias",
                     "extra.weight", "extra.bias"}, keys(m:named_parameters()))
    assert.matches("^Wide%(", tostring(m))
  end)

  it("a layer class can be extended", function()
    local Scaled = nn.Linear:extend("Scaled")
    function Scaled:forward(x) return nn.Linear.forward(self, x) * 2 end
    local m = Scaled(3, 2)
    nn.no_grad(function() m.weight:fill_(1); m.bias:fill_(0) end)
    H.assert_values(m(nn.ones(1, 3)), {{6, 6}})
    assert.are.equal("Scaled(in_features=3, out_features=2, bias=true)", tostring(m))
  end)

  it("explains a missing forward and bad class names", function()
    local Empty = nn.Module:extend("Empty")
    H.assert_error(function() Empty()(nn.zeros(1)) end, "Empty", "forward")
    H.assert_error(function() nn.Module:extend("my net") end, "extend", "my net")
    H.assert_error(function() nn.Module:extend() end, "extend")
    H.assert_error(function() Net(2):extend("X") end, "extend", "class")
  end)
end)

describe("registration", function()
  it("lists parameters in assignment order, own ones first (as PyTorch)", function()
    local m = Net(4)
    assert.are.same({"scale", "fc1.weight", "fc1.bias", "head.2.weight", "head.2.bias"},
                    keys(m:named_parameters()))
    local params = m:parameters()
    assert.are.equal(5, #params)
    assert.are.equal(m.scale, params[1])
    assert.are.equal(m.fc1.weight, params[2])
    assert.are.equal(m.head[2].bias, params[5])
    assert.are.equal(m.fc1.bias, m:named_parameters()["fc1.bias"])
  end)

  it("lists children, modules and buffers", function()
    local m = Net(4)
    assert.are.same({"fc1", "head"}, keys(m:named_children()))
    local children = m:children()
    assert.are.equal(m.fc1, children[1])
    assert.are.equal(m.head, children[2])
    assert.are.same({"", "fc1", "head", "head.1", "head.2"}, keys(m:named_modules()))
    assert.are.equal(5, #m:modules())
    assert.are.same({"steps"}, keys(m:named_buffers()))
    assert.are.equal(m.steps, m:buffers()[1])
  end)

  it("ignores plain fields and tensors that do not require grad", function()
    local m = Net(4)
    local sd = m:state_dict()
    assert.is_nil(sd.plain)
    assert.is_nil(sd.count)
    assert.are.equal(7, m.count)
  end)

  it("keeps a replaced child in its place and drops a removed one", function()
    local m = Net(4)
    m.fc1 = nn.Linear(4, 3, {bias = false})
    assert.are.same({"scale", "fc1.weight", "head.2.weight", "head.2.bias"}, keys(m:named_parameters()))
    m.head = nil
    assert.are.same({"scale", "fc1.weight"}, keys(m:named_parameters()))
  end)

  it("lists a shared parameter once", function()
    local Tied = nn.Module:extend("Tied")
    function Tied:init()
      self.a = nn.Linear(3, 3)
      self.b = nn.Linear(3, 3)
      self.b.weight = self.a.weight
    end
    local m = Tied()
    assert.are.same({"a.weight", "a.bias", "b.bias"}, keys(m:named_parameters()))
    assert.are.equal(4, #keys(m:state_dict())) -- state dicts keep both names
  end)

  it("register_parameter and register_buffer", function()
    local m = nn.Module()
    m:register_parameter("w", nn.zeros(2))
    m:register_buffer("b", nn.ones(2))
    assert.is_true(m.w.requires_grad)
    assert.are.same({"w"}, keys(m:named_parameters()))
    assert.are.same({"w", "b"}, keys(m:state_dict()))
    H.assert_error(function() m:register_buffer("x.y", nn.ones(1)) end, "register_buffer", "x.y")
    H.assert_error(function() m:register_parameter("p", 3) end, "register_parameter", "number")
  end)

  it("apply visits children before their parent", function()
    local seen = {}
    local m = Net(2)
    assert.are.equal(m, m:apply(function(mod) seen[#seen + 1] = mod.__name end))
    assert.are.same({"Linear", "ReLU", "Linear", "Sequential", "Net"}, seen)
  end)
end)

describe("Sequential", function()
  it("takes a list or arguments; indexes and counts its children", function()
    local a = nn.Sequential{nn.Linear(4, 3), nn.ReLU()}
    local b = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    assert.are.equal(2, #a)
    assert.are.equal(2, #b)
    assert.are.equal("ReLU", a[2].__name)
    assert.are.equal(0, #nn.Sequential())
    assert.are.equal(0, #nn.Sequential{})
  end)

  it("add appends and chains", function()
    local s = nn.Sequential()
    assert.are.equal(s, s:add(nn.Linear(2, 3)):add(nn.Tanh()))
    assert.are.equal(2, #s)
    H.assert_shape(s(nn.zeros(5, 2)), {5, 3})
    assert.are.same({"1.weight", "1.bias"}, keys(s:named_parameters()))
  end)

  it("names nested children with 1-based dotted paths", function()
    local s = nn.Sequential{nn.Sequential{nn.Linear(2, 2), nn.BatchNorm1d(2)}, nn.Linear(2, 1)}
    assert.are.same({"1.1.weight", "1.1.bias", "1.2.weight", "1.2.bias", "1.2.running_mean",
                     "1.2.running_var", "1.2.num_batches_tracked", "2.weight", "2.bias"},
                    keys(s:state_dict()))
  end)

  it("refuses non-modules, naming the element", function()
    H.assert_error(function() nn.Sequential{nn.Linear(2, 2), nn.ReLU} end, "Sequential", "element 2",
                   "class ReLU", "nn.ReLU()")
    H.assert_error(function() nn.Sequential(nn.Linear(2, 2), 5) end, "Sequential", "element 2", "number")
    H.assert_error(function() nn.Sequential():add("relu") end, "Sequential", "element 1")
  end)

  it("prefixes a child's error with its place", function()
    local s = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(255, 128)}
    local err = H.assert_error(function() s(nn.zeros(2, 784)) end)
    assert.matches("^[^\n]-module_spec%.lua:%d+: Sequential%[3%] %(Linear 255%->128%): Linear: input has 256 features, expected 255", err)
    local outer = nn.Sequential{nn.Identity(), nn.Sequential{nn.Linear(3, 4), nn.Linear(5, 6)}}
    err = H.assert_error(function() outer(nn.zeros(2, 3)) end)
    assert.matches("^[^\n]-module_spec%.lua:%d+: Sequential%[2%]%[2%] %(Linear 5%->6%): Linear: input has 4 features, expected 5", err)
    -- the container still works afterwards
    H.assert_shape(s[1](nn.zeros(1, 784)), {1, 256})
  end)

  it("passes non-string errors through", function()
    local Thrower = nn.Module:extend("Thrower")
    function Thrower:forward() error({code = 42}) end
    local ok, err = pcall(nn.Sequential{Thrower()}, nn.zeros(1))
    assert.is_false(ok)
    assert.are.equal(42, err.code)
  end)
end)

describe("modes and gradients", function()
  it("train and eval reach every descendant", function()
    local m = Net(3)
    assert.are.equal(m, m:eval())
    for _, mod in ipairs(m:modules()) do assert.is_false(mod.training) end
    m:train()
    for _, mod in ipairs(m:modules()) do assert.is_true(mod.training) end
    m:train(false)
    assert.is_false(m.head[1].training)
    H.assert_error(function() m:train("yes") end, "train", "yes")
  end)

  it("zero_grad zeroes in place, or drops the grads", function()
    local m = Net(3)
    m(nn.ones(2, 3)):sum():backward()
    local g = m.fc1.weight.grad
    assert.is_true(g:abs():sum():item() > 0)
    m:zero_grad()
    H.assert_values(m.fc1.weight.grad:abs():sum(), 0)
    H.assert_values(g:abs():sum(), 0) -- the same buffer
    m:zero_grad(true)
    assert.is_nil(m.fc1.weight.grad)
  end)

  it("requires_grad_ freezes and unfreezes every parameter", function()
    local m = Net(3)
    m:requires_grad_(false)
    for _, p in ipairs(m:parameters()) do assert.is_false(p.requires_grad) end
    assert.are.equal(5, #m:parameters()) -- frozen parameters stay parameters
    m:requires_grad_()
    for _, p in ipairs(m:parameters()) do assert.is_true(p.requires_grad) end
  end)
end)

describe("state_dict", function()
  it("maps dotted names to detached tensors, in order", function()
    local m = nn.Sequential{nn.Linear(4, 3), nn.BatchNorm1d(3)}
    local sd = m:state_dict()
    assert.are.same({"1.weight", "1.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var",
                     "2.num_batches_tracked"}, keys(sd))
    assert.are.equal(7, #sd)
    local seen = 0
    for k, v in pairs(sd) do
      seen = seen + 1
      assert.is_false(v.requires_grad, k)
    end
    assert.are.equal(7, seen)
    H.assert_values(sd["1.weight"], m[1].weight) -- same values, shared storage
    nn.no_grad(function() m[1].weight:fill_(3) end)
    H.assert_values(sd["1.weight"]:min(), 3)
  end)

  it("round-trips between models", function()
    nn.manual_seed(1)
    local a, b = Net(4), Net(4)
    a.steps:fill_(5)
    local x = nn.randn(3, 4)
    assert.is_false(H.equal(a(x), b(x)))
    local result = b:load_state_dict(a:state_dict())
    assert.are.same({}, result.missing_keys)
    assert.are.same({}, result.unexpected_keys)
    H.assert_values(b(x), a(x))
    H.assert_values(b.steps, {5})
    assert.is_true(b.fc1.weight.requires_grad and b.fc1.weight.is_leaf)
  end)

  it("round-trips through a safetensors file", function()
    local path = os.tmpname()
    local a = nn.Sequential{nn.Linear(3, 2), nn.BatchNorm1d(2)}
    a(nn.randn(4, 3))
    nn.save(a:state_dict(), path)
    local b = nn.Sequential{nn.Linear(3, 2), nn.BatchNorm1d(2)}
    b:load_state_dict(nn.load(path))
    os.remove(path)
    for k, v in pairs(a:state_dict()) do H.assert_values(b:state_dict()[k], v, k) end
    assert.are.equal(1, b[2].num_batches_tracked:item())
  end)

  it("strict loading names missing and unexpected keys, and copies nothing", function()
    local m = nn.Sequential{nn.Linear(3, 2), nn.Linear(2, 1)}
    local before = m[1].weight:clone()
    local sd = nn.Sequential{nn.Linear(3, 2)}:state_dict()
    sd["3.weight"] = nn.zeros(1)
    local err = H.assert_error(function() m:load_state_dict(sd) end, "load_state_dict",
                               "missing keys: 2.weight [1,2], 2.bias [1]", "unexpected keys: 3.weight [1]")
    assert.is_nil(err:find("1.weight", 1, true))
    H.assert_values(m[1].weight, before)
  end)

  it("non-strict loading reports what it skipped", function()
    local m = nn.Sequential{nn.Linear(3, 2), nn.Linear(2, 1)}
    local sd = {["1.weight"] = nn.ones(2, 3), extra = nn.zeros(1)}
    local r = m:load_state_dict(sd, {strict = false})
    assert.are.same({"1.bias", "2.weight", "2.bias"}, r.missing_keys)
    assert.are.same({"extra"}, r.unexpected_keys)
    H.assert_values(m[1].weight, nn.ones(2, 3))
  end)

  it("refuses shape mismatches, naming both shapes", function()
    local m = nn.Linear(4, 3)
    H.assert_error(function() m:load_state_dict({weight = nn.zeros(3, 5), bias = nn.zeros(3)}) end,
                   "load_state_dict", "weight", "[3,5]", "[3,4]")
    H.assert_error(function() m:load_state_dict({weight = nn.zeros(3, 5), bias = nn.zeros(3)}, {strict = false}) end,
                   "load_state_dict", "[3,5]")
    H.assert_error(function() m:load_state_dict({weight = 1, bias = nn.zeros(3)}) end, "load_state_dict", "weight",
                   "number")
    H.assert_error(function() m:load_state_dict("weights.safetensors") end, "load_state_dict", "string")
    H.assert_error(function() m:load_state_dict({}, {strcit = false}) end, "load_state_dict", "strcit")
  end)
end)

describe("printing", function()
  it("nests like PyTorch", function()
    local s = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Sequential{nn.Linear(256, 10), nn.LogSoftmax()}}
    assert.are.equal([[
Sequential(
  (1): Linear(in_features=784, out_features=256, bias=true)
  (2): ReLU()
  (3): Sequential(
    (1): Linear(in_features=256, out_features=10, bias=true)
    (2): LogSoftmax(dim=-1)
  )
)]], tostring(s))
    assert.are.equal([[
Net(
  (fc1): Linear(in_features=2, out_features=3, bias=true)
  (head): Sequential(
    (1): ReLU()
    (2): Linear(in_features=3, out_features=2, bias=true)
  )
)]], tostring(Net(2)))
    assert.are.equal("Sequential()", tostring(nn.Sequential()))
  end)
end)

describe("summary", function()
  local mlp = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                            nn.Linear(128, 10)}

  it("lists layers with output shapes and parameter counts", function()
    local text = mlp:summary({64, 784}, {print = false})
    assert.matches("1 %(Linear%)%s+%[64, 256%]%s+200,960", text)
    assert.matches("2 %(ReLU%)%s+%[64, 256%]%s+0", text)
    assert.matches("3 %(Linear%)%s+%[64, 128%]%s+32,896", text)
    assert.matches("5 %(Linear%)%s+%[64, 10%]%s+1,290", text)
    assert.matches("Total params: 235,146", text)
    assert.matches("Trainable params: 235,146", text)
    assert.matches("Non%-trainable params: 0", text)
  end)

  it("covers conv nets and user modules, counting frozen parameters apart", function()
    local cnn = nn.Sequential{nn.Conv2d(1, 8, 3, {padding = 1}), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(8 * 14 * 14, 10)}
    cnn[1]:requires_grad_(false)
    local text = cnn:summary({2, 1, 28, 28}, {print = false})
    assert.matches("1 %(Conv2d%)%s+%[2, 8, 28, 28%]%s+80", text)
    assert.matches("4 %(MaxPool2d%)%s+%[2, 8, 14, 14%]", text)
    assert.matches("5 %(Flatten%)%s+%[2, 1568%]", text)
    assert.matches("Total params: 15,786", text)
    assert.matches("Trainable params: 15,706", text)
    assert.matches("Non%-trainable params: 80", text)
    local net = Net(4):summary({5, 4}, {print = false})
    assert.matches("fc1 %(Linear%)%s+%[5, 3%]%s+15", net)
    assert.matches("head.2 %(Linear%)%s+%[5, 2%]%s+8", net)
    assert.matches("Total params: 26", net)
  end)

  it("prints the table, or returns it with {print=false} (never both: the REPL would echo it)", function()
    local printed
    local old = _G.print
    _G.print = function(s) printed = s end
    local ok, result = pcall(mlp.summary, mlp, {1, 784})
    _G.print = old
    assert.is_true(ok, result)
    assert.is_nil(result)
    assert.are.equal(mlp:summary({1, 784}, {print = false}), printed)
  end)

  it("leaves modes, running statistics and forwards as they were", function()
    local m = nn.Sequential{nn.Linear(3, 4), nn.BatchNorm1d(4)}
    m:summary({2, 3}, {print = false})
    assert.is_true(m.training and m[2].training)
    H.assert_values(m[2].running_mean, {0, 0, 0, 0})
    assert.are.equal(0, m[2].num_batches_tracked:item())
    assert.is_nil(rawget(m[1], "forward"))
    m:eval()
    m:summary({2, 3}, {print = false})
    assert.is_false(m[2].training)
  end)

  it("reports a failing forward and bad shapes", function()
    H.assert_error(function() mlp:summary({1, 783}, {print = false}) end, "summary", "[1,783]",
                   "Linear: input has 783 features, expected 784")
    assert.is_nil(rawget(mlp[1], "forward"))
    H.assert_error(function() mlp:summary(784) end, "summary", "input_shape")
    H.assert_error(function() mlp:summary({1, 0}) end, "summary", "0")
  end)
end)

describe("overhead", function()
  -- Modules keep no growing state: after a collection, the engine holds
  -- the same live allocations after 2 training steps as after 7.
  it("training steps through modules hold nothing new", function()
    nn.manual_seed(3)
    local model = nn.Sequential{nn.Linear(20, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                                nn.Linear(16, 4), nn.LogSoftmax()}
    local crit = nn.NLLLoss()
    local x, y = nn.randn(8, 20), nn.randint(1, 5, {8})
    local opt = nn.optim.SGD(model:parameters(), {lr = 0.1})
    local function step()
      model:zero_grad()
      crit(model(x), y):backward()
      opt:step()
    end
    step()
    step()
    collectgarbage()
    local live = nn.memory_stats().live_count
    for _ = 1, 5 do step() end
    collectgarbage()
    assert.are.equal(live, nn.memory_stats().live_count)
  end)
end)

-- Same shape and every element equal.
local function same(a, b)
  return H.shape_str(a.shape) == H.shape_str(b.shape) and a:ne(b):sum():item() == 0
end

describe("module tools", function()
  it("children, named_modules and apply see ModuleList and ModuleDict children", function()
    local M = nn.Module:extend("Tower")
    function M:init()
      self.blocks = nn.ModuleList{nn.Linear(2, 2), nn.ReLU()}
      self.heads = nn.ModuleDict{{"cls", nn.Linear(2, 3)}, {"box", nn.Linear(2, 4)}}
    end
    local m = M()
    assert.are.same({"blocks", "heads"}, keys(m:named_children()))
    assert.are.same({"", "blocks", "blocks.1", "blocks.2", "heads", "heads.cls", "heads.box"},
                    keys(m:named_modules()))
    assert.are.equal(7, #m:modules())
    local names = {}
    m:apply(function(mod) names[#names + 1] = mod.__name end)
    assert.are.same({"Linear", "ReLU", "ModuleList", "Linear", "Linear", "ModuleDict", "Tower"}, names)
    assert.are.same({"blocks.1.weight", "blocks.1.bias", "heads.cls.weight", "heads.cls.bias",
                     "heads.box.weight", "heads.box.bias"}, keys(m:state_dict()))
    H.assert_error(function() m:apply("x") end, "apply", "function", "string")
  end)

  it("a frozen layer keeps its weights bit for bit while the rest trains", function()
    nn.manual_seed(11)
    local model = nn.Sequential{nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)}
    model[1]:requires_grad_(false)
    local w1, b1 = model[1].weight:clone(), model[1].bias:clone()
    local w3 = model[3].weight:clone()
    local x, y = nn.randn(16, 6), nn.randint(1, 4, {16})
    for _, name in ipairs({"SGD", "Adam"}) do
      local opt = nn.optim[name](model:parameters(), {lr = 0.05, weight_decay = 0.01})
      for _ = 1, 5 do
        opt:zero_grad()
        nn.cross_entropy(model(x), y):backward()
        opt:step()
      end
    end
    assert.is_nil(model[1].weight.grad)
    assert.is_true(model[3].weight.grad ~= nil)
    assert.is_true(same(model[1].weight, w1) and same(model[1].bias, b1))
    assert.is_false(same(model[3].weight, w3))
    model:requires_grad_(true)
    nn.cross_entropy(model(x), y):backward()
    assert.is_true(model[1].weight.grad ~= nil)
  end)

  it("load_state_dict with strict=false reports keys; strict=true raises", function()
    local src = nn.Sequential{nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2)}
    local dst = nn.Sequential{nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2), nn.Linear(2, 1)}
    local sd = src:state_dict()
    sd["extra.weight"] = nn.zeros(1)
    local r = dst:load_state_dict(sd, {strict = false})
    assert.are.same({"4.weight", "4.bias"}, r.missing_keys)
    assert.are.same({"extra.weight"}, r.unexpected_keys)
    assert.is_true(same(dst[1].weight, src[1].weight))
    H.assert_error(function() dst:load_state_dict(sd) end, "load_state_dict", "missing keys: 4.weight [1,2], 4.bias [1]",
                   "unexpected keys: extra.weight [1]")
    H.assert_error(function() dst:load_state_dict(sd, {strikt = false}) end, "load_state_dict", "strikt")
  end)
end)

describe("forward hooks", function()
  it("see module, input and output; a returned value replaces the output", function()
    local m = nn.Linear(3, 2)
    local seen = {}
    local h = m:register_forward_hook(function(mod, input, output)
      seen[#seen + 1] = {mod, input, output}
    end)
    local x = nn.randn(4, 3)
    local y = m(x)
    assert.are.equal(1, #seen)
    assert.are.equal(m, seen[1][1])
    assert.are.equal(x, seen[1][2])
    assert.are.equal(y, seen[1][3])
    local h2 = m:register_forward_hook(function(_, _, out) return out * 0 end)
    H.assert_values(m(x), {{0, 0}, {0, 0}, {0, 0}, {0, 0}})
    h2:remove()
    h2:remove() -- a second remove does nothing
    assert.is_true(same(m(x), y))
    h:remove()
    m(x)
    assert.are.equal(3, #seen)
    assert.is_nil(rawget(m, "_forward_hooks")) -- nothing left on the module
  end)

  it("pre-hooks may replace the input; hooks run in registration order", function()
    local m = nn.Identity()
    local order = {}
    local h1 = m:register_forward_pre_hook(function(_, x) order[#order + 1] = "pre1"; return x + 1 end)
    m:register_forward_pre_hook(function(_, x) order[#order + 1] = "pre2"; return x * 10 end)
    m:register_forward_hook(function(_, x, out) order[#order + 1] = "post"; return out - x end)
    H.assert_values(m(nn.tensor({1, 2})), {0, 0})
    assert.are.same({"pre1", "pre2", "post"}, order)
    h1:remove()
    H.assert_values(m:register_forward_hook(function(_, _, out) return out + 5 end) and m(nn.tensor({1})), {5})
  end)

  it("fire on children of a Sequential and can capture activations", function()
    local model = nn.Sequential{nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)}
    local captured
    local h = model[2]:register_forward_hook(function(_, _, out) captured = out end)
    model(nn.randn(3, 4))
    H.assert_shape(captured, {3, 5})
    assert.is_true(captured:min():item() >= 0)
    h:remove()
    -- a pre-hook that changes the shape is seen by the next layer
    model[3]:register_forward_pre_hook(function(_, x) return x:narrow(1, 1, 1) end)
    H.assert_shape(model(nn.randn(3, 4)), {1, 2})
  end)

  it("reject a hook that is not a function", function()
    local m = nn.ReLU()
    H.assert_error(function() m:register_forward_hook(3) end, "register_forward_hook", "function", "number")
    H.assert_error(function() m:register_forward_pre_hook("f") end, "register_forward_pre_hook", "function", "string")
    H.assert_error(function() nn.Module.register_forward_hook({}, print) end, "register_forward_hook", "module")
  end)
end)

describe("containers", function()
  it("seq[i] = m replaces a child in place or appends", function()
    nn.manual_seed(4)
    local model = nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 10)}
    model[3] = nn.Linear(8, 2) -- a new head
    H.assert_shape(model(nn.randn(5, 4)), {5, 2})
    assert.are.same({"1.weight", "1.bias", "3.weight", "3.bias"}, keys(model:state_dict()))
    H.assert_shape(model[3].weight, {2, 8})
    model[4] = nn.LogSoftmax()
    assert.are.equal(4, #model)
    assert.are.equal("LogSoftmax", model[4].__name)
    H.assert_error(function() model[6] = nn.ReLU() end, "Sequential", "index 6", "1..4", "5 to append")
    H.assert_error(function() model[5] = 3 end, "Sequential", "element 5", "number")
    model[2] = "oops"
    H.assert_error(function() model(nn.randn(1, 4)) end, "Sequential[2] is not a module", "string")
  end)

  it("ModuleList registers, indexes, appends and iterates", function()
    local l = nn.ModuleList{nn.Linear(2, 3), nn.ReLU()}
    l:append(nn.Linear(3, 1)):extend{nn.Sigmoid()}
    assert.are.equal(4, #l)
    local n = 0
    for i, m in ipairs(l) do n = i; assert.is_true(nn.Module.is_module(m)) end
    assert.are.equal(4, n)
    assert.are.same({"1.weight", "1.bias", "3.weight", "3.bias"}, keys(l:state_dict()))
    assert.are.equal(4, #l:parameters())
    l[5] = nn.Tanh()
    l[1] = nn.Linear(2, 3, {bias = false})
    assert.are.same({"1.weight", "3.weight", "3.bias"}, keys(l:state_dict()))
    assert.matches("^ModuleList%(\n  %(1%): Linear", tostring(l))
    H.assert_error(function() l[9] = nn.ReLU() end, "ModuleList", "index 9")
    H.assert_error(function() nn.ModuleList{nn.ReLU, nn.ReLU()} end, "ModuleList", "element 1", "class ReLU")
    H.assert_error(function() nn.ModuleList{1} end, "ModuleList", "element 1", "number")
    H.assert_error(function() nn.ModuleList(nn.ReLU()) end, "ModuleList", "a module")
    H.assert_error(function() l(nn.zeros(1)) end, "ModuleList", "no forward")
    H.assert_error(function() l:extend(3) end, "extend", "number")
  end)

  it("ModuleDict registers by name, in order", function()
    local d = nn.ModuleDict{{"enc", nn.Linear(2, 3)}, {"act", nn.ReLU()}}
    d.dec = nn.Linear(3, 2)
    assert.are.same({"enc", "act", "dec"}, d:keys())
    assert.are.equal(3, #d)
    assert.are.equal(d.dec, d:values()[3])
    assert.are.equal(d.enc, d:items().enc)
    assert.are.same({"enc.weight", "enc.bias", "dec.weight", "dec.bias"}, keys(d:state_dict()))
    H.assert_shape(d.dec(d.act(d.enc(nn.zeros(1, 2)))), {1, 2})
    -- a table of names is sorted (a Lua table has no order)
    assert.are.same({"a", "b", "c"}, nn.ModuleDict{c = nn.ReLU(), a = nn.ReLU(), b = nn.ReLU()}:keys())
    d:update("act", nn.Tanh())
    assert.are.equal("Tanh", d.act.__name)
    H.assert_error(function() d.forward2 = 3 end, "ModuleDict", "'forward2'", "number")
    H.assert_error(function() d.keys = nn.ReLU() end, "ModuleDict", "'keys' is taken")
    H.assert_error(function() nn.ModuleDict{["a.b"] = nn.ReLU()} end, "ModuleDict", "without dots")
    H.assert_error(function() nn.ModuleDict{{"x"}} end, "ModuleDict", "'x'", "nil")
    H.assert_error(function() d(nn.zeros(1)) end, "ModuleDict", "no forward")
  end)
end)
