"""Save and load a trained model bundle without pickle: LightGBM text models and JSON, with
a manifest of SHA-256 checksums verified on load."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb

from .._base._cache import checked_before
from .._base._errors import ModelError, OrganoPredictWarning
from .._features._builder import FeatureBuilder
from .._knowledge._recipes import load_recipes
from ._intervals import ProbabilityIntervals
from ._manifest import FORMAT, checked_manifest, sha256_of
from ._models import OrganotropismModel

__all__ = ["load_bundle", "save_bundle"]

INTERVALS_FILE = "intervals.json"





def save_bundle(builder: FeatureBuilder, model: OrganotropismModel, path: str | Path,
                metadata: dict[str, object] | None = None) -> Path:
    """Write the bundle atomically: a temporary folder renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        (tmp / "boosters").mkdir()
        (tmp / "features.json").write_text(json.dumps(builder.to_state()))
        state, boosters = model.to_state()
        for name, booster in boosters.items():
            booster.save_model(str(tmp / name))
        (tmp / "model.json").write_text(json.dumps(state))
        intervals = getattr(model, "intervals_", None)
        if intervals is not None:  # the probability intervals travel with the model
            (tmp / INTERVALS_FILE).write_text(json.dumps(intervals.to_state()))
        (tmp / "metadata.json").write_text(json.dumps(metadata or {}, default=str))
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {"format": FORMAT,
                    "files": {str(p.relative_to(tmp)): sha256_of(p) for p in files}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# A LightGBM text tree: one value per split, one per leaf (which fields are integers)
_PER_SPLIT = {"split_feature": int, "split_gain": float, "threshold": float,
              "decision_type": int, "left_child": int, "right_child": int,
              "internal_value": float, "internal_weight": float, "internal_count": int}
_PER_LEAF = {"leaf_value": float, "leaf_weight": float, "leaf_count": int}
_PARAMETER_LINE = re.compile(r"\[[a-z0-9_]+: [^\]\n]*\]")


def _check_booster_text(text: str, name: str) -> None:
    """ModelError unless `text` is a LightGBM model whose every tree is whole and
    well-formed. LightGBM parses trees in parallel threads and aborts or segfaults the
    process (exit 134/139, no message) on a malformed one, so everything it relies on is
    checked before it sees the text (a fuzz of truncations and one-character edits found
    no input that passes this check and crashes it)."""
    def bad(why: str) -> ModelError:
        return ModelError(f"{name}: not a LightGBM model LightGBM can read ({why}); refusing "
                          "to load")

    start = text.find("\nTree=")
    if start < 0:
        raise bad("no trees")
    header = dict(line.split("=", 1) for line in text[:start].splitlines() if "=" in line)
    try:
        n_features = int(header["max_feature_idx"]) + 1
        sizes = [int(v) for v in header["tree_sizes"].split()]
        one_class = header["num_class"] == "1" and header["num_tree_per_iteration"] == "1"
        names_match = (len(header["feature_names"].split(" ")) == n_features
                       == len(header["feature_infos"].split(" ")))
    except (KeyError, ValueError):
        raise bad("its header is incomplete") from None
    if not (one_class and names_match and sizes and min(sizes) > 0):
        raise bad("its header does not describe one binary model over its features")
    offset = start + 1
    for i, size in enumerate(sizes):
        block = text[offset:offset + size]
        offset += size
        if not (block.startswith(f"Tree={i}\n") and block.endswith("\n\n\n")):
            raise bad(f"tree {i} is not where tree_sizes puts it")
        lines = [line.partition("=") for line in block.splitlines()[1:] if line]
        if not all(sep for _, sep, _ in lines):
            raise bad(f"tree {i}: a line is not key=value")
        _check_tree({key: value for key, _, value in lines}, n_features,
                    lambda why, i=i: bad(f"tree {i}: {why}"))
    trailer = text[offset:]
    if not trailer.startswith("end of trees"):
        raise bad("the trees do not end where tree_sizes says")
    if "\nparameters:\n" in trailer:
        params, ended, _ = trailer.split("\nparameters:\n", 1)[1].partition("\nend of parameters\n")
        if not ended:
            raise bad("its parameters are cut off")
        if not all(_PARAMETER_LINE.fullmatch(line) for line in params.splitlines() if line):
            raise bad("a parameter line is not [name: value]")


def _check_tree(fields: dict[str, str], n_features: int,
                bad: Callable[[str], ModelError]) -> None:
    """One tree's fields: present, numeric, of the right lengths, and a binary tree."""
    try:
        n_leaves, n_cat = int(fields["num_leaves"]), int(fields["num_cat"])
        float(fields["shrinkage"])
        linear = fields["is_linear"]
        arrays = {k: [kind(v) for v in fields[k].split()]
                  for k, kind in (_PER_SPLIT | _PER_LEAF).items()}
        cat_bounds = ([int(v) for v in fields["cat_boundaries"].split()] if n_cat > 0 else [0])
        cat_words = (len(fields["cat_threshold"].split()) if n_cat > 0 else 0)
    except (KeyError, ValueError):
        raise bad("a field is missing or not a number") from None
    if n_leaves < 1 or n_cat < 0 or linear != "0":
        raise bad("num_leaves, num_cat or is_linear is not one this tool writes")
    for key, values in arrays.items():
        wanted = n_leaves - 1 if key in _PER_SPLIT else n_leaves
        if len(values) != wanted and not (key == "leaf_weight" and n_leaves == 1 and not values):
            raise bad(f"{key} has {len(values)} values, not {wanted}")
    if (len(cat_bounds) != n_cat + 1 or cat_bounds[0] != 0
            or any(b > c for b, c in zip(cat_bounds, cat_bounds[1:], strict=False))
            or cat_bounds[-1] != cat_words):
        raise bad("its categorical split tables do not agree")
    for feature, kind, threshold in zip(arrays["split_feature"], arrays["decision_type"],
                                        arrays["threshold"], strict=True):
        categorical = kind & 1
        if (not 0 <= feature < n_features or not 0 <= kind < 16 or (kind >> 2) & 3 > 2
                or (categorical and not (threshold.is_integer() and 0 <= threshold < n_cat))):
            raise bad("a split names a feature, kind or category table that is not there")
    _check_shape(arrays["left_child"], arrays["right_child"], n_leaves, bad)


def _check_shape(left: list[int], right: list[int], n_leaves: int,
                 bad: Callable[[str], ModelError]) -> None:
    """The children describe one binary tree: from the root, every split and every leaf
    is reached exactly once."""
    if n_leaves == 1:
        return
    seen_split, seen_leaf = [False] * (n_leaves - 1), [False] * n_leaves
    stack = [0]
    seen_split[0] = True
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if child >= n_leaves - 1 or seen_split[child]:
                    raise bad("its children do not form a tree")
                seen_split[child] = True
                stack.append(child)
            else:
                leaf = ~child
                if leaf >= n_leaves or seen_leaf[leaf]:
                    raise bad("its children do not form a tree")
                seen_leaf[leaf] = True
    if not (all(seen_split) and all(seen_leaf)):
        raise bad("its children do not form a tree")


def _booster(path: Path, name: str, digest: str) -> lgb.Booster:
    """The booster `name` of the bundle at `path` (its manifest SHA-256 `digest` already
    verified), its text checked before LightGBM reads it (once per content: `_cache`)."""
    text = (path / name).read_text(encoding="utf-8", errors="replace")
    checked_before("checked-boosters", digest, lambda: _check_booster_text(text, name))
    try:
        return lgb.Booster(model_str=text)
    except (lgb.basic.LightGBMError, ValueError) as exc:  # ValueError: its pandas_categorical
        raise ModelError(f"{name}: LightGBM cannot read it ({exc}); refusing to load") from None


def load_bundle(path: str | Path) -> tuple[FeatureBuilder, OrganotropismModel, dict]:
    """Load a bundle after checking that its manifest lists exactly its files and every
    file matches its SHA-256; a bundle whose content is still unreadable is a ModelError
    naming the file, never a traceback or a crash inside LightGBM."""
    path = Path(path)
    files = checked_manifest(path)
    try:
        return _load_checked(path, files)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{path}: the bundle's content is not what this version writes "
                         f"({type(exc).__name__}: {exc}); refusing to load") from None


def _load_checked(path: Path, files: dict[str, str]) -> tuple[FeatureBuilder,
                                                              OrganotropismModel, dict]:
    builder = FeatureBuilder.from_state(json.loads((path / "features.json").read_text()))
    state = json.loads((path / "model.json").read_text())
    boosters = {}
    for organ, info in state["organs"].items():
        name = info["booster"]
        if name is not None and name not in files:
            raise ModelError(f"{path}: {organ}'s booster {name} is not in the manifest; "
                             "refusing to load")
        if name is not None:
            boosters[name] = _booster(path, name, files[name])
    model = OrganotropismModel.from_state(state, boosters)
    if INTERVALS_FILE in files:  # bundles written before intervals existed have none
        model.intervals_ = ProbabilityIntervals.from_state(
            json.loads((path / INTERVALS_FILE).read_text()))
    metadata = json.loads((path / "metadata.json").read_text())
    installed = load_recipes().version
    if getattr(builder, "recipes_version_", installed) != installed:
        warnings.warn(OrganoPredictWarning(
            f"bundle {path}: its features were built with recipes version "
            f"{builder.recipes_version_}, the installed features/markers.toml is {installed}; "
            "features are built with the installed recipes, which may differ from training"),
            stacklevel=2)
    return builder, model, metadata
