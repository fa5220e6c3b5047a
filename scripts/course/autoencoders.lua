-- Autoencoders (003 Q3): a sigmoid output cannot rebuild values 0..15
-- (Q3.1), test error close to training error means no overfitting (Q3.2),
-- and 2000 features rebuilt from 20 means they are strongly correlated (Q3.4).
--   nnlua scripts/course/autoencoders.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{
  name = "autoencoders", ids = {"S3-11", "S3-12"},
  notes = "003_2d572698e7403bd6.txt Q3.1, Q3.2, Q3.4",
}
local n_images, ae_epochs = 20000, 5
local n_rank, rank_epochs = 1000, 100
if opts.quick then n_images, ae_epochs, n_rank, rank_epochs = 2000, 1, 300, 20 end

-- (a) Data with integer values 0..15 like the notes' (scikit-learn's 8x8
-- digits hold 0..16): Fashion-MNIST pooled to 7x7 and quantised.
local pool = nn.AvgPool2d(4)
local function levels(split, n)
  local x = course.fashion(split, n)
  return (pool(x) * 15):round():reshape(x:size(1), 49)
end
local train_v, test_v = levels("train", n_images), levels("test", nil)

-- Each variant: the output activation and the scale the targets are given
-- on. Q3.1: a sigmoid's outputs lie in (0, 1), so (i) cannot reach targets
-- up to 15; (ii) and (iii) are the notes' two fixes.
local variants = {
  {key = "i", name = "(i) sigmoid output, targets 0..15", out = nn.Sigmoid, scale = 1},
  {key = "ii", name = "(ii) ReLU output, targets 0..15", out = nn.ReLU, scale = 1},
  {key = "iii", name = "(iii) sigmoid output, targets v/15", out = nn.Sigmoid, scale = 15},
}
local mse = nn.MSELoss()
for _, v in ipairs(variants) do
  local x_train, x_test = train_v / v.scale, test_v / v.scale
  v.model = nn.Sequential{nn.Linear(49, 16), nn.ReLU(), nn.Linear(16, 49), v.out()}
  local h = nn.fit(v.model, {
    train = nn.data.tensor_dataset(x_train, x_train), val = nn.data.tensor_dataset(x_test, x_test),
    batch_size = 64, loss = mse, optimizer = nn.optim.Adam(v.model:parameters(), {lr = 1e-3}),
    epochs = ae_epochs, verbose = 0,
  })
  -- Every MSE on the 0..15 scale: (iii)'s error times 15^2.
  local s2 = v.scale * v.scale
  v.curve, v.val_curve = {}, {}
  for e = 1, ae_epochs do v.curve[e], v.val_curve[e] = h.loss[e] * s2, h.val_loss[e] * s2 end
  -- Q3.2: the final model's error on the training and on the test images.
  v.train_mse = nn.evaluate(v.model, nn.data.tensor_dataset(x_train, x_train), {loss = mse}).loss * s2
  v.test_mse = nn.evaluate(v.model, nn.data.tensor_dataset(x_test, x_test), {loss = mse}).loss * s2
  v.recon = nn.no_grad(function() v.model:eval() return v.model(x_test:narrow(1, 1, 8)) * v.scale end)
  v.max_out = nn.no_grad(function() return v.model(x_test):max():item() end) * v.scale
end
local vi, vii, viii = variants[1], variants[2], variants[3]
local target_max = test_v:max():item()

-- (b) 2000 features from 20: X = Z·A + small noise has rank 20; randn has
-- full rank. A linear autoencoder 2000-20-2000 can at best keep the top 20
-- principal directions (PCA), so it rebuilds the first and not the second.
local function relative_error(x)
  local model = nn.Sequential{nn.Linear(2000, 20), nn.Linear(20, 2000)}
  nn.fit(model, {train = nn.data.tensor_dataset(x, x), batch_size = 100, loss = mse,
                 optimizer = nn.optim.Adam(model:parameters(), {lr = 1e-3}), epochs = rank_epochs, verbose = 0})
  local xhat = nn.no_grad(function() return model(x) end)
  return ((x - xhat) ^ 2):sum():item() / (x ^ 2):sum():item()
end
local z, a = nn.randn(n_rank, 20), nn.randn(20, 2000) / math.sqrt(20)
local err_low = relative_error(z:matmul(a) + nn.randn(n_rank, 2000) * 0.01)
local err_full = relative_error(nn.randn(n_rank, 2000))

local rows = {
  {"targets: largest test value", target_max, "values 0..15", "7x7 pooled Fashion-MNIST, round(15·x)"},
}
for _, v in ipairs(variants) do
  rows[#rows + 1] = {v.name .. ": largest output", v.max_out, v.key == "i" and "sigmoid cannot exceed 1" or "—", ""}
end
for _, v in ipairs(variants) do
  rows[#rows + 1] = {v.name .. ": train / test MSE", ("%s / %s"):format(course.fmt(v.train_mse), course.fmt(v.test_mse)),
                     v.key == "i" and "large: wrong output range" or "fix: ReLU output or data scaled to [0,1]",
                     "MSE on the 0..15 scale"}
end
rows[#rows + 1] = {"(ii) test / train MSE", vii.test_mse / vii.train_mse, "close to 1: no overfitting (Q3.2)", ""}
rows[#rows + 1] = {"rank-20 data: relative error", err_low, "good rebuild: correlated features", "‖X − X̂‖² / ‖X‖²"}
rows[#rows + 1] = {"full-rank data: relative error", err_full, "—", "20 of 2000 directions kept"}
course.table(rows)

local gap = math.abs(vii.test_mse - vii.train_mse) / vii.train_mse
local below_one = vi.max_out <= 1
if opts.quick then
  course.verdict("S3-11", below_one, "[quick] every output of (i) <= 1 (largest %.4f) while targets reach %g",
                 vi.max_out, target_max)
else
  course.verdict("S3-11", below_one and target_max >= 15 and vi.test_mse > 5 * vii.test_mse and vi.test_mse > 5 * viii.test_mse and gap < 0.1,
    "outputs of (i) <= 1 (largest %.4f), targets reach %g; test MSE (i) %.3f > 5 x (ii) %.3f and > 5 x (iii) %.3f; " ..
    "(ii) test vs train MSE differ by %.1f%% < 10%%", vi.max_out, target_max, vi.test_mse, vii.test_mse, viii.test_mse, 100 * gap)
end
course.verdict("S3-12", err_low < 0.1 and err_full > 0.9,
               "relative error %.4f < 0.1 on rank-20 data, %.4f > 0.9 on full-rank data%s", err_low, err_full,
               opts.quick and (" [quick: %d samples, %d epochs]"):format(n_rank, rank_epochs) or "")

-- Rows of 7x7 tiles: the 8 inputs, then each variant's reconstructions.
local tiles = nn.cat({test_v:narrow(1, 1, 8), vi.recon, vii.recon, viii.recon}, 1):reshape(32, 1, 7, 7)
local row_of = {}
for i = 1, 32 do row_of[i] = (i - 1) // 8 + 1 end
nn.plot.images(tiles, course.plot_path(opts, "reconstructions.png"), {
  nrow = 8, range = {0, 15}, labels = row_of, class_names = {"input", "(i) sigmoid", "(ii) ReLU", "(iii) v/15"},
  title = "003 Q3.1: 7x7 inputs (0..15), rebuilt"})
local series = {}
for k, v in ipairs(variants) do
  series[#series + 1] = {name = "(" .. v.key .. ") train", y = v.curve, color = k}
  series[#series + 1] = {name = "(" .. v.key .. ") test", y = v.val_curve, color = k, style = "dashed"}
end
nn.plot.lines(series, course.plot_path(opts, "ae_loss.png"), {
  title = "003 Q3.1-Q3.2: autoencoder 49-16-49, MSE on the 0..15 scale", xlabel = "epoch", ylabel = "MSE",
  yscale = "log"})
course.finish()
