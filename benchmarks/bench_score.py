"""Benchmark: local batch scoring throughput on the embedded cohort resampled to N rows
(goal: >= 20,000 samples/s without explanations, >= 2,000/s with --explain 5), with the
peak memory of the run.

Resampling draws samples with replacement and renames them (S-0000001, ...); their
mutations, copy number and SVs come along, so feature building does the same work as on
a real cohort of that size. The resampled cohort itself is held in memory (the reader loads
whole files), the scoring streams it in chunks.

Run: python benchmarks/bench_score.py [--rows 1000000] [--explain 5] [--model URI]
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from _common import cohort, model, parser

import organo_predict as op


def resample(data, rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data.samples), rows)
    new_ids = pd.Index([f"S-{i:07d}" for i in range(rows)], name=data.samples.index.name)
    samples = data.samples.iloc[picks].copy()
    samples.index = new_ids
    patients = data.patients.loc[samples["PATIENT_ID"].unique()]
    old_of_new = pd.Series(data.samples.index[picks], index=new_ids)

    def expand(frame: pd.DataFrame) -> pd.DataFrame:
        codes = data.samples.index.get_indexer(frame["SAMPLE_ID"])
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(len(data.samples) + 1))
        counts = np.diff(starts)[picks]
        take = np.concatenate([order[starts[p]:starts[p + 1]] for p in picks]) if rows else []
        out = frame.iloc[take].copy()
        out["SAMPLE_ID"] = np.repeat(new_ids.to_numpy(), counts)
        return out.reset_index(drop=True)

    cna = None
    if data.cna is not None:
        cna = pd.DataFrame(data.cna.to_numpy()[picks], index=new_ids, columns=data.cna.columns)
    panel = data.panel_matrix.reindex(old_of_new.to_numpy())
    panel.index = new_ids
    return replace(data, samples=samples, patients=patients, mutations=expand(data.mutations),
                   structural_variants=expand(data.structural_variants), cna=cna,
                   panel_matrix=panel)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--explain", type=int, default=0)
    p.add_argument("--chunk-size", type=int, default=None,
                   help="default: organo-predict's (10,000; 50,000 with --explain)")
    args = p.parse_args()
    data = cohort()
    loaded = model(args.model)
    start = time.perf_counter()
    big = resample(data, args.rows)
    print(f"resampled to {len(big.samples):,} samples, {len(big.mutations):,} mutations in "
          f"{time.perf_counter() - start:.1f} s")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.parquet"
        summary = op.score_cohort(big, loaded, out, explain_k=args.explain,
                               chunk_size=args.chunk_size)
        size = out.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"scored {summary.n_samples:,} samples (--explain {args.explain}, chunks of "
          f"{-(-summary.n_samples // max(summary.n_chunks, 1)):,}) in {summary.elapsed_s:.1f} s: "
          f"{summary.n_samples / summary.elapsed_s:,.0f} samples/s; output {size / 1e6:.0f} MB; "
          f"peak RSS {peak:.2f} GB (resampled cohort in memory before scoring: "
          f"{before:.2f} GB)")


if __name__ == "__main__":
    main()
