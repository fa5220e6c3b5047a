-- The frictions a new user met in their first hour (issue 13), each a
-- message that now says what is wrong and what to do.
local nn = require "nn"
local H = require "helpers"

describe("first-hour frictions", function()
  it("an optimizer given a module asks for model:parameters()", function()
    local model = nn.Sequential{nn.Linear(2, 2)}
    for _, name in ipairs({"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "RandomSearch"}) do
      H.assert_error(function() nn.optim[name](model, {lr = 0.1}) end,
                     name .. ": params must be a list of tensors or of parameter groups, got a Module (Sequential); " ..
                     "pass model:parameters()")
    end
  end)

  it("loading a file that is not safetensors says what it is", function()
    local dir = H.tmpdir()
    H.write_file(dir .. "/notes.txt", "hello world, this is not a safetensors file\n")
    H.assert_error(function() nn.load(dir .. "/notes.txt") end, "load: ", "notes.txt' is not a safetensors file",
                   "it starts with text")
    H.write_file(dir .. "/img.png", "\137PNG\r\n\26\n\0\0\0\13IHDR")
    H.assert_error(function() nn.load(dir .. "/img.png") end, "is not a safetensors file: it is a PNG image")
    nn.save_npy(nn.zeros(2), dir .. "/a.npy")
    H.assert_error(function() nn.load(dir .. "/a.npy") end, "is not a safetensors file", "nn.load_npy")
    H.write_file(dir .. "/model.pt", "PK\3\4\20\0\0\0\8\0archive/data.pkl")
    H.assert_error(function() nn.load(dir .. "/model.pt") end, "zip archive", "safetensors.torch.save_file")
    H.assert_error(function() nn.load_checkpoint(dir .. "/notes.txt", {}) end, "is not a safetensors file")
    -- A real file cut short is still reported as truncated.
    nn.save({w = nn.zeros(100)}, dir .. "/w.safetensors")
    local f = assert(io.open(dir .. "/w.safetensors", "rb"))
    local bytes = f:read("a")
    f:close()
    H.write_file(dir .. "/cut.safetensors", bytes:sub(1, 20))
    H.assert_error(function() nn.load(dir .. "/cut.safetensors") end, "is truncated")
    H.rmrf(dir)
  end)

  it("a regression loss refuses input [N,1] against target [N] and says the fix", function()
    for _, name in ipairs({"MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"}) do
      local crit = nn[name]()
      H.assert_error(function() crit(nn.zeros(4, 1), nn.zeros(4)) end,
                     name .. ": input [4,1] and target [4] would broadcast to [4,4]", "target:view(-1, 1)")
      H.assert_error(function() crit(nn.zeros(4), nn.zeros(4, 1)) end,
                     name .. ": input [4] and target [4,1] would broadcast to [4,4]", "target:view(-1)")
      -- Matching shapes, and broadcasts that stay within the input, still work.
      assert.are.equal(0, crit(nn.zeros(4, 1), nn.zeros(4, 1)):item())
      assert.are.equal(0, crit(nn.zeros(4, 3), nn.zeros(3)):item())
    end
    -- fit aligns a target [N] with one output per sample by itself.
    local m = nn.Linear(2, 1)
    local h = nn.fit(m, {train = nn.data.tensor_dataset(nn.zeros(4, 2), nn.zeros(4)), loss = nn.MSELoss(),
                         optimizer = nn.optim.SGD(m:parameters(), {lr = 0.1}), epochs = 1, verbose = 0})
    assert.are.equal(1, #h.loss)
  end)

  it("summary prints its table, or returns it with {print=false}, never both", function()
    local m = nn.Sequential{nn.Linear(2, 3)}
    local printed = {}
    local saved = _G.print
    _G.print = function(s) printed[#printed + 1] = s end
    local r = m:summary({1, 2})
    _G.print = saved
    assert.is_nil(r)
    assert.are.equal(1, #printed)
    assert.truthy(printed[1]:find("Total params: 9", 1, true))
    assert.truthy(m:summary({1, 2}, {print = false}):find("Total params: 9", 1, true))
  end)

  it("a tensor that requires grad prints so, a computed one its op", function()
    local w = nn.ones(2):requires_grad_()
    assert.are.equal("tensor([1., 1.], requires_grad=true)", tostring(w))
    assert.are.equal("tensor([2., 2.], grad_fn=<mul>)", tostring(w * 2))
    assert.are.equal("tensor(2., grad_fn=<sum>)", tostring(w:sum()))
    assert.are.equal("tensor([1., 1.])", tostring(w:detach()))
    assert.are.equal("tensor([2., 2.])", tostring(nn.no_grad(function() return w * 2 end)))
  end)
end)
