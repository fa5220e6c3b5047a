-- nn.KNeighborsClassifier against scikit-learn's KNeighborsClassifier
-- (algorithm='brute', tests/fixtures/knn/reference.lua): kneighbors'
-- distances and 1-based indices, predict_proba, predict where the vote has
-- no tie and SPEC's tie rule (the nearest neighbour's class) where it has;
-- blocks larger than one GEMM tile, strided and int64 inputs, score, and
-- the error messages.
local nn = require "nn"
local H = require "helpers"

local ref = H.reference("knn")

local function fitted(c)
  return nn.KNeighborsClassifier{n_neighbors = c.k, weights = c.weights, metric = c.metric}
    :fit(H.from_spec(ref.train), nn.tensor(ref.labels, "int64"))
end

describe("KNeighborsClassifier against scikit-learn", function()
  for _, c in ipairs(ref.cases) do
    local label = ("k=%d weights=%s metric=%s"):format(c.k, c.weights, c.metric)
    it("kneighbors matches for " .. label, function()
      local d, i = fitted(c):kneighbors(H.from_spec(ref.queries))
      H.assert_shape(d, c.dist.shape)
      assert.are.equal("int64", i.dtype)
      H.assert_flat_close(d, c.dist.data, 1e-5, "distances")
      H.assert_values(H.flat(i), c.idx.data, "indices")
    end)
    it("predict_proba matches for " .. label, function()
      local p = fitted(c):predict_proba(H.from_spec(ref.queries))
      H.assert_shape(p, c.proba.shape)
      H.assert_flat_close(p, c.proba.data, 1e-5, "proba")
    end)
    it("predict matches where no vote ties, the nearest neighbour's class where one does, for " .. label, function()
      local p = H.flat(fitted(c):predict(H.from_spec(ref.queries)))
      for q = 1, #p do
        if c.tie[q] == 0 then assert.are.equal(c.predict[q], p[q], "query " .. q) end
        assert.are.equal(c.nearest[q], p[q], "query " .. q)
      end
    end)
  end

  it("breaks a vote tie by the nearest neighbour, where scikit-learn takes the smallest label", function()
    local t = ref.tie_case
    local knn = nn.KNeighborsClassifier(2):fit(nn.tensor(t.x):reshape(#t.x, 1), nn.tensor(t.y, "int64"))
    local p = knn:predict(nn.tensor{t.query})
    assert.are.equal(1, t.sklearn_predict)
    assert.are.equal(3, p[1])
    H.assert_flat_close(knn:predict_proba(nn.tensor{t.query}), {0.5, 0.5}, 1e-6)
  end)
end)

describe("KNeighborsClassifier", function()
  it("searches across several query and training blocks as one brute-force pass", function()
    nn.manual_seed(3)
    local x, q = nn.randn(2500, 7), nn.randn(600, 7)
    local y = nn.randint(1, 4, {2500})
    local d, i = nn.KNeighborsClassifier(4):fit(x, y):kneighbors(q)
    local full = nn.cdist(q, x)
    local want_d, want_i = full:topk(4, 2, false)
    H.assert_flat_close(d, H.flat(want_d), 1e-4, "distances")
    H.assert_values(H.flat(i), H.flat(want_i), "indices")
  end)

  it("takes strided, int64 and image-shaped inputs and Lua arrays", function()
    local x = nn.tensor{{0, 0, 1}, {1, 0, 1}, {0, 1, 1}, {5, 5, 1}}
    local a = nn.KNeighborsClassifier(1):fit(x, {1, 1, 2, 3})
    local b = nn.KNeighborsClassifier(1):fit(x:t():contiguous():t(), nn.tensor({1, 1, 2, 3}, "int64"))
    local q = nn.tensor({{5, 4, 1}, {0, 1, 1}}, "int64")
    H.assert_values(H.flat(a:predict(q)), {3, 2})
    H.assert_values(H.flat(b:predict(q)), {3, 2})
    local imgs = nn.KNeighborsClassifier(1):fit(x:reshape(4, 1, 3), {1, 1, 2, 3})
    H.assert_values(H.flat(imgs:predict(q:reshape(2, 1, 3))), {3, 2})
    assert.are.equal(1.0, a:score(q, {3, 2}))
    assert.are.equal(0.5, a:score(q, {3, 3}))
  end)

  it("returns itself from fit and shows its options", function()
    local knn = nn.KNeighborsClassifier{n_neighbors = 3, weights = "distance", metric = "cosine"}
    assert.are.equal(knn, knn:fit(nn.randn(4, 2), {1, 2, 1, 2}))
    assert.are.equal("KNeighborsClassifier(n_neighbors=3, weights='distance', metric='cosine')", tostring(knn))
    assert.are.equal(5, nn.KNeighborsClassifier().n_neighbors)
  end)

  it("raises on bad input", function()
    H.assert_error(function() nn.KNeighborsClassifier{n_neighbours = 3} end, "KNeighborsClassifier", "unknown option", "n_neighbours")
    H.assert_error(function() nn.KNeighborsClassifier(3, {metric = "manhattan"}) end, "metric", "manhattan")
    H.assert_error(function() nn.KNeighborsClassifier{weights = "linear"} end, "weights", "linear")
    H.assert_error(function() nn.KNeighborsClassifier(0) end, "n_neighbors", "positive integer")
    H.assert_error(function() nn.KNeighborsClassifier(3, {n_neighbors = 4}) end, "n_neighbors given twice")
    local knn = nn.KNeighborsClassifier(3)
    H.assert_error(function() knn:predict(nn.randn(2, 2)) end, "predict", "not fitted", "fit(x, y) first")
    H.assert_error(function() knn:kneighbors(nn.randn(2, 2)) end, "kneighbors", "not fitted")
    H.assert_error(function() knn:fit(nn.randn(2, 2), {1, 2}) end, "fit", "n_neighbors 3 is larger than the training set (2 rows)")
    H.assert_error(function() knn:fit(nn.randn(4, 2), {1, 2}) end, "fit", "one label per row of x (4)")
    H.assert_error(function() knn:fit(nn.randn(4), {1, 2, 1, 2}) end, "fit", "row per sample")
    knn:fit(nn.randn(4, 2), {1, 2, 1, 2})
    H.assert_error(function() knn:predict(nn.randn(3, 5)) end, "predict", "x has 5 features, the training data has 2")
    H.assert_error(function() knn:predict_proba(nn.randn(3, 5)) end, "predict_proba", "x has 5 features")
    H.assert_error(function() knn:kneighbors(nn.randn(1, 2), 5) end, "kneighbors", "n_neighbors 5 is larger than the training set (4 rows)")
    H.assert_error(function() knn:score(nn.randn(3, 2), {1, 2}) end, "score", "one label per row of x (3)")
    H.assert_error(function() knn:predict("x") end, "predict", "must be a tensor")
  end)
end)
