"""Pre-training on MLM + NSP (one process or torchrun), and its training log."""
