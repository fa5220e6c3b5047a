-- nn.models.mlp{sizes={784, 256, 10}, activation='relu', dropout=0}: a
-- multilayer perceptron, the nn.Sequential a student would write by hand:
-- for each pair of consecutive sizes a Linear, and between two Linears
-- the activation, then Dropout(dropout) when dropout > 0. The last Linear
-- gives the raw scores (logits): no activation after it, as the losses
-- (CrossEntropyLoss, BCEWithLogitsLoss) expect.
--
--   nn.models.mlp{sizes={784, 256, 128, 10}, dropout=0.2}
--   -- MLP(Linear 784->256, ReLU, Dropout, Linear 256->128, ReLU, Dropout,
--   --     Linear 128->10)
--
-- activation names one of ACTIVATIONS below. The Linears keep PyTorch's
-- default initialization.

local nn = require "nn"
local A = require "nn.args"

local MLP = nn.Sequential:extend("MLP")

local ACTIVATIONS = {
  relu = nn.ReLU, leaky_relu = nn.LeakyReLU, elu = nn.ELU, gelu = nn.GELU, silu = nn.SiLU,
  relu6 = nn.ReLU6, tanh = nn.Tanh, sigmoid = nn.Sigmoid, softplus = nn.Softplus,
}
local ACTIVATION_NAMES = {"relu", "leaky_relu", "elu", "gelu", "silu", "relu6", "tanh", "sigmoid", "softplus"}

local function check_sizes(sizes)
  if type(sizes) ~= "table" or nn.is_tensor(sizes) or #sizes < 2 then
    A.fail("mlp", "sizes must be a list of at least two layer widths such as {784, 256, 10}, got %s",
           type(sizes) == "table" and ("a table of %d values"):format(#sizes) or A.show(sizes))
  end
  local list = {}
  for i = 1, #sizes do list[i] = A.int("mlp", ("sizes[%d]"):format(i), sizes[i]) end
  return list
end

local function mlp(opts)
  opts = A.options("mlp", opts, {sizes = true, activation = true, dropout = true})
  if opts.sizes == nil then A.fail("mlp", "sizes is required, as in nn.models.mlp{sizes={784, 256, 10}}") end
  local sizes = check_sizes(opts.sizes)
  local name = A.choice("mlp", "activation", opts.activation or "relu", ACTIVATION_NAMES)
  local dropout = A.number("mlp", "dropout", opts.dropout or 0, 0, 1)
  if dropout == 1 then A.fail("mlp", "dropout must be below 1 (1 zeroes every activation), got 1") end
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
    if i < #sizes - 1 then
      layers[#layers + 1] = ACTIVATIONS[name]()
      if dropout > 0 then layers[#layers + 1] = nn.Dropout(dropout) end
    end
  end
  return MLP(layers)
end

return {mlp = mlp, MLP = MLP}
