-- A short tour of nnlua's tensors: run it with `make demo` or
-- `build/nnlua scripts/tour.lua`. Every line prints what it computes.

local function show(label, value)
  print(("-- %s"):format(label))
  print(value)
end

nn.manual_seed(42)

-- Creation: sizes as numbers or one table; float32 by default.
local a = nn.tensor{{1, 2, 3}, {4, 5, 6}}
show("a = nn.tensor{{1, 2, 3}, {4, 5, 6}}", a)
show("a.shape, a.dtype", ("{%s}  %s"):format(table.concat(a.shape, ", "), a.dtype))
show("nn.arange(5) (int64, like PyTorch)", nn.arange(5))
show("nn.randn(2, 3)", nn.randn(2, 3))

-- Indexing is 1-based, like Lua: a[1] is the first row (a view).
show("a[2]", a[2])
show("a[2][3] (a Lua number)", a[2][3])
show("a:narrow(2, 2, 2)", a:narrow(2, 2, 2))

-- Broadcasting arithmetic and operators.
show("a * 10 + nn.tensor{1, 2, 3}", a * 10 + nn.tensor{1, 2, 3})
show("(a - 3):relu()", (a - 3):relu())
show("a:gt(3) (a bool mask)", a:gt(3))
show("nn.where(a:gt(3), a, 0)", nn.where(a:gt(3), a, 0))
show("a:sin()", a:sin())
show("a:sqrt():round() (half to even)", a:sqrt():round())
show("a:any(2), a:count_nonzero(1)", tostring(a:any(2)) .. "  " .. tostring(a:count_nonzero(1)))
show("a:cumsum(2)", a:cumsum(2))

-- Views share storage: transpose, reshape, unsqueeze cost no copy.
show("a:t()", a:t())
show("a:view(3, 2)", a:view(3, 2))

-- Reductions take (dim, keepdim); max returns values and 1-based indices.
show("a:sum(), a:mean(2)", ("%g  %s"):format(a:sum():item(), tostring(a:mean(2))))
local values, indices = a:max(2)
show("a:max(2)", ("%s\n%s"):format(tostring(values), tostring(indices)))

-- Sorting is stable; topk, median, unique follow PyTorch, indices 1-based.
local sorted, order = a:sort(2, true)
show("a:sort(2, true)", ("%s\n%s"):format(tostring(sorted), tostring(order)))
show("a:median(), nn.cdist(a, a)", ("%g\n%s"):format(a:median():item(), tostring(nn.cdist(a, a))))

-- Matrix products go through OpenBLAS.
show("nn.matmul(a, a:t())", nn.matmul(a, a:t()))

-- Autograd: gradients of any scalar with respect to leaf tensors.
local w = nn.tensor{0.5, -1, 2}:requires_grad_()
local loss = (a:matmul(w) - nn.tensor{1, 2}):pow(2):mean()
loss:backward()
show("loss = mean((a @ w - y)^2); w.grad", w.grad)

-- Files: safetensors (interchangeable with PyTorch's) and NumPy .npy.
local path = os.tmpname()
nn.save({a = a, w = w:detach()}, path)
show("nn.load(path).a", nn.load(path).a)
os.remove(path)

-- Errors name the function and the values, and never crash.
local ok, err = pcall(function() return nn.matmul(nn.zeros(64, 784), nn.zeros(256, 128)) end)
show("a bad matmul", err)
