"""What commands share: plain text when not on a terminal, messages never read as markup,
NAME=VALUE flags checked before any work (a usage error, not a configuration one)."""

from __future__ import annotations

import argparse

import pytest

from organo_predict import ConfigError, OrganoPredictError, UsageError
from organo_predict._apps._model_commands import cmd_evaluate
from organo_predict._apps._terminal import print_table, say
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
    args = build_parser().parse_args(["evaluate", str(tmp_path / "nowhere"), "--label",
                                      "liver=EVER_MET_SITE_LIVER", "--label", "LUNGS=X"])
    with pytest.raises(OrganoPredictError, match=r"--label LUNGS: not an organ; did you mean "
                                                 r"'LUNG'"):
        cmd_evaluate(args)
    bad = argparse.Namespace(**{**vars(args), "label": None, "panel": ["=genes.txt"]})
    with pytest.raises(UsageError, match=r"--panel =genes.txt: use NAME=FILE") as raised:
        cmd_evaluate(bad)
    assert not isinstance(raised.value, ConfigError)  # no configuration file is involved
