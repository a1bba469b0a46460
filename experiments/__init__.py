"""Experiment configurations (TOML), shipped in the package as `organo_predict.experiments`."""
