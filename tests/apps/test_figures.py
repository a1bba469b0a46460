"""The report's figures: drawn by shap and matplotlib, ROC within cancer type."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_shap_figures_are_drawn_by_shap(luad_model, tmp_path: Path) -> None:
    import organo_predict as op
    from organo_predict._apps._figures import write_shap_figures
    from organo_predict._evaluate._replication import replicate

    builder, model, x = luad_model
    explainer = op.Explainer(builder, model)
    samples = op.datasets.msk_met().samples.loc[x.index]
    y = op.labels_from_samples(samples)[list(model.organs_)]
    part = x.iloc[:400]
    marker_shap = {o: explainer.marker_contributions(part, o)[0] for o in model.organs_}
    mechanisms = replicate(explainer, x, y, n_bootstrap=50).to_list()
    write_shap_figures(tmp_path, explainer, part, marker_shap, list(model.organs_), mechanisms)
    assert (tmp_path / "shap_beeswarm.png").stat().st_size > 20_000
    assert (tmp_path / "mechanisms_forest.png").stat().st_size > 10_000
    # the same figure every time (shap's dots are shuffled with NumPy's global generator),
    # and the caller's generator left where it was
    first = (tmp_path / "shap_beeswarm.png").read_bytes()
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    again = tmp_path / "again"
    again.mkdir()
    write_shap_figures(again, explainer, part, marker_shap, list(model.organs_), mechanisms)
    assert (again / "shap_beeswarm.png").read_bytes() == first
    assert np.random.random() == expected_next


def test_roc_figure_is_within_cancer_type_and_labelled(tmp_path: Path, monkeypatch) -> None:
    """roc.png judges as the project does: per organ, ROC curves within its cancer types
    with the most positives (named, with their AUROC), axes labelled, title clear of them."""
    import matplotlib.figure
    import pandas as pd

    from organo_predict._apps._figures import write_figures

    drawn = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda fig, path, **_: drawn.append((Path(path).name, fig)))
    rng = np.random.default_rng(0)
    n = 1200
    kinds = rng.choice(["Breast", "Colorectal", "Lung", "Rare"], n, p=[0.4, 0.3, 0.28, 0.02])
    score = rng.random(n)
    y = pd.DataFrame({"LIVER": (rng.random(n) < score).astype(float)})
    write_figures(tmp_path, y, score[:, None], np.full((n, 1), 0.5), ["LIVER"],
                  cancer_type=kinds)
    fig = dict(drawn)["roc.png"]
    ax = fig.axes[0]
    assert ax.get_xlabel() == "false positive rate" and ax.get_ylabel() == "true positive rate"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [t.split(" (")[0] for t in legend] == ["Breast", "Colorectal", "Lung"]  # not Rare
    assert all("AUROC 0." in t for t in legend)
    assert "within" in fig._suptitle.get_text()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    title_bottom = fig._suptitle.get_window_extent(renderer).y0
    assert all(a.get_tightbbox(renderer).y1 <= title_bottom
               for a in fig.axes if a.get_visible())
