"""Mechanism replication: cohort, model marginal and attribution verdicts come out right on
a cohort with planted genetics, and turn when the planted effect is removed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

import organo_predict as op
from organo_predict._evaluate._replication import PRIOR, Refit, replicate
from organo_predict._knowledge._mechanisms import KnowledgeBase, Mechanism

from ..conftest import write_planted_study

LUAD = dict(alteration="mutation", organ="CNS_BRAIN", cancer_types=("Non-Small Cell Lung Cancer",),
            subtypes=("LUAD",), condition=None, evidence="genomic", mechanism="test",
            citation="planted by the test")
ENTRIES = (
    Mechanism(id="EGFR_BRAIN", marker="EGFR", direction=1, **LUAD),  # planted
    Mechanism(id="TP53_BRAIN", marker="TP53", direction=1, **LUAD),  # planted null
    Mechanism(id="KRAS_BRAIN", marker="KRAS", direction=-1, **LUAD),  # through EGFR only
    Mechanism(id="EGFR_SKIN", marker="EGFR", direction=1, **{**LUAD, "organ": "SKIN"}),
)


def _replicate(tmp_path: Path, odds_ratio: float, folds: int = 5):
    """The planted study, a model on all of it and its refits without each of `folds`
    groups (as the experiment's CV gives them), checked against ENTRIES."""
    cohort = op.load_study(write_planted_study(tmp_path / "planted", brain_odds_ratio=odds_ratio))
    builder = op.FeatureBuilder(min_carriers=10)
    x = builder.fit_transform(cohort)
    y = op.labels_from_samples(cohort.samples)[["CNS_BRAIN", "LIVER", "BONE"]]
    model = op.OrganotropismModel(organs=list(y.columns), random_state=0).fit(x, y)
    group = np.arange(len(x)) % folds
    refits = [Refit(op.OrganotropismModel(organs=list(y.columns), random_state=0).fit(
        x[group != g], y[group != g]), group != g) for g in range(folds)]
    explainer = op.Explainer(builder, model, knowledge=KnowledgeBase("t", "t", ENTRIES))
    result = replicate(explainer, x, y, refits, cohort_name="planted")
    return {e.id: e for e in result.entries}, result


def test_planted_association_null_and_mutually_exclusive_markers(tmp_path: Path) -> None:
    entries, result = _replicate(tmp_path, odds_ratio=4.0)
    egfr, tp53, kras = entries["EGFR_BRAIN"], entries["TP53_BRAIN"], entries["KRAS_BRAIN"]
    assert egfr.verdict == {"cohort": "replicated", "model": "reproduces",
                            "attribution": "attributed to the marker"}
    assert 2.5 < egfr.cohort["or"] < 6.5 and egfr.cohort["or_ci"][0] > 1
    assert egfr.cohort["q"] < 0.001
    assert tp53.verdict["cohort"] == "not replicated"
    assert tp53.verdict["attribution"] != "attributed to the marker"
    # KRAS excludes EGFR: the cohort shows "KRAS lowers brain", the model reproduces it, and
    # credits EGFR for it
    assert kras.verdict == {"cohort": "replicated", "model": "reproduces",
                            "attribution": "carried by EGFR"}
    assert kras.carried_by[0]["marker"] == "EGFR" and kras.carried_by[0]["diff"] < 0
    assert entries["EGFR_SKIN"].verdict["cohort"] == "untestable"
    assert "no label" in entries["EGFR_SKIN"].reason
    assert "replicated in planted: OR" in result.summaries()["EGFR_BRAIN"]
    shares = result.shares()
    assert shares["replicated"] == 2 and shares["share_reproduced"] == 1.0
    assert shares["share_attributed"] == 0.5


def test_removing_the_planted_effect_turns_the_verdicts(tmp_path: Path) -> None:
    entries, _ = _replicate(tmp_path, odds_ratio=1.0)
    for name in ("EGFR_BRAIN", "KRAS_BRAIN"):
        assert entries[name].verdict["cohort"] == "not replicated", name
        assert entries[name].verdict["attribution"] != "attributed to the marker", name


def test_too_few_carriers_is_untestable_with_the_count(tmp_path: Path) -> None:
    cohort = op.load_study(write_planted_study(tmp_path / "small", n=60))
    builder = op.FeatureBuilder(min_carriers=5)
    x = builder.fit_transform(cohort)
    y = op.labels_from_samples(cohort.samples)[["CNS_BRAIN", "LIVER", "BONE"]]
    model = op.OrganotropismModel(organs=list(y.columns), random_state=0).fit(x, y)
    kb = KnowledgeBase("t", "t", (replace(ENTRIES[0]),))
    entry = replicate(op.Explainer(builder, model, knowledge=kb), x, y).entries[0]
    assert entry.verdict["cohort"] == "untestable"
    assert 0 < entry.n_carriers < 20 and f"{entry.n_carriers} carriers" in entry.reason
    assert "80% power at OR 2 needs" in entry.reason


def test_a_subtype_that_defines_the_marker_is_not_a_stratum(luad_model) -> None:
    """HR status is what separates breast subtypes (IDC HR+HER2- ...): within a subtype
    nobody differs, so the entry is stratified by cancer type alone, and says so."""
    builder, model, x = luad_model
    samples = op.datasets.msk_met().samples.loc[x.index]
    y = op.labels_from_samples(samples)[list(model.organs_)]
    result = replicate(op.Explainer(builder, model), x, y, n_bootstrap=200)
    hr = next(e for e in result.entries if e.id == "HR_BC_BONE")
    assert hr.strata == "cancer type (subtypes define it)"
    assert hr.n_carriers >= 20 and hr.cohort is not None
    # the model reads HR status from the subtype, through its prior: that carries it
    assert hr.carried_by[0]["marker"] == PRIOR and hr.carried_by[0]["diff"] > 0
    egfr = next(e for e in result.entries if e.id == "EGFR_LUAD_BRAIN")
    assert egfr.strata == "cancer type x subtype"
    assert result.model_intervals.startswith("bootstrap over patients")
    cohort_only = replicate(op.Explainer(builder, model), x, y, with_model=False)
    assert cohort_only.model_intervals == "none"
    assert all(e.model_marginal is None for e in cohort_only.entries)
