"""Experiment configuration (TOML), validated into a typed object; errors name the key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .._base._errors import ConfigError, did_you_mean
from .._cohort._organs import MAIN_ORGANS, ORGANS
from .._knowledge._recipes import load_recipes
from .._knowledge._schemas import Experiment, validate

__all__ = ["ExperimentConfig", "load_config"]


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    name: str
    description: str
    source: str  # path to a study, or EMBEDDED_SOURCE
    population: str
    organs: tuple[str, ...]
    main_organs: tuple[str, ...]
    min_carriers: int
    extra_clinical: tuple[str, ...]
    allow: tuple[str, ...]
    on_refusal: str
    unprofiled: str  # "absent" or "learned": how trees read an unprofiled alteration flag
    model: dict[str, Any]
    n_splits: int
    n_bootstrap: int
    seed: int
    mlflow_experiment: str
    registered_model: str
    labels: dict[str, str] = field(default_factory=dict)  # organ -> the study's column
    panels: dict[str, str] = field(default_factory=dict)  # panel id -> gene list file
    keep: tuple[str, tuple[str, ...]] | None = None  # [population]: column, values kept
    path: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def load_config(path: str | Path | None = None) -> ExperimentConfig:
    """Read an experiment TOML (default: the shipped experiments/default.toml), strictly: an
    unknown or misspelled key, a wrong type or a value out of range is a ConfigError naming
    the file, the section and the key."""
    data, where = _read(path)
    checked = validate(Experiment, data, where)
    assert isinstance(checked, Experiment)
    labels = checked.labels.organ_columns()
    for organ, column in labels.items():
        if organ not in ORGANS:
            raise ConfigError(f"{where}, [labels]: unknown organ {organ!r}"
                              f"{did_you_mean(organ, ORGANS)}")
        if not isinstance(column, str) or not column:
            raise ConfigError(f"{where}, [labels], key {organ!r}: the study's column holding "
                              f"the {organ} flag, as a string (got {column!r})")
    organs = tuple(checked.model.organs or ORGANS)
    model = checked.model.model_dump(exclude_none=True, exclude={"organs"})
    rules = load_recipes().leakage
    return ExperimentConfig(
        name=checked.name or Path(where).stem,
        description=checked.description,
        source=checked.cohort.source,
        population=checked.cohort.population,
        organs=organs,
        main_organs=tuple(o for o in MAIN_ORGANS if o in organs),
        min_carriers=checked.features.min_carriers,
        extra_clinical=tuple(checked.features.extra_clinical),
        allow=tuple(checked.leakage.allow),
        on_refusal=checked.leakage.on_refusal,
        unprofiled=checked.leakage.unprofiled or rules.unprofiled_read_as,
        model=model,
        n_splits=checked.evaluation.n_splits,
        n_bootstrap=checked.evaluation.n_bootstrap,
        seed=checked.evaluation.seed,
        mlflow_experiment=checked.mlflow.experiment,
        registered_model=checked.mlflow.registered_model,
        labels=labels,
        panels=dict(checked.cohort.panels),
        keep=((checked.population.column, tuple(checked.population.values))
              if checked.population else None),
        path=where,
        raw=data,
    )


def _read(path: str | Path | None) -> tuple[dict[str, Any], str]:
    """The TOML at `path` (None: the shipped default) and how to name it in errors."""
    if path is None:
        text = (resources.files("organo_predict.experiments") / "default.toml").read_text()
        where = "experiments/default.toml"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read ({exc.strerror})") from None
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def leakage_policy(config: ExperimentConfig | None = None) -> str:
    """The leakage rules a run was trained under: leakage.toml's version and how unprofiled
    alteration flags were read (None: this release's, nothing overridden). Runs under
    different policies are not compared."""
    rules = load_recipes().leakage
    read_as = rules.unprofiled_read_as if config is None else config.unprofiled
    return f"{rules.version}/unprofiled={read_as}"


def shipped_leakage_policy() -> str:
    """The policy of this release's leakage.toml with nothing overridden."""
    return leakage_policy(None)
