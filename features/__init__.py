"""Declarative domain knowledge (TOML), shipped in the package as `organo_predict.recipes`."""
