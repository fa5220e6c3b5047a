-- One real Fashion-MNIST training epoch of the peer's CNN (conv 32 and 64,
-- 3x3 pad 1, ReLU, 2x2 max-pool, fc 128, fc 10, cross-entropy, Adam lr
-- 1e-3) against bench/peers/cnn_epoch.py: time and test accuracy,
-- medians over 3 seeds.
--   nnlua bench/cnn_epoch.lua [--threads N] [--seeds S] [--skip-peer] [--quick]
--                               [--peer-env VAR=VALUE]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path

require("epoch").run{
  name = "cnn_epoch", peer_script = "cnn_epoch.py", peer_name = "cnn_epoch",
  make = require("peer_models").cnn,
}
