"""The mechanism knowledge base: every entry cited, a bad entry refused by name."""

from __future__ import annotations

import pytest

from organo_predict import FeatureError
from organo_predict._knowledge._mechanisms import load_mechanisms, parse_mechanisms
from organo_predict._knowledge._recipes import read_toml


def test_the_mechanism_knowledge_base_cites_every_entry() -> None:
    knowledge = load_mechanisms()
    assert len(knowledge.mechanisms) >= 24 and knowledge.version
    for mechanism in knowledge.mechanisms:
        assert mechanism.citation and mechanism.mechanism and mechanism.direction in (1, -1)
    egfr_brain = [m for m in knowledge.mechanisms
                  if m.marker == "EGFR" and m.organ == "CNS_BRAIN"]
    assert egfr_brain and egfr_brain[0].applies_to("Non-Small Cell Lung Cancer", "LUAD")


def test_an_entry_without_citation_is_refused_naming_it() -> None:
    data = read_toml("mechanisms.toml")
    first = dict(data["mechanism"][0])
    del first["citation"]
    with pytest.raises(FeatureError, match="mechanisms.toml"):
        parse_mechanisms({**data, "mechanism": [first]}, "mechanisms.toml")
