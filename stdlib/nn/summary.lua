-- Module:summary(input_shape, {print=true}): a Keras-style table of a
-- model's layers with the output shape of each (batch dim included) and
-- its parameter count, then the totals.
--
-- Shapes come from one forward pass, without gradients and in eval mode
-- (so BatchNorm's running statistics are untouched), on zeros of the given
-- shape. During that pass each listed layer's forward is wrapped by an
-- instance field that records the output; the wrappers and the training
-- flags are restored afterwards, also when the forward fails.

local nn = require "nn"
local A = require "nn.args"

-- 235146 -> "235,146".
local function commas(n)
  local s, count = tostring(n), 0
  repeat s, count = s:gsub("^(%d+)(%d%d%d)", "%1,%2") until count == 0
  return s
end

-- "[1, 256]" for a tensor; several outputs are joined by commas.
local function shape_of(outputs)
  local parts = {}
  for i = 1, outputs.n do
    local v = outputs[i]
    if nn.is_tensor(v) then parts[#parts + 1] = "[" .. table.concat(v.shape, ", ") .. "]" end
  end
  return #parts > 0 and table.concat(parts, ", ") or "-"
end

-- The number of elements of m's own parameters (not its children's).
local function own_params(m)
  local n = 0
  for _, key in ipairs(m._keys) do
    local v = rawget(m, key)
    if m._kinds[key] == "param" and nn.is_tensor(v) then n = n + v:numel() end
  end
  return n
end

-- The layers to list: every module without children, and any with
-- parameters of its own; the model itself when it is a single layer.
local function layer_rows(model)
  local rows = {}
  for name, m in model:named_modules() do
    if m ~= model and (#m:children() == 0 or own_params(m) > 0) then
      rows[#rows + 1] = {label = name .. " (" .. m.__name .. ")", module = m, params = own_params(m)}
    end
  end
  if #rows == 0 then rows[1] = {label = model.__name, module = model, params = own_params(model)} end
  return rows
end

-- Runs model on x in eval mode without gradients, recording each row's
-- output shape; restores everything it changed before returning.
local function trace(model, rows, x)
  local modes = {}
  for _, m in ipairs(model:modules()) do modes[m] = m.training end
  for _, row in ipairs(rows) do
    local m, own = row.module, rawget(row.module, "forward")
    local forward = own or getmetatable(m).forward
    row.own_forward = own
    rawset(m, "forward", function(self, ...)
      local out = table.pack(forward(self, ...))
      row.shape = shape_of(out)
      return table.unpack(out, 1, out.n)
    end)
  end
  model:train(false)
  local ok, err = pcall(nn.no_grad, model.forward, model, x)
  for _, row in ipairs(rows) do rawset(row.module, "forward", row.own_forward) end
  for m, mode in pairs(modes) do rawset(m, "training", mode) end
  return ok, err
end

return function(model, input_shape, opts)
  opts = A.options("summary", opts, {print = true})
  local x
  if nn.is_tensor(input_shape) then
    x = input_shape
  elseif type(input_shape) == "table" and #input_shape > 0 then
    for i, n in ipairs(input_shape) do A.int("summary", "input_shape[" .. i .. "]", n) end
    x = nn.zeros(input_shape)
  else
    A.fail("summary", "input_shape must be a table of sizes such as {1, 784} (batch dim included), got %s",
           A.show(input_shape))
  end
  local rows = layer_rows(model)
  local ok, err = trace(model, rows, x)
  if not ok then
    A.fail("summary", "the forward pass on an input of shape %s failed: %s", A.shape_str(x), A.message(err))
  end

  local header = {"Layer (type)", "Output Shape", "Param #"}
  local widths = {#header[1], #header[2], #header[3]}
  for _, row in ipairs(rows) do
    row.cells = {row.label, row.shape or "(not called)", commas(row.params)}
    for i = 1, 3 do widths[i] = math.max(widths[i], #row.cells[i]) end
  end
  local function line(cells)
    return ("%-" .. widths[1] + 3 .. "s%-" .. widths[2] + 3 .. "s%s"):format(cells[1], cells[2], cells[3])
  end
  local width = widths[1] + widths[2] + widths[3] + 6
  local total, trainable = 0, 0
  for _, p in ipairs(model:parameters()) do
    total = total + p:numel()
    if p.requires_grad then trainable = trainable + p:numel() end
  end

  local out = {("%s (input %s)"):format(model.__name, "[" .. table.concat(x.shape, ", ") .. "]"),
               ("-"):rep(width), line(header), ("="):rep(width)}
  for _, row in ipairs(rows) do out[#out + 1] = line(row.cells) end
  out[#out + 1] = ("="):rep(width)
  out[#out + 1] = "Total params: " .. commas(total)
  out[#out + 1] = "Trainable params: " .. commas(trainable)
  out[#out + 1] = "Non-trainable params: " .. commas(total - trainable)
  out[#out + 1] = ("-"):rep(width)
  local text = table.concat(out, "\n")
  -- As Keras's model.summary(): printed, or returned with {print=false};
  -- never both, so the REPL does not echo the table a second time.
  if opts.print == false then return text end
  print(text)
end
