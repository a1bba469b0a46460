"""Explanations as `shap.Explanation` objects, for researchers' own SHAP tooling: they go
straight into `shap.plots.waterfall`, `beeswarm`, `scatter` and `heatmap`. The numbers are
the project's exact TreeSHAP (equal to LightGBM's `pred_contrib` and `shap.TreeExplainer`),
on the calibrated log-odds scale, with the calibrated cancer-type prior in the base value, so
that base + sum(values) is the model's calibrated log-odds."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .._base._errors import ModelError
from .._knowledge._feature_names import ALTERATION_PREFIXES, CATEGORICAL_FEATURES

if TYPE_CHECKING:
    import shap

    from ._explainer import Explainer

__all__ = ["Level", "marker_data", "shap_explanation"]

Level = Literal["marker", "feature"]


def shap_explanation(explainer: Explainer, x: pd.DataFrame, organ: str | None = None,
                     level: Level = "marker") -> shap.Explanation:
    """SHAP values of the rows of feature frame `x` for one organ, (rows, columns), or for
    every organ, (rows, columns, organs) with the organs as the output axis.

    `level="feature"`: one column per model feature, `data` as built (NaN: not profiled).
    `level="marker"`: features summed into markers (EGFR = mut + amp + hotspots); a marker's
    `data` is 1 when any of its alteration flags is set, 0 when profiled and none is, NaN when
    not profiled, and the value itself for single-feature markers (TMB, age).

    Categorical columns (cancer type, subtype, primary site) have NaN `data`, so that
    beeswarm and scatter do not colour or order their arbitrary codes; their names are in
    `display_data`, which is what waterfall, force, bar and scatter print: the category's
    name, "altered" / "not altered" / "not profiled" for alteration flags and markers, and
    numbers to 4 significant digits ("not measured" when missing)."""
    import shap

    model = explainer.model
    organs = list(model.organs_) if organ is None else [organ]
    unknown = [o for o in organs if o not in model.organs_]
    if unknown:
        raise ModelError(f"organ {unknown[0]!r} is not one of the model's "
                         f"({', '.join(model.organs_)})")
    if level not in ("marker", "feature"):
        raise ModelError(f"level must be 'marker' or 'feature', got {level!r}")
    inputs = model.inputs(x)
    layout = explainer.layout_
    if level == "feature":  # every organ in one compiled pass where rows are few
        names, data = list(model.feature_names_), inputs.as_built
        per_organ = explainer.shap_engine.contributions_all(inputs, organs)
    else:
        names = list(layout.markers)
        data = marker_data(inputs.as_built, layout.groups, len(names))
        per_organ = explainer.shap_engine.contributions_all(inputs, organs, layout.groups,
                                                       len(names))
    shown = display_data(explainer, names, data, level)
    data = np.where(np.isin(names, CATEGORICAL_FEATURES)[None, :], np.nan, data)
    values = np.stack([per_organ[o][0] for o in organs], axis=-1)
    base = np.stack([per_organ[o][1] for o in organs], axis=-1)
    if organ is not None:
        values, base = values[..., 0], base[..., 0]
    return shap.Explanation(values=values, base_values=base, data=data,
                            display_data=shown, feature_names=names,
                            output_names=None if organ else organs,
                            instance_names=[str(i) for i in inputs.index])


def display_data(explainer: Explainer, names: list[str], data: np.ndarray,
                 level: Level) -> np.ndarray:
    """(rows, columns) strings a person reads for `data`: see `shap_explanation`."""
    out = np.empty(data.shape, dtype=object)
    features_of = explainer.layout_.features_of
    for j, name in enumerate(names):
        column = data[:, j]
        if name in CATEGORICAL_FEATURES:
            out[:, j] = [str(v) if v is not None else "unknown" for v in
                         explainer.category_names(pd.DataFrame({name: column}), name)]
            continue
        flags = ([name] if level == "feature" else features_of.get(name, []))
        if flags and all(f.startswith(ALTERATION_PREFIXES) for f in flags):
            out[:, j] = np.where(np.isnan(column), "not profiled",
                                 np.where(column >= 1, "altered", "not altered"))
        else:
            out[:, j] = ["not measured" if np.isnan(v) else f"{v:.4g}" for v in column]
    return out


def marker_data(as_built: np.ndarray, groups: np.ndarray, n_markers: int) -> np.ndarray:
    """Per marker, the largest value among its features (NaN only when all are NaN)."""
    out = np.full((len(as_built), n_markers), np.nan)
    for marker in range(n_markers):
        columns = np.flatnonzero(groups == marker)
        if len(columns):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: not profiled
                out[:, marker] = np.nanmax(as_built[:, columns], axis=1)
    return out
