-- Adversarial examples and adversarial training (002_6afe73c36a0a240a.txt,
-- adversarial training): FGSM and PGD break an MLP that classifies
-- Fashion-MNIST well; training on FGSM examples restores most of it.
local course = require "common"
local opts = course.start{
  name = "adversarial", ids = {"S2-02"},
  notes = "002_6afe73c36a0a240a.txt adversarial training",
}

-- Inputs stay in [0, 1] (no normalisation): eps is in pixel units and
-- clamping to [0, 1] keeps every adversarial image a valid image.
local n_train, n_test = opts.quick and 2000 or 20000, opts.quick and 500 or 5000
local epochs, n_seeds = opts.quick and 1 or 5, opts.quick and 1 or 2
local train_x, train_y = course.fashion("train", n_train)
local test_x, test_y = course.fashion("test", n_test)
local loss = nn.CrossEntropyLoss()
local clamp = {0, 1}

local function mlp()
  return nn.Sequential{nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                       nn.Linear(128, 10)}
end
local function train(adversarial)
  local model = mlp()
  nn.fit(model, {
    train = nn.data.tensor_dataset(train_x, train_y), batch_size = 64, epochs = epochs, verbose = 0,
    loss = loss, optimizer = nn.optim.Adam(model:parameters(), {lr = 1e-3}),
    -- adversarial training: half of the batches replaced by their FGSM
    -- version against the model as it is at that step
    adversarial = adversarial and {eps = 0.1, ratio = 0.5, attack = "fgsm", clamp = clamp} or nil,
  })
  model:eval()
  return model
end
local function predict(model, x) return nn.no_grad(function() return model(x):argmax(2) end) end
local function accuracy(model, x) return predict(model, x):eq(test_y):float():mean():item() end
-- FGSM: x + eps * sign(d loss / dx), one step up the loss.
local function fgsm(model, eps) return nn.attacks.fgsm(model, loss, test_x, test_y, eps, {clamp = clamp}) end

-- The attacks leave the model as they found it: parameter gradients and
-- each module's train/eval mode.
local function attack_is_clean(model)
  model:train()
  model:zero_grad()
  loss(model(test_x:narrow(1, 1, 32)), test_y:narrow(1, 1, 32)):backward()
  local before = {}
  for i, p in ipairs(model:parameters()) do before[i] = p.grad:clone() end
  local adv = fgsm(model, 0.1)
  local pgd = nn.attacks.pgd(model, loss, test_x, test_y, {eps = 0.1, alpha = 0.01, steps = 3, clamp = clamp})
  local same = true
  for i, p in ipairs(model:parameters()) do same = same and (p.grad - before[i]):abs():max():item() == 0 end
  local modes = true
  for _, m in ipairs(model:modules()) do modes = modes and m.training end
  model:eval()
  nn.attacks.fgsm(model, loss, test_x:narrow(1, 1, 8), test_y:narrow(1, 1, 8), 0.1)
  for _, m in ipairs(model:modules()) do modes = modes and not m.training end
  -- every adversarial image a valid image within eps of its original
  local inside = true
  for _, a in ipairs{adv, pgd} do
    inside = inside and a:min():item() >= 0 and a:max():item() <= 1
             and (a - test_x):abs():max():item() <= 0.1 + 1e-6
  end
  model:zero_grad()
  return same, modes, inside
end

local eps_grid = {0, 0.02, 0.05, 0.1, 0.2}
local runs = course.seeds(opts, n_seeds, function()
  local r = {standard = train(false), robust = train(true)}
  r.grads_same, r.modes_kept, r.inside = attack_is_clean(r.standard)
  for _, key in ipairs{"standard", "robust"} do
    local curve = {}
    for i, eps in ipairs(eps_grid) do
      curve[i] = eps == 0 and accuracy(r[key], test_x) or accuracy(r[key], fgsm(r[key], eps))
    end
    r[key .. "_curve"] = curve
    r[key .. "_pgd"] = accuracy(r[key], nn.attacks.pgd(r[key], loss, test_x, test_y,
                                                         {eps = 0.1, alpha = 0.01, steps = 20, clamp = clamp}))
  end
  return r
end)
local function avg(f)
  local v = {}
  for i, r in ipairs(runs) do v[i] = f(r) end
  return course.mean(v)
end
local curves = {standard = {}, robust = {}}
for i = 1, #eps_grid do
  curves.standard[i] = avg(function(r) return r.standard_curve[i] end)
  curves.robust[i] = avg(function(r) return r.robust_curve[i] end)
end
local clean, fgsm05, fgsm10 = curves.standard[1], curves.standard[3], curves.standard[4]
local pgd10 = avg(function(r) return r.standard_pgd end)
local r_clean, r_fgsm10, r_pgd10 = curves.robust[1], curves.robust[4], avg(function(r) return r.robust_pgd end)
local grads_same, modes_kept, inside = true, true, true
for _, r in ipairs(runs) do
  grads_same, modes_kept, inside = grads_same and r.grads_same, modes_kept and r.modes_kept, inside and r.inside
end
local clean_model = grads_same and modes_kept

local setup = ("%d training images, %d epochs, %d test images, mean of %d seeds"):format(n_train, epochs, n_test, n_seeds)
course.table{
  {"clean test accuracy", clean, "human-level performance", setup},
  {"FGSM ε = 0.05", fgsm05, "—", ""},
  {"FGSM ε = 0.1", fgsm10, "examples built against the model are misclassified", "expected about 0.1"},
  {"PGD ε = 0.1 (α 0.01, 20 steps)", pgd10, "—", "iterated FGSM projected on the ε-ball: stronger"},
  {"adversarially trained: clean", r_clean, "adversarial training reduces the test error",
   ("not reproduced: clean accuracy changes by %+.3f (robustness costs a few points at this ε)"):format(r_clean - clean)},
  {"adversarially trained: FGSM ε = 0.1", r_fgsm10, "—", "expected about 0.63"},
  {"adversarially trained: PGD ε = 0.1", r_pgd10, "—", ""},
}
-- --quick checks only that the attacks leave the model alone and make valid
-- images (1 epoch on 2,000 images is too little for the accuracies).
local accuracies_ok = clean - fgsm10 > 0.3 and pgd10 <= fgsm10 + 0.01 and r_fgsm10 - fgsm10 >= 0.3
  and clean - r_clean <= 0.06
course.verdict("S2-02", clean_model and inside and (opts.quick or accuracies_ok),
  "FGSM ε=0.1 lowers accuracy %.4f → %.4f (drop %.4f > 0.3); PGD %.4f <= FGSM %.4f + 0.01; adversarial training " ..
  "raises FGSM ε=0.1 accuracy %.4f → %.4f (%+.4f >= 0.3) and changes clean accuracy %.4f → %.4f (drop %.4f <= 0.06); " ..
  "attacks leave parameter gradients %s and train/eval mode %s; adversarial images in [0, 1] within ε: %s%s",
  clean, fgsm10, clean - fgsm10, pgd10, fgsm10, fgsm10, r_fgsm10, r_fgsm10 - fgsm10, clean, r_clean, clean - r_clean,
  grads_same and "untouched" or "CHANGED", modes_kept and "as they were" or "CHANGED", inside and "yes" or "NO",
  opts.quick and " (--quick: the accuracy conditions are not checked)" or "")

-- Pictures from the first seed's standard model: 8 test images (true /
-- predicted), their FGSM perturbation (captioned with the prediction
-- before / after it) and the adversarial images (true / predicted).
local model = runs[1].standard
local x8, y8 = test_x:narrow(1, 1, 8), test_y:narrow(1, 1, 8)
local adv8 = nn.attacks.fgsm(model, loss, x8, y8, 0.1, {clamp = clamp})
local p_clean, p_adv = predict(model, x8), predict(model, adv8)
local names = nn.data.fashion_mnist{split = "test", limit = 1}.classes
nn.plot.images(nn.cat({x8, adv8 - x8, adv8}, 1), course.plot_path(opts, "adversarial_examples.png"), {
  nrow = 8, class_names = names,
  labels = nn.cat({y8, p_clean, y8}, 1), predicted = nn.cat({p_clean, p_adv, p_adv}, 1),
  title = "002_6afe73c36a0a240a.txt adversarial: clean, FGSM ε=0.1 perturbation, adversarial (row 2: clean / adversarial prediction)",
})
nn.plot.lines({{name = "standard training", x = eps_grid, y = curves.standard, marker = "o"},
               {name = "adversarial training (FGSM ε=0.1)", x = eps_grid, y = curves.robust, marker = "o"}},
  course.plot_path(opts, "accuracy_vs_eps.png"),
  {title = "002_6afe73c36a0a240a.txt adversarial training: test accuracy under FGSM", xlabel = "ε (pixel units)", ylabel = "test accuracy"})
course.finish()
