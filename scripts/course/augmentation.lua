-- The augmentation family (003 Q4.2 (ج)): flip, rotation, crop, Gaussian
-- noise and scaling make new training images, and covering conditions the
-- training set lacks (here: rotated garments) makes the network more robust.
--   nnlua scripts/course/augmentation.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local T = nn.transforms
local opts = course.start{
  name = "augmentation", ids = {"S3-15"},
  notes = "003_2d572698e7403bd6.txt Q4.2 (ج)",
}
local n_train, epochs, n_seeds = 10000, 5, 3
if opts.quick then n_train, epochs, n_seeds = 2000, 1, 1 end

-- (a) Each transform on the first 64 training images. The random ones
-- draw per sample from nn.manual_seed's generator: reproducible.
local batch = course.fashion("train", 64)
local transforms = {
  {name = "RandomHorizontalFlip(0.5)", t = T.RandomHorizontalFlip(0.5)},
  {name = "RandomRotation(15)", t = T.RandomRotation(15)},
  {name = "RandomCrop(28, padding 4)", t = T.RandomCrop(28, {padding = 4})},
  {name = "GaussianNoise(0.1)", t = T.GaussianNoise(0.1)},
  {name = "RandomScale({0.8, 1.2})", t = T.RandomScale({0.8, 1.2})},
}
local all = {}
for i, tr in ipairs(transforms) do all[i] = tr.t end
transforms[#transforms + 1] = {name = "Compose of all five", t = T.Compose(all)}

-- The share of the 64 images that a transform changed (any pixel).
local function changed_share(out)
  local diff = (out - batch):abs():reshape(64, 784):max(2)
  return diff:gt(1e-6):sum():item() / 64
end
local rows, shapes_ok, repro_ok, seeds_differ = {}, true, true, true
for _, tr in ipairs(transforms) do
  nn.manual_seed(opts.seed)
  tr.out = tr.t(batch)
  nn.manual_seed(opts.seed)
  local again = tr.t(batch)
  nn.manual_seed(opts.seed + 1)
  local other = tr.t(batch)
  tr.share = changed_share(tr.out)
  local shape = table.concat(tr.out.shape, "x")
  tr.same = tr.out:eq(again):all():item()
  tr.differs = not tr.out:eq(other):all():item()
  shapes_ok = shapes_ok and shape == "64x1x28x28"
  repro_ok, seeds_differ = repro_ok and tr.same, seeds_differ and tr.differs
  rows[#rows + 1] = {tr.name .. ": images changed", ("%d%%"):format(math.floor(100 * tr.share + 0.5)), "new training images",
                     ("shape %s; same seed %s, another seed %s"):format(shape, tr.same and "identical" or "DIFFERENT",
                                                                  tr.differs and "different" or "IDENTICAL")}
end
local flip_share = transforms[1].share
local most_change = true
for i = 2, 5 do most_change = most_change and transforms[i].share >= 0.9 end

-- (b) Robustness: an MLP trained on upright images, without and with
-- rotations and shifts drawn per batch by the DataLoader, tested on
-- upright and on rotated test images.
local test_x, test_y = course.fashion("test", 2000)
nn.manual_seed(opts.seed) -- one rotated test set, the same for both models
local rotated_x = T.RandomRotation(20)(test_x)
local train_x, train_y = course.fashion("train", n_train)
local train = nn.data.tensor_dataset(train_x, train_y)
local augment = T.Compose{T.RandomRotation(20), T.RandomCrop(28, {padding = 2})}

local function accuracy(model, x) return nn.evaluate(model, nn.data.tensor_dataset(x, test_y)).accuracy end
local function run(transform)
  local model = nn.Sequential{nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)}
  nn.fit(model, {train = nn.data.DataLoader(train, {batch_size = 64, shuffle = true, transform = transform}),
                 loss = nn.CrossEntropyLoss(), optimizer = nn.optim.Adam(model:parameters(), {lr = 1e-3}),
                 epochs = epochs, verbose = 0})
  return {model = model, upright = accuracy(model, test_x), rotated = accuracy(model, rotated_x)}
end
local runs = course.seeds(opts, n_seeds, function()
  return {plain = run(nil), augmented = run(augment)}
end)
local function mean_of(kind, what)
  local v = {}
  for i, r in ipairs(runs) do v[i] = r[kind][what] end
  return course.mean(v)
end
local plain_up, plain_rot = mean_of("plain", "upright"), mean_of("plain", "rotated")
local aug_up, aug_rot = mean_of("augmented", "upright"), mean_of("augmented", "rotated")
local seeds_note = ("mean of %d seed%s"):format(n_seeds, n_seeds > 1 and "s" or "")
rows[#rows + 1] = {"plain MLP: upright / rotated test accuracy", ("%.3f / %.3f"):format(plain_up, plain_rot), "—", seeds_note}
rows[#rows + 1] = {"augmented MLP: upright / rotated test accuracy", ("%.3f / %.3f"):format(aug_up, aug_rot),
                   "more robust to unseen conditions", seeds_note}
rows[#rows + 1] = {"gain on the rotated test set", aug_rot - plain_rot, "—", "upright: " .. ("%+.3f"):format(aug_up - plain_up)}
course.table(rows)

local ok = shapes_ok and most_change and flip_share >= 0.25 and flip_share <= 0.75 and repro_ok and seeds_differ
local facts = ("every output [64,1,28,28]: %s; rotation/crop/noise/scale change %d%%, %d%%, %d%%, %d%% (>= 90%%); " ..
               "flip %d%% (25..75%%); same seed identical: %s; another seed differs: %s"):format(
  tostring(shapes_ok), math.floor(100 * transforms[2].share + 0.5), math.floor(100 * transforms[3].share + 0.5),
  math.floor(100 * transforms[4].share + 0.5), math.floor(100 * transforms[5].share + 0.5),
  math.floor(100 * flip_share + 0.5), tostring(repro_ok), tostring(seeds_differ))
local robust = ("rotated test accuracy: augmented %.3f vs plain %.3f (%+.3f, need >= +0.05)"):format(aug_rot, plain_rot, aug_rot - plain_rot)
if opts.quick then
  course.verdict("S3-15", ok, "%s; [quick, printed only] %s", facts, robust)
else
  course.verdict("S3-15", ok and aug_rot >= plain_rot + 0.05, "%s; %s", facts, robust)
end

-- transforms.png: the first 8 images, then one row per transform.
local tiles, row_of, names = {batch:narrow(1, 1, 8)}, {}, {"original"}
for i, tr in ipairs(transforms) do
  tiles[#tiles + 1] = tr.out:narrow(1, 1, 8)
  names[#names + 1] = tr.name:gsub("%(.*", "")
end
names[#names] = "Compose"
for i = 1, 8 * #tiles do row_of[i] = (i - 1) // 8 + 1 end
nn.plot.images(nn.cat(tiles, 1), course.plot_path(opts, "transforms.png"), {
  nrow = 8, range = {0, 1}, labels = row_of, class_names = names,
  title = "003 Q4.2 (ج): one row per transform"})
-- rotated_test.png: 8 rotated test images, the plain model's predictions
-- (top row) and the augmented model's (bottom row), misses in red.
local sample = rotated_x:narrow(1, 1, 8)
local function predict(model) return nn.no_grad(function() model:eval() return model(sample):argmax(2) end) end
local truth = test_y:narrow(1, 1, 8)
local classes = nn.data.fashion_mnist{split = "test", limit = 1}.classes
nn.plot.images(nn.cat({sample, sample}, 1), course.plot_path(opts, "rotated_test.png"), {
  nrow = 8, range = {0, 1}, labels = nn.cat({truth, truth}, 1),
  predicted = nn.cat({predict(runs[1].plain.model), predict(runs[1].augmented.model)}, 1), class_names = classes,
  title = "003 Q4.2 (ج): rotated test images; top: plain, bottom: augmented"})
course.finish()
