-- Gradient descent on small functions: why it descends, where it stops
-- (local minima, saddles) and where it crawls (vanishing gradients)
-- (002_6afe73c36a0a240a.txt; 003_2d572698e7403bd6.txt Q1.3; COURSE.md §2.4).
--   nnlua scripts/course/gradient_descent_1d.lua [--quick] [--out DIR] [--seed N]
local course = require "common"
local opts = course.start{name = "gradient_descent_1d", ids = {"S2-05", "S3-02"},
                          notes = "002_6afe73c36a0a240a.txt approach 3 (following the slope), optimisation " ..
                                  "challenges; 003_2d572698e7403bd6.txt Q1.3"}

-- x ← x − η·f′(x), f′ by autograd, the update itself not recorded.
-- Returns the final point and the trajectory of (values of x, f(x)).
local function descend(f, x0, eta, steps)
  local x = nn.tensor(x0):requires_grad_(true)
  local xs, fs = {x:detach():clone()}, {}
  for _ = 1, steps do
    local loss = f(x)
    fs[#fs + 1] = loss:item()
    loss:backward()
    nn.no_grad(function() x:sub_(x.grad * eta) end)
    x.grad:zero_()
    xs[#xs + 1] = x:detach():clone()
  end
  fs[#fs + 1] = nn.no_grad(function() return f(x):item() end)
  return x:detach(), xs, fs
end

-- f(x) = x⁴ − 3x² + x: a global minimum near −1.3008, a local one near 1.1309.
local function quartic(x) return x ^ 4 - 3 * x ^ 2 + x end

-- (a) First order: f(x − ηf′) = f(x) − ηf′² + O(η²f′²), so for small η
-- every step descends by about ηf′². Checked at once on a grid of points.
local eta = 1e-3
local grid = nn.linspace(-2, 2, 101):requires_grad_(true)
quartic(grid):sum():backward()
local g = grid.grad
local checked = g:abs():ge(0.05)
local before, after = nn.no_grad(function()
  local x = grid:detach()
  return quartic(x), quartic(x - g * eta)
end)
local decrease, predicted = before - after, g:square() * eta
local n_checked = checked:sum():item()
local n_descends = (decrease:gt(0):float() * checked:float()):sum():item()
local rel_dev = (((decrease - predicted):abs() / predicted) * checked:float()):max():item()

-- x² from 5: η = 0.2 shrinks x by 0.6 a step; η = 1.1 multiplies it by −1.2.
local function square(x) return x ^ 2 end
local small_x, _, small_f = descend(square, 5.0, 0.2, 50)
local small_monotone = true
for i = 2, #small_f do small_monotone = small_monotone and small_f[i] < small_f[i - 1] end
local _, _, big_f = descend(square, 5.0, 1.1, 20)

-- (b) The saddle x² − y²: the gradient (2x, −2y) vanishes at (0, 0), which
-- is not a minimum (f(0, 0.1) < 0). Started on y = 0, descent never leaves
-- that line and stops at the saddle; the smallest nudge in y escapes.
local function saddle(p) return p:select(1, 1) ^ 2 - p:select(1, 2) ^ 2 end
local flat_end, flat_path = descend(saddle, {1.0, 0.0}, 0.1, 200)
local flat_grad = (flat_end * nn.tensor{2, -2}):norm():item()
local _, nudged_path = descend(saddle, {1.0, 1e-3}, 0.1, 200)
local y50 = math.abs(nudged_path[51][2])
local f_below = 0 ^ 2 - 0.1 ^ 2

-- (c) Vanishing gradient: f′ = 2(tanh x − 0.5)·tanh′(x), and tanh′(6) ≈ 5e-5.
local function tanh_loss(x) return (x:tanh() - 0.5) ^ 2 end
local target = 0.5 * math.log(3) -- atanh(0.5)
local from1, path1, fs1 = descend(tanh_loss, 1.0, 0.5, 100)
local from6, path6, fs6 = descend(tanh_loss, 6.0, 0.5, 100)
local moved6 = math.abs(from6:item() - 6)

-- (d) 003 Q1.3: the start decides which minimum a descent reaches.
local left, left_path, left_f = descend(quartic, -2.0, 0.01, 1000)
local right, right_path, right_f = descend(quartic, 2.0, 0.01, 1000)
local function convex(x) return (x - 1) ^ 2 end -- one minimum, no other
-- In float32 a step smaller than half the spacing of the floats near 1
-- (3e-8 below 1, 6e-8 above) is rounded away: with η = 0.01 descent on
-- (x − 1)² stalls within 1.5e-6 (below) and 3e-6 (above) of 1, so "ends at
-- 1" is checked to 1e-5, not to COURSE.md's 1e-6 (below float32's reach).
local CONVEX_TOL = 1e-5
local convex_left = descend(convex, -2.0, 0.01, 1000):item()
local convex_right = descend(convex, 2.0, 0.01, 1000):item()
local xl, xr, fl, fr = left:item(), right:item(), left_f[#left_f], right_f[#right_f]

course.table{
  {"grid points with |f′| ≥ 0.05 (f = x⁴ − 3x² + x, η = 1e-3)", n_checked, "—", "linspace(−2, 2, 101)"},
  {"… where f(x − ηf′) < f(x)", n_descends, "all: f(x − ηf′) ≤ f(x)", "first-order argument"},
  {"… max |decrease − ηf′²| / ηf′²", rel_dev, "O(η²f′²)", "≤ 0.05"},
  {"x², η = 0.2: |x| after 50 steps", math.abs(small_x:item()), "→ minimum", "x ← 0.6x; f falls every step: " ..
   (small_monotone and "yes" or "no")},
  {"x², η = 1.1: f after 20 steps (f(x0) = 25)", big_f[#big_f], "—", "η too large: x ← −1.2x diverges"},
  {"saddle x² − y² from (1, 0): end point", ("(%.3g, %.3g)"):format(flat_end[1], flat_end[2]),
   "stops at saddle points", ("|∇f| = %.2g, yet f(0, 0.1) = %.2g < f(0, 0) = 0"):format(flat_grad, f_below)},
  {"saddle from (1, 1e-3): |y| after 50 steps", y50, "—", "a nudge escapes: y ← 1.2y"},
  {"(tanh x − 0.5)² from x0 = 1: end x", from1:item(), "—", ("atanh(0.5) = %.4f"):format(target)},
  {"(tanh x − 0.5)² from x0 = 6: |x − 6| after 100 steps", moved6, "very slow (gradient ≈ 0)",
   ("tanh′(6) = %.2g"):format(1 - math.tanh(6) ^ 2)},
  {"x⁴ − 3x² + x from −2: end x, f", ("%.4f, %.4f"):format(xl, fl), "global min ≈ −1.3008, −3.514",
   "η = 0.01, 1000 steps"},
  {"x⁴ − 3x² + x from +2: end x, f", ("%.4f, %.4f"):format(xr, fr), "local min ≈ 1.1309, −1.070",
   "different starts, different minima"},
  {"(x − 1)² from −2 and +2: end x", ("%.7f, %.7f"):format(convex_left, convex_right), "the global optimum from any start",
   "one minimum; float32 stalls within 3e-6 of 1"},
}

-- Pictures. The trajectories' first 40 steps (the rest sits at the minimum).
local function first(list, n, pick)
  local out = {}
  for i = 1, math.min(n, #list) do out[i] = pick and pick(list[i]) or list[i] end
  return out
end
local function item(t) return t:item() end
local xs = nn.linspace(-2.1, 2.1, 300)
nn.plot.lines({
  {name = "f(x) = x⁴ − 3x² + x", x = xs, y = quartic(xs), marker = "none"},
  {name = "from x0 = −2", x = first(left_path, 40, item), y = first(left_f, 40), style = "dashed", marker = "o"},
  {name = "from x0 = +2", x = first(right_path, 40, item), y = first(right_f, 40), style = "dashed", marker = "s"},
}, course.plot_path(opts, "local_minima.png"), {
  title = "003_2d572698e7403bd6.txt Q1.3: the start decides the minimum",
  xlabel = "x (η = 0.01, the first 40 steps)", ylabel = "f(x)"})

-- Points of a 2-D path while inside the drawn square.
local function inside(path, limit)
  local px, py = {}, {}
  for _, p in ipairs(path) do
    if math.abs(p[1]) > limit or math.abs(p[2]) > limit then break end
    px[#px + 1], py[#py + 1] = p[1], p[2]
  end
  return px, py
end
local fx, fy = inside(first(flat_path, 30), 1.2)
local nx, ny = inside(nudged_path, 1.2)
nn.plot.contour(function(X, Y) return X * X - Y * Y end, course.plot_path(opts, "saddle.png"), {
  x = {-1.2, 1.2}, y = {-1.2, 1.2},
  -- drawn last, on top of the shared stretch of y = 0
  paths = {{name = "from (1, 0.001): escapes", x = nx, y = ny},
           {name = "from (1, 0): stops at the saddle", x = fx, y = fy, marker = "s"}},
  title = "002_6afe73c36a0a240a.txt optimisation challenges: a saddle",
  xlabel = "x (f = x² − y², η = 0.1)", ylabel = "y"})

local ts = nn.linspace(-1, 7, 300)
nn.plot.lines({
  {name = "(tanh x − 0.5)²", x = ts, y = tanh_loss(ts), marker = "none"},
  {name = "from x0 = 1 (reaches atanh 0.5)", x = first(path1, 20, item), y = first(fs1, 20), style = "dashed",
   marker = "o"},
  {name = "from x0 = 6 (moves < 0.01 in 100 steps)", x = first(path6, 100, item), y = first(fs6, 100),
   style = "none", marker = "s"},
}, course.plot_path(opts, "vanishing.png"), {
  title = "002_6afe73c36a0a240a.txt optimisation challenges: a vanishing gradient",
  xlabel = "x (η = 0.5)", ylabel = "loss"})

local sq_ok = small_monotone and math.abs(small_x:item()) < 1e-6 and big_f[#big_f] > big_f[1]
local saddle_ok = flat_grad < 1e-6 and math.abs(flat_end[1]) < 1e-6 and flat_end[2] == 0 and f_below < 0 and y50 > 1
local tanh_ok = math.abs(from1:item() - target) < 1e-3 and moved6 < 0.01
course.verdict("S2-05", n_descends == n_checked and rel_dev <= 0.05 and sq_ok and saddle_ok and tanh_ok,
  "f(x−ηf′) < f(x) at %d of %d points, max |decrease − ηf′²|/ηf′² = %.3f <= 0.05; x², η=0.2: f falls every step " ..
  "(%s), |x| = %.2g < 1e-6 after 50; η=1.1: f = %.4g > f(x0) = %.4g after 20; saddle from (1,0) ends at " ..
  "(%.2g, %.2g) with |∇f| = %.2g < 1e-6 although f(0,0.1) = %.2g < 0; from (1,1e-3) |y| = %.3g > 1 after 50; " ..
  "tanh from 1 ends %.2g from atanh(0.5) (< 1e-3), from 6 moves %.2g < 0.01",
  n_descends, n_checked, rel_dev, small_monotone and "yes" or "no", math.abs(small_x:item()), big_f[#big_f],
  big_f[1], flat_end[1], flat_end[2], flat_grad, f_below, y50, math.abs(from1:item() - target), moved6)
course.verdict("S3-02", math.abs(xl + 1.3008) < 1e-3 and math.abs(xr - 1.1309) < 1e-3 and math.abs(fl - fr) > 1
               and math.abs(convex_left - 1) < CONVEX_TOL and math.abs(convex_right - 1) < CONVEX_TOL,
  "from −2 x = %.4f (|x + 1.3008| < 1e-3), from +2 x = %.4f (|x − 1.1309| < 1e-3), f differ by %.3f > 1; " ..
  "(x−1)² ends at %.7f and %.7f (1 ± 1e-5: float32 stalls within 3e-6)", xl, xr, math.abs(fl - fr), convex_left, convex_right)
course.finish()
