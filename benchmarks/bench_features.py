"""Benchmark: build features for the full embedded cohort (goal: <= 5 s), and the leakage audit.

Run: python benchmarks/bench_features.py [--repeat N]
"""

from __future__ import annotations

import time

from _common import repeats

import organo_predict as op


def main() -> None:
    repeat = repeats(__doc__, 3)
    cohort = op.datasets.msk_met()
    fit_times, transform_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        builder = op.FeatureBuilder()
        x = builder.fit_transform(cohort)
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        builder.transform(cohort)
        transform_times.append(time.perf_counter() - start)
    labels = op.labels_from_samples(cohort.samples)
    rows = op.population_rows(cohort, labels, "metastatic")
    start = time.perf_counter()
    op.audit_leakage(x[rows], labels[rows], categorical=builder.categorical_features_,
                  strata=op.audit_strata(cohort, x)[rows])
    audit_s = time.perf_counter() - start
    print(f"features: {x.shape[0]} samples x {x.shape[1]} features; fit_transform best "
          f"{min(fit_times):.2f} s, transform best {min(transform_times):.2f} s over "
          f"{repeat} runs; leakage audit ({int(rows.sum())} rows x 20 labels) {audit_s:.2f} s")


if __name__ == "__main__":
    main()
