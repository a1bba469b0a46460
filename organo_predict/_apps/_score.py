"""Batch scoring of a cohort: features -> calibrated probabilities (-> top drivers), in chunks.

`score_frame` is pure (features in, a table out); `score_cohort` is the IO edge: it walks the
cohort in chunks of samples, building the next chunk's features while the current one is
scored, and writes them through `_output.atomic_output` (an interrupted run leaves no output;
an existing output is never replaced unless asked).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._base._errors import OrganoPredictError
from .._cohort._cohort import Cohort
from .._explain._drivers import rank_drivers
from .._explain._engine import ShapEngine
from .._explain._explainer import Explainer
from .._model._inputs import ModelInputs
from .._model._loading import LoadedModel
from .._model._models import probability_column_names
from .._model._prior import sigmoid
from ._output import atomic_output, check_output, output_format

__all__ = ["MECHANISM_REPLICATION_KEY", "ChunkScorer", "ScoreSummary", "check_output",
           "iter_chunks", "output_format", "score_cohort", "score_frame"]

Progress = Callable[[int, int], None]


@dataclass
class ScoreSummary:
    """What a scoring run did: counts, expected share per organ, what the model had not seen."""

    output: str
    n_samples: int
    n_chunks: int
    elapsed_s: float
    explain_k: int
    expected_share: dict[str, float]  # mean calibrated probability = expected share
    train_prevalence: dict[str, float]
    unseen: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def iter_chunks(cohort: Cohort, chunk_size: int) -> Iterator[Cohort]:
    """Consecutive sample chunks as cohorts; mutation and SV rows are located once, not
    searched per chunk (a million-sample cohort has tens of millions of rows)."""
    samples = cohort.samples.index
    n = len(samples)

    def grouped(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        codes = samples.get_indexer(frame["SAMPLE_ID"])
        order = np.argsort(codes, kind="stable")
        return order, codes[order]

    mut_order, mut_codes = grouped(cohort.mutations)
    sv_order, sv_codes = grouped(cohort.structural_variants)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        ids = samples[start:stop]

        def rows(order: np.ndarray, codes: np.ndarray, start: int = start,
                 stop: int = stop) -> np.ndarray:
            lo, hi = np.searchsorted(codes, [start, stop])
            return order[lo:hi]

        chunk_samples = cohort.samples.iloc[start:stop]
        yield replace(
            cohort,
            samples=chunk_samples,
            patients=cohort.patients.loc[
                cohort.patients.index.intersection(pd.Index(chunk_samples["PATIENT_ID"]),
                                                   sort=False)],
            mutations=cohort.mutations.iloc[rows(mut_order, mut_codes)],
            structural_variants=cohort.structural_variants.iloc[rows(sv_order, sv_codes)],
            cna=None if cohort.cna is None else cohort.cna.reindex(ids),
            panel_matrix=cohort.panel_matrix.reindex(ids),
        )


def score_frame(loaded: LoadedModel, features: pd.DataFrame, ids: pd.DataFrame,
                explain_k: int = 0, explainer: Explainer | None = None,
                shap_engine: ShapEngine | None = None) -> pd.DataFrame:
    """The output table of one chunk: `ids` (SAMPLE_ID, PATIENT_ID, CANCER_TYPE), then
    `p_<ORGAN>`; with `explain_k` = K, for each organ and rank r = 1..K the r-th
    tumor-intrinsic marker by |SHAP| (`<ORGAN>_driver_<r>`), its contribution in log-odds
    (`<ORGAN>_shap_<r>`) and the ids of the documented mechanisms that apply to this patient
    (`<ORGAN>_mechanisms_<r>`, comma-separated). Missing is null, never an empty string:
    no driver at that rank (driver, SHAP and mechanisms null), no documented mechanism
    (mechanisms null), no cancer type."""
    model = loaded.model
    shap_engine = shap_engine or (explainer.shap_engine if explainer is not None
                                  else ShapEngine(model))
    inputs = model.inputs(features)
    out = ids.reset_index(drop=True).copy()
    proba = sigmoid(shap_engine.decision_function(inputs))
    columns: dict[str, object] = {
        name: values.to_numpy()
        for name, values in model.probability_table(inputs, proba).items()}
    if explain_k > 0 and len(features) > 0:
        explainer = explainer or Explainer(loaded.builder, model, shap_engine=shap_engine)
        columns.update(_drivers(explainer, inputs, features, explain_k))
    return pd.concat([out, pd.DataFrame(columns)], axis=1)


def _drivers(explainer: Explainer, inputs: ModelInputs, features: pd.DataFrame,
             explain_k: int) -> dict[str, object]:
    """Top-K driver columns, vectorized: mechanism ids are looked up once per distinct
    (marker, cancer type, subtype, conditions) combination, not once per cell."""
    model = explainer.model
    n = len(features)
    intrinsic = np.flatnonzero(~explainer.layout_.context)
    markers = np.asarray(explainer.markers, dtype=object)
    k = min(explain_k, len(intrinsic))
    type_codes, type_names = pd.factorize(explainer.category_names(features, "cancer_type"))
    sub_codes, sub_names = pd.factorize(explainer.category_names(features, "subtype"))
    type_names = np.asarray(type_names, dtype=object)
    sub_names = np.asarray(sub_names, dtype=object)
    conditions = sorted({m.condition for m in explainer.knowledge.mechanisms
                         if m.condition and m.condition in explainer.feature_index})
    cond_bits = np.zeros(n, dtype=np.int64)
    for b, name in enumerate(conditions):
        cond_bits |= (inputs.as_built[:, explainer.feature_index[name]] == 1).astype(np.int64) << b
    width_t, width_s = len(type_names) + 1, len(sub_names) + 1
    context_key = ((type_codes + 1) * width_s + (sub_codes + 1)) * (1 << len(conditions)) + cond_bits
    out: dict[str, object] = {}
    for organ in model.organs_:
        found: dict[int, str] = {}  # key -> mechanism ids, shared by the K ranks
        shap, _ = explainer.marker_contributions(inputs, organ)
        top, values = rank_drivers(shap[:, intrinsic], k, "either")
        none = top < 0
        top = intrinsic[np.where(none, 0, top)]
        for r in range(k):
            marker_idx = top[:, r]
            key = marker_idx.astype(np.int64) * (width_t * width_s << len(conditions)) + context_key
            unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            ids = np.empty(len(unique), dtype=object)
            for u, (value, i) in enumerate(zip(unique.tolist(), first.tolist(), strict=True)):
                if value not in found:  # row i stands for every row sharing its key
                    found[value] = ",".join(explainer.mechanism_ids(
                        markers[marker_idx[i]], organ,
                        None if type_codes[i] < 0 else type_names[type_codes[i]],
                        None if sub_codes[i] < 0 else sub_names[sub_codes[i]],
                        inputs.as_built[i]))
                ids[u] = found[value]
            zero = none[:, r]
            mechanisms = ids[np.ravel(inverse)]
            # string columns even when every value is null: each chunk's Parquet schema
            # is the first chunk's
            out[f"{organ}_driver_{r + 1}"] = pd.array(np.where(zero, None, markers[marker_idx]),
                                                      dtype="string")
            out[f"{organ}_shap_{r + 1}"] = np.where(zero, np.nan, values[:, r])
            out[f"{organ}_mechanisms_{r + 1}"] = pd.array(
                np.where(zero | (mechanisms == ""), None, mechanisms), dtype="string")
    return out


def long_form(table: pd.DataFrame, organs: Sequence[str], explain_k: int) -> pd.DataFrame:
    """The wide table of `score_frame` as tidy rows: one per sample and organ (and driver
    rank r = 1..K with explanations): the ids, `organ`, `probability` (with
    `probability_low` / `probability_high` where the table has the interval), and `rank`,
    `driver`, `shap_log_odds`, `mechanisms` (null where the wide table has no driver)."""
    ids = table[["SAMPLE_ID", "PATIENT_ID", "CANCER_TYPE"]]
    parts = []
    for organ in organs:
        for r in range(1, explain_k + 1) if explain_k else [None]:
            part = ids.assign(organ=organ, probability=table[f"p_{organ}"].to_numpy())
            if f"p_{organ}_low" in table:
                part = part.assign(probability_low=table[f"p_{organ}_low"].to_numpy(),
                                   probability_high=table[f"p_{organ}_high"].to_numpy())
            if r is not None:
                part = part.assign(rank=r, driver=table[f"{organ}_driver_{r}"].to_numpy(),
                                   shap_log_odds=table[f"{organ}_shap_{r}"].to_numpy(),
                                   mechanisms=table[f"{organ}_mechanisms_{r}"].to_numpy())
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    order = ["SAMPLE_ID", "organ"] + (["rank"] if explain_k else [])
    out = out.sort_values(order, kind="stable", ignore_index=True)
    for column in ("organ", "driver", "mechanisms"):
        if column in out:
            out[column] = out[column].astype("string")
    return out


ChunkScorer = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]
DEFAULT_CHUNK = 10_000  # samples per chunk without explanations
# Parquet schema metadata: {mechanism id: does the training cohort replicate it}, as JSON
MECHANISM_REPLICATION_KEY = "organo_predict.mechanism_replication"
# Parquet schema metadata: which model scored which cohort, with which code (JSON)
PROVENANCE_KEY = "organo_predict.provenance"
# Parquet schema metadata: what each kind of column holds, with its unit (JSON)
COLUMNS_KEY = "organo_predict.columns"
COLUMN_UNITS = {
    "p_<ORGAN>": "calibrated probability of metastasis to the organ (0-1)",
    "p_<ORGAN>_low": "lower bound p0 of its Venn-ABERS interval within the cancer type (0-1)",
    "p_<ORGAN>_high": "upper bound p1 of its Venn-ABERS interval within the cancer type (0-1)",
    "<ORGAN>_driver_<r>": "the r-th tumor-intrinsic marker by |SHAP| (null: none at rank r)",
    "<ORGAN>_shap_<r>": "that marker's SHAP, log-odds of the calibrated probability "
                        "(+ raises, - lowers)",
    "<ORGAN>_mechanisms_<r>": "ids of the documented mechanisms that apply, comma-separated "
                              "(null: none documented)",
}
DEFAULT_EXPLAIN_CHUNK = 50_000  # with: TreeSHAP's per-pattern reuse grows with the chunk
_COMPILE_ABOVE = 5_000  # samples; below, LightGBM's own predict is done before compiling is


def _provenance(loaded: LoadedModel, cohort: Cohort) -> dict[str, object]:
    """What a scored table came from: the model (URI, registry name, version, alias, run),
    the cohort (id, fingerprint), the package and recipes versions, and when."""
    from datetime import UTC, datetime
    from importlib import metadata as package_metadata

    info = dict(loaded.info)
    try:
        version = package_metadata.version("organo-predict")
    except package_metadata.PackageNotFoundError:
        version = "source"
    return {"model_uri": loaded.uri,
            **{f"model_{k}": info.get(k) for k in ("name", "version", "alias", "run_id",
                                                    "source")},
            "trained_on": loaded.metadata.get("cohort"),
            "training_fingerprint": loaded.metadata.get("fingerprint"),
            "cohort": cohort.study_id, "cohort_fingerprint": cohort.fingerprint,
            "organo_predict": version, "recipes_version": loaded.builder.recipes_version_,
            "scored_at": datetime.now(UTC).isoformat(timespec="seconds")}


def score_cohort(cohort: Cohort, loaded: LoadedModel, out: str | Path, explain_k: int = 0,
                 chunk_size: int | None = None, progress: Progress | None = None,
                 scorer: ChunkScorer | None = None, overwrite: bool = False,
                 layout: Literal["wide", "long"] = "wide",
                 unknown_cancer_type: Literal["refuse", "pooled"] = "refuse") -> ScoreSummary:
    """Score every sample of `cohort` into `out`, atomically (see the module docstring).

    `scorer(features, ids) -> table` scores one chunk; default: `score_frame` in this process.
    The Spark engine (`_spark.SparkScorer`) plugs in here, so chunking, atomic output and
    the summary are the same whatever computes the probabilities. `chunk_size` defaults to
    10,000 samples, or 50,000 with explanations (TreeSHAP per decision pattern gains from
    larger chunks). `layout="long"`: tidy rows instead (`long_form`). A cancer type the
    model cannot match refuses the cohort before any work unless `unknown_cancer_type` is
    "pooled" (`FeatureBuilder.check_cancer_types`)."""
    if layout not in ("wide", "long"):
        raise OrganoPredictError.about(f"{{layout}}{layout!r}: use 'wide' or 'long'")
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK if explain_k == 0 else DEFAULT_EXPLAIN_CHUNK
    if chunk_size < 1:
        raise OrganoPredictError.about(f"{{chunk_size}}{chunk_size}: must be at least 1")
    start_time = time.perf_counter()
    out = Path(out)
    fmt = check_output(out, overwrite)
    model, builder = loaded.model, loaded.builder
    builder.check_cancer_types(cohort, unknown_cancer_type)
    if scorer is None:
        shap_engine = ShapEngine(model)  # one per run: compiled once, shared by every chunk
        if len(cohort.samples) > _COMPILE_ABOVE:
            shap_engine.compile()  # pays for itself within the first chunk
        explainer = (Explainer(builder, model, shap_engine=shap_engine) if explain_k > 0
                     else None)

        def scorer(features: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
            return score_frame(loaded, features, ids, explain_k, explainer, shap_engine)

    # what the training run found about each cited mechanism, for the mechanism columns
    replication = loaded.metadata.get("mechanism_replication") if explain_k > 0 else None
    metadata = {PROVENANCE_KEY: json.dumps(_provenance(loaded, cohort)),
                COLUMNS_KEY: json.dumps(COLUMN_UNITS)}
    if isinstance(replication, dict):
        metadata[MECHANISM_REPLICATION_KEY] = json.dumps(replication)
    with atomic_output(out, fmt, overwrite, metadata) as write:
        reshape = (None if layout == "wide"
                   else lambda table: long_form(table, model.organs_, explain_k))
        sums, n_chunks = _score_chunks(cohort, chunk_size, builder.transform, scorer, write,
                                       probability_column_names(model), progress, reshape)
    n = len(cohort.samples)
    return ScoreSummary(
        output=str(out), n_samples=n, n_chunks=n_chunks,
        elapsed_s=time.perf_counter() - start_time, explain_k=explain_k,
        expected_share={o: float(sums[j] / n) if n else float("nan")
                        for j, o in enumerate(model.organs_)},
        train_prevalence={o: float(model.train_prevalence_.get(o, float("nan")))
                          for o in model.organs_},
        unseen=builder.unseen(cohort) if n else {})


def _score_chunks(cohort: Cohort, chunk_size: int,
                  transform: Callable[[Cohort], pd.DataFrame], scorer: ChunkScorer,
                  write: Callable[[pd.DataFrame], None], probability_columns: list[str],
                  progress: Progress | None,
                  reshape: Callable[[pd.DataFrame], pd.DataFrame] | None = None
                  ) -> tuple[np.ndarray, int]:
    """Build, score and write the chunks in turn: (per-organ sum of probabilities, number of
    chunks)."""
    n = len(cohort.samples)
    sums = np.zeros(len(probability_columns))
    n_chunks = done = 0
    chunks = iter_chunks(cohort, chunk_size) if n else iter([cohort])
    for chunk, features in _prefetched(chunks, transform):
        ids = pd.DataFrame({
            "SAMPLE_ID": chunk.samples.index.astype(str),
            "PATIENT_ID": chunk.samples["PATIENT_ID"].astype(str).to_numpy(),
            "CANCER_TYPE": _cancer_type(chunk),
        })
        table = scorer(features, ids)
        sums += table[probability_columns].to_numpy().sum(0)
        write(table if reshape is None else reshape(table))
        n_chunks += 1
        done += len(chunk.samples)
        if progress is not None:
            progress(done, n)
    return sums, n_chunks


def _prefetched(chunks: Iterator[Cohort], transform: Callable[[Cohort], pd.DataFrame]
                ) -> Iterator[tuple[Cohort, pd.DataFrame]]:
    """(chunk, features) pairs, building the next chunk's features in a helper thread while
    the caller scores the current one: feature building is mostly single-threaded NumPy and
    the compiled predictor releases the GIL, so the two overlap on two cores."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="features")

    def build() -> tuple[Cohort, pd.DataFrame] | None:  # one at a time: the generator is safe
        chunk = next(chunks, None)
        return None if chunk is None else (chunk, transform(chunk))

    try:
        pending = pool.submit(build)
        while True:
            ready = pending.result()
            if ready is None:
                return
            pending = pool.submit(build)
            yield ready
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _cancer_type(chunk: Cohort) -> pd.api.extensions.ExtensionArray:
    from .._knowledge._recipes import load_recipes

    values = chunk.clinical(load_recipes().cancer_type_columns)
    return pd.array(values.astype("string").to_numpy() if len(values) else [], dtype="string")
