"""The objects of a run built from a config, the training loop, the run directory and its pieces."""
