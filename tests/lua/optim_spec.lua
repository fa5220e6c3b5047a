-- nn.optim: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) against
-- PyTorch 1.13 trajectories (tests/fixtures/optim/reference.lua), param
-- groups, state_dict round trips (also through nn.save / nn.load), the
-- schedulers' lr sequences, clip_grad_norm_ / clip_grad_value_, the
-- kernel bindings (nn.core._<name>_step) and error messages.
local nn = require "nn"
local H = require "helpers"
nn.optim = nn.optim or require "nn.optim"

local REL, ABS = 1e-5, 1e-6 -- float32 rounding, accumulated over 10 steps

local ref = H.reference("optim")

-- got (tensor or list) matches the list want: each element within
-- REL * |w| + ABS * max |want| (scale-aware for vectors of small values).
local function assert_near(got, want, what, rel)
  if nn.is_tensor(got) then got = H.flat(got) end
  assert(#got == #want, ("%s: %d values, expected %d"):format(what, #got, #want))
  local scale = 0
  for _, w in ipairs(want) do scale = math.max(scale, math.abs(w)) end
  for i, w in ipairs(want) do
    local tol = (rel or REL) * math.abs(w) + ABS * math.max(scale, 1e-3)
    if not (math.abs(got[i] - w) <= tol) then
      error(("%s[%d]: %.9g, expected %.9g (diff %.3g, tol %.3g)"):format(what, i, got[i], w,
            math.abs(got[i] - w), tol), 2)
    end
  end
end

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return c
end

-- Fresh leaf parameters w [3,4] and b [4] at the fixture's initial values.
local function fresh_params()
  return H.from_spec(ref.params.w):requires_grad_(), H.from_spec(ref.params.b):requires_grad_()
end

-- Builds the optimizer of a trajectory case on params {w=, b=}.
local function build(case, ps)
  local cls = nn.optim[case.class]
  if case.groups then
    local groups = {}
    for i, g in ipairs(case.groups) do
      local group = copy(g.options)
      group.params = {}
      for j, name in ipairs(g.names) do group.params[j] = ps[name] end
      groups[i] = group
    end
    return cls(groups, copy(case.options))
  end
  return cls({ps.w, ps.b}, copy(case.options))
end

local function skips(case, step)
  for _, s in ipairs(case.skip or {}) do
    if s == step then return true end
  end
  return false
end

-- Sets the fixture's gradients of step on ps (b has none at skipped steps).
local function set_grads(case, ps, step)
  local g = ref.grads[step]
  ps.w.grad = nn.tensor(g.w):reshape(ps.w.shape)
  ps.b.grad = not skips(case, step) and nn.tensor(g.b):reshape(ps.b.shape) or nil
end

local function describe_case(case)
  local keys = {}
  for k, v in pairs(case.options) do
    if type(v) == "table" then v = "{" .. table.concat(v, ",") .. "}" end
    keys[#keys + 1] = k .. "=" .. tostring(v)
  end
  table.sort(keys)
  local s = case.class .. " {" .. table.concat(keys, ", ") .. "}"
  if case.groups then s = s .. " with " .. #case.groups .. " groups" end
  if case.skip then s = s .. " skipping b at steps " .. table.concat(case.skip, ",") end
  return s
end

-- Runs steps from..to of case on ps with opt, checking the params.
local function run_steps(case, opt, ps, from, to)
  for step = from, to do
    set_grads(case, ps, step)
    opt:step()
    local want = case.params[step]
    assert_near(ps.w, want.w, ("%s step %d w"):format(describe_case(case), step))
    assert_near(ps.b, want.b, ("%s step %d b"):format(describe_case(case), step))
  end
end

local function check_state(case, opt)
  local s = opt:state_dict()
  for key, want in pairs(case.state) do
    if type(want) == "number" then
      assert(s.scalars[key] == want, ("%s: %s = %s, expected %s"):format(describe_case(case), key,
             tostring(s.scalars[key]), want))
    else
      assert(s.tensors[key], describe_case(case) .. ": state lacks " .. key)
      assert_near(s.tensors[key], want, describe_case(case) .. " " .. key)
    end
  end
  for key in pairs(s.tensors) do assert(case.state[key], describe_case(case) .. ": extra state " .. key) end
  for key in pairs(s.scalars) do assert(case.state[key], describe_case(case) .. ": extra state " .. key) end
end

describe("optimizer trajectories match PyTorch", function()
  for _, case in ipairs(ref.trajectories) do
    it(describe_case(case), function()
      local w, b = fresh_params()
      local ps = {w = w, b = b}
      local opt = build(case, ps)
      run_steps(case, opt, ps, 1, #case.params)
      if case.state then check_state(case, opt) end
    end)
  end
end)

describe("trajectories with gradients from autograd", function()
  local q = ref.quadratic
  for _, case in ipairs(q.cases) do
    it(describe_case(case), function()
      local x, y = H.from_spec(q.x), H.from_spec(q.y)
      local w, b = H.from_spec(q.w):requires_grad_(), H.from_spec(q.b):requires_grad_()
      local opt = nn.optim[case.class]({w, b}, copy(case.options))
      for step = 1, #case.params do
        opt:zero_grad()
        local d = x:matmul(w) + b - y
        local loss = (d * d):mean()
        loss:backward()
        opt:step()
        assert_near({loss:item()}, {case.loss[step]}, ("loss at step %d"):format(step))
        assert_near(w, case.params[step].w, ("w at step %d"):format(step))
        assert_near(b, case.params[step].b, ("b at step %d"):format(step))
      end
    end)
  end
end)

-- Everything in v is plain data: no tensors, functions or userdata.
local function assert_plain(v, path)
  local t = type(v)
  if t == "table" then
    for k, x in pairs(v) do
      assert(type(k) == "string" or type(k) == "number", path .. ": key of type " .. type(k))
      assert_plain(x, path .. "." .. tostring(k))
    end
  else
    assert(t == "number" or t == "string" or t == "boolean", path .. " is a " .. t)
  end
end

describe("state_dict", function()
  local tmp = os.tmpname()
  teardown(function() os.remove(tmp) end)

  for _, case in ipairs(ref.trajectories) do
    it("round trip through nn.save / nn.load continues " .. describe_case(case), function()
      local w, b = fresh_params()
      local ps = {w = w, b = b}
      local opt = build(case, ps)
      run_steps(case, opt, ps, 1, 5)
      local s = opt:state_dict()
      assert_plain(s.scalars, "scalars")
      assert_plain(s.param_groups, "param_groups")
      for key, t in pairs(s.tensors) do
        assert(nn.is_tensor(t), key .. " is not a tensor")
        assert(key:match("^state%.%d+%.[%w_]+$"), "bad key " .. key)
      end
      local tensors = {}
      if next(s.tensors) then
        nn.save(s.tensors, tmp)
        tensors = nn.load(tmp)
      end
      -- A new optimizer on copies of the parameters picks up where opt was.
      local ps2 = {w = w:detach():clone():requires_grad_(), b = b:detach():clone():requires_grad_()}
      local opt2 = build(case, ps2)
      opt2:load_state_dict {tensors = tensors, scalars = s.scalars, param_groups = s.param_groups}
      run_steps(case, opt2, ps2, 6, #case.params)
      -- The loaded state is a copy: the original continues independently.
      run_steps(case, opt, ps, 6, #case.params)
      if case.state then check_state(case, opt2) end
    end)
  end

  it("keeps group options, including ones changed after construction", function()
    local p = nn.zeros(3):requires_grad_()
    local opt = nn.optim.Adam({p}, {lr = 0.01, betas = {0.8, 0.9}})
    opt.param_groups[1].lr = 0.5
    local s = opt:state_dict()
    assert.are.same({1}, s.param_groups[1].params)
    assert.are.equal(0.5, s.param_groups[1].lr)
    assert.are.same({0.8, 0.9}, s.param_groups[1].betas)
    local opt2 = nn.optim.Adam({nn.zeros(3):requires_grad_()})
    opt2:load_state_dict(s)
    assert.are.equal(0.5, opt2.param_groups[1].lr)
    assert.are.same({0.8, 0.9}, opt2.param_groups[1].betas)
    -- the copy is deep
    s.param_groups[1].betas[1] = 0.1
    assert.are.equal(0.8, opt2.param_groups[1].betas[1])
  end)

  it("numbers parameters across groups in order", function()
    local a, b, c = nn.ones(2):requires_grad_(), nn.ones(3):requires_grad_(), nn.ones(4):requires_grad_()
    local opt = nn.optim.SGD({{params = {a, b}}, {params = {c}, lr = 0.5}}, {lr = 0.1, momentum = 0.9})
    for _, p in ipairs {a, b, c} do p.grad = nn.ones(p.shape) end
    opt:step()
    local s = opt:state_dict()
    assert.are.same({1, 2}, s.param_groups[1].params)
    assert.are.same({3}, s.param_groups[2].params)
    assert.are.equal(4, s.tensors["state.3.momentum_buffer"]:numel())
    assert.are.equal(2, s.tensors["state.1.momentum_buffer"]:numel())
  end)

  it("rejects states that do not fit, changing nothing", function()
    local p = nn.zeros(3):requires_grad_()
    local opt = nn.optim.SGD({p}, {lr = 0.1, momentum = 0.9})
    p.grad = nn.ones(3)
    opt:step()
    local good = opt:state_dict()
    local other = nn.optim.SGD({nn.zeros(3):requires_grad_(), nn.zeros(2):requires_grad_()}, {lr = 0.1})
    H.assert_error(function() other:load_state_dict(good) end, "SGD", "load_state_dict", "1", "2")
    local two = nn.optim.SGD({{params = {nn.zeros(3):requires_grad_()}}, {params = {nn.zeros(3):requires_grad_()}}},
                             {lr = 0.1})
    H.assert_error(function() two:load_state_dict(good) end, "SGD", "parameter groups", "has 1", "optimizer 2")
    local small = nn.optim.SGD({nn.zeros(4):requires_grad_()}, {lr = 0.3})
    H.assert_error(function() small:load_state_dict(good) end, "SGD", "state.1.momentum_buffer", "4", "[3]")
    assert.are.equal(0.3, small.param_groups[1].lr) -- unchanged
    assert.is_nil(next(small.state))
    local adam = nn.optim.Adam({nn.zeros(3):requires_grad_()})
    H.assert_error(function() adam:load_state_dict(good) end, "Adam", "momentum_buffer")
    H.assert_error(function() opt:load_state_dict(42) end, "SGD", "load_state_dict")
    local bad = {tensors = {["state.7.momentum_buffer"] = nn.zeros(3)}, param_groups = good.param_groups}
    H.assert_error(function() opt:load_state_dict(bad) end, "SGD", "state.7.momentum_buffer")
    local bad_lr = {tensors = {}, param_groups = {{params = {1}, lr = -1}}}
    H.assert_error(function() opt:load_state_dict(bad_lr) end, "SGD", "lr", "-1")
  end)
end)

describe("optimizer behaviour", function()
  it("zero_grad zeroes gradients in place or drops them", function()
    local p = nn.ones(3):requires_grad_()
    local q = nn.ones(2):requires_grad_()
    local opt = nn.optim.SGD({p, q}, {lr = 0.1})
    local g = nn.tensor{1, 2, 3}
    p.grad = g
    opt:zero_grad()
    assert.are.same({0, 0, 0}, p.grad:totable())
    assert.are.same({0, 0, 0}, g:totable()) -- the same tensor
    assert.is_nil(q.grad)
    opt:zero_grad {set_to_none = true}
    assert.is_nil(p.grad)
    p.grad = nn.ones(3)
    opt:zero_grad(true)
    assert.is_nil(p.grad)
  end)

  it("skips parameters without gradients and groups with lr 0", function()
    local p, q, r = nn.ones(2):requires_grad_(), nn.ones(2):requires_grad_(), nn.ones(2):requires_grad_()
    local opt = nn.optim.Adam({{params = {p, q}}, {params = {r}, lr = 0}}, {lr = 0.1})
    p.grad, r.grad = nn.ones(2), nn.ones(2)
    opt:step()
    assert.is_true(p:totable()[1] < 1)
    assert.are.same({1, 1}, q:totable())
    assert.are.same({1, 1}, r:totable())
    assert.is_nil(opt.state[q])
    assert.is_nil(opt.state[r]) -- frozen: no work, no state
    assert.are.equal(1, opt.state[p].step)
    -- unfreezing later starts its own step count
    opt.param_groups[2].lr = 0.1
    opt:step()
    assert.are.equal(2, opt.state[p].step)
    assert.are.equal(1, opt.state[r].step)
  end)

  it("uses lr changes made through param_groups", function()
    local p = nn.zeros(2):requires_grad_()
    local opt = nn.optim.SGD({p}, {lr = 1})
    p.grad = nn.ones(2)
    opt:step()
    assert.are.same({-1, -1}, p:totable())
    opt.param_groups[1].lr = 0.5
    opt:step()
    assert.are.same({-1.5, -1.5}, p:totable())
  end)

  it("calls a closure and returns its loss", function()
    local p = nn.tensor{2}:requires_grad_()
    local opt = nn.optim.SGD({p}, {lr = 0.25})
    local loss = opt:step(function()
      opt:zero_grad()
      local l = (p * p):sum()
      l:backward()
      return l
    end)
    assert.are.equal(4, loss:item())
    assert.are.same({1}, p:totable())
  end)

  it("accepts one group table and add_param_group", function()
    local p, q = nn.zeros(2):requires_grad_(), nn.zeros(2):requires_grad_()
    local opt = nn.optim.SGD({params = {p}, lr = 0.5})
    opt:add_param_group {params = q, lr = 2}
    assert.are.equal(2, #opt.param_groups)
    p.grad, q.grad = nn.ones(2), nn.ones(2)
    opt:step()
    assert.are.same({-0.5, -0.5}, p:totable())
    assert.are.same({-2, -2}, q:totable())
    assert.are.equal(0, opt.param_groups[2].momentum) -- from the defaults
  end)

  it("uses PyTorch's defaults", function()
    local p = nn.zeros(2):requires_grad_()
    local adam = nn.optim.Adam({p}).param_groups[1]
    assert.are.equal(1e-3, adam.lr)
    assert.are.same({0.9, 0.999}, adam.betas)
    assert.are.equal(1e-8, adam.eps)
    assert.are.equal(0, adam.weight_decay)
    assert.is_false(adam.amsgrad)
    assert.are.equal(1e-2, nn.optim.AdamW({p}).param_groups[1].weight_decay)
    local rms = nn.optim.RMSprop({p}).param_groups[1]
    assert.are.equal(1e-2, rms.lr)
    assert.are.equal(0.99, rms.alpha)
    assert.is_false(rms.centered)
    local ada = nn.optim.Adagrad({p}).param_groups[1]
    assert.are.equal(1e-2, ada.lr)
    assert.are.equal(1e-10, ada.eps)
  end)

  it("prints its groups", function()
    local opt = nn.optim.SGD({nn.zeros(2):requires_grad_()}, {lr = 0.1, momentum = 0.9})
    local s = tostring(opt)
    assert.truthy(s:find("SGD", 1, true))
    assert.truthy(s:find("lr: 0.1", 1, true))
    assert.truthy(s:find("momentum: 0.9", 1, true))
  end)

  it("allocates nothing after the first step", function()
    local ps, gs = {}, {}
    for i = 1, 3 do
      ps[i] = nn.randn(8, 8):requires_grad_()
      gs[i] = nn.randn(8, 8)
      ps[i].grad = gs[i]
    end
    for _, cls in ipairs {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"} do
      local opts = {lr = 0.01, momentum = (cls == "SGD" or cls == "RMSprop") and 0.9 or nil}
      if cls == "RMSprop" then opts.centered = true end
      if cls == "Adam" then opts.amsgrad = true end
      local opt = nn.optim[cls](ps, opts)
      opt:step()
      collectgarbage()
      local before = nn.memory_stats()
      for _ = 1, 5 do opt:step() end
      local after = nn.memory_stats()
      assert.are.equal(before.count, after.count, cls)
      assert.are.equal(before.live_count, after.live_count, cls)
    end
  end)
end)

describe("optimizer errors", function()
  local p = nn.zeros(3):requires_grad_()

  it("SGD needs lr", function()
    H.assert_error(function() nn.optim.SGD({p}) end, "SGD", "lr", "required")
    H.assert_error(function() nn.optim.SGD({{params = {p}}}) end, "SGD", "lr", "group 1")
    local opt = nn.optim.SGD({{params = {p}, lr = 0.1}}) -- given by the group
    assert.are.equal(0.1, opt.param_groups[1].lr)
  end)

  it("rejects bad parameter lists", function()
    H.assert_error(function() nn.optim.SGD({}, {lr = 0.1}) end, "SGD: optimizer got an empty parameter list")
    H.assert_error(function() nn.optim.Adam({}) end, "Adam: optimizer got an empty parameter list")
    H.assert_error(function() nn.optim.SGD(p, {lr = 0.1}) end, "SGD", "tensor")
    H.assert_error(function() nn.optim.SGD(42, {lr = 0.1}) end, "SGD", "number")
    H.assert_error(function() nn.optim.SGD({p, 7}, {lr = 0.1}) end, "SGD", "parameter 2", "tensor", "number")
    H.assert_error(function() nn.optim.SGD({nn.tensor({1, 2}, "int64")}, {lr = 0.1}) end, "SGD", "float32", "int64")
    local nonleaf = p * 2
    H.assert_error(function() nn.optim.SGD({nonleaf}, {lr = 0.1}) end, "SGD", "non-leaf")
    H.assert_error(function() nn.optim.SGD({p, p}, {lr = 0.1}) end, "SGD", "parameter 2", "more than once")
    H.assert_error(function() nn.optim.SGD({{params = {p}}, {params = {p}}}, {lr = 0.1}) end, "SGD",
                 "group 2", "more than once")
    H.assert_error(function() nn.optim.SGD({{lr = 0.1}}, {lr = 0.1}) end, "SGD", "group 1", "params")
    H.assert_error(function() nn.optim.SGD({p}, 0.1) end, "SGD", "options", "number")
    H.assert_error(function() nn.optim.SGD({nn.zeros(3, 2):t()}, {lr = 0.1}) end, "SGD", "contiguous")
  end)

  it("checks options as PyTorch does", function()
    local SGD, Adam = nn.optim.SGD, nn.optim.Adam
    H.assert_error(function() SGD({p}, {lr = -0.1}) end, "SGD", "lr", "-0.1")
    H.assert_error(function() SGD({p}, {lr = "fast"}) end, "SGD", "lr", "number", "string")
    H.assert_error(function() SGD({p}, {lr = 0.1, momentum = -0.5}) end, "SGD", "momentum", "-0.5")
    H.assert_error(function() SGD({p}, {lr = 0.1, weight_decay = -1}) end, "SGD", "weight_decay", "-1")
    H.assert_error(function() SGD({p}, {lr = 0.1, nesterov = true}) end, "SGD", "nesterov", "momentum 0")
    H.assert_error(function() SGD({p}, {lr = 0.1, momentum = 0.9, dampening = 0.1, nesterov = true}) end,
                 "SGD", "nesterov", "dampening 0.1")
    H.assert_error(function() SGD({p}, {lr = 0.1, nesterov = 1}) end, "SGD", "nesterov", "true or false")
    H.assert_error(function() SGD({p}, {lr = 0.1, learning_rate = 1}) end, "SGD", "unknown option 'learning_rate'")
    H.assert_error(function() SGD({{params = {p}, lr = -2}}, {lr = 0.1}) end, "SGD", "lr", "-2", "group 1")
    H.assert_error(function() Adam({p}, {lr = -1}) end, "Adam", "lr", "-1")
    H.assert_error(function() Adam({p}, {eps = -1e-8}) end, "Adam", "eps", "-1e-08")
    H.assert_error(function() Adam({p}, {betas = {1.0, 0.999}}) end, "Adam", "beta", "index 1", "1.0")
    H.assert_error(function() Adam({p}, {betas = {0.9, -0.1}}) end, "Adam", "beta", "index 2", "-0.1")
    H.assert_error(function() Adam({p}, {betas = 0.9}) end, "Adam", "betas", "number")
    H.assert_error(function() Adam({p}, {betas = {0.9}}) end, "Adam", "betas", "1 values")
    H.assert_error(function() Adam({p}, {weight_decay = -0.1}) end, "Adam", "weight_decay", "-0.1")
    H.assert_error(function() Adam({p}, {amsgrad = "yes"}) end, "Adam", "amsgrad")
    H.assert_error(function() nn.optim.AdamW({p}, {betas = {0.9, 1.5}}) end, "AdamW", "index 2", "1.5")
    H.assert_error(function() nn.optim.RMSprop({p}, {alpha = -0.5}) end, "RMSprop", "alpha", "-0.5")
    H.assert_error(function() nn.optim.RMSprop({p}, {momentum = -1}) end, "RMSprop", "momentum", "-1")
    H.assert_error(function() nn.optim.RMSprop({p}, {eps = -1}) end, "RMSprop", "eps", "-1")
    H.assert_error(function() nn.optim.Adagrad({p}, {lr_decay = -1}) end, "Adagrad", "lr_decay", "-1")
    H.assert_error(function() nn.optim.Adagrad({p}, {initial_accumulator_value = -0.5}) end, "Adagrad",
                 "initial_accumulator_value", "-0.5")
    H.assert_error(function() nn.optim.Adagrad({p}, {lr = 0 / 0}) end, "Adagrad", "lr", "nan")
  end)

  it("errors point at the caller", function()
    local err = H.assert_error(function() local o = nn.optim.SGD({}, {lr = 1}); return o end, "SGD")
    assert.truthy(err:find("optim_spec.lua", 1, true), err)
  end)
end)

describe("kernel bindings", function()
  local core = require "nn.core"
  local sgd = {lr = 0.1, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false}
  local adam = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, amsgrad = false}

  it("update one parameter, creating its state", function()
    local p, g = nn.tensor{1, 2}, nn.tensor{0.5, -1}
    local s = {}
    core._sgd_step(p, g, s, sgd)
    assert_near(p, {0.95, 2.1}, "p")
    assert.is_nil(next(s)) -- no momentum: no state
    local with_momentum = {lr = 0.1, momentum = 0.9, dampening = 0, weight_decay = 0, nesterov = false}
    core._sgd_step(p, g, s, with_momentum)
    assert_near(s.momentum_buffer, {0.5, -1}, "buf") -- the first step takes the gradient
    core._sgd_step(p, g, s, with_momentum)
    assert_near(s.momentum_buffer, {0.95, -1.9}, "buf")
    s = {}
    core._adam_step(p, g, s, adam)
    core._adam_step(p, g, s, adam)
    assert.are.equal(2, s.step)
    H.assert_shape(s.exp_avg, {2})
    H.assert_shape(s.exp_avg_sq, {2})
    assert.is_nil(s.max_exp_avg_sq)
    s = {}
    core._adagrad_step(p, g, s, {lr = 0.01, lr_decay = 0, weight_decay = 0, eps = 1e-10,
                                 initial_accumulator_value = 0.25})
    assert_near(s.sum, {0.5, 1.25}, "sum")
    assert.are.equal(1, s.step)
  end)

  it("check their arguments", function()
    local p, g = nn.zeros(6), nn.zeros(6)
    H.assert_error(function() core._sgd_step(p, nn.zeros(5), {}, sgd) end, "_sgd_step", "grad", "5", "6")
    H.assert_error(function() core._sgd_step(nn.zeros(6):long(), g, {}, sgd) end,
                 "_sgd_step", "param", "float32", "int64")
    H.assert_error(function() core._sgd_step(nn.zeros(3, 2):t(), g, {}, sgd) end, "_sgd_step", "param", "contiguous")
    H.assert_error(function() core._sgd_step(p, g, {}, {lr = "x"}) end, "_sgd_step", "lr", "string")
    H.assert_error(function() core._sgd_step(p, g, nil, sgd) end, "_sgd_step", "state", "nil")
    H.assert_error(function() core._sgd_step(p, g, {}) end, "_sgd_step", "group", "no value")
    H.assert_error(function() core._adam_step(p, g, {exp_avg = nn.zeros(6), step = -1}, adam) end,
                 "_adam_step", "step", "-1")
    H.assert_error(function() core._adam_step(p, g, {exp_avg = nn.zeros(6), exp_avg_sq = nn.zeros(7)}, adam) end,
                 "_adam_step", "exp_avg_sq", "7", "6")
    H.assert_error(function() core._adamw_step(p, g, {}, {lr = 1, betas = 0.9, eps = 0, weight_decay = 0}) end,
                 "_adamw_step", "betas")
    H.assert_error(function()
      core._rmsprop_step(p, g, {square_avg = nn.zeros(6), momentum_buffer = nn.zeros(6):long()},
                         {lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0.5})
    end, "_rmsprop_step", "momentum_buffer", "int64")
    local adagrad = {lr = 0.01, lr_decay = 0, weight_decay = 0, eps = 1e-10, initial_accumulator_value = 0}
    H.assert_error(function() core._adagrad_step(p, g, {sum = {}}, adagrad) end, "_adagrad_step", "sum", "table")
  end)

  it("stay out of the public nn table", function()
    for name in pairs(nn) do assert.are_not.equal("_", name:sub(1, 1), name) end
    assert.is_function(core._sgd_step)
  end)
end)

describe("gradient clipping matches PyTorch", function()
  for i, case in ipairs(ref.clip) do
    local name = ("%d: clip_grad_%s_ %s%s"):format(i, case.kind, case.arg,
                                                  case.norm_type and (" norm_type " .. case.norm_type) or "")
    it(name, function()
      local params = {}
      for j, before in ipairs(case.before) do
        local p = nn.zeros(math.max(#before, 1)):requires_grad_()
        if case.has_grad[j] then p.grad = nn.tensor(before) end
        params[j] = p
      end
      if case.kind == "norm" then
        local total = nn.clip_grad_norm_(params, case.arg, case.norm_type)
        assert.are.equal("number", type(total))
        assert_near({total}, {case.total}, "total norm")
      else
        assert.is_nil(nn.clip_grad_value_(params, case.arg))
      end
      for j, after in ipairs(case.after) do
        if case.has_grad[j] then
          assert_near(params[j].grad, after, "grad " .. j)
        else
          assert.is_nil(params[j].grad)
        end
      end
    end)
  end

  it("accept one tensor, 'inf', and no gradients at all", function()
    local p = nn.zeros(2):requires_grad_()
    p.grad = nn.tensor{3, -4}
    assert.are.equal(4, nn.clip_grad_norm_(p, 10, "inf"))
    assert.are.equal(5, nn.clip_grad_norm_({p}, 10))
    assert.are.equal(0, nn.clip_grad_norm_({nn.zeros(2):requires_grad_()}, 1))
    nn.clip_grad_value_(p, 1)
    assert.are.same({1, -1}, p.grad:totable())
  end)

  it("check their arguments", function()
    local p = nn.zeros(2):requires_grad_()
    p.grad = nn.ones(2)
    H.assert_error(function() nn.clip_grad_norm_({p}, -1) end, "clip_grad_norm_", "max_norm", "-1")
    H.assert_error(function() nn.clip_grad_norm_({p}) end, "clip_grad_norm_", "max_norm", "no value")
    H.assert_error(function() nn.clip_grad_norm_({p}, 1, 0) end, "clip_grad_norm_", "norm_type", "0")
    H.assert_error(function() nn.clip_grad_norm_({p}, 1, "max") end, "clip_grad_norm_", "norm_type", "max")
    H.assert_error(function() nn.clip_grad_norm_({p, 3}, 1) end, "clip_grad_norm_", "parameter 2", "number")
    H.assert_error(function() nn.clip_grad_norm_(5, 1) end, "clip_grad_norm_", "number")
    H.assert_error(function() nn.clip_grad_value_({p}, -0.5) end, "clip_grad_value_", "-0.5")
    H.assert_error(function() nn.clip_grad_value_({p, "x"}, 1) end, "clip_grad_value_", "parameter 2")
    assert.are.same({1, 1}, p.grad:totable()) -- nothing clipped by a failed call
  end)
end)

-- The two-group SGD the scheduler fixtures use.
local function scheduler_optimizer(base_lrs)
  return nn.optim.SGD({{params = {nn.zeros(2):requires_grad_()}, lr = base_lrs[1]},
                       {params = {nn.zeros(2):requires_grad_()}, lr = base_lrs[2]}}, {lr = base_lrs[1]})
end

local function group_lrs(opt)
  local lrs = {}
  for i, g in ipairs(opt.param_groups) do lrs[i] = g.lr end
  return lrs
end

local function scheduler_name(i, case)
  local keys = {}
  for k, v in pairs(case.options) do
    if type(v) == "table" then v = "{" .. table.concat(v, ",") .. "}" end
    keys[#keys + 1] = k .. "=" .. tostring(v)
  end
  table.sort(keys)
  return ("%d: %s {%s}"):format(i, case.class, table.concat(keys, ", "))
end

describe("schedulers match PyTorch", function()
  for i, case in ipairs(ref.schedulers) do
    it(scheduler_name(i, case), function()
      local opt = scheduler_optimizer(case.base_lrs)
      local sched = nn.optim[case.class](opt, copy(case.options))
      assert_near(group_lrs(opt), case.initial, "initial lr", 1e-12)
      for step, want in ipairs(case.lrs) do
        opt:step()
        if case.metrics then sched:step(case.metrics[step]) else sched:step() end
        assert_near(group_lrs(opt), want, ("lr after step %d"):format(step), 1e-12)
        assert_near(sched:get_last_lr(), want, ("get_last_lr after step %d"):format(step), 1e-12)
      end
    end)

    it(scheduler_name(i, case) .. " resumes from state_dict", function()
      local opt = scheduler_optimizer(case.base_lrs)
      local sched = nn.optim[case.class](opt, copy(case.options))
      for step = 1, 12 do
        if case.metrics then sched:step(case.metrics[step]) else sched:step() end
      end
      local s = sched:state_dict()
      assert_plain(s, "scheduler state")
      assert.is_nil(s.optimizer)
      local opt2 = scheduler_optimizer({1, 1})
      opt2:load_state_dict(opt:state_dict())
      local sched2 = nn.optim[case.class](opt2, copy(case.options))
      sched2:load_state_dict(s)
      for step = 13, #case.lrs do
        if case.metrics then sched2:step(case.metrics[step]) else sched2:step() end
        assert_near(group_lrs(opt2), case.lrs[step], ("lr after step %d"):format(step), 1e-12)
      end
    end)
  end

  it("ReduceLROnPlateau takes a tensor metric and reports lrs before any step", function()
    local opt = scheduler_optimizer({0.1, 0.01})
    local sched = nn.optim.ReduceLROnPlateau(opt, {patience = 0})
    assert.are.same({0.1, 0.01}, sched:get_last_lr())
    sched:step(nn.tensor(1.0))
    sched:step(nn.tensor{2.0})
    assert_near(sched:get_last_lr(), {0.01, 0.001}, "lr", 1e-12)
  end)
end)

describe("scheduler errors", function()
  local opt = scheduler_optimizer({0.1, 0.01})
  it("check options", function()
    H.assert_error(function() nn.optim.StepLR(opt) end, "StepLR", "step_size", "required")
    H.assert_error(function() nn.optim.StepLR(opt, {step_size = 0}) end, "StepLR", "step_size", "0")
    H.assert_error(function() nn.optim.StepLR(opt, {step_size = 2.5}) end, "StepLR", "step_size", "2.5")
    H.assert_error(function() nn.optim.StepLR(opt, {step_size = 2, gama = 0.5}) end, "StepLR", "unknown option 'gama'")
    H.assert_error(function() nn.optim.StepLR({}, {step_size = 2}) end, "StepLR", "optimizer", "table")
    H.assert_error(function() nn.optim.ExponentialLR(opt) end, "ExponentialLR", "gamma")
    H.assert_error(function() nn.optim.ExponentialLR(opt, {gamma = "x"}) end, "ExponentialLR", "gamma", "string")
    H.assert_error(function() nn.optim.CosineAnnealingLR(opt, {}) end, "CosineAnnealingLR", "T_max")
    H.assert_error(function() nn.optim.CosineAnnealingLR(opt, {T_max = -3}) end, "CosineAnnealingLR", "T_max", "-3")
    local R = nn.optim.ReduceLROnPlateau
    H.assert_error(function() R(opt, {factor = 1}) end, "ReduceLROnPlateau", "factor", "1")
    H.assert_error(function() R(opt, {mode = "avg"}) end, "ReduceLROnPlateau", "mode", "avg")
    H.assert_error(function() R(opt, {threshold_mode = "pct"}) end, "ReduceLROnPlateau", "threshold_mode", "pct")
    H.assert_error(function() R(opt, {patience = -1}) end, "ReduceLROnPlateau", "patience", "-1")
    H.assert_error(function() R(opt, {min_lr = {0.1}}) end, "ReduceLROnPlateau", "2", "1")
    H.assert_error(function() R(nil) end, "ReduceLROnPlateau", "optimizer", "nil")
    local r = R(opt)
    H.assert_error(function() r:step() end, "ReduceLROnPlateau", "metric", "nil")
    H.assert_error(function() r:load_state_dict(3) end, "ReduceLROnPlateau", "load_state_dict")
  end)
end)

-- ---- more schedulers (ref.schedulers_more) ----

-- The two-group optimizer of a schedulers_more case.
local function more_optimizer(case, base_lrs)
  base_lrs = base_lrs or case.base_lrs
  local opts = copy(case.opt_options)
  opts.lr = base_lrs[1]
  return nn.optim[case.optimizer]({{params = {nn.zeros(2):requires_grad_()}, lr = base_lrs[1]},
                                   {params = {nn.zeros(2):requires_grad_()}, lr = base_lrs[2]}}, opts)
end

local function group_momenta(opt)
  local m = {}
  for i, g in ipairs(opt.param_groups) do m[i] = g.betas and g.betas[1] or g.momentum end
  return m
end

describe("more schedulers match PyTorch (InverseTimeDecay Keras's formula)", function()
  for i, case in ipairs(ref.schedulers_more) do
    local keys = {}
    for k, v in pairs(case.options) do
      if type(v) == "table" then
        local items = {}
        for j, x in ipairs(v) do items[j] = tostring(type(x) == "function" and "fn" or x) end
        v = "{" .. table.concat(items, ",") .. "}"
      end
      keys[#keys + 1] = k .. "=" .. (type(v) == "function" and "fn" or tostring(v))
    end
    table.sort(keys)
    local name = ("%d: %s {%s} on %s"):format(i, case.class, table.concat(keys, ", "), case.optimizer)
    it(name, function()
      local opt = more_optimizer(case)
      local sched = nn.optim[case.class](opt, copy(case.options))
      assert_near(group_lrs(opt), case.initial, "initial lr", 1e-12)
      if case.momentum then assert_near(group_momenta(opt), case.initial_momentum, "initial momentum", 1e-12) end
      for step, want in ipairs(case.lrs) do
        opt:step()
        sched:step()
        assert_near(group_lrs(opt), want, ("lr after step %d"):format(step), 1e-12)
        assert_near(sched:get_last_lr(), want, ("get_last_lr after step %d"):format(step), 1e-12)
        if case.momentum then
          assert_near(group_momenta(opt), case.momentum[step], ("momentum after step %d"):format(step), 1e-12)
        end
      end
    end)

    it(name .. " resumes from state_dict", function()
      local opt = more_optimizer(case)
      local sched = nn.optim[case.class](opt, copy(case.options))
      for _ = 1, 12 do sched:step() end
      local s = sched:state_dict()
      assert_plain(s, "scheduler state")
      assert.is_nil(s.optimizer)
      local opt2 = more_optimizer(case, {1, 1})
      opt2:load_state_dict(opt:state_dict())
      local sched2 = nn.optim[case.class](opt2, copy(case.options))
      sched2:load_state_dict(s)
      for step = 13, #case.lrs do
        sched2:step()
        assert_near(group_lrs(opt2), case.lrs[step], ("lr after step %d"):format(step), 1e-12)
        if case.momentum then
          assert_near(group_momenta(opt2), case.momentum[step], ("momentum after step %d"):format(step), 1e-12)
        end
      end
    end)
  end

  it("OneCycleLR moves an Adam's beta1 through its betas and stops after total_steps", function()
    local opt = nn.optim.Adam({nn.zeros(2):requires_grad_()}, {betas = {0.9, 0.99}})
    local sched = nn.optim.OneCycleLR(opt, {max_lr = 1, total_steps = 4})
    assert.are.same({0.95, 0.99}, opt.param_groups[1].betas)
    assert_near({opt.param_groups[1].lr}, {1 / 25}, "initial lr", 1e-12)
    for _ = 1, 4 do sched:step() end
    H.assert_error(function() sched:step() end, "OneCycleLR", "tried to step 6 times", "total_steps is 4")
    assert.are.equal(4, sched.last_epoch) -- unchanged by the error
  end)

  it("LambdaLR's state_dict leaves the functions out; the loader keeps its own", function()
    local opt = scheduler_optimizer({0.1, 0.01})
    local sched = nn.optim.LambdaLR(opt, {lr_lambda = function(k) return k + 1 end})
    sched:step()
    local s = sched:state_dict()
    assert.is_nil(s.lr_lambda)
    local other = nn.optim.LambdaLR(scheduler_optimizer({0.1, 0.01}), {lr_lambda = function(k) return 2 * k end})
    other:load_state_dict(s)
    assert.are.equal(1, other.last_epoch)
    other:step()
    assert_near(other:get_last_lr(), {0.4, 0.04}, "lr", 1e-12)
  end)
end)

describe("more scheduler errors", function()
  local opt = scheduler_optimizer({0.1, 0.01})
  it("check options", function()
    H.assert_error(function() nn.optim.LambdaLR(opt) end, "LambdaLR", "lr_lambda", "required")
    H.assert_error(function() nn.optim.LambdaLR(opt, {lr_lambda = 0.5}) end, "LambdaLR", "lr_lambda", "number")
    H.assert_error(function() nn.optim.LambdaLR(opt, {lr_lambda = {function() return 1 end}}) end,
                   "LambdaLR", "expected 2 lr_lambdas", "got 1")
    H.assert_error(function() nn.optim.LambdaLR(opt, {lr_lambda = function() return "x" end}) end,
                   "LambdaLR", "returned string", "step 0")
    H.assert_error(function() nn.optim.LambdaLR(opt, {lr_lambda = print, lambda = 1}) end,
                   "LambdaLR", "unknown option 'lambda'")
    local MS = nn.optim.MultiStepLR
    H.assert_error(function() MS(opt) end, "MultiStepLR", "milestones", "required")
    H.assert_error(function() MS(opt, {milestones = 3}) end, "MultiStepLR", "milestones", "number")
    H.assert_error(function() MS(opt, {milestones = {3, 2}}) end, "MultiStepLR", "increasing", "2 after 3")
    H.assert_error(function() MS(opt, {milestones = {3, 3}}) end, "MultiStepLR", "increasing", "3 after 3")
    H.assert_error(function() MS(opt, {milestones = {0, 3}}) end, "MultiStepLR", "milestone 1", "0")
    H.assert_error(function() MS(opt, {milestones = {1.5}}) end, "MultiStepLR", "milestone 1", "1.5")
    H.assert_error(function() MS(opt, {milestones = {2}, gama = 1}) end, "MultiStepLR", "unknown option 'gama'")
    local L = nn.optim.LinearLR
    H.assert_error(function() L(opt, {start_factor = 0}) end, "LinearLR", "start_factor", "(0, 1]", "0")
    H.assert_error(function() L(opt, {start_factor = 1.5}) end, "LinearLR", "start_factor", "1.5")
    H.assert_error(function() L(opt, {end_factor = -0.1}) end, "LinearLR", "end_factor", "[0, 1]", "-0.1")
    H.assert_error(function() L(opt, {total_iters = 0}) end, "LinearLR", "total_iters", "0")
    H.assert_error(function() L(opt, {total_iters = 2.5}) end, "LinearLR", "total_iters", "2.5")
    local OC = nn.optim.OneCycleLR
    H.assert_error(function() OC(opt, {total_steps = 10}) end, "OneCycleLR", "max_lr", "required")
    H.assert_error(function() OC(opt, {max_lr = 1}) end, "OneCycleLR", "total_steps", "epochs and steps_per_epoch")
    H.assert_error(function() OC(opt, {max_lr = 1, epochs = 3}) end, "OneCycleLR", "epochs and steps_per_epoch")
    H.assert_error(function() OC(opt, {max_lr = 1, total_steps = -5}) end, "OneCycleLR", "total_steps", "-5")
    H.assert_error(function() OC(opt, {max_lr = 1, epochs = 2, steps_per_epoch = 0.5}) end,
                   "OneCycleLR", "steps_per_epoch", "0.5")
    H.assert_error(function() OC(opt, {max_lr = -1, total_steps = 10}) end, "OneCycleLR", "max_lr", "-1")
    H.assert_error(function() OC(opt, {max_lr = {1, 2, 3}, total_steps = 10}) end,
                   "OneCycleLR", "expected 2 values for max_lr", "got 3")
    H.assert_error(function() OC(opt, {max_lr = 1, total_steps = 10, pct_start = 1.2}) end,
                   "OneCycleLR", "pct_start", "1.2")
    H.assert_error(function() OC(opt, {max_lr = 1, total_steps = 10, pct_start = 0.1}) end,
                   "OneCycleLR", "pct_start 0.1", "phase 1 empty")
    H.assert_error(function() OC(opt, {max_lr = 1, total_steps = 10, anneal_strategy = "exp"}) end,
                   "OneCycleLR", "anneal_strategy", "exp")
    H.assert_error(function() OC(opt, {max_lr = 1, total_steps = 10, div_factor = 0}) end,
                   "OneCycleLR", "div_factor", "0")
    H.assert_error(function() OC(opt, {max_lr = 1, total_steps = 10, max_momentum = {0.9}}) end,
                   "OneCycleLR", "max_momentum", "got 1")
    H.assert_error(function() OC(opt, {max_lr = 1, total_step = 10}) end, "OneCycleLR", "unknown option 'total_step'")
    local ada = nn.optim.Adagrad({nn.zeros(2):requires_grad_()})
    H.assert_error(function() OC(ada, {max_lr = 1, total_steps = 10}) end,
                   "OneCycleLR", "Adagrad", "cycle_momentum=false")
    local IT = nn.optim.InverseTimeDecay
    H.assert_error(function() IT(opt, {decay_rate = 0.5}) end, "InverseTimeDecay", "decay_steps", "required")
    H.assert_error(function() IT(opt, {decay_steps = 10}) end, "InverseTimeDecay", "decay_rate", "required")
    H.assert_error(function() IT(opt, {decay_steps = 0, decay_rate = 0.5}) end, "InverseTimeDecay", "decay_steps", "0")
    H.assert_error(function() IT(opt, {decay_steps = 1, decay_rate = -0.5}) end, "InverseTimeDecay", "decay_rate",
                   "-0.5")
    H.assert_error(function() IT(opt, {decay_steps = 1, decay_rate = 0.5, staircase = 1}) end,
                   "InverseTimeDecay", "staircase")
    H.assert_error(function() IT(opt, {decay_steps = 1, decay_rate = 0.5, rate = 1}) end,
                   "InverseTimeDecay", "unknown option 'rate'")
  end)
end)

-- ---- proximal L1 (ref.l1) ----

describe("l1: the proximal soft-threshold after each update", function()
  for _, case in ipairs(ref.l1) do
    it(describe_case(case) .. " follows its formula step for step", function()
      local w, b = fresh_params()
      local ps = {w = w, b = b}
      local opt = build(case, ps)
      for step, want in ipairs(case.params) do
        set_grads(case, ps, step)
        opt:step()
        assert_near(ps.w, want.w, ("%s step %d w"):format(describe_case(case), step))
        assert_near(ps.b, want.b, ("%s step %d b"):format(describe_case(case), step))
        local zeros = 0
        for _, p in ipairs {ps.w, ps.b} do
          for _, v in ipairs(H.flat(p)) do zeros = zeros + (v == 0 and 1 or 0) end
        end
        assert.are.equal(case.zeros[step], zeros, ("exact zeros after step %d"):format(step))
      end
    end)
  end

  it("shrinks by lr * l1 and stops at exact zeros, with the group's current lr", function()
    for _, cls in ipairs {"SGD", "Adam"} do
      local p = nn.tensor({0.5, -0.5, 0.05, -0.05}):requires_grad_()
      local opt = nn.optim[cls]({p}, {lr = 0.1, l1 = 1})
      p.grad = nn.zeros(4)
      opt:step()
      assert_near(p, {0.4, -0.4, 0, 0}, cls .. " l1")
      local v = H.flat(p)
      assert.is_true(v[3] == 0 and v[4] == 0, cls .. ": exact zeros")
      opt.param_groups[1].lr = 0.2
      opt:step()
      assert_near(p, {0.2, -0.2, 0, 0}, cls .. " l1 with lr 0.2")
    end
  end)

  it("keeps l1 in the state_dict and rejects bad values", function()
    local p = nn.zeros(2):requires_grad_()
    local opt = nn.optim.SGD({p}, {lr = 0.1, l1 = 0.5})
    assert.are.equal(0.5, opt:state_dict().param_groups[1].l1)
    assert.are.equal(0, nn.optim.Adam({p}).param_groups[1].l1)
    H.assert_error(function() nn.optim.SGD({p}, {lr = 0.1, l1 = -0.1}) end, "SGD", "l1", "-0.1", ">= 0")
    H.assert_error(function() nn.optim.Adam({p}, {l1 = -1}) end, "Adam", "l1", "-1")
    H.assert_error(function() nn.optim.Adam({p}, {l1 = "x"}) end, "Adam", "l1", "string")
    H.assert_error(function() nn.optim.SGD({{params = {p}, l1 = -2}}, {lr = 0.1}) end, "SGD", "l1", "-2", "group 1")
    H.assert_error(function() nn.optim.AdamW({p}, {l1 = 0.1}) end, "AdamW", "unknown option 'l1'")
    p.grad = nn.ones(2)
    H.assert_error(function() require("nn.core")._sgd_step(p, p.grad, {}, {lr = 0.1, momentum = 0, dampening = 0,
                                                              weight_decay = 0, l1 = -1}) end,
                   "_sgd_step", "l1", "-1")
  end)
end)

-- ---- gradient-free search ----

describe("RandomSearch and RandomLocalSearch", function()
  -- The loss of the tests: sum((w - target)^2) over w [3,4] and b [4].
  local target_w = nn.linspace(-1, 1, 12):reshape{3, 4}
  local function quad(w, b)
    return ((w - target_w) ^ 2):sum():item() + (b ^ 2):sum():item()
  end

  -- The algorithm of the file header, written out with nn.randn: the
  -- params and best loss after each attempt, and each attempt's loss.
  local function expected(local_search, scale, w0, b0, seed, attempts)
    nn.manual_seed(seed)
    local w, b, best, out = w0:clone(), b0:clone(), math.huge, {}
    for k = 1, attempts do
      local cw, cb = nn.randn(3, 4) * scale, nn.randn(4) * scale
      if local_search then cw, cb = w + cw, b + cb end
      local loss = quad(cw, cb)
      if loss < best then w, b, best = cw, cb, loss end
      out[k] = {w = H.flat(w), b = H.flat(b), best = best, loss = loss}
    end
    return out
  end

  for _, case in ipairs {{"RandomSearch", {std = 0.5}, false, 0.5},
                        {"RandomLocalSearch", {step_size = 0.3}, true, 0.3}} do
    local cls, opts, local_search, scale = case[1], case[2], case[3], case[4]
    it(cls .. " follows its algorithm attempt by attempt, seeded by nn.manual_seed", function()
      local w0, b0 = nn.randn(3, 4), nn.randn(4)
      local want = expected(local_search, scale, w0, b0, 123, 40)
      local w, b = w0:clone():requires_grad_(), b0:clone():requires_grad_()
      nn.manual_seed(123)
      local opt = nn.optim[cls]({w, b}, copy(opts))
      local kept = 0
      for k, e in ipairs(want) do
        local loss = opt:step(function() return quad(w, b) end)
        assert.is_true(math.abs(loss - e.loss) <= 1e-5 * math.abs(e.loss), ("attempt %d loss"):format(k))
        assert_near(w, e.w, ("attempt %d w"):format(k))
        assert_near(b, e.b, ("attempt %d b"):format(k))
        assert.is_true(math.abs(opt.best_loss - e.best) <= 1e-5 * e.best)
        assert.are.equal(k, opt.attempts)
        if loss == opt.best_loss then kept = kept + 1 end
        assert.is_nil(w.grad)
      end
      assert.is_true(kept > 1 and kept < #want, "some attempts kept, some rejected")
      assert.is_true(want[#want].best < want[1].best)
    end)

    it(cls .. " resumes from state_dict and takes groups and tensor losses", function()
      local w, b = nn.zeros(3, 4), nn.zeros(4)
      local opt = nn.optim[cls]({{params = {w}}, {params = {b}}}, copy(opts))
      nn.manual_seed(5)
      local closure = function() return nn.tensor(quad(w, b)) end
      for _ = 1, 5 do opt:step(closure) end
      local s = opt:state_dict()
      assert_plain({best_loss = s.best_loss, attempts = s.attempts, groups = s.param_groups}, "state")
      assert.are.equal(5, s.attempts)
      local w2, b2 = w:clone(), b:clone()
      local opt2 = nn.optim[cls]({{params = {w2}}, {params = {b2}}}, copy(opts))
      opt2:load_state_dict(s)
      assert.are.equal(opt.best_loss, opt2.best_loss)
      nn.manual_seed(9)
      for _ = 1, 5 do opt:step(closure) end
      nn.manual_seed(9)
      for _ = 1, 5 do opt2:step(function() return nn.tensor(quad(w2, b2)) end) end
      assert.are.same(H.flat(w), H.flat(w2))
      assert.are.equal(opt.best_loss, opt2.best_loss)
      assert.are.equal(10, opt2.attempts)
    end)
  end

  it("RandomSearch draws std * N(0, 1) from scratch; std 0 gives zeros", function()
    local w = nn.ones(1000)
    local opt = nn.optim.RandomSearch({w}, {std = 2})
    opt:step(function() return 0 end)
    local v = H.flat(w)
    local mean, sq = 0, 0
    for _, x in ipairs(v) do mean, sq = mean + x / #v, sq + x * x / #v end
    assert.is_true(math.abs(mean) < 0.2 and math.abs(math.sqrt(sq) - 2) < 0.2)
    local z = nn.ones(3)
    nn.optim.RandomSearch({z}, {std = 0}):step(function() return 1 end)
    assert.are.same({0, 0, 0}, H.flat(z))
  end)

  it("restores the parameters when the closure fails or the loss is NaN", function()
    local w = nn.tensor{1, 2, 3}
    local opt = nn.optim.RandomLocalSearch({w}, {step_size = 1})
    H.assert_error(function() opt:step(function() error("boom") end) end, "boom")
    assert.are.same({1, 2, 3}, H.flat(w))
    assert.are.equal(0, opt.attempts)
    local loss = opt:step(function() return 0 / 0 end)
    assert.is_true(loss ~= loss)
    assert.are.same({1, 2, 3}, H.flat(w))
    assert.are.equal(math.huge, opt.best_loss)
    H.assert_error(function() opt:step(function() return "x" end) end, "RandomLocalSearch", "closure", "string")
    H.assert_error(function() opt:step(function() return nn.zeros(2) end) end, "RandomLocalSearch", "2 elements")
    assert.are.same({1, 2, 3}, H.flat(w))
  end)

  it("check their options", function()
    local w = nn.zeros(2)
    H.assert_error(function() nn.optim.RandomSearch({w}) end, "RandomSearch", "std", "required")
    H.assert_error(function() nn.optim.RandomSearch({w}, {std = -1}) end, "RandomSearch", "std", "-1")
    H.assert_error(function() nn.optim.RandomSearch({w}, {std = 1, lr = 1}) end, "RandomSearch", "unknown option 'lr'")
    H.assert_error(function() nn.optim.RandomLocalSearch({w}, {}) end, "RandomLocalSearch", "step_size", "required")
    H.assert_error(function() nn.optim.RandomLocalSearch({w}, {step_size = "big"}) end,
                   "RandomLocalSearch", "step_size", "string")
    H.assert_error(function() nn.optim.RandomLocalSearch({w}, {step_size = 0.1}):step() end,
                   "RandomLocalSearch", "closure", "nil")
    local opt = nn.optim.RandomSearch({w}, {std = 1})
    H.assert_error(function() opt:load_state_dict {param_groups = {{params = {1}, std = 1}}, best_loss = "x"} end,
                   "RandomSearch", "best_loss", "string")
  end)
end)
