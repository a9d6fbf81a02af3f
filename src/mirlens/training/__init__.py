"""Training and tuning models: data splits, the training loop, checkpoints, hyper-parameter grids."""
