-- nn.data.synthetic: scikit-learn's toy generators (sklearn.datasets.make_*)
-- with their algorithms, option names and defaults, as in-memory datasets:
-- x float32 [N,F]; y int64 labels 1..K (scikit-learn's 0..K-1 plus one),
-- float32 targets for regression. Each takes seed= (the global generator
-- is left as it was) or draws from nn's generator. The SPEC's short names
-- are accepted too: n (n_samples), features (n_features), informative
-- (n_informative), classes (n_classes), std (cluster_std).
-- The work is tensor ops over whole arrays; Lua loops run over clusters
-- and options only.

local nn = require "nn"
local A = require "nn.args"
local with_seed = require "nn.data.seed"
local fail = A.fail
local show = A.show

local M = {}

local ALIASES = {n = "n_samples", features = "n_features", informative = "n_informative",
                 classes = "n_classes", std = "cluster_std"}

-- Checks opts against the allowed sklearn names (plus their aliases) and
-- returns a table keyed by the sklearn names.
local function options(fname, opts, allowed)
  local all = {seed = true}
  for k in pairs(allowed) do all[k] = true end
  for short, long in pairs(ALIASES) do
    if allowed[long] then all[short] = true end
  end
  opts = A.options(fname, opts, all)
  local o = {}
  for k, v in pairs(opts) do
    local long = ALIASES[k] or k
    if ALIASES[k] and opts[long] ~= nil then
      fail(fname, "%s and %s are the same option; give one", k, long)
    end
    o[long] = v
  end
  if o.seed ~= nil then o.seed = A.int(fname, "seed", o.seed, math.mininteger) end
  return o
end

local function noise_opt(fname, v)
  if v == nil then return 0 end
  return A.number(fname, "noise", v, 0)
end

local function dataset(x, y)
  return require("nn.data").tensor_dataset(x, y)
end

-- Labels 1..K in blocks: counts[k] samples of label label_of(k).
local function block_labels(counts, label_of)
  local parts = {}
  for k, c in ipairs(counts) do
    if c > 0 then parts[#parts + 1] = nn.full({c}, label_of(k), {dtype = "int64"}) end
  end
  return nn.cat(parts, 1)
end

-- sklearn.utils.shuffle of the rows of x and y together.
local function shuffle_rows(x, y)
  local perm = nn.randperm(x.shape[1])
  return x:index_select(1, perm), y:index_select(1, perm)
end

-- n_samples of moons and circles: an integer, or {n_out, n_in}.
local function two_counts(fname, v)
  if v == nil then return 50, 50 end
  if type(v) == "table" then
    if #v ~= 2 then fail(fname, "n_samples must be an integer or {n_out, n_in}, got a table of %d values", #v) end
    local a, b = A.int(fname, "n_samples[1]", v[1], 0), A.int(fname, "n_samples[2]", v[2], 0)
    if a + b < 1 then fail(fname, "n_samples must total at least 1, got {%d, %d}", a, b) end
    return a, b
  end
  local n = A.int(fname, "n_samples", v)
  return n // 2, n - n // 2
end

local function finish_two(x, y, shuffle, noise)
  if shuffle then x, y = shuffle_rows(x, y) end
  if noise > 0 then x = x:add(nn.randn(x.shape[1], 2):mul(noise)) end
  return dataset(x:contiguous(), y:contiguous())
end

--- moons{n_samples=100, noise=0, shuffle=true, seed=}: two interleaving
-- half circles (make_moons); y 1 = outer, 2 = inner.
function M.moons(opts)
  local fname = "synthetic.moons"
  local o = options(fname, opts, {n_samples = true, noise = true, shuffle = true})
  local n_out, n_in = two_counts(fname, o.n_samples or 100)
  local noise = noise_opt(fname, o.noise)
  local shuffle = A.bool(fname, "shuffle", o.shuffle, true)
  return with_seed(o.seed, function()
    local t_out, t_in = nn.linspace(0, math.pi, n_out), nn.linspace(0, math.pi, n_in)
    local x = nn.cat({nn.stack({t_out:cos(), t_out:sin()}, 2),
                      nn.stack({t_in:cos():neg():add(1), t_in:sin():neg():add(0.5)}, 2)}, 1)
    return finish_two(x, block_labels({n_out, n_in}, function(k) return k end), shuffle, noise)
  end)
end

-- linspace(0, 2*pi, n, endpoint=False)
local function circle_angles(n)
  return nn.linspace(0, 2 * math.pi, n + 1):narrow(1, 1, n)
end

--- circles{n_samples=100, factor=0.8, noise=0, shuffle=true, seed=}: a
-- large circle holding a small one (make_circles); y 1 = outer, 2 = inner.
function M.circles(opts)
  local fname = "synthetic.circles"
  local o = options(fname, opts, {n_samples = true, noise = true, shuffle = true, factor = true})
  local n_out, n_in = two_counts(fname, o.n_samples or 100)
  local noise = noise_opt(fname, o.noise)
  local shuffle = A.bool(fname, "shuffle", o.shuffle, true)
  local factor = o.factor == nil and 0.8 or A.number(fname, "factor", o.factor, 0, 1)
  if factor >= 1 then fail(fname, "factor must be in [0, 1), got %g", factor) end
  return with_seed(o.seed, function()
    local t_out, t_in = circle_angles(n_out), circle_angles(n_in)
    local x = nn.cat({nn.stack({t_out:cos(), t_out:sin()}, 2),
                      nn.stack({t_in:cos():mul(factor), t_in:sin():mul(factor)}, 2)}, 1)
    return finish_two(x, block_labels({n_out, n_in}, function(k) return k end), shuffle, noise)
  end)
end

-- A k x f table of numbers (rows of equal length) checked as centers.
local function center_table(fname, c)
  local rows, f = {}, nil
  for i, row in ipairs(c) do
    if type(row) ~= "table" or #row == 0 then
      fail(fname, "centers[%d] must be a list of coordinates, got %s", i, show(row))
    end
    f = f or #row
    if #row ~= f then fail(fname, "centers[%d] has %d coordinates, centers[1] has %d", i, #row, f) end
    for j, v in ipairs(row) do
      if type(v) ~= "number" then fail(fname, "centers[%d][%d] must be a number, got %s", i, j, show(v)) end
    end
    rows[i] = row
  end
  if #rows == 0 then fail(fname, "centers must not be empty") end
  return rows, f
end

--- blobs{n_samples=100, n_features=2, centers=3, cluster_std=1,
-- center_box={-10, 10}, shuffle=true, seed=}: isotropic Gaussian blobs
-- (make_blobs). centers: a count (drawn uniformly in center_box) or a list
-- of points; n_samples: a total (split evenly, the first centers get the
-- remainder) or a list of counts per center; cluster_std: one value or one
-- per center. ds.centers holds the centers [K,F].
function M.blobs(opts)
  local fname = "synthetic.blobs"
  local o = options(fname, opts, {n_samples = true, n_features = true, centers = true,
                                  cluster_std = true, center_box = true, shuffle = true})
  local shuffle = A.bool(fname, "shuffle", o.shuffle, true)
  local n_features = A.int(fname, "n_features", o.n_features or 2)
  local box = o.center_box or {-10, 10}
  if type(box) ~= "table" or #box ~= 2 or type(box[1]) ~= "number" or type(box[2]) ~= "number"
     or box[1] > box[2] then
    fail(fname, "center_box must be {low, high} with low <= high, got %s", show(o.center_box))
  end
  local counts, k, center_rows
  local ns = o.n_samples or 100
  if type(ns) == "table" then
    if #ns == 0 then fail(fname, "n_samples must be an integer or a list of counts per center, got an empty table") end
    counts = {}
    for i, c in ipairs(ns) do counts[i] = A.int(fname, ("n_samples[%d]"):format(i), c, 0) end
    k = #counts
  end
  local c = o.centers
  if type(c) == "table" then
    center_rows, n_features = center_table(fname, c)
    if counts and #center_rows ~= k then
      fail(fname, "n_samples lists %d counts but centers has %d points", k, #center_rows)
    end
    k = #center_rows
  elseif c ~= nil then
    if counts then fail(fname, "centers must be a list of points when n_samples is a list, got %s", show(c)) end
    k = A.int(fname, "centers", c)
  elseif not counts then
    k = 3
  end
  if not counts then
    local n = A.int(fname, "n_samples", ns)
    counts = {}
    for i = 1, k do counts[i] = n // k + (i <= n % k and 1 or 0) end
  end
  local total = 0
  for _, cnt in ipairs(counts) do total = total + cnt end
  if total < 1 then fail(fname, "n_samples must total at least 1") end
  local stds = {}
  local s = o.cluster_std == nil and 1.0 or o.cluster_std
  if type(s) == "table" then
    if #s ~= k then fail(fname, "cluster_std lists %d values for %d centers", #s, k) end
    for i, v in ipairs(s) do stds[i] = A.number(fname, ("cluster_std[%d]"):format(i), v, 0) end
  else
    s = A.number(fname, "cluster_std", s, 0)
    for i = 1, k do stds[i] = s end
  end
  return with_seed(o.seed, function()
    local centers = center_rows and nn.tensor(center_rows)
                    or nn.rand(k, n_features):mul(box[2] - box[1]):add(box[1])
    local parts = {}
    for i = 1, k do
      if counts[i] > 0 then
        parts[#parts + 1] = nn.randn(counts[i], n_features):mul(stds[i]):add(centers[i])
      end
    end
    local x, y = nn.cat(parts, 1), block_labels(counts, function(i) return i end)
    if shuffle then x, y = shuffle_rows(x, y) end
    local ds = dataset(x:contiguous(), y:contiguous())
    ds.centers = centers
    return ds
  end)
end

-- n distinct vertices of the d-dimensional unit hypercube, drawn at random
-- (sklearn's _generate_hypercube), as a Lua table of rows of 0/1.
local function hypercube(n, d)
  local rows, seen = {}, {}
  if d <= 12 then
    local codes = nn.randperm(1 << d):narrow(1, 1, n):totable()
    for i, code in ipairs(codes) do
      local v, row = math.tointeger(code) - 1, {}
      for j = d, 1, -1 do row[j] = v & 1 v = v >> 1 end
      rows[i] = row
    end
    return rows
  end
  while #rows < n do -- 2^d > 4096 vertices: repeats are rare
    local row = nn.randint(0, 2, {d}):totable()
    local key = table.concat(row)
    if not seen[key] then seen[key] = true rows[#rows + 1] = row end
  end
  return rows
end

--- classification{n_samples=100, n_features=20, n_informative=2,
-- n_redundant=2, n_repeated=0, n_classes=2, n_clusters_per_class=2,
-- weights=nil, flip_y=0.01, class_sep=1, shuffle=true, seed=}: make_classification
-- (hypercube=true, shift=0, scale=1). Each class is n_clusters_per_class
-- Gaussian clusters about distinct vertices of a hypercube of side
-- 2*class_sep in the informative features, each with a random covariance;
-- redundant features are random linear combinations of the informative
-- ones, repeated ones copies, the rest noise; flip_y of the labels are
-- then drawn at random. weights: the class proportions (n_classes or
-- n_classes - 1 values, the last then 1 - their sum).
function M.classification(opts)
  local fname = "synthetic.classification"
  local o = options(fname, opts, {n_samples = true, n_features = true, n_informative = true,
                                  n_redundant = true, n_repeated = true, n_classes = true,
                                  n_clusters_per_class = true, weights = true, flip_y = true,
                                  class_sep = true, shuffle = true})
  local n = A.int(fname, "n_samples", o.n_samples or 100)
  local n_features = A.int(fname, "n_features", o.n_features or 20)
  local n_inf = A.int(fname, "n_informative", o.n_informative or 2)
  local n_red = A.int(fname, "n_redundant", o.n_redundant or 2, 0)
  local n_rep = A.int(fname, "n_repeated", o.n_repeated or 0, 0)
  local n_classes = A.int(fname, "n_classes", o.n_classes or 2)
  local cpc = A.int(fname, "n_clusters_per_class", o.n_clusters_per_class or 2)
  local flip_y = o.flip_y == nil and 0.01 or A.number(fname, "flip_y", o.flip_y, 0, 1)
  local class_sep = o.class_sep == nil and 1.0 or A.number(fname, "class_sep", o.class_sep, 0)
  local shuffle = A.bool(fname, "shuffle", o.shuffle, true)
  if n_inf + n_red + n_rep > n_features then
    fail(fname, "n_informative (%d) + n_redundant (%d) + n_repeated (%d) must be at most " ..
         "n_features (%d)", n_inf, n_red, n_rep, n_features)
  end
  local n_clusters = n_classes * cpc
  if n_inf < 63 and n_clusters > (1 << n_inf) then
    fail(fname, "n_classes (%d) * n_clusters_per_class (%d) must be at most 2^n_informative " ..
         "(2^%d = %d)", n_classes, cpc, n_inf, 1 << n_inf)
  end
  local weights = {}
  if o.weights ~= nil then
    local w = o.weights
    if type(w) ~= "table" or (#w ~= n_classes and #w ~= n_classes - 1) then
      fail(fname, "weights must list %d or %d class proportions, got %s", n_classes,
           n_classes - 1, type(w) == "table" and ("%d values"):format(#w) or show(w))
    end
    local sum = 0
    for i, v in ipairs(w) do
      weights[i] = A.number(fname, ("weights[%d]"):format(i), v, 0)
      sum = sum + weights[i]
    end
    if sum > 1 + 1e-9 then fail(fname, "weights sum to %g, more than 1", sum) end
    if #w == n_classes - 1 then weights[n_classes] = math.max(1 - sum, 0) end
  else
    for i = 1, n_classes do weights[i] = 1 / n_classes end
  end
  local n_useless = n_features - n_inf - n_red - n_rep
  -- samples per cluster: int(n * w / cpc), the remainder one by one
  local counts, given = {}, 0
  for k = 1, n_clusters do
    counts[k] = math.floor(n * weights[(k - 1) % n_classes + 1] / cpc)
    given = given + counts[k]
  end
  for i = 0, n - given - 1 do
    local k = i % n_clusters + 1
    counts[k] = counts[k] + 1
  end
  local function label_of(k) return (k - 1) % n_classes + 1 end
  return with_seed(o.seed, function()
    local centroids = nn.tensor(hypercube(n_clusters, n_inf)):mul(2 * class_sep):sub(class_sep)
    local xi = nn.randn(n, n_inf)
    local parts, start = {}, 1
    for k = 1, n_clusters do
      local cov = nn.rand(n_inf, n_inf):mul(2):sub(1)
      if counts[k] > 0 then
        parts[#parts + 1] = xi:narrow(1, start, counts[k]):matmul(cov):add(centroids[k])
        start = start + counts[k]
      end
    end
    local cols = {nn.cat(parts, 1)}
    if n_red > 0 then
      cols[2] = cols[1]:matmul(nn.rand(n_inf, n_red):mul(2):sub(1))
    end
    if n_rep > 0 then
      local m = n_inf + n_red
      -- sklearn: ((m - 1) * uniform + 0.5) truncated, 0-based
      local idx = nn.rand(n_rep):mul(m - 1):add(1.5):floor():to("int64")
      cols[#cols + 1] = nn.cat(cols, 2):index_select(2, idx)
    end
    if n_useless > 0 then cols[#cols + 1] = nn.randn(n, n_useless) end
    local x = #cols == 1 and cols[1] or nn.cat(cols, 2)
    local y = block_labels(counts, label_of)
    if flip_y > 0 then
      local flip = nn.rand(n):lt(flip_y)
      y = nn.where(flip, nn.randint(1, n_classes + 1, {n}), y)
    end
    if shuffle then
      x, y = shuffle_rows(x, y)
      x = x:index_select(2, nn.randperm(n_features))
    end
    return dataset(x:contiguous(), y:contiguous())
  end)
end

--- regression{n_samples=100, n_features=100, n_informative=10, bias=0,
-- noise=0, shuffle=true, coef=false, seed=}: make_regression (one target,
-- a well-conditioned x): y = x * w + bias + noise, with w zero except
-- n_informative features drawn uniformly in [0, 100). With coef=true
-- ds.coef holds w [F] (in x's column order).
function M.regression(opts)
  local fname = "synthetic.regression"
  local o = options(fname, opts, {n_samples = true, n_features = true, n_informative = true,
                                  bias = true, noise = true, shuffle = true, coef = true})
  local n = A.int(fname, "n_samples", o.n_samples or 100)
  local n_features = A.int(fname, "n_features", o.n_features or 100)
  local n_inf = A.int(fname, "n_informative", o.n_informative or 10, 0)
  n_inf = math.min(n_inf, n_features) -- as scikit-learn
  local bias = o.bias == nil and 0 or A.number(fname, "bias", o.bias)
  local noise = noise_opt(fname, o.noise)
  local shuffle = A.bool(fname, "shuffle", o.shuffle, true)
  local want_coef = A.bool(fname, "coef", o.coef, false)
  return with_seed(o.seed, function()
    local x = nn.randn(n, n_features)
    local parts = {}
    if n_inf > 0 then parts[1] = nn.rand(n_inf):mul(100) end
    if n_features > n_inf then parts[#parts + 1] = nn.zeros(n_features - n_inf) end
    local w = #parts == 1 and parts[1] or nn.cat(parts, 1)
    local y = x:matmul(w:view(n_features, 1)):view(n):add(bias)
    if noise > 0 then y = y:add(nn.randn(n):mul(noise)) end
    if shuffle then
      x, y = shuffle_rows(x, y)
      local cols = nn.randperm(n_features)
      x, w = x:index_select(2, cols), w:index_select(1, cols)
    end
    local ds = dataset(x:contiguous(), y:contiguous())
    if want_coef then ds.coef = w:contiguous() end
    return ds
  end)
end

return M
