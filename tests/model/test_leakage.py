"""The leakage audit on the shipped cohort: both traps of PROVENANCE.md are caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import LeakageError, audit_leakage


def _strata(cohort, x: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Cancer type x panel: missingness by panel design is not leakage."""
    panel = pd.factorize(cohort.samples["GENE_PANEL"])[0]
    return (x["cancer_type"].to_numpy() * 100 + panel)[rows]


def _labels(cohort) -> pd.DataFrame:
    cols = [c for c in cohort.samples.columns
            if c.startswith("DMETS_DX_") and c != "DMETS_DX_UNSPECIFIED"]
    return cohort.samples[cols].apply(lambda s: s.map({"Yes": 1.0, "No": 0.0}))


def test_cna_missing_for_non_metastatic_patients_is_caught(msk_features) -> None:
    cohort, x = msk_features
    labels = _labels(cohort)
    labelled = labels.notna().all(axis=1).to_numpy()  # all labelled patients
    report = audit_leakage(x[labelled], labels[labelled], categorical=["cancer_type", "subtype"],
                           strata=_strata(cohort, x, labelled))
    refused = set(report.refused_features)
    cna = cohort.cna.loc[labelled]
    nonmet = (cohort.samples.loc[labelled, "METASTATIC_PATIENT"] == "No").to_numpy()
    na_for_nonmet = [g for g in cna.columns if cna[g].isna().to_numpy()[nonmet].all()]
    assert len(na_for_nonmet) == 132
    for gene in na_for_nonmet:
        for kind in ("amp", "del"):
            if f"{kind}_{gene}" in x.columns:
                assert f"{kind}_{gene}" in refused
    # the 17 genes profiled for everyone are not refused
    assert "amp_EGFR" not in refused and "del_PTEN" not in refused
    with pytest.raises(LeakageError, match=r"amp_AKT1 -> DMETS_DX_\w+: missingness odds ratio 0"):
        report.raise_if_refused()


def test_metastatic_site_as_feature_is_refused(msk_features) -> None:
    cohort, x = msk_features
    labels = _labels(cohort)
    rows = (labels.notna().all(axis=1) & (cohort.samples["METASTATIC_PATIENT"] == "Yes")).to_numpy()
    site = pd.factorize(cohort.samples["METASTATIC_SITE"])[0].astype(np.float32)
    site[site < 0] = np.nan
    leaky = pd.concat([x, pd.Series(site, index=x.index, name="biopsy_organ")], axis=1)[rows]
    report = audit_leakage(leaky, labels[rows], categorical=["cancer_type", "subtype",
                                                             "biopsy_organ"],
                           strata=_strata(cohort, x, rows))
    assert "biopsy_organ" in report.refused_features
    with pytest.raises(LeakageError, match=r"biopsy_organ -> DMETS_DX_\w+: level \d+ carries the "
                                           r"label in 100.0%"):
        report.raise_if_refused()
    allowed = audit_leakage(leaky, labels[rows], categorical=["cancer_type", "subtype",
                                                              "biopsy_organ"],
                            strata=_strata(cohort, x, rows),
                            allow=["biopsy_organ", "cancer_type", "subtype"])
    assert "biopsy_organ" not in allowed.refused_features


def test_default_population_has_no_cna_missingness_finding(msk_features) -> None:
    cohort, x = msk_features
    labels = _labels(cohort)
    rows = (labels.notna().all(axis=1) & (cohort.samples["METASTATIC_PATIENT"] == "Yes")).to_numpy()
    report = audit_leakage(x[rows], labels[rows], categorical=["cancer_type", "subtype"],
                           strata=_strata(cohort, x, rows))
    assert not [f for f in report.refused_features if f.startswith(("amp_", "del_"))]


def test_small_synthetic_missingness_leak() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400).astype(float)
    leak = np.where(y == 1, 1.0, np.nan).astype(np.float32)
    honest = rng.integers(0, 2, 400).astype(np.float32)
    report = audit_leakage(pd.DataFrame({"leak": leak, "honest": honest}),
                           pd.DataFrame({"DMETS_DX_LIVER": y}))
    assert report.refused_features == ["leak"]


def test_the_separation_check_reads_the_project_s_one_auroc_ties_counted_half() -> None:
    """A continuous feature with tied values: the audit's figure is the rank-sum AUROC
    (average ranks for ties), which `_stats.auroc` gives; one AUROC, not two."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(3)
    y = (rng.random(3000) < 0.3).astype(float)
    value = np.round(rng.normal(0, 1, 3000) + 3.5 * y, 0).astype(np.float32)  # ties
    report = audit_leakage(pd.DataFrame({"v": value}), pd.DataFrame({"LABEL": y}))
    (finding,) = [f for f in report.findings if f.feature == "v"]
    ranks = rankdata(value)
    n_pos = y.sum()
    expected = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos))
    assert finding.kind == "separation" and finding.figure == pytest.approx(expected, abs=1e-12)
