-- Classic and inverted dropout on the notes' 4×4 example, and dropout in
-- expectation (000_7ab6c8be6403b5e4.txt Q1 (پ); COURSE.md §2.1).
--   nnlua scripts/course/dropout_arithmetic.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{name = "dropout_arithmetic", ids = {"S0-01", "S0-02"},
                          notes = "000_7ab6c8be6403b5e4.txt Q1 (پ)"}

-- The notes' layer output O and mask M (1 = the neuron is kept).
local O = nn.tensor{{1.6, -0.7, -0.2, 1.9}, {-2.3, 2.5, 2.5, -0.9}, {-0.5, 3.2, 3.7, -0.4}, {1.3, -0.4, -2.6, 1.2}}
local M = nn.tensor{{1, 0, 0, 1}, {0, 1, 1, 0}, {0, 1, 1, 0}, {1, 0, 0, 1}}
local notes_train = nn.tensor{{1.6, 0, 0, 1.9}, {0, 2.5, 2.5, 0}, {0, 3.2, 3.7, 0}, {1.3, 0, 0, 1.2}}
local notes_test = nn.tensor{{0.8, -0.35, -0.1, 0.95}, {-1.15, 1.25, 1.25, -0.45}, {-0.25, 1.6, 1.85, -0.2},
                             {0.65, -0.2, -1.3, 0.6}}

-- The notes' p is the probability of KEEPING a neuron (8 ones of 16);
-- nn.Dropout(q), like PyTorch, takes the probability of DROPPING it.
local p = M:sum():item() / M:numel()
local q = 1 - p

-- (a) By hand. Classic dropout: train O ⊙ M, test p·O (every neuron on,
-- scaled to its expected training value). Inverted: train O ⊙ M / p, test O.
local classic_train, classic_test = O * M, O * p
local inverted_train, inverted_test = O * M / p, O

local function maxdiff(a, b) return (a - b):abs():max():item() end
local function row_text(t, i)
  local cells = {}
  for j, v in ipairs(t[i]:totable()) do cells[j] = course.fmt(v) end
  return table.concat(cells, ", ")
end

-- (b) The layers, in eval mode on O and in train mode on 100,000 copies of
-- O (one tensor: the Monte Carlo of (c) uses the same draws).
local classic = nn.Dropout(q, {mode = "classic"})
local inverted = nn.Dropout(q)
classic:eval()
inverted:eval()
local classic_eval, inverted_eval = classic(O), inverted(O)
local copies = O:view(1, 4, 4):expand(100000, 4, 4):contiguous()
classic:train()
inverted:train()
local classic_draws, inverted_draws = classic(copies), inverted(copies)
-- Survivors (non-zero outputs): classic keeps them as they are, inverted
-- scales them by 1/p = 2. O has no zero entry, so a zero output was dropped.
local function survivor_error(draws, scale)
  local kept = draws:ne(0)
  return ((draws - copies * scale):abs() * kept):max():item(), kept:float():mean():item()
end
local classic_surv_err, classic_kept = survivor_error(classic_draws, 1)
local inverted_surv_err, inverted_kept = survivor_error(inverted_draws, 1 / p)

-- (c) E[a] for a = w1·x1 + w2·x2 with each input kept with probability p:
-- the four masks (both kept, only x1, only x2, none) weighted by their
-- probabilities p², p(1−p), (1−p)p, (1−p)².
local w1, w2, x1, x2 = 0.7, -1.3, 2.0, 0.5
local function expectation(pk)
  return pk * pk * (w1 * x1 + w2 * x2) + pk * (1 - pk) * (w1 * x1) + (1 - pk) * pk * (w2 * x2)
         + (1 - pk) * (1 - pk) * 0
end
local enumerated = {}
for _, pk in ipairs{0.5, 0.8} do enumerated[pk] = expectation(pk) end
-- Monte Carlo: the element-wise mean of the 100,000 training passes.
local classic_mc = maxdiff(classic_draws:mean(1), classic_test)
local inverted_mc = maxdiff(inverted_draws:mean(1), inverted_test)

local rows = {
  {"keep probability p (ones of M / 16)", p, 0.5, "the notes' p keeps a neuron"},
  {"nn.Dropout's drop probability q = 1 − p", q, "—", "PyTorch's p is the drop probability"},
}
for i = 1, 4 do
  rows[#rows + 1] = {("classic train O ⊙ M, row %d"):format(i), row_text(classic_train, i), row_text(notes_train, i)}
end
for i = 1, 4 do
  rows[#rows + 1] = {("classic test p·O, row %d"):format(i), row_text(classic_test, i), row_text(notes_test, i)}
end
for i = 1, 4 do
  rows[#rows + 1] = {("inverted train O ⊙ M / p, row %d"):format(i), row_text(inverted_train, i), "—",
                     "inverted test output = O"}
end
local classic_eval_err, inverted_eval_err = maxdiff(classic_eval, classic_test), maxdiff(inverted_eval, O)
local by_hand_train_err, by_hand_test_err = maxdiff(classic_train, notes_train), maxdiff(classic_test, notes_test)
local ea = {(w1 * x1 + w2 * x2) * 0.5, (w1 * x1 + w2 * x2) * 0.8}
for _, r in ipairs{
  {"max |O ⊙ M − notes' train|", by_hand_train_err, "—", "exact"},
  {"max |p·O − notes' test|", by_hand_test_err, "—", "< 1e-6"},
  {"Dropout classic, eval: max |out − p·O|", classic_eval_err, "p·O", "< 1e-6"},
  {"Dropout classic, train: max |survivor − O|", classic_surv_err, "survivors unchanged",
   ("kept %.3f of 1.6M"):format(classic_kept)},
  {"Dropout inverted, train: max |survivor − 2·O|", inverted_surv_err, "—", ("kept %.3f"):format(inverted_kept)},
  {"Dropout inverted, eval: max |out − O|", inverted_eval_err, "—", "the identity"},
  {"E[a], p = 0.5, four masks", enumerated[0.5], ea[1], "p(w1x1 + w2x2)"},
  {"E[a], p = 0.8, four masks", enumerated[0.8], ea[2], "p(w1x1 + w2x2)"},
  {"Monte Carlo classic: max |mean − p·O|", classic_mc, "E = p·O", "100,000 passes; < 0.03"},
  {"Monte Carlo inverted: max |mean − O|", inverted_mc, "—", "4× the variance; < 0.06"},
} do rows[#rows + 1] = r end
course.table(rows)

-- Five 4×4 tiles side by side on one colour scale, with their values
-- (+ 0 turns the -0 of a dropped negative entry into 0).
local tiles = nn.cat({O, M, classic_train + 0, classic_test, inverted_train + 0}, 2)
local columns = {}
for _, name in ipairs{"O", "mask M", "classic train", "classic test", "inverted train"} do
  for j = 1, 4 do columns[#columns + 1] = j == 1 and name or "" end
end
nn.plot.heatmap(tiles, course.plot_path(opts, "dropout.png"), {
  row_labels = {"1", "2", "3", "4"}, col_labels = columns, xlabel = "column (four per tile)", ylabel = "row",
  title = "000_7ab6c8be6403b5e4.txt Q1 (پ): dropout with keep probability p = 0.5"})

course.verdict("S0-01", by_hand_train_err == 0 and by_hand_test_err < 1e-6 and classic_eval_err < 1e-6
               and classic_surv_err < 1e-6 and inverted_surv_err < 1e-6 and inverted_eval_err < 1e-6,
  "O⊙M vs notes max diff %g (== 0); p·O vs notes %.2g < 1e-6; classic eval vs p·O %.2g, classic train " ..
  "survivors vs O %.2g; inverted train survivors vs 2·O %.2g, inverted eval vs O %.2g (all < 1e-6)",
  by_hand_train_err, by_hand_test_err, classic_eval_err, classic_surv_err, inverted_surv_err, inverted_eval_err)
local e5, e8 = math.abs(enumerated[0.5] - ea[1]), math.abs(enumerated[0.8] - ea[2])
course.verdict("S0-02", e5 < 1e-6 and e8 < 1e-6 and classic_mc < 0.03 and inverted_mc < 0.06,
  "E[a] by the four masks = p(w1x1+w2x2): p=0.5 %.4g vs %.4g, p=0.8 %.4g vs %.4g (diff < 1e-6); Monte Carlo " ..
  "max |mean − p·O| %.4f < 0.03 (classic), max |mean − O| %.4f < 0.06 (inverted)",
  enumerated[0.5], ea[1], enumerated[0.8], ea[2], classic_mc, inverted_mc)
course.finish()
