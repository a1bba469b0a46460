"""Concordance: verdicts follow the documented direction; what cannot be tested says why."""

from __future__ import annotations

from dataclasses import replace

from organo_predict import Explainer
from organo_predict._concordance import concordance
from organo_predict._recipes import KnowledgeBase, load_mechanisms


def test_concordance_verdicts_follow_the_documented_direction(luad_model) -> None:
    builder, model, x = luad_model
    egfr = next(m for m in load_mechanisms().mechanisms if m.id == "EGFR_LUAD_BRAIN")
    flipped = replace(egfr, id="EGFR_FLIPPED", direction=-1)
    unknown = replace(egfr, id="NOT_A_GENE", marker="NOTAGENE")
    other_organ = replace(egfr, id="SKIN_ENTRY", organ="SKIN")
    knowledge = KnowledgeBase("test", "test", (egfr, flipped, unknown, other_organ))
    result = concordance(Explainer(model, builder, knowledge=knowledge), x)
    report = result.to_dict()
    assert report["agree"] == ["EGFR_LUAD_BRAIN"] and report["disagree"] == ["EGFR_FLIPPED"]
    assert report["tested"] == ["EGFR_LUAD_BRAIN", "EGFR_FLIPPED"]
    assert "NOTAGENE" in report["untestable"]["NOT_A_GENE"]
    assert report["untestable"]["SKIN_ENTRY"] == "organ not modelled"
    assert report["agreement"] == 0.5
    entry = result.entries[0]
    assert entry.n_carriers >= 20 and entry.difference > 0.01
