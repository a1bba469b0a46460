"""The mutation table located once for feature building: the sample row and gene column of
every mutation, which ones count as protein-altering, and variant-class masks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._cohort import Cohort
from ._recipes import Recipes

__all__ = ["MafIndex", "lookup"]


class MafIndex:
    """The mutation rows located once: sample row and gene column of each, which counts as
    protein-altering, and class-membership masks. Every string column is factorized first and
    only its few distinct values are looked up: per-row string work on millions of MAF rows
    is what costs."""

    def __init__(self, maf: pd.DataFrame, sample: np.ndarray, gene: np.ndarray,
                 position: dict[str, int]) -> None:
        self.maf, self.sample, self.gene, self.position = maf, sample, gene, position
        self._vc_codes, self._vc_levels = pd.factorize(maf["Variant_Classification"])
        self._masks: dict[frozenset[str], np.ndarray] = {}
        self.ok = np.zeros(len(maf), dtype=bool)  # a protein-altering mutation of a known gene

    @classmethod
    def of(cls, cohort: Cohort, genes: pd.Index, position: dict[str, int],
           recipes: Recipes) -> MafIndex:
        """The cohort's mutations against the fitted gene list `genes` (and its `position`
        dict, for scalar lookups)."""
        maf = cohort.mutations
        sample = lookup(maf["SAMPLE_ID"], cohort.samples.index)
        in_cohort = sample >= 0
        if not in_cohort.all():
            maf, sample = maf.loc[in_cohort], sample[in_cohort]
        index = cls(maf, sample, lookup(maf["Hugo_Symbol"], genes), position)
        counts = ~index.in_classes(recipes.not_protein_altering)
        for gene, allowed in recipes.noncoding_exceptions.items():
            if gene in position:
                counts |= (index.gene == position[gene]) & index.in_classes(allowed)
        index.ok = counts & (index.gene >= 0)
        return index

    def in_classes(self, classes: frozenset[str]) -> np.ndarray:
        """Rows whose variant class is in `classes`: membership over the few distinct
        classes, then broadcast; each recipe's class set is computed once."""
        if classes not in self._masks:
            self._masks[classes] = np.append(
                np.isin(np.asarray(self._vc_levels, dtype=object), list(classes)),
                False)[self._vc_codes]
        return self._masks[classes]

    def protein_changes(self, recipes: Recipes) -> np.ndarray:
        """The protein change of each row ('' unknown), read for hotspot genes' rows only."""
        hotspot_genes = [self.position[h.gene] for h in recipes.hotspots
                         if h.gene in self.position]
        protein = np.full(len(self.maf), "", dtype=object)
        with_hotspots = np.flatnonzero(np.isin(self.gene, hotspot_genes))
        protein[with_hotspots] = (self.maf["HGVSp_Short"].iloc[with_hotspots].astype("string")
                                  .fillna("").str.removeprefix("p.").to_numpy(dtype=object))
        return protein


def lookup(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in `index` (-1 if absent or missing), via the distinct values."""
    codes, uniques = pd.factorize(values)
    positions = np.append(index.get_indexer(pd.Index(uniques, dtype=object)), -1)
    return positions[codes]
