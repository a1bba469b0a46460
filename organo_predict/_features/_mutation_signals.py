"""What the mutation rows hold beyond which genes are hit: the substitution spectrum of a
tumor (markers.toml [spectrum]) and the mutant dosage of its drivers (markers.toml
[dosage]). Pure computation on the cohort's MAF rows and sample attributes.

Spectrum: among a sample's single-base substitutions (every row, silent ones included: they
are the exposure's footprint, not the selection's), the share of each of the six classes
named by the pyrimidine of the pair (C>A, C>G, C>T, T>A, T>C, T>G; a G>T row is a C>A
one); the share of its rows that are CC>TT doublets (UV); and the share that are indels.
Shares, not counts, so panels of different sizes compare; NaN below `min_substitutions`.

Dosage: a driver mutation whose allele fraction is above what one mutant copy of two
gives at the sample's purity (VAF > purity / 2 beyond binomial noise) carries more than
one mutant copy (allelic imbalance: loss of the wild-type allele or gain of the mutant).
`dosage_<GENE>` is 1 for such a carrier, 0 for a carrier with one copy of two or a
profiled non-carrier, NaN where the gene is not profiled or purity or depth is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._knowledge._feature_names import SPECTRUM_FEATURES
from .._knowledge._schemas import Dosage, Spectrum

__all__ = ["SBS_CLASSES", "mutant_dosage", "spectrum"]

SBS_CLASSES = ("C_A", "C_G", "C_T", "T_A", "T_C", "T_G")
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _sbs_class(ref: str, alt: str) -> int:
    """The index in SBS_CLASSES of a ref>alt substitution (-1: not a single-base one)."""
    if len(ref) != 1 or len(alt) != 1 or ref == alt or ref not in "ACGT" or alt not in "ACGT":
        return -1
    if ref in "GA":  # named by the pyrimidine of the pair
        ref, alt = ref.translate(_COMPLEMENT), alt.translate(_COMPLEMENT)
    return SBS_CLASSES.index(f"{ref}_{alt}")


def spectrum(maf: pd.DataFrame, sample: np.ndarray, n_samples: int, rule: Spectrum
             ) -> dict[str, np.ndarray]:
    """`sbs_<class>`, `dbs_CC_TT` and `indel_share` per sample (rows `sample` of the MAF's
    rows; -1 for a row of no sample). Without allele columns, every value is NaN."""
    names = list(SPECTRUM_FEATURES)
    if not {"Reference_Allele", "Tumor_Seq_Allele2"} <= set(maf.columns):
        return {name: np.full(n_samples, np.nan, np.float32) for name in names}
    pairs = maf["Reference_Allele"].astype(str) + ">" + maf["Tumor_Seq_Allele2"].astype(str)
    codes, uniques = pd.factorize(pairs)
    kind = np.array([_sbs_class(*u.split(">", 1)) for u in uniques] + [-1])[codes]
    doublet = np.isin(pairs.to_numpy(), ["CC>TT", "GG>AA"])
    lengths = np.array([[len(a) if a != "-" else 0 for a in u.split(">", 1)] for u in uniques]
                       + [[0, 0]])[codes]
    indel = lengths[:, 0] != lengths[:, 1]
    valid = sample >= 0
    rows = np.bincount(sample[valid], minlength=n_samples).astype(np.float64)
    sbs = np.zeros((n_samples, len(SBS_CLASSES)))
    hit = valid & (kind >= 0)
    np.add.at(sbs, (sample[hit], kind[hit]), 1.0)
    n_sbs = sbs.sum(1)
    enough = n_sbs >= rule.min_substitutions
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {f"sbs_{c}": np.where(enough, sbs[:, j] / n_sbs, np.nan).astype(np.float32)
               for j, c in enumerate(SBS_CLASSES)}
        for name, mask in (("dbs_CC_TT", doublet), ("indel_share", indel)):
            counts = np.bincount(sample[valid & mask], minlength=n_samples)
            out[name] = np.where(rows >= rule.min_substitutions, counts / rows,
                                 np.nan).astype(np.float32)
    return out


def mutant_dosage(maf: pd.DataFrame, sample: np.ndarray, ok: np.ndarray, gene: np.ndarray,
                  position: dict[str, int], base: np.ndarray, purity: np.ndarray,
                  rule: Dosage, genes: Sequence[str]) -> dict[str, np.ndarray]:
    """`dosage_<GENE>` for each of `genes` in `position` (see the module docstring). `ok`:
    the protein-altering rows of a known gene; `base` (samples x genes): 0 profiled, NaN not;
    `purity`: tumor fraction per sample, 0-1 (NaN unknown)."""
    from scipy.stats import binom  # here: every command that builds features imports us

    out: dict[str, np.ndarray] = {}
    if not {"t_alt_count", "t_ref_count"} <= set(maf.columns):
        return out
    alt = pd.to_numeric(maf["t_alt_count"], errors="coerce").to_numpy(np.float64)
    depth = alt + pd.to_numeric(maf["t_ref_count"], errors="coerce").to_numpy(np.float64)
    row_purity = np.where(sample >= 0, purity[np.maximum(sample, 0)], np.nan)
    measurable = np.isfinite(alt) & (depth >= rule.min_depth) & np.isfinite(row_purity) & (
        row_purity > 0)
    expected = np.clip(row_purity / 2, 1e-6, 1 - 1e-6)
    with np.errstate(invalid="ignore"):
        p_value = np.where(measurable, binom.sf(alt - 1, np.maximum(depth, 1), expected), 1.0)
    high = measurable & (p_value < rule.alpha)
    for name in genes:
        j = position.get(name, -1)
        if j < 0:
            continue
        rows = ok & (gene == j)
        column = base[:, j].copy()
        column[~np.isfinite(purity)] = np.nan
        unmeasured = rows & ~measurable
        column[sample[unmeasured]] = np.nan  # a carrier whose dosage cannot be told
        column[sample[rows & high]] = 1.0  # (a measured carrier of one copy keeps its 0)
        out[f"dosage_{name}"] = column.astype(np.float32)
    return out
