-- One real Fashion-MNIST training epoch of the course's MLP against
-- bench/peers/mlp_epoch.py: time and test accuracy (medians over 5
-- seeds: one seed's accuracy after an epoch spreads +-1 point, and an epoch
-- is cheap), and the cost of augmentation (flip + rotation(10) + crop(28,
-- padding 4)) relative to a plain epoch.
--   nnlua bench/mlp_epoch.lua [--threads N] [--seeds S] [--skip-peer] [--quick]
--                               [--peer-env VAR=VALUE]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path

require("epoch").run{
  name = "mlp_epoch", peer_script = "mlp_epoch.py", peer_name = "mlp_epoch", augment = true, seeds = 5,
  make = require("peer_models").mlp,
}
