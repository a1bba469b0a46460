"""Each block of columns: mutations and their classes, hotspots, copy number, fusions,
pathways, receptor status and the clinical context; off-panel genes NaN, never 0."""

from __future__ import annotations

import numpy as np


def test_off_panel_gene_is_nan_not_zero(built) -> None:
    _, x = built
    # CXCR4 is not on IMPACT341 (S1): unknown, not wild-type
    assert np.isnan(x.loc["S1", "mut_CXCR4"])
    assert x.loc["S2", "mut_CXCR4"] == 0.0 and x.loc["S3", "mut_CXCR4"] == 1.0


def test_cxcr4_on_real_impact341_sample_is_nan(msk_features) -> None:
    cohort, x = msk_features
    impact341 = cohort.samples.index[cohort.samples["GENE_PANEL"] == "IMPACT341"]
    impact468 = cohort.samples.index[cohort.samples["GENE_PANEL"] == "IMPACT468"]
    assert x.loc[impact341, "mut_CXCR4"].isna().all()
    assert x.loc[impact468, "mut_CXCR4"].notna().all()
    assert x.loc[impact468, "mut_CXCR4"].sum() > 0


def test_mutation_classes(built) -> None:
    _, x = built
    assert x.loc["S1", "mut_EGFR"] == 1 and x.loc["S1", "hotspot_EGFR_L858R"] == 1
    assert x.loc["S2", "hotspot_KRAS_G12C"] == 1 and x.loc["S1", "hotspot_KRAS_G12C"] == 0
    assert "hotspot_KRAS_G12D" not in x.columns  # no carrier: not a feature
    assert x.loc["S2", "trunc_TP53"] == 1 and "missense_TP53" not in x.columns
    assert x.loc["S4", "mut_KRAS"] == 0  # silent does not count
    assert x.loc["S4", "mut_TERT"] == 1  # ... but the TERT promoter does
    assert x.loc["S3", "hotspot_PIK3CA_H1047R"] == 1


def test_copy_number_and_sv(built) -> None:
    _, x = built
    assert x.loc["S1", "amp_EGFR"] == 1 and x.loc["S2", "amp_MET"] == 1
    assert x.loc["S2", "del_PTEN"] == 1
    assert np.isnan(x.loc["S4", "del_PTEN"])  # NA in the CNA file: not profiled
    assert x.loc["S1", "sv_ALK"] == 1 and x.loc["S2", "sv_ALK"] == 0


def test_receptor_status_and_context(built) -> None:
    _, x = built
    assert x.loc["S3", "status_HR"] == 1 and x.loc["S3", "status_HER2"] == 0
    assert np.isnan(x.loc["S1", "status_HR"])  # not breast
    assert x["sex"].tolist() == [0, 1, 1, 0]
    assert x["age"].tolist() == [61, 55, 48, 70]
    assert x.loc["S2", "path_RTK_RAS"] == 1 and x.loc["S2", "path_TP53"] == 1
