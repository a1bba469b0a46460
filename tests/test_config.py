"""Experiment configuration: the shipped configs parse; a bad key or value is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from organo_predict import ConfigError, load_config
from organo_predict._config import leakage_policy, shipped_leakage_policy
from organo_predict.cli import main


def test_bad_config_names_the_key(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[cohort]\npopulation = "everyone"\n')
    with pytest.raises(ConfigError, match="population must be one of"):
        load_config(bad)
    bad.write_text('[leakage]\nunprofiled = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"\[leakage\]: unprofiled must be one of"):
        load_config(bad)
    bad.write_text('[model]\nunprofiled_as_absent = ["mut_TP53"]\n')
    with pytest.raises(ConfigError, match="unknown model setting 'unprofiled_as_absent'"):
        load_config(bad)
    bad.write_text('[model]\nnum_leafs = 3\n')
    assert main(["experiment", "--config", str(bad)]) == 2
    # the section in brackets reaches the terminal as text, not as console markup
    assert "[model]: unknown model setting 'num_leafs'" in capsys.readouterr().err


def test_shipped_configs_parse() -> None:
    config = load_config()
    assert config.population == "metastatic" and len(config.organs) == 20
    assert len(config.main_organs) == 8


def test_the_leakage_policy_tag_says_how_unprofiled_genes_were_read(tmp_path: Path) -> None:
    shipped = shipped_leakage_policy()
    assert shipped == leakage_policy(load_config())
    override = tmp_path / "learned.toml"
    override.write_text('[leakage]\nunprofiled = "learned"\n')
    assert leakage_policy(load_config(override)) == shipped.replace("=absent", "=learned")
