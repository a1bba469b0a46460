"""The modelled population: refused when too small or filtered to nothing, the audit's
strata are cancer type x panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from organo_predict import ConfigError, audit_strata, load_config, load_study
from organo_predict._apps._population import load_population
from organo_predict.cli import main


def test_a_population_too_small_to_cross_validate_is_refused_before_any_fit(
        tiny_study: Path, tmp_path: Path, capsys) -> None:
    # a one-sample cohort failed with a traceback deep inside the folds
    config = tmp_path / "tiny.toml"
    config.write_text(f'name = "tiny"\n[cohort]\nsource = "{tiny_study}"\n'
                      'population = "all_labelled"\n')
    assert main(["experiment", "--config", str(config), "--no-mlflow",
                 "--report-dir", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert "patient(s); a 5-fold cross-validation needs at least 50 (10 per fold)" in err
    assert not (tmp_path / "rep").exists()


def _config(tmp_path: Path, study: Path, extra: str = ""):
    path = tmp_path / "c.toml"
    path.write_text(f'name = "c"\n[cohort]\nsource = "{study}"\n'
                    f'population = "all_labelled"\n{extra}')
    return load_config(path)


def test_a_population_filter_on_a_missing_column_names_the_key(tiny_study: Path,
                                                                tmp_path: Path) -> None:
    config = _config(tmp_path, tiny_study, '[population]\ncolumn = "ARM"\nvalues = ["A"]\n')
    with pytest.raises(ConfigError, match=r"\[population\], key 'column': the study has no "
                                          r"column 'ARM'"):
        load_population(config, print, print)


def test_a_population_filter_that_keeps_nobody_is_refused(tiny_study: Path,
                                                          tmp_path: Path) -> None:
    config = _config(tmp_path, tiny_study,
                     '[population]\ncolumn = "SEX"\nvalues = ["Unknown"]\n')
    with pytest.raises(ConfigError, match=r"no sample has SEX in \['Unknown'\]"):
        load_population(config, print, print)


def test_audit_strata_separate_panels_within_a_cancer_type(tiny_study: Path) -> None:
    cohort = load_study(tiny_study)
    features = pd.DataFrame({"cancer_type": np.zeros(len(cohort.samples), np.float32)},
                            index=cohort.samples.index)
    strata = audit_strata(cohort, features)
    panels = cohort.panel_matrix["mutations"].reindex(features.index)
    assert len(set(strata)) == panels.nunique() > 1
