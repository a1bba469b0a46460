"""The mutation table located once for feature building: the sample row and gene column of
every mutation, which ones count as protein-altering, and variant-class masks (with the class
an indel's alleles imply where the file gives none: markers.toml [allele_length_classes])."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._cohort._cohort import Cohort
from .._knowledge._recipes import AlleleLengthClasses, Recipes

__all__ = ["ClassCoverage", "MafIndex", "class_coverage", "effective_classes", "lookup"]


class MafIndex:
    """The mutation rows located once: sample row and gene column of each, which counts as
    protein-altering, and class-membership masks. Every string column is factorized first and
    only its few distinct values are looked up: per-row string work on millions of MAF rows
    is what costs."""

    def __init__(self, maf: pd.DataFrame, sample: np.ndarray, gene: np.ndarray,
                 position: dict[str, int], rule: AlleleLengthClasses | None = None) -> None:
        self.maf, self.sample, self.gene, self.position = maf, sample, gene, position
        classes, _ = effective_classes(maf, rule)
        self._vc_codes, self._vc_levels = pd.factorize(classes)
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
        index = cls(maf, sample, lookup(maf["Hugo_Symbol"], genes), position,
                    recipes.allele_length_classes)
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


def _allele_lengths(alleles: pd.Series) -> np.ndarray:
    """Bases of each allele ("-", the MAF's empty allele, is 0; missing is -1), computed on
    the distinct values."""
    codes, uniques = pd.factorize(alleles.astype("string"))
    lengths = np.array([0 if a == "-" else len(a) for a in uniques] + [-1], dtype=np.int64)
    return lengths[codes]


def _unclassed(classes: np.ndarray, rule: AlleleLengthClasses | None) -> np.ndarray:
    """Rows whose class the file does not give: missing, or one of `rule.unknown`."""
    names = list(rule.unknown) if rule is not None else ["Unknown", ""]
    return pd.isna(classes) | np.isin(classes.astype(str), names)


def effective_classes(maf: pd.DataFrame, rule: AlleleLengthClasses | None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's Variant_Classification, and where it is one of `rule.unknown` and the row is
    an insertion or deletion, the class its allele lengths imply (a length change not
    divisible by 3: frameshift; divisible: in-frame). Also the mask of the rows so classed.
    Without the rule or the allele columns, the file's classes as they are."""
    file_classes = maf["Variant_Classification"].astype(object).to_numpy()
    inferred = np.zeros(len(maf), dtype=bool)
    if rule is None or not {"Reference_Allele", "Tumor_Seq_Allele2"} <= set(maf.columns):
        return file_classes, inferred
    unknown = _unclassed(file_classes, rule)
    ref = _allele_lengths(maf["Reference_Allele"])
    alt = _allele_lengths(maf["Tumor_Seq_Allele2"])
    change = alt - ref
    inferred = unknown & (ref >= 0) & (alt >= 0) & (change != 0)
    frameshift = change % 3 != 0
    insertion = change > 0
    out = file_classes.copy()
    for mask, name in ((frameshift & ~insertion, rule.frameshift_deletion),
                       (frameshift & insertion, rule.frameshift_insertion),
                       (~frameshift & ~insertion, rule.in_frame_deletion),
                       (~frameshift & insertion, rule.in_frame_insertion)):
        out[inferred & mask] = name
    return out, inferred


@dataclass(frozen=True)
class ClassCoverage:
    """How many mutation rows have a variant class: from the file, and inferred here."""

    rows: int
    from_file: int
    inferred: int

    def sentence(self) -> str:
        if not self.rows:
            return "no mutation rows"
        known = self.from_file + self.inferred
        return (f"variant class known for {known / self.rows:.0%} of {self.rows:,} mutation "
                f"rows: {self.from_file / self.rows:.0%} in the file, "
                f"{self.inferred / self.rows:.0%} inferred from allele lengths")


def class_coverage(maf: pd.DataFrame, recipes: Recipes) -> ClassCoverage:
    """The share of `maf`'s rows whose class is known, in the file or from its alleles."""
    rule = recipes.allele_length_classes
    in_file = ~_unclassed(maf["Variant_Classification"].astype(object).to_numpy(), rule)
    _, inferred = effective_classes(maf, rule)
    return ClassCoverage(len(maf), int(in_file.sum()), int(inferred.sum()))
