-- nn.KNeighborsClassifier: k-nearest-neighbour classification, as
-- scikit-learn's KNeighborsClassifier(algorithm='brute').
--
--   local knn = nn.KNeighborsClassifier{n_neighbors=5, weights='uniform', metric='euclidean'}
--   -- or nn.KNeighborsClassifier(5, {weights='distance', metric='cosine'})
--   knn:fit(x, y)                  -- x [N, ...] (flattened to [N, D]), y N labels; returns knn
--   local d, i = knn:kneighbors(q) -- [Q, k] distances and 1-based indices, nearest first
--   knn:predict_proba(q)           -- [Q, C], one column per class of y in ascending order
--   knn:predict(q)                 -- [Q] int64 labels (y's values)
--   knn:score(q, labels)           -- accuracy
--
-- Distances come from GEMM and a C top-k over blocks of the queries and
-- the training rows (runtime/knn.c), so 10k queries against 60k rows never
-- build the [10k, 60k] matrix. weights='distance' weighs each neighbour by
-- 1/distance (neighbours at distance 0, when any, get the whole vote). A
-- tie in the vote goes to the class of the nearest neighbour among the
-- tied classes (scikit-learn takes the smallest label instead).

local nn = require "nn"
local core = require "nn.core"
local A = require "nn.args"

local KNN = {}
KNN.__index = KNN
KNN.__name = "KNeighborsClassifier"

local OPTIONS = {n_neighbors = true, weights = true, metric = true}

local function new(_, k, opts)
  local F = "KNeighborsClassifier"
  if type(k) == "table" and opts == nil then k, opts = nil, k end
  opts = A.options(F, opts, OPTIONS)
  if k ~= nil and opts.n_neighbors ~= nil then
    A.fail(F, "n_neighbors given twice (%s and %s)", A.show(k), A.show(opts.n_neighbors))
  end
  local self = setmetatable({}, KNN)
  self.n_neighbors = A.int(F, "n_neighbors", k or opts.n_neighbors or 5)
  self.weights = A.choice(F, "weights", opts.weights or "uniform", {"uniform", "distance"})
  self.metric = A.choice(F, "metric", opts.metric or "euclidean", {"euclidean", "cosine"})
  return self
end

-- x as a float32 [N, D] tensor (a Lua array of rows, or any [N, ...] tensor).
local function rows(fname, x, what)
  if type(x) == "table" and not nn.is_tensor(x) then x = nn.tensor(x) end
  if not nn.is_tensor(x) then A.fail(fname, "%s must be a tensor, got %s", what, A.show(x)) end
  if x:dim() < 2 then
    A.fail(fname, "%s must have a row per sample ([N, features]), got %s", what, A.shape_str(x))
  end
  if x.dtype ~= "float32" then x = x:float() end
  if x:dim() > 2 then x = x:reshape(x:size(1), -1) end
  return x
end

-- y as a 1-D tensor of n labels.
local function labels(fname, y, n)
  if type(y) == "table" and not nn.is_tensor(y) then y = nn.tensor(y) end
  if not nn.is_tensor(y) then A.fail(fname, "y must be a tensor of labels, got %s", A.show(y)) end
  if y:dim() ~= 1 or y:size(1) ~= n then
    A.fail(fname, "y must hold one label per row of x (%d), got %s", n, A.shape_str(y))
  end
  return y
end

function KNN:fit(x, y)
  local F = "fit"
  x = rows(F, x, "x")
  y = labels(F, y, x:size(1))
  if self.n_neighbors > x:size(1) then
    A.fail(F, "n_neighbors %d is larger than the training set (%d rows)", self.n_neighbors, x:size(1))
  end
  local classes, inverse = y:unique{return_inverse = true}
  self.x_, self.classes_, self.codes_ = x, classes, inverse:long()
  return self
end

local function fitted(self, fname, x)
  if not self.x_ then A.fail(fname, "the classifier is not fitted: call fit(x, y) first") end
  x = rows(fname, x, "x")
  if x:size(2) ~= self.x_:size(2) then
    A.fail(fname, "x has %d features, the training data has %d (x %s)", x:size(2), self.x_:size(2),
           A.shape_str(x))
  end
  return x
end

--- distances [Q, k] and 1-based training indices [Q, k], nearest first.
function KNN:kneighbors(x, k)
  x = fitted(self, "kneighbors", x)
  k = A.int("kneighbors", "n_neighbors", k or self.n_neighbors)
  if k > self.x_:size(1) then
    A.fail("kneighbors", "n_neighbors %d is larger than the training set (%d rows)", k, self.x_:size(1))
  end
  return core._knn_search(x, self.x_, k, self.metric)
end

local function vote(self, fname, x)
  x = fitted(self, fname, x)
  local d, i = core._knn_search(x, self.x_, self.n_neighbors, self.metric)
  return core._knn_vote(d, i, self.codes_, self.classes_:size(1), self.weights == "distance")
end

--- [Q, C]: the share of each class (self.classes_, ascending) among the neighbours.
function KNN:predict_proba(x)
  return (vote(self, "predict_proba", x))
end

--- [Q]: the predicted labels (values of y).
function KNN:predict(x)
  local _, codes = vote(self, "predict", x)
  return self.classes_:index_select(1, codes)
end

--- The accuracy of predict(x) against y.
function KNN:score(x, y)
  local p = self:predict(x)
  y = labels("score", y, p:size(1))
  return p:eq(y:to(p.dtype)):float():mean():item()
end

function KNN:__tostring()
  return ("KNeighborsClassifier(n_neighbors=%d, weights='%s', metric='%s')"):format(
    self.n_neighbors, self.weights, self.metric)
end

return setmetatable(KNN, {__call = new})
