-- The GEMM recorder behind bench/epoch.lua's ceiling (runtime/gemm.c,
-- bindings/gemm.c): private nn.core functions that record the GEMM calls
-- of a training step and replay them with raw cblas_sgemm.
local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"

-- The recorded calls of fn() as "m n k ta tb lda ldb ldc beta" strings.
local function record(fn)
  core._gemm_record(true)
  local ok, err = pcall(fn)
  core._gemm_record(false)
  assert(ok, err)
  local out = {}
  for i, c in ipairs(core._gemm_calls()) do
    assert.is_true(c.row_major)
    assert.are.equal(1, c.alpha)
    out[i] = ("%d %d %d %s %s %d %d %d %g"):format(c.m, c.n, c.k, c.ta and "T" or "N", c.tb and "T" or "N",
                                                  c.lda, c.ldb, c.ldc, c.beta)
  end
  return out
end

describe("GEMM recording", function()
  it("is off until started and after it stops", function()
    nn.randn(8, 8):matmul(nn.randn(8, 8))
    assert.are.same({}, core._gemm_calls())
    local calls = record(function() nn.randn(4, 5):matmul(nn.randn(5, 6)) end)
    assert.are.same({"4 6 5 N N 5 6 6 0"}, calls)
    nn.randn(8, 8):matmul(nn.randn(8, 8))
    assert.are.equal(1, #core._gemm_calls())
  end)

  it("starts a new list each time and sees transposed views", function()
    record(function() nn.randn(4, 5):matmul(nn.randn(5, 6)) end)
    assert.are.same({"4 6 5 T N 4 6 6 0"}, record(function() nn.randn(5, 4):t():matmul(nn.randn(5, 6)) end))
  end)

  it("records a Linear layer's forward, input and weight gradients", function()
    local x = nn.randn(64, 784):requires_grad_()
    local layer = nn.Linear(784, 256)
    assert.are.same({
      "64 256 784 N T 784 784 256 1",  -- y = x W^T (+ b, the GEMM's start)
      "64 784 256 N N 256 784 784 0",  -- gx = g W: x.grad is new, written
      "256 784 64 T N 256 784 784 0",  -- gW = g^T x: so is W.grad
    }, record(function() layer(x):sum():backward() end))
    assert.are.same({
      "64 256 784 N T 784 784 256 1",
      "64 784 256 N N 256 784 784 1",  -- gx += g W: into the existing x.grad
      "256 784 64 T N 256 784 784 1",  -- gW += g^T x
    }, record(function() layer(x):sum():backward() end))
  end)

  it("records oneDNN's convolutions as their im2col GEMMs over the batch", function()
    local x = nn.randn(8, 3, 10, 10):requires_grad_()
    local w = nn.randn(4, 3, 3, 3):requires_grad_()
    -- K = 3*3*3 = 27, N*P = 8*10*10 = 800
    assert.are.same({
      "4 800 27 N N 27 800 800 0",   -- out = w x cols
      "27 800 4 T N 27 800 800 0",   -- cols = w^T x gout (then folded into gx)
      "4 27 800 N T 800 800 27 1",   -- gw += gout x cols^T
    }, record(function() nn.conv2d(x, w, nil, {padding = 1}):sum():backward() end))
    -- groups: one GEMM per group (16 channels a group: oneDNN's), stride 2
    local xg, wg = nn.randn(2, 32, 8, 8), nn.randn(6, 16, 3, 3):requires_grad_()
    assert.are.same({
      "3 32 144 N N 144 32 32 0", "3 32 144 N N 144 32 32 0",
      "3 144 32 N T 32 32 144 1", "3 144 32 N T 32 32 144 1",
    }, record(function() nn.conv2d(xg, wg, nil, {stride = 2, padding = 1, groups = 2}):sum():backward() end))
  end)

  it("replays a list at a thread count and returns the seconds", function()
    local calls = core._gemm_calls()
    assert.is_true(#calls > 0)
    for _, threads in ipairs{1, 2} do
      local s = core._gemm_replay(calls, threads, 3)
      assert.is_true(s > 0 and s < 10)
    end
    assert.are.equal(1, nn.get_num_threads())
    assert.are.equal(0, core._gemm_replay({}, 1, 1) * 0)
    -- a call as the user spells it, transposes and padded leading dims included
    local c = {m = 3, n = 2, k = 4, ta = true, tb = false, lda = 5, ldb = 6, ldc = 7, alpha = 0.5, beta = 1,
               row_major = false}
    assert.is_true(core._gemm_replay({c}, 1, 2) >= 0)
  end)

  it("checks its arguments", function()
    local ok = {m = 2, n = 2, k = 2, ta = false, tb = false, lda = 2, ldb = 2, ldc = 2, alpha = 1, beta = 0,
                row_major = true}
    local function with(key, value)
      local c = {}
      for k, v in pairs(ok) do c[k] = v end
      c[key] = value
      return {ok, c}
    end
    H.assert_error(function() core._gemm_record(1) end, "_gemm_record: on must be a boolean, got number")
    H.assert_error(function() core._gemm_replay(nil, 1, 1) end, "_gemm_replay: calls must be a list of GEMM calls, got nil")
    H.assert_error(function() core._gemm_replay({ok, 3}, 1, 1) end, "_gemm_replay: call 2 must be a table, got number")
    H.assert_error(function() core._gemm_replay(with("m", nil), 1, 1) end,
                   "_gemm_replay: call 2: m must be an integer in 0..2147483647, got nil")
    H.assert_error(function() core._gemm_replay(with("k", -1), 1, 1) end, "call 2: k must be an integer")
    H.assert_error(function() core._gemm_replay(with("ta", 0), 1, 1) end, "call 2: ta must be a boolean, got number")
    H.assert_error(function() core._gemm_replay(with("beta", "x"), 1, 1) end, "call 2: beta must be a number, got string")
    H.assert_error(function() core._gemm_replay(with("ldc", 1), 1, 1) end,
                   "_gemm_replay: call 2: a leading dim is too small for its matrix (m=2 n=2 k=2 lda=2 ldb=2 ldc=1)")
    H.assert_error(function() core._gemm_replay({ok}, 0, 1) end, "_gemm_replay: threads must be in 1..1024, got 0")
    H.assert_error(function() core._gemm_replay({ok}, 1, 0) end, "_gemm_replay: reps must be >= 1, got 0")
  end)
end)
