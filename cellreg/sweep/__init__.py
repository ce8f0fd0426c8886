"""Hyperparameter sweeps with Optuna: the search space, the study, the trials and what they leave."""
