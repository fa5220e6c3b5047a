-- Convolution arithmetic: edge kernels, parameter counts against a dense
-- layer, the notes' CNN table, stride, and the backward formulas
-- (003_2d572698e7403bd6.txt Q2.2, Q2.7, Q4.2 (د).1, (د).4, Q5; COURSE.md §2.3).
--   nnlua scripts/course/conv_arithmetic.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{name = "conv_arithmetic", ids = {"S3-06", "S3-09", "S3-16", "S3-18", "S3-20"},
                          notes = "003_2d572698e7403bd6.txt Q2.2, Q2.7, Q4.2 (د).1, (د).4, Q5"}

local function maxdiff(a, b) return (a - b):abs():max():item() end
local function params(m)
  local n = 0
  for _, p in ipairs(m:parameters()) do n = n + p:numel() end
  return n
end
local function shape_text(t) return table.concat(t.shape, "×", 2) end -- without the batch dim

-- ---- (a) S3-06: edge kernels ----
-- A: columns 1–3 bright (10), 4–6 dark (0); B: its mirror.
local A = nn.cat({nn.full({6, 3}, 10.0), nn.zeros(6, 3)}, 2)
local B = nn.cat({nn.zeros(6, 3), nn.full({6, 3}, 10.0)}, 2)
local Kv = nn.tensor{{1, 0, -1}, {1, 0, -1}, {1, 0, -1}} -- responds to vertical edges
local Kh = nn.tensor{{1, 1, 1}, {0, 0, 0}, {-1, -1, -1}} -- responds to horizontal edges
local edges = nn.Conv2d(1, 2, 3, {bias = false})
nn.no_grad(function() edges.weight:copy_(nn.stack{Kv, Kh}:view(2, 1, 3, 3)) end)
-- Conv2d computes a cross-correlation (the kernel is not flipped), as the notes and every library.
local out = nn.no_grad(function() return edges(nn.stack{A, B, A:t()}:view(3, 1, 6, 6)) end)
local A_Kv, A_Kh, B_Kv, B_Kh, At_Kh = out[1][1], out[1][2], out[2][1], out[2][2], out[3][2]
local notes_A_Kv = nn.tensor{0, 30, 30, 0}:view(1, 4):expand(4, 4)
local edge_errors = {maxdiff(A_Kv, notes_A_Kv), maxdiff(B_Kv, -notes_A_Kv), maxdiff(At_Kh, A_Kv:t()),
                     A_Kh:abs():max():item()}
local function rows_of(t)
  local r = {}
  for i, row in ipairs(t:totable()) do
    local cells = {}
    for j, v in ipairs(row) do cells[j] = course.fmt(v + 0) end
    r[i] = table.concat(cells, " ")
  end
  return table.concat(r, " / ")
end

-- ---- (b) S3-09: a conv layer against a dense one ----
local conv9 = nn.Conv2d(1, 32, 9)
local x128 = nn.randn(1, 1, 128, 128):requires_grad_(true)
local y9 = conv9(x128)
local conv9_params = params(conv9)
local n_in, n_out = 128 * 128, y9:numel() -- 16,384 inputs, 32·120·120 outputs
local dense_params = n_in * n_out + n_out  -- computed, not built: 30 GB of float32
-- Local connectivity: one output element depends on a 9×9 patch only.
y9[1][5][60]:narrow(1, 60, 1):sum():backward()
local nonzero = x128.grad:count_nonzero():item()

-- ---- (c) S3-16: the notes' network for 128×128×1 inputs and 3 classes ----
local net = nn.Sequential{nn.Conv2d(1, 32, 9), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(64, 64, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(9216, 3)}
net:summary{1, 1, 128, 128}
print()
-- The notes' table: {layer index in net, name, output, weights as the notes count, biases}.
local notes_table = {
  {1, "Conv-9-32", "32×120×120", "9·9·32", 9 * 9 * 32, 32},
  {3, "Pool-2", "32×60×60", "0", 0, 0},
  {4, "Conv-5-64", "64×56×56", "5·5·64", 5 * 5 * 64, 64},
  {6, "Pool-2", "64×28×28", "0", 0, 0},
  {7, "Conv-5-64", "64×24×24", "5·5·64", 5 * 5 * 64, 64},
  {9, "Pool-2", "64×12×12", "0", 0, 0},
  {11, "FC-3", "3", "3·12·12·64", 3 * 12 * 12 * 64, 3},
}
local corrected = {[1] = 2624, [4] = 51264, [7] = 102464, [11] = 27651}
local shapes, counts = {}, {}
nn.no_grad(function()
  local h = nn.zeros(1, 1, 128, 128)
  for i = 1, #net do
    h = net[i](h)
    shapes[i], counts[i] = shape_text(h), params(net[i])
  end
end)
local table16, shapes_ok, counts_ok, notes_total = {}, true, true, 0
for _, row in ipairs(notes_table) do
  local i, name, notes_shape, notes_w, notes_wn, notes_b = table.unpack(row)
  notes_total = notes_total + notes_wn + notes_b
  shapes_ok = shapes_ok and shapes[i] == notes_shape
  counts_ok = counts_ok and counts[i] == (corrected[i] or 0)
  local wrong = notes_wn + notes_b ~= counts[i]
  table16[#table16 + 1] = {("%s: output, parameters"):format(name), ("%s, %d"):format(shapes[i], counts[i]),
    ("%s, %s + %d = %d"):format(notes_shape, notes_w, notes_b, notes_wn + notes_b),
    wrong and ("notes error: %d·%d·%d·%d = %d weights (the input channels left out)"):format(
      net[i].weight:size(3), net[i].weight:size(4), net[i].weight:size(2), net[i].weight:size(1),
      net[i].weight:numel()) or "—"}
end
local total = params(net)
table16[#table16 + 1] = {"total parameters", total, notes_total, "notes error: the 5×5 weights miss the input channels"}
counts_ok = counts_ok and total == 184003

-- ---- (d) S3-18: stride ----
local batch = nn.randn(64, 1, 128, 128)
local strides = {}
for _, s in ipairs{1, 2, 3} do
  local conv = nn.Conv2d(1, 8, 3, {stride = s})
  local y = nn.no_grad(function() return conv(batch) end)
  -- CPU seconds per forward pass, the median of 5 samples of 4 passes each
  -- (os.clock: the work done, less sensitive than the wall clock to other
  -- jobs on the machine; a pass takes only milliseconds).
  local times = {}
  for k = 1, 5 do
    local t0 = os.clock()
    for _ = 1, 4 do nn.no_grad(function() return conv(batch) end) end
    times[k] = (os.clock() - t0) / 4
  end
  table.sort(times)
  strides[s] = {side = y:size(3), params = params(conv), bytes = y:numel() * 4, time = times[3]}
end

-- ---- (e) S3-20: the backward formulas of a convolution ----
local S = 2
local x = nn.randn(2, 2, 7, 7):requires_grad_(true)
local conv = nn.Conv2d(2, 3, 3, {stride = S, bias = false})
local O = conv(x)                                      -- [2,3,3,3]
local G = nn.randn(2, 3, 3, 3)
local E = (O * G):sum()                                -- so ∂E/∂O = G
E:backward()
local xt, wt, gt, autograd_dx = x:detach():totable(), conv.weight:detach():totable(), G:totable(), x.grad:totable()
-- The notes' weight gradient, 0-based: ∂E/∂w(f,c,k,l) = Σ_b Σ_i Σ_j x(b,c,S·i+k,S·j+l)·∂E/∂O(b,f,i,j).
local dw = nn.zeros(3, 2, 3, 3)
local dw_t = dw:totable()
for f = 0, 2 do for c = 0, 1 do for k = 0, 2 do for l = 0, 2 do
  local sum = 0
  for b = 0, 1 do for i = 0, 2 do for j = 0, 2 do
    sum = sum + xt[b + 1][c + 1][S * i + k + 1][S * j + l + 1] * gt[b + 1][f + 1][i + 1][j + 1]
  end end end
  dw_t[f + 1][c + 1][k + 1][l + 1] = sum
end end end end
-- The input gradient: ∂E/∂x(b,c,y,z) = Σ_f Σ_i Σ_j w(f,c,y−S·i,z−S·j)·∂E/∂O(b,f,i,j) over the
-- (i, j) whose window covers (y, z). The notes write w(f,c,y,z) (the stride offsets dropped),
-- which only names a weight where (y, z) is itself a kernel index.
local dx_t, literal_gap = {}, 0
for b = 0, 1 do
  dx_t[b + 1] = {}
  for c = 0, 1 do
    dx_t[b + 1][c + 1] = {}
    for y = 0, 6 do
      dx_t[b + 1][c + 1][y + 1] = {}
      for z = 0, 6 do
        local sum, literal = 0, 0
        for f = 0, 2 do for i = 0, 2 do for j = 0, 2 do
          local k, l = y - S * i, z - S * j
          if k >= 0 and k < 3 and l >= 0 and l < 3 then
            sum = sum + wt[f + 1][c + 1][k + 1][l + 1] * gt[b + 1][f + 1][i + 1][j + 1]
          end
          if y < 3 and z < 3 then literal = literal + wt[f + 1][c + 1][y + 1][z + 1] * gt[b + 1][f + 1][i + 1][j + 1] end
        end end end
        dx_t[b + 1][c + 1][y + 1][z + 1] = sum
        if y < 3 and z < 3 then
          literal_gap = math.max(literal_gap, math.abs(literal - autograd_dx[b + 1][c + 1][y + 1][z + 1]))
        end
      end
    end
  end
end
local dw_gap = maxdiff(nn.tensor(dw_t), conv.weight.grad)
local dx_gap = maxdiff(nn.tensor(dx_t), x.grad)

-- ---- the table ----
local rows = {
  {"A ∗ Kv", rows_of(A_Kv), "rows 0 30 30 0", "vertical edge: bright to dark"},
  {"B ∗ Kv", rows_of(B_Kv), "rows 0 −30 −30 0", "the mirror: the sign flips"},
  {"max |Kh on Aᵀ − (A ∗ Kv)ᵀ|", edge_errors[3], "—", "Kh finds the transposed edge"},
  {"max |A ∗ Kh|", edge_errors[4], "—", "no horizontal edge in A"},
  {"Conv2d(1, 32, 9) on 1×128×128: output", shape_text(y9), "32×120×120", "—"},
  {"… parameters", conv9_params, "9·9·1·32 + 32 = 2624", "shared weights"},
  {"dense layer, same sizes: parameters", dense_params, "16,384 × 460,800 + 460,800", "computed, not built (30 GB)"},
  {"dense / conv parameters", dense_params / conv9_params, "far fewer for conv", "> 10⁶"},
  {"inputs one output element depends on", nonzero, "a local patch", "9 × 9 = 81"},
}
for _, r in ipairs(table16) do rows[#rows + 1] = r end
for _, s in ipairs{1, 2, 3} do
  local r = strides[s]
  rows[#rows + 1] = {("stride %d: side, parameters, output MB, forward CPU s"):format(s),
    ("%d, %d, %.1f, %.4f"):format(r.side, r.params, r.bytes / 2 ^ 20, r.time),
    ("⌊(128 − 3)/%d⌋ + 1 = %d"):format(s, (128 - 3) // s + 1), "larger stride: smaller, less memory, faster"}
end
for _, r in ipairs{
  {"max |loop ∂E/∂w − autograd|", dw_gap, "Σ_b Σ_i Σ_j x(b,c,S·i+k,S·j+l)·∂E/∂O", "correct"},
  {"max |loop ∂E/∂x − autograd|", dx_gap, "—", "w(f, c, y − S·i, z − S·j)"},
  {"max |notes' ∂E/∂x − autograd| (y, z < 3)", literal_gap, "Σ w(f,c′,k′,l′)·∂E/∂O(b′,f,i,j)",
   "notes error: the offsets S·i, S·j are dropped"},
} do rows[#rows + 1] = r end
course.table(rows)

-- ---- picture: the images, kernels and outputs, each enlarged to 36×36 ----
local function tile(t, k) return nn.Upsample{scale_factor = k}(t:reshape(1, 1, t:size(1), t:size(2))) end
local tiles = nn.cat({tile(A, 6), tile(B, 6), tile(Kv, 12), tile(Kh, 12),
                      tile(A_Kv, 9), tile(A_Kh, 9), tile(B_Kv, 9), tile(B_Kh, 9)}, 1)
nn.plot.images(tiles, course.plot_path(opts, "edges.png"), {
  nrow = 4, labels = {1, 2, 3, 4, 5, 6, 7, 8},
  class_names = {"A: 10 | 0", "B: 0 | 10", "Kv: cols 1, 0, -1", "Kh: rows 1, 0, -1",
                 "A*Kv: 0 30 30 0", "A*Kh: all 0", "B*Kv: 0 -30 -30 0", "B*Kh: all 0"},
  title = "003_2d572698e7403bd6.txt Q2.2: edges"})

-- ---- verdicts ----
course.verdict("S3-06", edge_errors[1] == 0 and edge_errors[2] == 0 and edge_errors[3] == 0 and edge_errors[4] == 0,
  "A∗Kv vs notes max diff %g, B∗Kv vs notes %g (exact); Kh on Aᵀ vs (A∗Kv)ᵀ %g; max |A∗Kh| = %g",
  edge_errors[1], edge_errors[2], edge_errors[3], edge_errors[4])
course.verdict("S3-09", conv9_params == 2624 and dense_params == 7550208000 and shape_text(y9) == "32×120×120"
               and dense_params / conv9_params > 1e6 and nonzero == 81,
  "output %s, conv %d parameters (2624), dense %d (7550208000), ratio %.3g > 1e6; %d non-zero input-gradient " ..
  "entries (81)", shape_text(y9), conv9_params, dense_params, dense_params / conv9_params, nonzero)
course.verdict("S3-16", shapes_ok and counts_ok,
  "every output shape equals the notes' (%s); parameters %d, %d, %d, %d, total %d (2624, 51264, 102464, 27651, " ..
  "184003); notes error: the notes' counts add up to %d", shapes_ok and "yes" or "no", counts[1], counts[4],
  counts[7], counts[11], total, notes_total)
local s1, s2, s3 = strides[1], strides[2], strides[3]
course.verdict("S3-18", s1.side == 126 and s2.side == 63 and s3.side == 42 and s1.params == 80 and s2.params == 80
               and s3.params == 80 and s1.bytes == 4 * s2.bytes and s2.time < s1.time,
  "sides %d, %d, %d (126, 63, 42); %d, %d, %d parameters (80); output bytes s=1 %d = 4 × %d (s=2); median " ..
  "forward CPU time s=2 %.4f s < s=1 %.4f s", s1.side, s2.side, s3.side, s1.params, s2.params, s3.params,
  s1.bytes, s2.bytes, s2.time, s1.time)
course.verdict("S3-20", dw_gap < 1e-4 and dx_gap < 1e-4 and literal_gap > 1e-2,
  "loop weight gradient vs autograd %.2g < 1e-4; corrected input gradient %.2g < 1e-4; notes error: the " ..
  "literal form deviates by %.3g > 1e-2", dw_gap, dx_gap, literal_gap)
course.finish()
