"""Experiment configuration (TOML), validated into a typed object; errors name the key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ._cohort import EMBEDDED_SOURCE
from ._errors import ConfigError
from ._models import MAIN_ORGANS, ORGANS
from ._recipes import UNPROFILED_POLICIES, load_recipes

__all__ = ["ExperimentConfig", "load_config"]

POPULATIONS = ("metastatic", "all_labelled")


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
    path: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any,
         where: str) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise ConfigError(f"{where}: key {key!r} must be {getattr(kind, '__name__', kind)}, "
                          f"got {value!r}")
    return value


def load_config(path: str | Path | None = None) -> ExperimentConfig:
    """Read an experiment TOML (default: the shipped experiments/default.toml)."""
    data, where = _read(path)
    unknown = set(data) - {"name", "description", "cohort", "features", "leakage", "model",
                           "evaluation", "mlflow"}
    if unknown:
        raise ConfigError(f"{where}: unknown section or key {sorted(unknown)[0]!r}")
    cohort, features, leakage, model, evaluation, tracking = (
        _get(data, name, dict, {}, where)
        for name in ("cohort", "features", "leakage", "model", "evaluation", "mlflow"))
    population = _choice(cohort, "population", POPULATIONS, "metastatic", f"{where} [cohort]")
    organs = tuple(_get(model, "organs", list, list(ORGANS), f"{where} [model]"))
    bad = [o for o in organs if o not in ORGANS]
    if bad:
        raise ConfigError(f"{where} [model]: unknown organ {bad[0]!r}")
    on_refusal = _get(leakage, "on_refusal", str, "error", f"{where} [leakage]")
    if on_refusal not in ("error", "drop"):
        raise ConfigError(f"{where} [leakage]: on_refusal must be 'error' or 'drop'")
    unprofiled = _choice(leakage, "unprofiled", UNPROFILED_POLICIES,
                         load_recipes().leakage.unprofiled_read_as, f"{where} [leakage]")
    return ExperimentConfig(
        name=_get(data, "name", str, Path(where).stem, where),
        description=_get(data, "description", str, "", where),
        source=_get(cohort, "source", str, EMBEDDED_SOURCE, f"{where} [cohort]"),
        population=population,
        organs=organs,
        main_organs=tuple(o for o in MAIN_ORGANS if o in organs),
        min_carriers=_get(features, "min_carriers", int, 10, f"{where} [features]"),
        extra_clinical=tuple(_get(features, "extra_clinical", list, [], f"{where} [features]")),
        allow=tuple(_get(leakage, "allow", list, [], f"{where} [leakage]")),
        on_refusal=on_refusal,
        unprofiled=unprofiled,
        model=_model_settings(model, f"{where} [model]"),
        n_splits=_get(evaluation, "n_splits", int, 5, f"{where} [evaluation]"),
        n_bootstrap=_get(evaluation, "n_bootstrap", int, 300, f"{where} [evaluation]"),
        seed=_get(evaluation, "seed", int, 0, f"{where} [evaluation]"),
        mlflow_experiment=_get(tracking, "experiment", str, "organotropism", f"{where} [mlflow]"),
        registered_model=_get(tracking, "registered_model", str, "organotropism",
                              f"{where} [mlflow]"),
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


def _choice(section: dict[str, Any], key: str, choices: tuple[str, ...], default: str,
            where: str) -> str:
    value = _get(section, key, str, default, where)
    if value not in choices:
        raise ConfigError(f"{where}: {key} must be one of {choices}, got {value!r}")
    return value


def _model_settings(model: dict[str, Any], where: str) -> dict[str, Any]:
    """The LightGBM settings of `[model]`: OrganotropismModel's own parameters, less those
    the experiment sets itself."""
    from ._models import OrganotropismModel

    settings = {k: v for k, v in model.items() if k != "organs"}
    valid = set(OrganotropismModel().get_params()) - {"organs", "features", "categorical",
                                                      "unprofiled_as_absent",
                                                      "missing_as_type_median"}
    for key in settings:
        if key not in valid:
            raise ConfigError(f"{where}: unknown model setting {key!r}")
    return settings


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
