"""The commands that read a model with a cohort: `explain`, `mechanisms`, `evaluate` and
`recalibrate`; thin handlers over the library. The parser and exit codes are `cli`'s."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._base._errors import OrganoPredictError, UsageError
from ._terminal import (
    SKILL_COLUMNS,
    cohort_of,
    interval_text,
    labels_of,
    out,
    panels_of,
    print_table,
    say,
    say_fidelity,
    say_unseen_genes,
    skill_cells,
)

__all__ = ["cmd_evaluate", "cmd_explain", "cmd_mechanisms", "cmd_recalibrate"]


def cmd_explain(args: argparse.Namespace) -> int:
    import json

    from .._cohort._organs import checked_organs

    if args.plot is not None:  # a bad plot destination fails before any work
        if args.plot.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise OrganoPredictError(f"--plot {args.plot}: use a .png, .pdf or .svg file name")
        if not args.plot.absolute().parent.is_dir():
            raise OrganoPredictError(f"--plot {args.plot}: folder {args.plot.parent} does not "
                                     "exist")
    organs = checked_organs(args.organ, "--organ") if args.organ else None  # before loading
    from .._explain._explainer import (
        Explainer,  # the heavy libraries, once the flags are known good
    )
    from .._model._loading import load_model

    cohort = cohort_of(args.cohort, panels_of(args))
    sample_id = args.sample_id
    if sample_id not in cohort.samples.index:
        by_patient = cohort.samples.index[cohort.samples["PATIENT_ID"] == sample_id]
        if len(by_patient) == 0:
            raise OrganoPredictError(f"sample {sample_id!r} is neither a SAMPLE_ID nor a "
                                     f"PATIENT_ID of cohort {cohort.study_id}")
        sample_id = str(by_patient[0])
    loaded = load_model(args.model)  # the arguments are known good by now
    if organs is not None:
        checked_organs(organs, "--organ", known=loaded.model.organs_)
    one = cohort.subset([sample_id])
    loaded.builder.check_cancer_types(one, args.unknown_cancer_type)
    features = loaded.builder.transform(one)
    explainer = Explainer.from_loaded(loaded)
    explanation = explainer.explain(features, [sample_id], top_k=args.top, organs=organs)[0]
    if args.plot:
        from .._cohort._organs import MAIN_ORGANS

        shown = organs or [o for o in MAIN_ORGANS if o in loaded.model.organs_]
        _waterfalls(explainer, features, shown, args.plot)
        say(f"waterfall plot of {', '.join(shown)}: {args.plot}"
            + ("" if organs else " (the main organs; --organ picks others)"))
    if args.json:
        out.print_json(json.dumps(explanation.to_dict()))
    else:
        out.print(explanation.render(), highlight=False, markup=False, soft_wrap=True)
    return 0


def _waterfalls(explainer, features, organs: list[str], path: Path) -> Path:  # noqa: ANN001
    """One file, `path`: `shap.plots.waterfall` of the patient for each organ, side by
    side (shap draws one waterfall per figure, so each is drawn alone and placed)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt
    import shap

    panels = []
    for organ in organs:
        shap.plots.waterfall(explainer.shap_values(features, organ)[0], max_display=12,
                             show=False)
        plt.title(f"{organ}: SHAP on the calibrated log-odds of metastasis there; "
                  "E[f(X)] is the patient's cancer-type/subtype prior", fontsize=10)
        buffer = io.BytesIO()
        plt.savefig(buffer, format="png", bbox_inches="tight", dpi=90)
        plt.close("all")
        buffer.seek(0)
        panels.append(matplotlib.image.imread(buffer))
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    height = max(p.shape[0] for p in panels) / 90
    width = max(p.shape[1] for p in panels) / 90
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        ax.imshow(panel)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _stored_mechanisms(args: argparse.Namespace) -> dict | None:
    """On the embedded cohort, the table the model was trained with, read from its
    metadata alone when the cohort's fingerprint says it is the training cohort (no model
    built, no cohort read: `mechanisms_on` gives the same table the long way)."""
    from ..datasets import msk_met_fingerprint

    fingerprint = msk_met_fingerprint()
    if fingerprint is None:
        return None
    from .._model._loading import load_metadata

    metadata = load_metadata(args.model)
    stored = metadata.get("mechanisms")
    return stored if isinstance(stored, dict) and metadata.get("fingerprint") == fingerprint \
        else None


def cmd_mechanisms(args: argparse.Namespace) -> int:
    import json

    labels, panels = labels_of(args), panels_of(args)  # bad flags fail before any work
    table = _stored_mechanisms(args) if args.cohort is None and not labels else None
    if table is None:
        from .._evaluate._external import mechanisms_on
        from .._model._loading import load_model

        loaded = load_model(args.model)
        table = mechanisms_on(loaded, cohort_of(args.cohort, panels), labels)
    if args.json:
        out.print_json(json.dumps(table))
        return 0
    summary, rows = table["summary"], []
    for e in table["entries"]:
        c, m, a = e["cohort"], e["model_marginal"], e["attribution"]
        v = e["verdict"]
        rows.append([e["id"], e["direction"], str(e["n_carriers"]),
                     f"{c['or']:.2f} [{c['or_ci'][0]:.2f}, {c['or_ci'][1]:.2f}]" if c else "",
                     f"{c['q']:.2g}" if c else "",
                     interval_text(m) if m else "", interval_text(a) if a else "",
                     e["reason"] or f"{v['cohort']}; model {v['model']}; {v['attribution']}"])
    print_table(f"Documented mechanisms in {summary['cohort']} (model intervals: "
                f"{summary['model_intervals']})",
                ["entry", "doc.", "carriers", "cohort OR [95% CI]", "q", "model Δrate",
                 "attribution (log-odds)", "verdict"], rows)
    say(f"the cohort replicates {summary['replicated']} of {summary['testable']} testable "
        f"entries; the model reproduces {summary['reproduced_by_model']} of them and "
        f"attributes {summary['attributed_to_marker']} to the marker itself", to=out)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .._evaluate._external import evaluate_model
    from .._model._loading import check_tracking_writable, load_model
    from ._reporting import (
        check_report_dir,
        evaluation_metrics,
        staged_folder,
        write_evaluation,
    )

    labels, panels = labels_of(args), panels_of(args)  # bad flags fail before any work
    if args.report_dir is not None:  # a file in the way fails before any work
        check_report_dir(args.report_dir)
    if not args.no_mlflow:
        check_tracking_writable()
    loaded = load_model(args.model)
    cohort = cohort_of(args.study, panels)
    loaded.builder.check_cancer_types(cohort, args.unknown_cancer_type)  # before any work
    report_dir = args.report_dir or Path("reports") / f"evaluate-{cohort.study_id}"
    if args.report_dir is None:  # the default one, now that the study names it
        check_report_dir(report_dir)
    evaluation = evaluate_model(loaded, cohort, labels, n_bootstrap=args.n_bootstrap,
                                unknown_cancer_type=args.unknown_cancer_type)
    metrics = evaluation_metrics(evaluation, dict(loaded.info))
    with staged_folder(report_dir) as staging:  # this run's files only, renamed into place
        write_evaluation(staging, evaluation, metrics)
        if not args.no_mlflow:
            from ._tracking import log_evaluation

            run_id = log_evaluation(metrics, staging, cohort, dict(loaded.info))
            say(f"MLflow run {run_id} (tagged on the model version it evaluated)", to=out)
    rows = [[*skill_cells(organ, m), f"{m['calibration_in_the_large']:+.3f}"]
            for organ, m in metrics["sites"].items()]
    print_table(f"{loaded.uri} on {cohort.study_id}: {evaluation.n_samples:,} samples",
                [*SKILL_COLUMNS, "obs. - pred."], rows)
    for organ, why in evaluation.not_evaluated.items():
        say(f"{organ}: not evaluated, {why}", to=out)
    if "fidelity" in metrics:
        say_fidelity(metrics["fidelity"])
    say_unseen_genes(loaded.builder, cohort)
    say(f"report: {report_dir / 'report.md'}, {report_dir / 'metrics.json'}", to=out)
    return 0


def cmd_recalibrate(args: argparse.Namespace) -> int:
    from .._evaluate._external import recalibrate_model
    from .._model._loading import DEFAULT_MODEL_URI, check_tracking_writable, load_model

    if args.alias == "champion":
        raise UsageError("--alias champion: a recalibrated model never takes the champion "
                          "alias; name another (default: local)")
    labels, panels = labels_of(args), panels_of(args)  # bad flags fail before any work
    if not args.bundle:
        check_tracking_writable(otherwise="pass --bundle to save it as a folder")
    loaded = load_model(args.model)
    cohort = cohort_of(args.study, panels)
    result = recalibrate_model(loaded, cohort, labels)
    if not result.updates:
        raise OrganoPredictError(f"no organ of {cohort.study_id} has enough positives and "
                                 "negatives to recalibrate: " + "; ".join(
                                     f"{o}: {why}" for o, why in result.skipped.items()))
    metadata = {**loaded.metadata, "recalibrated_on": cohort.study_id,
                "recalibrated_from": loaded.uri,
                "recalibration": {o: {"intercept": u.intercept, "slope": u.slope}
                                  for o, u in result.updates.items()}}
    if args.bundle:
        from .._model._bundle import save_bundle

        where = save_bundle(loaded.builder, result.model, args.bundle, metadata=metadata)
        say(f"recalibrated model saved to {where}", to=out)
    else:
        from ._tracking import register_recalibrated

        name = str(loaded.info.get("name") or args.name)
        example = loaded.builder.transform(cohort.subset(list(cohort.samples.index[:5])))
        version = register_recalibrated(loaded.builder, result.model,
                                        example[list(result.model.feature_names_)], metadata,
                                        name, args.alias, result.updates)
        say(f"models:/{name}/{version} -> alias {args.alias} (champion unchanged; "
            f"{(args.model or DEFAULT_MODEL_URI)} is where it came from)", to=out)
    print_table(f"recalibrated on {cohort.study_id}: new log-odds = a + b x old",
                ["organ", "a (intercept)", "b (slope)"],
                [[o, f"{u.intercept:+.3f}", f"{u.slope:.3f}"]
                 for o, u in result.updates.items()])
    for organ, why in result.skipped.items():
        say(f"{organ}: left as it was, {why}", to=out)
    return 0

