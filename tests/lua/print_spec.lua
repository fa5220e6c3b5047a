-- tostring(t): PyTorch's layout, compared with str(t) from PyTorch itself
-- (tests/fixtures/core/reference.lua) for each style: integral floats,
-- fixed, scientific, ints, bools, 0-dim, multi-dim alignment, and "..."
-- summarization past 1000 elements.
local nn = require "nn"
local H = require "helpers"

local ref = H.reference()

local function build(case)
  if case.expr then return assert(load("local nn = ...; return " .. case.expr))(nn) end
  return H.from_spec(case.t)
end

describe("tostring", function()
  it("matches PyTorch's str() for every fixture", function()
    for _, case in ipairs(ref.format) do
      local t = build(case)
      assert.are.equal(case.str, tostring(t))
    end
  end)

  it("is the same for a non-contiguous tensor and its contiguous copy", function()
    for _, case in ipairs(ref.format) do
      local t = build(case)
      if t:dim() == 2 then
        local strided = t:t():contiguous():t()
        assert.are.equal(case.str, tostring(strided))
      end
    end
    local e = nn.tensor{{1.5}, {-2}}:expand(2, 3)
    assert.are.equal(tostring(e:contiguous()), tostring(e))
  end)

  it("shows the basic layouts", function()
    assert.are.equal("tensor([1., 2., 3.])", tostring(nn.tensor{1, 2, 3}))
    assert.are.equal("tensor([1, 2, 3])", tostring(nn.tensor({1, 2, 3}, "int64")))
    assert.are.equal("tensor([ True, False])", tostring(nn.tensor{true, false}))
    assert.are.equal("tensor(3.5000)", tostring(nn.tensor(3.5)))
    assert.are.equal("tensor([[1., 2.],\n        [3., 4.]])", tostring(nn.tensor{{1, 2}, {3, 4}}))
  end)

  it("summarizes tensors over 1000 elements only", function()
    assert.is_nil(tostring(nn.arange(1000)):find("...", 1, true))
    assert.is_truthy(tostring(nn.arange(1001)):find("...", 1, true))
    local s = tostring(nn.zeros(100, 100))
    assert.is_true(#s < 1000)
    assert.is_truthy(s:find("...", 1, true))
  end)

  it("uses scientific notation for wide ranges", function()
    assert.is_truthy(tostring(nn.tensor{1e-5, 1}):find("e-05", 1, true))
    assert.is_truthy(tostring(nn.tensor{1e10, 1}):find("e+10", 1, true))
    assert.is_nil(tostring(nn.tensor{0.5, 100}):find("%de[+-]"))
  end)

  it("labels empty tensors", function()
    assert.are.equal("tensor([])", tostring(nn.zeros(0)))
    local s = tostring(nn.zeros(2, 0))
    assert.is_truthy(s:find("[2,0]", 1, true) or s:find("(2, 0)", 1, true))
    assert.is_truthy(tostring(nn.zeros(0, {dtype = "int64"})):find("int64", 1, true))
  end)

  it("copes with a closed tensor", function()
    local s
    do
      local t <close> = nn.zeros(2)
      s = t
    end
    assert.is_truthy(tostring(s):find("closed", 1, true))
  end)

  it("is what print shows", function()
    local t = nn.tensor{1, 2}
    assert.are.equal(tostring(t), ("%s"):format(t))
  end)
end)
