-- The peer's CNN (conv 32 and 64, 3x3 pad 1, ReLU, 2x2 max-pool, fc 128,
-- fc 10, cross-entropy, Adam lr 1e-3) for one epoch of synthetic steps,
-- against bench/peers/cnn_epoch.py:
--   nnlua bench/cnn_step.lua [--threads N] [--reps R] [--quick] [--skip-peer]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path

require("training").run{
  name = "cnn_step", peer_script = "cnn_epoch.py", peer_name = "cnn_epoch", input_shape = {1, 28, 28},
  make = require("peer_models").cnn,
}
