-- One real Fashion-MNIST training epoch of the peer's CNN (conv 32 and 64,
-- 3x3 pad 1, ReLU, 2x2 max-pool, fc 128, fc 10, cross-entropy, Adam lr
-- 1e-3) against bench/peers/cnn_epoch.py and against its own GEMMs
-- replayed raw (the convolutions as their im2col GEMMs; bench/epoch.lua):
-- time and fraction of the ceiling at 1 and 2 threads, test accuracy over
-- 5 seeds. An epoch takes tens of seconds, so 2 threads time only the
-- first --timing-seeds (2) seeds.
--   nnlua bench/cnn_epoch.lua [--threads 1,2] [--seeds S] [--timing-seeds S2] [--replay-s X]
--                             [--skip-peer] [--quick] [--peer-env VAR=VALUE]
-- Issue 14's targets, printed beside the figures: fraction of the ceiling
-- >= 0.85 at 1 thread and >= 0.80 at 2; nnlua / PyTorch <= 0.50 and <= 0.42.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path

require("epoch").run{
  name = "cnn_epoch", peer_script = "cnn_epoch.py", peer_name = "cnn_epoch", seeds = 5, timing_seeds = 2,
  targets = {ceiling = {[1] = 0.85, [2] = 0.80}, ratio = {[1] = 0.50, [2] = 0.42}},
  make = require("peer_models").cnn,
  -- oneDNN runs its convolutions: their recorded GEMMs are the ceiling's
  -- stand-ins, not what the epoch runs, so no GEMMs-as-run / rest split
  stand_in_gemms = true,
}
