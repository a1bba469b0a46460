"""Experiment configuration: the shipped configs parse; a bad key or value is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from organo_predict import ConfigError, load_config
from organo_predict._apps._config import leakage_policy, shipped_leakage_policy
from organo_predict.cli import main


def test_bad_config_names_the_key(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[cohort]\npopulation = "everyone"\n')
    with pytest.raises(ConfigError, match=r"bad.toml, \[cohort\], key 'population': Input "
                                          r"should be 'metastatic' or 'all_labelled'"):
        load_config(bad)
    bad.write_text('[leakage]\nunprofiled = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"\[leakage\], key 'unprofiled'"):
        load_config(bad)
    bad.write_text('[model]\nunprofiled_as_absent = ["mut_TP53"]\n')
    with pytest.raises(ConfigError, match=r"\[model\]: unknown key 'unprofiled_as_absent'"):
        load_config(bad)
    bad.write_text('[model]\nnum_leafs = 3\n')
    assert main(["experiment", "--config", str(bad)]) == 2
    # the section in brackets reaches the terminal as text, not as console markup
    assert ("[model]: unknown key 'num_leafs'; did you mean 'num_leaves'?"
            in capsys.readouterr().err)


@pytest.mark.parametrize(("body", "message"), [
    # misspelled keys load silently no more: file, section, key, and the near miss
    ("[features]\nmin_carrier = 5\n",
     r"\[features\]: unknown key 'min_carrier'; did you mean 'min_carriers'\?"),
    ("[evaluation]\nn_split = 3\n",
     r"\[evaluation\]: unknown key 'n_split'; did you mean 'n_splits'\?"),
    ('[model]\nlearning_rate = "fast"\n',
     r"\[model\], key 'learning_rate': Input should be a valid number"),
    ("[model]\nlearning_rate = 3.0\n", r"key 'learning_rate': Input should be less than or"),
    ("[evaluation]\nn_splits = 1\n", r"key 'n_splits': Input should be greater than or equal"),
    ('[model]\norgans = ["LIVER", "CNS_BRIAN"]\n',
     r"\[model\], key 'organs', item 2: unknown organ 'CNS_BRIAN'; did you mean 'CNS_BRAIN'\?"),
    ('[labels]\nBONNE = "EVER_MET_SITE_BONE"\n',
     r"\[labels\]: unknown organ 'BONNE'; did you mean 'BONE'\?"),
    ("[labels]\nBONE = 1\n", r"\[labels\], key 'BONE': the study's column"),
    ('[populaton]\ncolumn = "X"\n', r"unknown key 'populaton'; did you mean 'population'\?"),
    ('[population]\ncolumn = "CANCER_TYPE"\n', r"\[population\]: key 'values' is missing"),
    # found out only after the whole training before
    ("[evaluation]\nseed = -5\n", r"\[evaluation\], key 'seed': Input should be greater"),
    ("[evaluation]\nn_bootstrap = 0\n", r"key 'n_bootstrap': Input should be greater than"),
])
def test_each_misspelling_is_refused_naming_file_section_and_key(tmp_path: Path, body: str,
                                                                 message: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))


def test_labels_and_population_are_read(tmp_path: Path) -> None:
    path = tmp_path / "luad.toml"
    path.write_text('[labels]\nBONE = "EVER_MET_SITE_BONE"\nCNS_BRAIN = "EVER_MET_SITE_BRAIN"\n'
                    '[population]\ncolumn = "ONCOTREE_CODE"\nvalues = ["LUAD"]\n'
                    '[model]\norgans = ["BONE", "CNS_BRAIN"]\nn_estimators = 50\n')
    config = load_config(path)
    assert config.labels == {"BONE": "EVER_MET_SITE_BONE", "CNS_BRAIN": "EVER_MET_SITE_BRAIN"}
    assert config.keep == ("ONCOTREE_CODE", ("LUAD",))
    assert config.model == {"n_estimators": 50} and config.organs == ("BONE", "CNS_BRAIN")


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
