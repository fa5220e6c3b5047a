-- nn.data.synthetic against scikit-learn's make_* (fixtures from
-- tests/fixtures/gen_synthetic_fixtures.py): the noiseless sets point for
-- point, class counts exactly, per-class moments within a few standard
-- errors, flip_y's share, regression's residual, a logistic regression's
-- accuracy on nnlua's classification sets and on scikit-learn's; seeds;
-- the errors of bad options.
local nn = require "nn"
local H = require "helpers"

local S = nn.data.synthetic
local REF = H.reference("synthetic")

local function copy(t)
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  return r
end

local function with(opts, extra)
  local r = copy(opts)
  for k, v in pairs(extra) do r[k] = v end
  return r
end

describe("synthetic sets", function()
  it("noiseless unshuffled moons and circles are scikit-learn's points", function()
    for _, c in ipairs(REF.exact) do
      local ds = S[c.fn](c.opts)
      H.assert_shape(ds.x, {#c.y, 2})
      assert.are.equal("float32", ds.x.dtype)
      assert.are.equal("int64", ds.y.dtype)
      H.assert_flat_close(ds.x, c.x, 1e-6, c.fn)
      H.assert_values(ds.y, c.y)
    end
  end)

  for _, c in ipairs(REF.stats) do
    it(c.name .. ": shape, class counts and per-class moments as scikit-learn's", function()
      local ds = S[c.fn](with(c.opts, {seed = 7}))
      H.assert_shape(ds.x, {c.n, c.features})
      assert.are.equal("float32", ds.x.dtype)
      assert.are.equal("int64", ds.y.dtype)
      assert.are.equal(1, ds.y:min():item())
      assert.are.equal(#c.counts, ds.y:max():item())
      for k, count in ipairs(c.counts) do
        local mask = ds.y:eq(k)
        assert.are.equal(count, mask:sum():item(), ("%s class %d"):format(c.name, k))
        if c.means then
          local xk = ds.x:index_select(1, nn.arange(1, c.n + 1, {dtype = "int64"}):masked_select(mask))
          local mean = H.flat(xk:mean(1))
          local std = H.flat(xk:sub(xk:mean(1)):pow(2):mean(1):sqrt())
          for f = 1, c.features do
            local sd = c.stds[k][f]
            -- two independent samples: 5 standard errors of their difference
            local tol_mean = 5 * sd * math.sqrt(2 / count) + 1e-6
            local tol_std = 5 * sd / math.sqrt(count) + 1e-6
            assert(math.abs(mean[f] - c.means[k][f]) <= tol_mean,
                   ("%s class %d feature %d: mean %g, scikit-learn %g"):format(c.name, k, f, mean[f], c.means[k][f]))
            assert(math.abs(std[f] - sd) <= tol_std,
                   ("%s class %d feature %d: std %g, scikit-learn %g"):format(c.name, k, f, std[f], sd))
          end
        end
      end
    end)
  end

  it("the same seed gives the same set, another seed another; the global generator is untouched", function()
    for _, fn in ipairs({"moons", "circles", "blobs", "classification", "regression"}) do
      nn.manual_seed(3)
      local expected = nn.rand(4)
      nn.manual_seed(3)
      local a = S[fn]{n_samples = 50, seed = 11}
      local after = nn.rand(4)
      local b = S[fn]{n_samples = 50, seed = 11}
      local c = S[fn]{n_samples = 50, seed = 12}
      assert.is_true(a.x:eq(b.x):all():item(), fn)
      assert.is_true(a.y:eq(b.y):all():item(), fn)
      assert.is_false(a.x:eq(c.x):all():item(), fn)
      assert.is_true(after:eq(expected):all():item(), fn)
      -- without seed=, nn's generator: manual_seed makes it reproducible
      nn.manual_seed(5)
      local d = S[fn]{n_samples = 50}
      nn.manual_seed(5)
      local e = S[fn]{n_samples = 50}
      assert.is_true(d.x:eq(e.x):all():item(), fn)
    end
  end)

  it("blobs: centers drawn in center_box, n_features, ds.centers", function()
    local ds = S.blobs{n_samples = 200, centers = 4, n_features = 3, center_box = {-2, 5}, seed = 1}
    H.assert_shape(ds.x, {200, 3})
    H.assert_shape(ds.centers, {4, 3})
    assert.is_true(ds.centers:ge(-2):all():item() and ds.centers:le(5):all():item())
    H.assert_values(nn.stack({ds.y:eq(1):sum(), ds.y:eq(4):sum()}), {50, 50})
    local d = S.blobs{n_samples = 10, seed = 1}
    H.assert_shape(d.x, {10, 2})
    assert.are.equal(3, d.y:max():item()) -- three centers by default
    -- cluster_std 0: every sample on its center
    local z = S.blobs{n_samples = 6, centers = {{1, 2}, {3, 4}}, cluster_std = 0, shuffle = false}
    H.assert_close(z.x, {{1, 2}, {1, 2}, {1, 2}, {3, 4}, {3, 4}, {3, 4}}, 0)
  end)

  it("classification: structure of the features (redundant, repeated, noise)", function()
    -- unshuffled: informative, redundant, repeated, then useless columns
    local ds = S.classification{n_samples = 2000, n_features = 9, n_informative = 3, n_redundant = 2,
                                n_repeated = 2, shuffle = false, flip_y = 0, seed = 2}
    local x = ds.x
    -- repeated columns are copies of informative or redundant ones
    for r = 6, 7 do
      local found = false
      for c = 1, 5 do
        if x:select(2, r):eq(x:select(2, c)):all():item() then found = true end
      end
      assert.is_true(found, "repeated column " .. r)
    end
    -- the useless columns are standard normal noise
    local noise = x:narrow(2, 8, 2)
    H.assert_close(noise:mean(1), {0, 0}, 0.15)
    H.assert_close(noise:sub(noise:mean(1)):pow(2):mean(1):sqrt(), {1, 1}, 0.1)
    -- without shuffle the clusters come in order: class 1's first, flip_y = 0
    H.assert_values(ds.y:narrow(1, 1, 500), nn.full({500}, 1, {dtype = "int64"}))
    -- shuffled: the same counts, the columns permuted
    local sh = S.classification{n_samples = 2000, n_features = 9, n_informative = 3, n_redundant = 2,
                                n_repeated = 2, flip_y = 0, seed = 2}
    assert.are.equal(1000, sh.y:eq(2):sum():item())
    -- the spec's short names
    local short = S.classification{n = 30, features = 5, informative = 3, classes = 3, seed = 1}
    H.assert_shape(short.x, {30, 5})
    assert.are.equal(3, short.y:max():item())
  end)

  for _, c in ipairs(REF.flip) do
    it(("classification: flip_y %g changes labels as often as scikit-learn's"):format(c.flip_y), function()
      local k = c.classes
      local ds = S.classification{n_samples = c.n, n_classes = k, n_informative = 3,
                                  flip_y = c.flip_y, shuffle = false, seed = 4}
      local per = c.n // (k * 2)
      local labels = {}
      for j = 1, k * 2 do labels[j] = (j - 1) % k + 1 end
      local clean = nn.tensor(labels, "int64"):view(k * 2, 1):expand(k * 2, per):reshape(c.n)
      local changed = ds.y:ne(clean):float():mean():item()
      -- binomial standard error of each share, 5 of their difference
      local se = math.sqrt(2 * c.changed * (1 - c.changed) / c.n)
      assert(math.abs(changed - c.changed) <= 5 * se,
             ("changed %g, scikit-learn %g"):format(changed, c.changed))
    end)
  end

  it("regression: y = x*coef + bias + noise as scikit-learn's", function()
    local r = REF.regression
    local ds = S.regression(with(r.opts, {seed = 9}))
    H.assert_shape(ds.x, {4000, 12})
    assert.are.equal("float32", ds.y.dtype)
    H.assert_shape(ds.y, {4000})
    H.assert_shape(ds.coef, {12})
    assert.are.equal(r.nonzero, ds.coef:ne(0):sum():item())
    assert.is_true(ds.coef:ge(0):all():item() and ds.coef:lt(100):all():item())
    local resid = ds.y:sub(ds.x:matmul(ds.coef:view(12, 1)):view(4000)):sub(3)
    local m = resid:mean():item()
    local sd = resid:sub(m):pow(2):mean():sqrt():item()
    assert(math.abs(m - r.resid_mean) <= 5 * r.resid_std * math.sqrt(2 / 4000), "residual mean " .. m)
    assert(math.abs(sd - r.resid_std) <= 5 * r.resid_std / math.sqrt(4000), "residual std " .. sd)
    -- noiseless: exact up to float32
    local exact = S.regression{n_samples = 20, n_features = 4, n_informative = 2, bias = -1,
                               coef = true, seed = 1}
    H.assert_close(exact.x:matmul(exact.coef:view(4, 1)):view(20):sub(1), H.flat(exact.y), 1e-3)
    -- without coef=true, no ds.coef
    assert.is_nil(S.regression{n_samples = 5, seed = 1}.coef)
  end)

  it("a logistic regression is as accurate on nnlua's classification sets as on scikit-learn's", function()
    local L = REF.logreg
    local nf, k = L.opts.n_features, L.opts.n_classes
    -- full-batch training, the same for both; returns the training accuracy
    local function train(x, y)
      nn.manual_seed(0)
      local model = nn.Linear(nf, k)
      local opt = nn.optim.Adam(model:parameters(), {lr = 0.05})
      local loss_fn = nn.CrossEntropyLoss()
      for _ = 1, 200 do
        opt:zero_grad()
        loss_fn(model(x), y):backward()
        opt:step()
      end
      return nn.no_grad(function() return model(x):argmax(2):eq(y):float():mean():item() end)
    end
    -- the accuracy varies from set to set (sd about 0.03): means over many sets
    local theirs, sk = 0, 0
    for i, set in ipairs(L.sets) do
      local n = #set.y
      local acc = train(nn.tensor(set.x):view(n, nf), nn.tensor(set.y, "int64"))
      -- our training reaches scikit-learn's own solver's accuracy on its sets
      assert(acc >= set.sklearn_accuracy - 0.03,
             ("set %d: %g vs LogisticRegression's %g"):format(i, acc, set.sklearn_accuracy))
      theirs, sk = theirs + acc, sk + set.sklearn_accuracy
    end
    theirs, sk = theirs / #L.sets, sk / #L.sets
    local ours, n_ours = 0, 64
    for i = 1, n_ours do
      local ds = S.classification(with(L.opts, {seed = i}))
      ours = ours + train(ds.x, ds.y)
    end
    ours = ours / n_ours
    local msg = ("mean accuracy on nnlua's sets %.4f, on scikit-learn's %.4f (LogisticRegression %.4f, " ..
                 "over 256 sets %.4f)"):format(ours, theirs, sk, L.mean_accuracy)
    assert(math.abs(ours - theirs) <= 0.02, msg)
    assert(math.abs(ours - L.mean_accuracy) <= 0.02, msg)
    assert(math.abs(theirs - sk) <= 0.01, msg)
  end)
end)

describe("synthetic errors", function()
  local cases = {
    {"moons", {noise = -0.1}, "synthetic.moons", "noise must be between 0 and"},
    {"moons", {n_samples = 0}, "synthetic.moons", "n_samples must be a positive integer, got 0"},
    {"moons", {n_samples = {1, 2, 3}}, "synthetic.moons", "a table of 3 values"},
    {"moons", {nosie = 0.1}, "synthetic.moons", "unknown option 'nosie'"},
    {"moons", {shuffle = 1}, "synthetic.moons", "shuffle must be true or false"},
    {"moons", {n = 10, n_samples = 10}, "synthetic.moons", "n and n_samples are the same option"},
    {"moons", {seed = 1.5}, "synthetic.moons", "seed must be an integer, got 1.5"},
    {"moons", "x", "synthetic.moons", "options must be a table"},
    {"circles", {factor = 1}, "synthetic.circles", "factor must be in [0, 1), got 1"},
    {"circles", {factor = -0.5}, "synthetic.circles", "factor must be between 0 and 1, got -0.5"},
    {"circles", {noise = -1}, "synthetic.circles", "noise must be between"},
    {"circles", {centers = 2}, "synthetic.circles", "unknown option 'centers'"},
    {"blobs", {cluster_std = -1}, "synthetic.blobs", "cluster_std must be between 0 and"},
    {"blobs", {centers = 0}, "synthetic.blobs", "centers must be a positive integer, got 0"},
    {"blobs", {centers = {{0, 0}, {1}}}, "synthetic.blobs", "centers[2] has 1 coordinates, centers[1] has 2"},
    {"blobs", {n_samples = {10, 10}, centers = {{0, 0}}}, "synthetic.blobs", "n_samples lists 2 counts but centers has 1 points"},
    {"blobs", {centers = 2, cluster_std = {1, 2, 3}}, "synthetic.blobs", "cluster_std lists 3 values for 2 centers"},
    {"blobs", {center_box = {5, 1}}, "synthetic.blobs", "center_box must be {low, high}"},
    {"blobs", {noise = 1}, "synthetic.blobs", "unknown option 'noise'"},
    {"classification", {n_samples = 0}, "synthetic.classification", "n_samples must be a positive integer, got 0"},
    {"classification", {n_informative = 19}, "synthetic.classification",
     "n_informative (19) + n_redundant (2) + n_repeated (0) must be at most n_features (20)"},
    {"classification", {n_informative = 1}, "synthetic.classification",
     "n_classes (2) * n_clusters_per_class (2) must be at most 2^n_informative (2^1 = 2)"},
    {"classification", {weights = {0.7, 0.5}, n_classes = 3, n_informative = 3}, "synthetic.classification",
     "weights sum to 1.2"},
    {"classification", {weights = {0.1, 0.2, 0.3}}, "synthetic.classification", "weights must list 2 or 1 class proportions, got 3 values"},
    {"classification", {weights = {0.5, 0.6}}, "synthetic.classification", "weights sum to 1.1, more than 1"},
    {"classification", {weights = {0.5, -0.1}}, "synthetic.classification", "weights[2] must be between 0 and"},
    {"classification", {flip_y = 1.5}, "synthetic.classification", "flip_y must be between 0 and 1, got 1.5"},
    {"classification", {class_sep = -1}, "synthetic.classification", "class_sep must be between 0 and"},
    {"classification", {n_redundant = -1}, "synthetic.classification", "n_redundant must be a non-negative integer, got -1"},
    {"classification", {noise = 1}, "synthetic.classification", "unknown option 'noise'"},
    {"regression", {noise = -2}, "synthetic.regression", "noise must be between 0 and"},
    {"regression", {n_features = 0}, "synthetic.regression", "n_features must be a positive integer, got 0"},
    {"regression", {bias = "a"}, "synthetic.regression", "bias must be a number, got 'a'"},
    {"regression", {coef = 1}, "synthetic.regression", "coef must be true or false"},
    {"regression", {n_classes = 2}, "synthetic.regression", "unknown option 'n_classes'"},
  }
  for _, c in ipairs(cases) do
    it(c[1] .. ": " .. c[4], function()
      local err = H.assert_error(function() S[c[1]](c[2]) end, c[3] .. ": ", c[4])
      assert.matches("synthetic_spec%.lua:%d+:", err) -- the user's line
    end)
  end
end)
