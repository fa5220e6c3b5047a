-- One real Fashion-MNIST training epoch of the course's MLP against
-- bench/peers/mlp_epoch.py and against its own GEMMs replayed raw (the
-- ceiling; bench/epoch.lua): time, fraction of the ceiling and test
-- accuracy (medians over 5 seeds: one seed's accuracy after an epoch
-- spreads +-1 point, and an epoch is cheap) at 1 and 2 threads, and the
-- cost of augmentation (flip + rotation(10) + crop(28, padding 4))
-- relative to a plain epoch, and a batch from the byte dataset beside one
-- from float tensors.
--   nnlua bench/mlp_epoch.lua [--threads 1,2] [--seeds S] [--timing-seeds S2] [--replay-s X]
--                             [--skip-peer] [--quick] [--peer-env VAR=VALUE]
-- Issue 14's targets, printed beside the figures: fraction of the ceiling
-- >= 0.95 at 1 thread and >= 0.90 at 2; nnlua / PyTorch <= 0.66 and <= 0.50.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path

require("epoch").run{
  name = "mlp_epoch", peer_script = "mlp_epoch.py", peer_name = "mlp_epoch", augment = true, time_loaders = true, seeds = 5,
  targets = {ceiling = {[1] = 0.95, [2] = 0.90}, ratio = {[1] = 0.66, [2] = 0.50}},
  make = require("peer_models").mlp,
}
