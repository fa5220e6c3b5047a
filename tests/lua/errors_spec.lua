-- Bad input to every public function of the tensor core: each must raise
-- an ordinary, catchable Lua error (never crash, never succeed) whose
-- message names the function and the offending values. Tests match the
-- function name and the numbers, not the exact wording.
local nn = require "nn"
local H = require "helpers"

-- Each case: {label, fn, fragment...}; the first fragment is the function
-- name as it must appear ("name:").
-- Every failing case is reported, not just the first.
local function check_all(cases)
  local failures = {}
  for _, c in ipairs(cases) do
    local label, fn = c[1], c[2]
    local ok, err = pcall(fn)
    if ok then
      failures[#failures + 1] = label .. ": expected an error, got success"
    else
      err = tostring(err)
      for i = 3, #c do
        local fragment = tostring(c[i])
        if not err:find(fragment, 1, true) then
          failures[#failures + 1] = ("%s: error %q lacks %q"):format(label, err, fragment)
          break
        end
      end
    end
  end
  if #failures > 0 then error(table.concat(failures, "\n"), 2) end
end

local f23 = nn.zeros(2, 3)
local i3 = nn.tensor({1, 2, 3}, "int64")

describe("errors from creation functions", function()
  it("name bad sizes", function()
    check_all{
      {"zeros string", function() return nn.zeros("a") end, "zeros:", "string"},
      {"zeros fraction", function() return nn.zeros(2.5) end, "zeros:", "2.5"},
      {"zeros negative", function() return nn.zeros(2, -3) end, "zeros:", "-3"},
      {"zeros table negative", function() return nn.zeros{2, -1} end, "zeros:", "-1"},
      {"zeros table string", function() return nn.zeros{2, "x"} end, "zeros:", "string"},
      {"zeros too many dims", function() return nn.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "zeros:", "9", "8"},
      {"ones negative", function() return nn.ones(-1) end, "ones:", "-1"},
      {"empty negative", function() return nn.empty(-4) end, "empty:", "-4"},
      {"rand negative", function() return nn.rand(3, -2) end, "rand:", "-2"},
      {"randn fraction", function() return nn.randn(1.5) end, "randn:", "1.5"},
      {"full negative", function() return nn.full({-2}, 1) end, "full:", "-2"},
    }
  end)

  it("refuse absurd sizes with the size, not an out-of-memory crash", function()
    check_all{
      {"zeros 1e13", function() return nn.zeros(1e13) end, "zeros:", "10000000000000"},
      {"ones overflow", function() return nn.ones(1e6, 1e6, 1e6) end, "ones:", "1000000,1000000,1000000"},
      {"rand huge", function() return nn.rand(1e7, 1e7) end, "rand:", "10000000,10000000"},
      {"full huge", function() return nn.full({1e12}, 0) end, "full:", "1000000000000"},
      {"arange huge", function() return nn.arange(1e15) end, "arange:"},
      {"eye huge", function() return nn.eye(1e7) end, "eye:", "10000000"},
      {"randperm huge", function() return nn.randperm(1e13) end, "randperm:", "10000000000000"},
      {"linspace huge", function() return nn.linspace(0, 1, 1e13) end, "linspace:", "10000000000000"},
    }
    local err = H.assert_error(function() return nn.zeros(1e13) end)
    assert.is_nil(err:lower():find("out of memory", 1, true))
    assert.are.equal(3, nn.zeros(3):numel()) -- and the runtime keeps working
  end)

  it("name bad dtypes and options", function()
    check_all{
      {"tensor dtype", function() return nn.tensor({1}, "float16") end, "tensor:", "float16"},
      {"tensor dtype type", function() return nn.tensor({1}, 5) end, "tensor:", "5"},
      {"zeros option dtype", function() return nn.zeros(2, {dtype = "complex"}) end, "zeros:", "complex"},
      {"arange dtype", function() return nn.arange(5, {dtype = "bool"}) end, "arange:", "bool"},
      {"zeros_like dtype", function() return nn.zeros_like(f23, {dtype = "half"}) end, "zeros_like:", "half"},
      {"to dtype", function() return f23:to("double") end, "to:", "double"},
      {"to no dtype", function() return f23:to() end, "to:"},
    }
  end)

  it("name bad tensor() input", function()
    check_all{
      {"tensor string", function() return nn.tensor("abc") end, "tensor:", "string"},
      {"tensor nil", function() return nn.tensor() end, "tensor:", "no value"},
      {"tensor ragged", function() return nn.tensor{{1, 2}, {3}} end, "tensor:", "ragged", "1", "2"},
      {"tensor ragged depth", function() return nn.tensor{{1, 2}, 3} end, "tensor:", "number"},
      {"tensor leaf", function() return nn.tensor{1, "x", 3} end, "tensor:", "2", "string"},
      {"tensor int overflow", function() return nn.tensor({1e30}, "int64") end, "tensor:", "1e+30"},
      {"tensor too deep", function() return nn.tensor{{{{{{{{{1}}}}}}}}} end, "tensor:", "8"},
    }
  end)

  it("name bad range arguments", function()
    check_all{
      {"arange no args", function() return nn.arange() end, "arange:", "0"},
      {"arange four args", function() return nn.arange(1, 2, 3, 4) end, "arange:", "4"},
      {"linspace no steps", function() return nn.linspace(0, 1) end, "linspace:", "steps"},
      {"eye m string", function() return nn.eye(2, "x") end, "eye:", "string"},
      {"eye dtype", function() return nn.eye(2, {dtype = "half"}) end, "eye:", "half"},
      {"arange string", function() return nn.arange("5") end, "arange:", "string"},
      {"arange zero step", function() return nn.arange(0, 5, 0) end, "arange:", "step 0"},
      {"arange wrong way", function() return nn.arange(5, 0) end, "arange:", "5", "0"},
      {"arange inf", function() return nn.arange(0, math.huge) end, "arange:", "inf"},
      {"arange nan", function() return nn.arange(0 / 0) end, "arange:", "nan"},
      {"linspace steps", function() return nn.linspace(0, 1, -2) end, "linspace:", "-2"},
      {"linspace steps fraction", function() return nn.linspace(0, 1, 2.5) end, "linspace:", "2.5"},
      {"linspace start", function() return nn.linspace("a", 1, 2) end, "linspace:", "string"},
      {"eye negative", function() return nn.eye(-1) end, "eye:", "-1"},
      {"eye m negative", function() return nn.eye(2, -3) end, "eye:", "-3"},
      {"eye string", function() return nn.eye("x") end, "eye:", "string"},
      {"full value", function() return nn.full({2}, "x") end, "full:", "string"},
      {"full no value", function() return nn.full({2}) end, "full:", "no value"},
      {"full_like value", function() return nn.full_like(f23, {}) end, "full_like:", "table"},
    }
  end)

  it("name bad random arguments", function()
    check_all{
      {"randint empty range", function() return nn.randint(5, 5, {2}) end, "randint:", "5"},
      {"randint reversed", function() return nn.randint(3, 1, {2}) end, "randint:", "1", "3"},
      {"randint no size", function() return nn.randint(0, 10) end, "randint:", "size"},
      {"randint size not table", function() return nn.randint(0, 10, 3) end, "randint:", "number"},
      {"randint fraction", function() return nn.randint(0.5, 10, {2}) end, "randint:", "0.5"},
      {"randint negative size", function() return nn.randint(0, 10, {-2}) end, "randint:", "-2"},
      {"randint high 0", function() return nn.randint(0, {3}) end, "randint:", "0"},
      {"randperm negative", function() return nn.randperm(-3) end, "randperm:", "-3"},
      {"randperm string", function() return nn.randperm("x") end, "randperm:", "string"},
      {"manual_seed string", function() return nn.manual_seed("x") end, "manual_seed:", "string"},
      {"manual_seed fraction", function() return nn.manual_seed(1.5) end, "manual_seed:", "1.5"},
      {"set_rng_state number", function() return nn.set_rng_state(5) end, "set_rng_state:", "number"},
      {"set_rng_state float", function() return nn.set_rng_state(nn.zeros(4)) end, "set_rng_state:", "int64"},
      {"set_rng_state size", function() return nn.set_rng_state(nn.zeros(3, {dtype = "int64"})) end,
       "set_rng_state:", "4"},
      {"set_rng_state zero", function() return nn.set_rng_state(nn.zeros(4, {dtype = "int64"})) end,
       "set_rng_state:", "zero"},
      {"rand_like int", function() return nn.rand_like(i3) end, "rand_like:", "int64"},
      {"randn_like bool", function() return nn.randn_like(nn.tensor{true}) end, "randn_like:", "bool"},
      {"zeros_like number", function() return nn.zeros_like(3) end, "zeros_like:", "number"},
      {"ones_like nil", function() return nn.ones_like() end, "ones_like:", "no value"},
      {"uniform_ int", function() return i3:uniform_() end, "uniform_:", "int64"},
      {"uniform_ reversed", function() return nn.zeros(2):uniform_(3, 1) end, "uniform_:", "3", "1"},
      {"uniform_ string", function() return nn.zeros(2):uniform_("a") end, "uniform_:", "string"},
      {"normal_ std", function() return nn.zeros(2):normal_(0, -1) end, "normal_:", "-1"},
      {"normal_ int", function() return i3:normal_() end, "normal_:", "int64"},
      {"bernoulli_ p", function() return nn.zeros(2):bernoulli_(1.5) end, "bernoulli_:", "1.5"},
      {"bernoulli_ no p", function() return nn.zeros(2):bernoulli_() end, "bernoulli_:", "no value"},
    }
    -- a failed set_rng_state leaves the generator usable
    assert.are.equal(2, nn.rand(2):numel())
  end)
end)

describe("errors from shape functions", function()
  local t = nn.zeros(2, 3, 4)

  it("name bad dims, 1-based", function()
    check_all{
      {"size dim 0", function() return t:size(0) end, "size:", "dim 0"},
      {"size dim 4", function() return t:size(4) end, "size:", "4", "3"},
      {"size dim -4", function() return t:size(-4) end, "size:", "-4"},
      {"size string", function() return t:size("x") end, "size:", "string"},
      {"size 0-dim", function() return nn.tensor(1):size(1) end, "size:", "0-dim"},
      {"stride dim 0", function() return t:stride(0) end, "stride:", "dim 0"},
      {"stride dim 5", function() return t:stride(5) end, "stride:", "5"},
      {"transpose dim 0", function() return t:transpose(0, 1) end, "transpose:", "dim 0"},
      {"transpose dim 4", function() return t:transpose(1, 4) end, "transpose:", "4"},
      {"transpose missing", function() return t:transpose(1) end, "transpose:"},
      {"t 3-D", function() return t:t() end, "t:", "3"},
      {"permute count", function() return t:permute(1, 2) end, "permute:", "2", "3"},
      {"permute repeat", function() return t:permute(1, 1, 2) end, "permute:", "1", "twice"},
      {"permute negative repeat", function() return t:permute(3, -1, 1) end, "permute:", "3", "twice"},
      {"permute range", function() return t:permute(1, 2, 5) end, "permute:", "5"},
      {"permute dim 0", function() return t:permute(0, 1, 2) end, "permute:", "dim 0"},
      {"permute string", function() return t:permute(1, "b", 3) end, "permute:", "string"},
      {"squeeze dim", function() return t:squeeze(4) end, "squeeze:", "4"},
      {"unsqueeze dim", function() return t:unsqueeze(5) end, "unsqueeze:", "5"},
      {"unsqueeze dim 0", function() return t:unsqueeze(0) end, "unsqueeze:", "dim 0"},
      {"unsqueeze too many", function() return nn.zeros(1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end,
       "unsqueeze:", "8"},
      {"flatten order", function() return t:flatten(3, 1) end, "flatten:", "3", "1"},
      {"flatten dim", function() return t:flatten(4) end, "flatten:", "4"},
      {"flatten dim 0", function() return t:flatten(0) end, "flatten:", "dim 0"},
    }
  end)

  it("name the shapes in view/reshape/expand errors", function()
    check_all{
      {"view numel", function() return t:view(5, 5) end, "view:", "[5,5]", "24", "[2,3,4]"},
      {"view infer", function() return t:view(-1, 5) end, "view:", "24"},
      {"view two -1", function() return t:view(-1, -1) end, "view:", "-1"},
      {"view negative", function() return t:view(-2, 12) end, "view:", "-2"},
      {"view non-contiguous", function() return nn.zeros(3, 4):t():view(12) end,
       "view:", "[4,3]", "[12]", "reshape"},
      {"view string", function() return t:view("a") end, "view:", "string"},
      {"view fraction", function() return t:view(2, 3.5) end, "view:", "3.5"},
      {"expand string", function() return t:expand("a") end, "expand:", "string"},
      {"squeeze string", function() return t:squeeze("a") end, "squeeze:", "string"},
      {"reshape numel", function() return t:reshape(7) end, "reshape:", "[7]", "24"},
      {"reshape zero infer", function() return nn.zeros(0, 3):reshape(0, -1) end, "reshape:", "[0,-1]"},
      {"expand incompatible", function() return nn.zeros(3, 2):expand(3, 4) end,
       "expand:", "[3,2]", "[3,4]", "2"},
      {"expand fewer dims", function() return t:expand(3, 4) end, "expand:", "[2,3,4]", "[3,4]"},
      {"expand negative", function() return nn.zeros(1):expand(-2) end, "expand:", "-2"},
      {"expand new -1", function() return nn.zeros(3):expand(-1, 3) end, "expand:", "-1"},
      {"expand_as", function() return nn.zeros(2):expand_as(nn.zeros(3)) end, "expand_as:", "[2]", "[3]"},
      {"expand_as non-tensor", function() return nn.zeros(2):expand_as({2}) end, "expand_as:", "table"},
    }
  end)

  it("name the offending tensor in cat/stack", function()
    check_all{
      {"cat shapes", function() return nn.cat({nn.zeros(2, 3), nn.zeros(2, 4)}) end,
       "cat:", "[2,4]", "[2,3]", "2"},
      {"cat ndim", function() return nn.cat({nn.zeros(2, 3), nn.zeros(3)}) end, "cat:", "[3]", "[2,3]"},
      {"cat dim", function() return nn.cat({nn.zeros(2), nn.zeros(2)}, 2) end, "cat:", "2"},
      {"cat dim 0", function() return nn.cat({nn.zeros(2)}, 0) end, "cat:", "dim 0"},
      {"cat empty", function() return nn.cat({}) end, "cat:", "empty"},
      {"cat not list", function() return nn.cat(nn.zeros(2)) end, "cat:", "userdata"},
      {"cat element", function() return nn.cat({nn.zeros(2), 5}) end, "cat:", "2", "number"},
      {"cat 0-dim", function() return nn.cat({nn.tensor(1), nn.tensor(2)}) end, "cat:", "zero-dim"},
      {"stack shapes", function() return nn.stack({nn.zeros(2), nn.zeros(3)}) end, "stack:", "[3]", "[2]"},
      {"stack dim", function() return nn.stack({nn.zeros(2)}, 3) end, "stack:", "3"},
      {"stack element", function() return nn.stack({nn.zeros(2), "x"}) end, "stack:", "string"},
      {"stack empty", function() return nn.stack({}) end, "stack:", "empty"},
      {"stack too many dims", function() return nn.stack({nn.zeros(1, 1, 1, 1, 1, 1, 1, 1)}) end, "stack:", "8"},
      {"cat dim string", function() return nn.cat({nn.zeros(2)}, "x") end, "cat:", "string"},
    }
  end)

  it("name bad split/chunk sizes", function()
    check_all{
      {"split zero", function() return t:split(0) end, "split:", "0"},
      {"split negative", function() return t:split(-2) end, "split:", "-2"},
      {"split sum", function() return t:split({1, 2}, 3) end, "split:", "3", "4"},
      {"split negative piece", function() return t:split({3, -1}, 2) end, "split:", "-1"},
      {"split dim", function() return t:split(1, 4) end, "split:", "4"},
      {"split 0-dim", function() return nn.tensor(1):split(1) end, "split:", "0-dim"},
      {"split string", function() return t:split("a") end, "split:", "string"},
      {"chunk zero", function() return t:chunk(0) end, "chunk:", "0"},
      {"chunk dim", function() return t:chunk(2, 0) end, "chunk:", "dim 0"},
      {"chunk 0-dim", function() return nn.tensor(1):chunk(1) end, "chunk:", "0-dim"},
      {"split piece string", function() return t:split({1, "a"}, 3) end, "split:", "string"},
      {"split too many pieces", function() return nn.zeros(2000001):split(1) end, "split:", "2000001"},
      {"chunk string", function() return t:chunk("a") end, "chunk:", "string"},
    }
  end)

  it("reject non-tensors as self", function()
    for _, name in ipairs{"size", "stride", "dim", "numel", "is_contiguous", "contiguous", "view",
                          "reshape", "transpose", "t", "permute", "squeeze", "unsqueeze", "flatten",
                          "expand", "expand_as", "split", "chunk"} do
      check_all{{name, function() return nn[name]({1, 2}, 1, 2) end, name .. ":", "table"}}
    end
    check_all{{"#", function() return #nn.tensor(1) end, "#", "0-dim"}}
  end)
end)

describe("errors from math functions", function()
  it("name incompatible shapes in broadcasting", function()
    check_all{
      {"add shapes", function() return nn.zeros(2, 3) + nn.zeros(4) end, "add:", "[2,3]", "[4]"},
      {"sub shapes", function() return nn.zeros(3) - nn.zeros(2) end, "sub:", "[3]", "[2]"},
      {"mul shapes", function() return nn.zeros(2, 3):mul(nn.zeros(3, 2)) end, "mul:", "[2,3]", "[3,2]"},
      {"div shapes", function() return nn.zeros(5) / nn.zeros(6) end, "div:", "[5]", "[6]"},
      {"pow shapes", function() return nn.zeros(5) ^ nn.zeros(6) end, "pow:", "[5]", "[6]"},
      {"maximum shapes", function() return nn.maximum(nn.zeros(2), nn.zeros(3)) end, "maximum:", "[2]", "[3]"},
      {"minimum shapes", function() return nn.minimum(nn.zeros(2), nn.zeros(3)) end, "minimum:", "[2]", "[3]"},
      {"gt shapes", function() return nn.zeros(2):gt(nn.zeros(3)) end, "gt:", "[2]", "[3]"},
      {"eq shapes", function() return nn.zeros(2):eq(nn.zeros(3)) end, "eq:", "[2]", "[3]"},
      {"where shapes", function() return nn.where(nn.zeros(2):gt(0), nn.zeros(3), 0) end, "where:", "[2]", "[3]"},
      {"where b shapes", function() return nn.where(nn.zeros(2):gt(0), 1, nn.zeros(4)) end, "where:", "[4]"},
    }
  end)

  it("name non-tensor operands", function()
    check_all{
      {"add string", function() return f23 + "x" end, "add:", "string"},
      {"add table", function() return f23 + {} end, "add:", "table"},
      {"sub nothing", function() return f23:sub() end, "sub:", "no value"},
      {"mul two numbers", function() return nn.mul(2, 3) end, "mul:", "number"},
      {"div function", function() return nn.div(f23, print) end, "div:", "function"},
      {"pow string left", function() return "x" ^ f23 end, "pow:", "string"},
      {"lt table", function() return nn.lt({}, f23) end, "lt:", "table"},
      {"ne nil", function() return f23:ne(nil) end, "ne:", "nil"},
      {"maximum string", function() return nn.maximum(f23, "1") end, "maximum:", "string"},
      {"neg string", function() return nn.neg("x") end, "neg:", "string"},
      {"exp table", function() return nn.exp({1}) end, "exp:", "table"},
      {"relu nil", function() return nn.relu() end, "relu:", "no value"},
      {"where mask", function() return nn.where(nn.zeros(2), 1, 0) end, "where:", "bool", "float32"},
      {"where mask type", function() return nn.where(true, 1, 0) end, "where:", "boolean"},
      {"where operand", function() return nn.where(nn.zeros(2):gt(0), "a", 0) end, "where:", "string"},
      {"where missing", function() return nn.where(nn.zeros(2):gt(0), 1) end, "where:", "no value"},
      {"outer missing", function() return nn.outer(nn.zeros(2)) end, "outer:", "no value"},
    }
  end)

  it("name the in-place problem", function()
    local expanded = nn.zeros(3, 1):expand(3, 4)
    check_all{
      {"add_ float into int64", function() return i3:add_(0.5) end, "add_:", "float32", "int64"},
      {"div_ int64", function() return i3:div_(2) end, "div_:", "float32", "int64"},
      {"mul_ float tensor into int64", function() return i3:mul_(nn.ones(3)) end, "mul_:", "float32", "int64"},
      {"sub_ into bool", function() return nn.tensor{true}:sub_(1) end, "sub_:", "int64", "bool"},
      {"add_ broadcast target", function() return nn.zeros(3):add_(nn.zeros(2, 3)) end,
       "add_:", "[2,3]", "[3]"},
      {"mul_ number self", function() return nn.mul_(2, f23) end, "mul_:", "number"},
      {"add_ expanded", function() return expanded:add_(1) end, "add_:", "expanded"},
      {"pow_ expanded", function() return expanded:pow_(2) end, "pow_:", "expanded"},
      {"exp_ int64", function() return i3:exp_() end, "exp_:", "float32", "int64"},
      {"sqrt_ int64", function() return i3:sqrt_() end, "sqrt_:", "int64"},
      {"relu_ expanded", function() return expanded:relu_() end, "relu_:", "expanded"},
      {"neg_ bool", function() return nn.tensor{true}:neg_() end, "neg_:", "bool"},
      {"clamp_ float into int64", function() return i3:clamp_(0.5, 1) end, "clamp_:", "int64"},
      {"clamp_ expanded", function() return expanded:clamp_(0, 1) end, "clamp_:", "expanded"},
      {"fill_ expanded", function() return expanded:fill_(1) end, "fill_:", "expanded"},
      {"zero_ expanded", function() return expanded:zero_() end, "zero_:", "expanded"},
      {"copy_ expanded", function() return expanded:copy_(nn.ones(3, 4)) end, "copy_:", "expanded"},
      {"uniform_ expanded", function() return expanded:uniform_() end, "uniform_:", "expanded"},
    }
    H.assert_values(expanded, nn.zeros(3, 4)) -- nothing was written
    H.assert_values(i3, {1, 2, 3})
  end)

  it("name bad clamp bounds", function()
    check_all{
      {"clamp none", function() return f23:clamp() end, "clamp:", "min", "max"},
      {"clamp order", function() return f23:clamp(2, 1) end, "clamp:", "2", "1"},
      {"clamp string", function() return f23:clamp("a") end, "clamp:", "string"},
      {"clamp max string", function() return f23:clamp(0, {}) end, "clamp:", "table"},
      {"clamp self", function() return nn.clamp(5, 0, 1) end, "clamp:", "number"},
    }
  end)

  it("name both shapes in matmul errors", function()
    check_all{
      {"matmul inner", function() return nn.matmul(nn.zeros(64, 784), nn.zeros(256, 128)) end,
       "matmul:", "[64,784]", "[256,128]", "784", "256"},
      {"matmul vectors", function() return nn.matmul(nn.zeros(3), nn.zeros(4)) end, "matmul:", "[3]", "[4]"},
      {"matmul 2-D 1-D", function() return nn.zeros(2, 3):matmul(nn.zeros(2)) end, "matmul:", "[2,3]", "[2]"},
      {"matmul batch", function() return nn.matmul(nn.zeros(2, 3, 4), nn.zeros(3, 4, 5)) end,
       "matmul:", "[2,3,4]", "[3,4,5]"},
      {"matmul 0-dim", function() return nn.matmul(nn.tensor(1), nn.zeros(2)) end, "matmul:", "[]"},
      {"matmul bool", function() return nn.matmul(nn.tensor{true}, nn.tensor{true}) end, "matmul:", "bool"},
      {"matmul number", function() return nn.matmul(nn.zeros(2), 3) end, "matmul:", "number"},
      {"matmul nil", function() return nn.zeros(2):matmul() end, "matmul:", "no value"},
      {"mm 3-D", function() return nn.mm(nn.zeros(2, 2, 2), nn.zeros(2, 2)) end, "mm:", "[2,2,2]"},
      {"mm 1-D", function() return nn.zeros(3):mm(nn.zeros(3, 1)) end, "mm:", "[3]"},
      {"mm inner", function() return nn.mm(nn.zeros(2, 3), nn.zeros(4, 5)) end, "mm:", "3", "4"},
      {"outer 2-D", function() return nn.outer(nn.zeros(2, 2), nn.zeros(2)) end, "outer:", "[2,2]"},
      {"outer string", function() return nn.zeros(2):outer("x") end, "outer:", "string"},
    }
  end)
end)

describe("errors from conversion functions", function()
  it("name the problem", function()
    check_all{
      {"item multi", function() return nn.zeros(2, 3):item() end, "item:", "[2,3]", "6"},
      {"item empty", function() return nn.zeros(0):item() end, "item:", "0"},
      {"item non-tensor", function() return nn.item(5) end, "item:", "number"},
      {"totable non-tensor", function() return nn.totable("x") end, "totable:", "string"},
      {"clone non-tensor", function() return nn.clone({}) end, "clone:", "table"},
      {"copy_ shapes", function() return nn.zeros(2, 3):copy_(nn.zeros(4)) end, "copy_:", "[4]", "[2,3]"},
      {"copy_ bigger source", function() return nn.zeros(3):copy_(nn.zeros(2, 3)) end, "copy_:", "[2,3]", "[3]"},
      {"copy_ non-tensor", function() return nn.zeros(2):copy_({1, 2}) end, "copy_:", "table"},
      {"fill_ string", function() return nn.zeros(2):fill_("x") end, "fill_:", "string"},
      {"fill_ nil", function() return nn.zeros(2):fill_() end, "fill_:", "no value"},
      {"zero_ non-tensor", function() return nn.zero_(3) end, "zero_:", "number"},
      {"float non-tensor", function() return nn.float("x") end, "float:", "string"},
      {"long non-tensor", function() return nn.long(nil) end, "long:", "nil"},
      {"bool non-tensor", function() return nn.bool({}) end, "bool:", "table"},
      {"to non-tensor", function() return nn.to(1, "int64") end, "to:", "number"},
    }
  end)
end)

describe("errors from the module functions", function()
  it("name bad thread counts", function()
    check_all{
      {"threads zero", function() return nn.set_num_threads(0) end, "set_num_threads:", "0"},
      {"threads negative", function() return nn.set_num_threads(-2) end, "set_num_threads:", "-2"},
      {"threads string", function() return nn.set_num_threads("x") end, "set_num_threads:", "string"},
      {"threads huge", function() return nn.set_num_threads(1e6) end, "set_num_threads:", "1000000"},
    }
    assert.is_true(nn.get_num_threads() >= 1)
    assert.is_false(nn.is_tensor(5))
    assert.is_true(nn.is_tensor(f23))
  end)
end)

describe("closed tensors", function()
  it("raise instead of crashing", function()
    local t = nn.zeros(3)
    local alias = t
    do
      local c <close> = t
    end
    check_all{
      {"add closed", function() return alias + 1 end, "add:", "closed"},
      {"item closed", function() return alias:item() end, "item:", "closed"},
      {"view closed", function() return alias:view(3) end, "view:", "closed"},
      {"matmul closed", function() return nn.matmul(alias, alias) end, "matmul:", "closed"},
      {"cat closed", function() return nn.cat({alias}) end, "cat:"},
      {"copy_ closed", function() return nn.zeros(3):copy_(alias) end, "copy_:", "closed"},
    }
  end)
end)

describe("after errors", function()
  it("the runtime keeps working and holds no extra memory", function()
    collectgarbage()
    collectgarbage()
    local before = nn.memory_stats().live_bytes
    for _ = 1, 200 do
      pcall(nn.matmul, nn.zeros(64, 784), nn.zeros(256, 128))
      pcall(function() return nn.zeros(2, 3) + nn.zeros(4) end)
      pcall(nn.zeros, 1e13)
      pcall(nn.tensor, {{1, 2}, {3}})
      pcall(function() return nn.cat({nn.zeros(2, 3), nn.zeros(2, 4)}) end)
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(nn.memory_stats().live_bytes <= before)
    H.assert_values(nn.ones(2) + 1, {2, 2})
  end)
end)

describe("error positions", function()
  -- The error of fn (which must fail) and the line of this file it names.
  local function error_line(fn)
    local ok, e = pcall(fn)
    assert.is_false(ok)
    assert.is_nil(e:find("stdlib/nn/", 1, true), e)
    return tonumber(e:match("^[^\n]-errors_spec%.lua:(%d+): ")), e
  end

  it("name the user's line, never one inside the library", function()
    local ok, e = pcall(function() local t = nn.zeros(-1); return t end)
    assert.is_false(ok)
    assert.matches("^.*errors_spec%.lua:%d+: zeros: size %-1", e)
    local line = debug.getinfo(1, "l").currentline
    for i, case in ipairs{
      {function() local y = nn.Linear(3, 2)(f23:long()); return y end, "linear: "}, -- C error under a module
      {function() local y = nn.CrossEntropyLoss()(f23, nn.tensor{1, 5}:long()); return y end, "cross_entropy"},
      {function() local y = nn.transforms.RandomRotation(5)(f23); return y end, "RandomRotation: "},
      {function() local m = nn.Linear(0, 2); return m end, "Linear: "},            -- Lua error (args.lua)
      {function() local o = nn.optim.SGD({}, {lr = -1}); return o end, "SGD: "},  -- Lua error (optim/)
    } do
      local at, e2 = error_line(case[1])
      assert.are.equal(line + 1 + i, at, e2)
      assert.truthy(e2:find(case[2], 1, true), e2)
    end
  end)

  it("name the user's line for a C error raised through a layer's forward", function()
    local model = nn.Sequential{nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)}
    local line = debug.getinfo(1, "l").currentline
    local at, e = error_line(function() local y = model:forward(nn.zeros(2, 3):long()); return y end)
    assert.are.equal(line + 1, at, e)
    assert.matches("errors_spec%.lua:%d+: Sequential%[1%] %(Linear 3%->4%): linear: ", e)
    line = debug.getinfo(1, "l").currentline
    at, e = error_line(function() local y = nn.ReLU():forward("x"); return y end)
    assert.are.equal(line + 1, at, e)
  end)

  it("name the line of the user's own code running inside the library", function()
    local Net = nn.Module:extend("PositionNet")
    local line = debug.getinfo(1, "l").currentline
    function Net:forward(x) local y = nn.zeros(-1); return x + y end
    local at, e = error_line(function() local y = nn.Sequential{Net()}(nn.zeros(1)); return y end)
    assert.are.equal(line + 2, at, e) -- the container's error, at the call
    -- and inside it, the line of the forward
    assert.truthy(e:find("errors_spec.lua:" .. (line + 1) .. ": zeros: size -1", 1, true), e)
  end)

  it("have no position without a Lua caller outside the library", function()
    local co = coroutine.wrap(nn.zeros)
    local ok, e = pcall(co, -1)
    assert.is_false(ok)
    assert.matches("^zeros: size %-1", e)
  end)
end)

describe("unknown options", function()
  it("name the key and the known ones, and suggest the nearest for a typo", function()
    -- Lua (nn.args) and C (nnb_check_options) give the same form
    H.assert_error(function() nn.Linear(2, 3, {biass = false}) end,
                   "Linear: unknown option 'biass' (did you mean 'bias'? known: bias, bias_init, weight_init)")
    H.assert_error(function() nn.conv2d(nn.zeros(1, 1, 3, 3), nn.zeros(1, 1, 1, 1), {strides = 2}) end,
                   "conv2d: unknown option 'strides' (did you mean 'stride'? known: stride, padding")
    H.assert_error(function() nn.optim.SGD(nn.Linear(2, 3):parameters(), {lr = 0.1, momentun = 0.9}) end,
                   "SGD: unknown option 'momentun' (did you mean 'momentum'? known: dampening,")
    -- no suggestion for a key far from every known one
    H.assert_error(function() nn.zeros(2):std({foo = 1}) end, "std: unknown option 'foo' (known: unbiased, correction)")
    H.assert_error(function() nn.Linear(2, 3, {device = "cpu"}) end,
                   "Linear: unknown option 'device' (known: bias, bias_init, weight_init)")
  end)
end)
