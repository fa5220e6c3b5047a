-- The course's MLP (784-256-128-10, ReLU, LogSoftmax + NLL, SGD lr 0.01)
-- for one epoch of synthetic steps, against bench/peers/mlp_epoch.py:
--   nnlua bench/mlp_step.lua [--threads N] [--reps R] [--quick] [--skip-peer]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path

require("training").run{
  name = "mlp_step", peer_script = "mlp_epoch.py", peer_name = "mlp_epoch", input_shape = {784},
  make = require("peer_models").mlp,
}
