"""The mutation table located once: rows to samples and genes, protein-altering classes."""

from __future__ import annotations

import pandas as pd

from organo_predict import load_study
from organo_predict._maf import MafIndex, lookup
from organo_predict._recipes import load_recipes


def test_lookup_factorizes_before_it_looks_up() -> None:
    index = pd.Index(["S1", "S2"])
    assert lookup(pd.Series(["S2", "S9", "S1", "S2"]), index).tolist() == [1, -1, 0, 1]


def test_rows_that_count_and_protein_changes(tiny_study) -> None:
    cohort = load_study(tiny_study)
    genes = pd.Index(["EGFR", "KRAS", "TP53", "PIK3CA", "APC", "TERT"])
    maf = MafIndex.of(cohort, genes, {g: j for j, g in enumerate(genes)}, load_recipes())
    counted = set(zip(maf.sample[maf.ok].tolist(), genes[maf.gene[maf.ok]], strict=True))
    assert (3, "KRAS") not in counted  # the silent KRAS G12= of S4 does not count
    assert (0, "EGFR") in counted and (3, "APC") in counted
    protein = maf.protein_changes(load_recipes())
    assert "L858R" in protein.tolist() and "G12C" in protein.tolist()
