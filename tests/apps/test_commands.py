"""Command handlers and their console: plain text when not on a terminal, messages never
read as markup, NAME=VALUE flags checked before any work."""

from __future__ import annotations

import argparse

import pytest

from organo_predict import ConfigError, OrganoPredictError
from organo_predict._apps._commands import print_table, say
from organo_predict.cli import build_parser


def test_tables_are_plain_aligned_text_when_stdout_is_not_a_terminal(capsys) -> None:
    """Piped to a file, rich squeezed tables to 80 columns and cut numbers to "0.0…"."""
    rows = [["ADRENAL_GLAND", "0.666", "+0.056 [+0.039, +0.068]"],
            ["LIVER", "0.756", "+0.124 [+0.114, +0.135]"]]
    print_table("default: 17,984 patients", ["organ", "AUROC", "gain within [95% CI]"], rows)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "default: 17,984 patients"
    assert lines[1].split() == ["organ", "AUROC", "gain", "within", "[95%", "CI]"]
    assert lines[3] == "ADRENAL_GLAND  0.666  +0.056 [+0.039, +0.068]"
    assert lines[4] == "LIVER          0.756  +0.124 [+0.114, +0.135]"
    assert "…" not in "\n".join(lines)


def test_say_prints_brackets_and_colons_as_they_are(capsys) -> None:
    say("bad.toml [leakage]: root:x:0:0 :x: [bold]text[/]")
    assert capsys.readouterr().err.strip() == "bad.toml [leakage]: root:x:0:0 :x: [bold]text[/]"



def test_panel_and_label_flags_are_checked_before_any_work(tmp_path) -> None:
    from organo_predict._apps._commands import cmd_evaluate

    args = build_parser().parse_args(["evaluate", str(tmp_path / "nowhere"), "--label",
                                      "liver=EVER_MET_SITE_LIVER", "--label", "LUNGS=X"])
    with pytest.raises(OrganoPredictError, match=r"--label LUNGS: not an organ; did you mean "
                                                 r"'LUNG'"):
        cmd_evaluate(args)
    bad = argparse.Namespace(**{**vars(args), "label": None, "panel": ["=genes.txt"]})
    with pytest.raises(ConfigError, match=r"--panel =genes.txt: use NAME=FILE"):
        cmd_evaluate(bad)


def test_an_organ_typo_in_explain_is_answered_before_any_heavy_import(tmp_path) -> None:
    # `explain ... --organ brain` failed only after ~15 s (imports, model, cohort), without
    # a suggestion; now the organ is checked first, in a process that loads none of them
    import subprocess
    import sys

    probe = ("import sys\n"
             "from organo_predict.cli import main\n"
             "rc = main(['explain', 'P-0000280-T01-IM3', '--organ', 'brain'])\n"
             "heavy = sorted(m for m in ('pandas', 'lightgbm', 'mlflow', 'numba', 'sklearn')\n"
             "               if m in sys.modules)\n"
             "print(rc, heavy)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.stdout.strip() == "2 []", done.stderr
    assert "--organ brain: not an organ; did you mean 'CNS_BRAIN'?" in done.stderr


def test_mechanisms_on_the_training_cohort_print_the_stored_table_without_the_model(
        luad_model, msk_features, tmp_path, capsys) -> None:
    import json

    from organo_predict import save_bundle
    from organo_predict.cli import main
    from organo_predict.datasets import msk_met_fingerprint

    builder, model, _ = luad_model
    cohort, _ = msk_features
    assert msk_met_fingerprint() == cohort.fingerprint  # read from the columnar copy
    table = {"summary": {"cohort": "msk_met_2021", "entries": 0}, "entries": []}
    bundle = save_bundle(builder, model, tmp_path / "bundle",
                         metadata={"fingerprint": cohort.fingerprint, "mechanisms": table})
    assert main(["mechanisms", "--model", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == table
