"""The command line: plain text when not on a terminal, messages never read as markup."""

from __future__ import annotations

import warnings

import pytest

from organo_predict import CohortWarning
from organo_predict.cli import main, print_table, say


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


def test_our_warnings_are_one_plain_line_others_as_python_shows_them(capsys,
                                                                      monkeypatch) -> None:
    def handler(args) -> int:
        warnings.warn("data.txt, line 3: [odd] value", CohortWarning, stacklevel=1)
        warnings.warn("a library's own", DeprecationWarning, stacklevel=1)
        return 0

    import organo_predict.cli as cli

    monkeypatch.setattr(cli, "_cmd_validate", handler)
    with pytest.warns(DeprecationWarning, match="a library's own"):  # handed on to Python
        assert main(["validate", "unused"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: data.txt, line 3: [odd] value\n"
