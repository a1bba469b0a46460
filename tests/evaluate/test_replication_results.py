"""What replication reports: shares among replicated entries, one line per entry, JSON."""

from __future__ import annotations

import json

from organo_predict._evaluate._replication_results import Replication, ReplicationEntry


def _entry(ident: str, cohort: str, model: str, attribution: str) -> ReplicationEntry:
    tested = cohort != "untestable"
    return ReplicationEntry(
        id=ident, marker="EGFR", organ="CNS_BRAIN", direction="up", evidence="e",
        n_carriers=40, n_non_carriers=400, strata="cancer type x subtype",
        cancer_types=("Non-Small Cell Lung Cancer",),
        cohort={"or": 1.8, "or_ci": (1.4, 2.3)} if tested else None,
        model_marginal=None, attribution=None, carried_by=(),
        verdict={"cohort": cohort, "model": model, "attribution": attribution},
        reason="" if tested else "3 carriers (< 10)", power=0.9, carriers_needed=None)


def test_shares_count_only_what_the_cohort_replicates() -> None:
    table = Replication((_entry("a", "replicated", "reproduces", "attributed to the marker"),
                         _entry("b", "replicated", "reproduces", "carried by the prior"),
                         _entry("c", "opposite", "reproduces", "attributed to the marker"),
                         _entry("d", "untestable", "untestable", "untestable")),
                        cohort_name="MSK-MET", model_intervals="jackknife", n_bootstrap=0,
                        min_carriers=10)
    shares = table.shares()
    assert (shares["entries"], shares["testable"], shares["replicated"], shares["opposite"]) == (
        4, 3, 2, 1)
    assert shares["share_reproduced"] == 1.0 and shares["share_attributed"] == 0.5
    assert table.summaries() == {"a": "replicated in MSK-MET: OR 1.80 [1.40, 2.30]",
                                 "b": "replicated in MSK-MET: OR 1.80 [1.40, 2.30]",
                                 "c": "opposite in MSK-MET: OR 1.80 [1.40, 2.30]",
                                 "d": "untestable in MSK-MET: 3 carriers (< 10)"}
    assert json.loads(json.dumps(table.table()))["summary"]["power_reported_at_odds_ratio"] == 2.0
