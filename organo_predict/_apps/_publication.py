"""What a researcher publishes, as report sections: the probability intervals' out-of-fold
check, decision curves (table and decision_curves.png) and subgroup performance.

Reads the dicts that `_intervals`, `_decision_curves` and `_subgroups` put in metrics.json,
so the experiment's report, `evaluate`'s report and the model card say the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["decision_lines", "interval_lines", "subgroup_lines", "write_decision_figure"]


def _num(value: object, fmt: str) -> str:
    return "–" if value is None or value != value else format(value, fmt)


def interval_lines(intervals: Mapping[str, object]) -> list[str]:
    """The intervals' method, criterion and per organ: passed pooled, passed in how many of
    the largest types, mean width."""
    organs = intervals.get("organs", {})
    if not organs:
        return []
    lines = ["", "## Intervals on each probability", "",
             f"{intervals['method']}, fitted on the out-of-fold probabilities (types with at "
             f"least {intervals['min_patients']} patients get their own predictor). Checked "
             f"out of fold (cross-fitted over the CV folds): {intervals['criterion']}.", "",
             "| organ | pooled: bins within | pooled width | largest types passed | "
             "widest type | model p outside [p0, p1] |", "|---|---|---|---|---|---|"]
    for organ, check in organs.items():
        pooled, types = check["pooled"], check["types"]
        passed = sum(t["passed"] for t in types.values())
        widest = max(types.items(), key=lambda kv: kv[1]["mean_width"], default=None)
        lines.append(
            f"| {organ} | {pooled['bins_within']}/{pooled['n_bins']} "
            f"({'pass' if pooled['passed'] else 'FAIL'}) | {pooled['mean_width']:.1%} | "
            f"{passed}/{len(types)} | "
            + (f"{widest[0]} {widest[1]['mean_width']:.1%}" if widest else "–")
            + f" | {pooled['point_outside']:.0%} |")
    return lines


def decision_lines(decision: Mapping[str, object]) -> list[str]:
    """Net benefit of the model over the cancer-type prior, per organ pooled and within
    each of the largest types."""
    organs = decision.get("organs", {})
    if not organs:
        return []
    types = list(decision["types"])
    lines = ["", "## Decision curves", "",
             f"Net benefit of acting on the model's probability against acting on the "
             f"cancer-type prior, treat-all and treat-none, over {decision['range']}. Gain: "
             f"{decision['gain']}; best: share of the range where the model's net benefit is "
             "above all three (decision_curves.png shows the pooled curves).", "",
             "| organ | pooled range | pooled gain [95% CI] | best | "
             + " | ".join(types) + " |", "|---|---|---|---|" + "---|" * len(types)]
    for organ, scopes in organs.items():
        pooled = scopes["pooled"]
        lo, hi = pooled["gain_over_prior_per_100_ci"]
        cells = [(_num(scopes[t]["gain_over_prior_per_100"], "+.2f") if t in scopes else "–")
                 for t in types]
        lines.append(f"| {organ} | {pooled['thresholds'][0]:.0%}–{pooled['thresholds'][-1]:.0%}"
                     f" | {pooled['gain_over_prior_per_100']:+.2f} [{lo:+.2f}, {hi:+.2f}] | "
                     f"{pooled['share_of_range_best']:.0%} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Within-type cells: the same gain within that cancer type, over its own range "
                 "(– where it has fewer than 20 patients with or without the outcome).")
    return lines


def subgroup_lines(subgroups: Mapping[str, object], organs: Sequence[str]) -> list[str]:
    """Within-type AUROC (gain over the prior) and calibration in the large per subgroup
    level, one column per organ."""
    per_organ = subgroups.get("organs", {})
    organs = [o for o in organs if per_organ.get(o)]
    if not organs:
        return []
    levels = [(r["variable"], r["level"], r["n"]) for r in per_organ[organs[0]]]
    cell = {(o, r["variable"], r["level"]): r for o in organs for r in per_organ[o]}
    header = "| subgroup | n | " + " | ".join(organs) + " |"
    rule = "|---|---|" + "---|" * len(organs)
    lines = ["", "## Subgroups", "",
             "Within-type AUROC of the model (its gain over the cancer-type prior, 95% "
             "bootstrap CI) in each subgroup: " + "; ".join(
                 f"{k}: {v}" for k, v in subgroups["variables"].items()) + ". – : no cancer "
             "type in the subgroup has 20 patients with and without the outcome.", "",
             header, rule]
    for variable, level, n in levels:
        cells = []
        for o in organs:
            r = cell.get((o, variable, level))
            if r is None or r["auroc_within_type"] is None:
                cells.append("–")
                continue
            lo, hi = r["gain_within_type_ci"]
            cells.append(f"{r['auroc_within_type']:.3f} ({r['gain_within_type']:+.3f} "
                         f"[{_num(lo, '+.3f')}, {_num(hi, '+.3f')}])")
        lines.append(f"| {variable}: {level} | {n:,} | " + " | ".join(cells) + " |")
    lines += ["", "Calibration in the large (observed rate - mean predicted, 95% CI):", "",
              header, rule]
    for variable, level, n in levels:
        cells = []
        for o in organs:
            r = cell.get((o, variable, level))
            lo, hi = r["calibration_in_the_large_ci"] if r else (None, None)
            cells.append("–" if r is None else f"{r['calibration_in_the_large']:+.3f} "
                         f"[{_num(lo, '+.3f')}, {_num(hi, '+.3f')}]")
        lines.append(f"| {variable}: {level} | {n:,} | " + " | ".join(cells) + " |")
    return lines


def write_decision_figure(report_dir: Path, decision: Mapping[str, object],
                          organs: Sequence[str], scope: str = "out-of-fold") -> None:
    """decision_curves.png: each organ's pooled net benefit, model, prior, all and none."""
    shown = [o for o in organs if o in decision.get("organs", {})][:8]
    if not shown:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 8.5))
    for ax, organ in zip(axes.ravel(), shown, strict=False):
        curve = decision["organs"][organ]["pooled"]
        t = [v * 100 for v in curve["thresholds"]]
        ax.plot(t, curve["model"], label="model", lw=2)
        ax.plot(t, curve["prior"], label="cancer-type prior")
        ax.plot(t, curve["treat_all"], ":", label="treat all")
        ax.axhline(0, color="k", lw=0.8, label="treat none")
        top = max(max(curve["model"]), max(curve["prior"]), max(curve["treat_all"]), 0.01)
        ax.set_ylim(-0.1 * top, top * 1.1)
        ax.set_title(f"{organ} (rate {curve['prevalence']:.0%})")
        ax.set_xlabel("threshold probability (%)")
        ax.set_ylabel("net benefit (true positives per patient)")
        ax.legend(loc="upper right", fontsize=7)
    for ax in axes.ravel()[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(f"Decision curves, {scope}, pooled; within-type gains in the report")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(report_dir / "decision_curves.png", dpi=80)
    plt.close(fig)
