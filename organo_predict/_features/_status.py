"""Columns read from clinical text and from counts: receptor status (HR, HER2) from the
study's own wording, and TMB from the mutations when a study has no TMB column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._cohort._cohort import Cohort
from .._knowledge._recipes import Receptor, Recipes

__all__ = ["receptor_status", "tmb_from_mutations"]


def receptor_status(cohort: Cohort, receptor: Receptor, cancer_type: pd.Series) -> np.ndarray:
    """1 positive / 0 negative / NaN unknown, from the first clinical column whose text
    matches, for the cancer types the receptor applies to (the patterns run once per distinct
    value)."""
    n = len(cohort.samples)
    out = np.full(n, np.nan, dtype=np.float32)
    applies = cancer_type.isin(receptor.applies_to).to_numpy()
    for source in receptor.sources:
        values = cohort.clinical([source.column])
        codes, uniques = pd.factorize(values)
        if (codes < 0).all():
            continue
        text = [str(u) for u in uniques] + [""]
        pos = np.array([source.positive.search(t) is not None for t in text])[codes]
        neg = np.array([source.negative.search(t) is not None for t in text])[codes] & ~pos
        todo = np.isnan(out) & applies
        out[todo & pos] = 1.0
        out[todo & neg] = 0.0
    return out

def tmb_from_mutations(mut: np.ndarray, on_panel: np.ndarray, recipes: Recipes) -> np.ndarray:
    """Mutations per megabase from the counted mutations and the profiled genes, for a study
    without a TMB column (markers.toml [tmb_fallback])."""
    n_genes = on_panel.sum(axis=1)
    mb = np.where(n_genes == on_panel.shape[1], recipes.tmb_exome_mb,
                  n_genes * recipes.tmb_mb_per_gene)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mb > 0, np.nansum(mut, axis=1) / mb, np.nan).astype(np.float32)
