"""What every command shares: the console it prints to (plain text, never console
markup), tables, our warnings as one line, the repeatable NAME=VALUE flags, and the cohort a
command reads (its reader's warnings printed one line each)."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.text import Text

from .._base._errors import OrganoPredictWarning, UsageError

__all__ = ["SKILL_COLUMNS", "Handler", "cohort_of", "console", "flag_pairs", "interval_text",
           "labels_of", "out", "panels_of", "print_table", "say", "say_fidelity",
           "say_unseen_genes", "show_warning", "skill_cells"]

console = Console(stderr=True)
out = Console()

Handler = Callable[[argparse.Namespace], int]


def say(text: str, style: str = "", to: Console = console) -> None:
    """Print `text` as it is: a Text, so a `[section]` or `:x:` in a message (or in the
    input it quotes) is never read as console markup or an emoji code."""
    to.print(Text(text, style=style), soft_wrap=True, highlight=False)


def show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: object = None, line: str | None = None) -> None:
    """Our own warnings as one plain line (`warning: ...`), not Python's source-line form
    pointing into whichever library called us; other warnings as Python shows them."""
    if issubclass(category, OrganoPredictWarning):
        say(f"warning: {message}", "yellow")
    else:
        _python_show_warning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_python_show_warning = warnings.showwarning


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A table on stdout: drawn by rich on a terminal; as plain aligned text otherwise (a log
    file, CI, a pipe), where rich would squeeze it to 80 columns and cut every number."""
    if out.is_terminal:
        from rich.table import Table

        table = Table(title=title)
        for i, column in enumerate(columns):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    widths = [max(map(len, column)) for column in zip(columns, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths, strict=True)))

    say("\n".join([title, line(columns), line(["-" * w for w in widths]), *map(line, rows)]),
        to=out)


def cohort_of(path: str | Path | None,  # noqa: ANN202 - a Cohort; imported lazily
                 panels: dict[str, str] | None = None):
    """The study at `path` (default: the embedded cohort), with the gene lists of `panels`;
    the reader's warnings are printed to stderr, one line each (gene symbols off every
    panel are not: real cohorts have them, and `validate` lists them)."""
    from ._sources import load_cohort

    return load_cohort(str(path) if path else None,
                       log=lambda message: say(message, "yellow"), panels=panels)


def say_unseen_genes(builder, cohort) -> None:  # noqa: ANN001 - imported lazily
    """Gene symbols the model never saw: counted, the first few named."""
    genes = builder.unseen_genes(cohort)
    if genes:
        say(f"{len(genes):,} mutated gene symbol(s) outside the training vocabulary, read as "
            f"nothing: {', '.join(genes[:8])}{', ...' if len(genes) > 8 else ''}", to=out)


def flag_pairs(values: list[str] | None, flag: str, what: str) -> dict[str, str]:
    """NAME=VALUE flags (repeatable) as a dict; a malformed one names the flag."""
    pairs = {}
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise UsageError(f"{flag} {value}: use {what}")
        pairs[name.strip()] = rest.strip()
    return pairs


def panels_of(args: argparse.Namespace) -> dict[str, str]:
    return flag_pairs(getattr(args, "panel", None), "--panel", "NAME=FILE (a cBioPortal "
                                                           "gene-panel file or one gene per line)")


def labels_of(args: argparse.Namespace) -> dict[str, str]:
    labels = {k.upper(): v for k, v in flag_pairs(getattr(args, "label", None), "--label",
                                              "ORGAN=COLUMN").items()}
    from .._cohort._organs import checked_organs

    checked_organs(labels, "--label")
    return labels


SKILL_COLUMNS = ["organ", "prev.", "AUROC", "95% CI", "within type", "prior within",
                 "gain within [95% CI]"]


def skill_cells(organ: str, m: dict) -> list[str]:
    """The `SKILL_COLUMNS` cells of an organ's metrics (`experiment` and `evaluate`)."""
    from .._base._formatting import NOT_ESTIMABLE, shown, signed_interval

    lo, hi = (shown(v) for v in m["auroc_ci"])
    return [organ, shown(m["prevalence"]), shown(m["auroc"]),
            NOT_ESTIMABLE if NOT_ESTIMABLE in (lo, hi) else f"{lo}-{hi}",
            shown(m["auroc_within_type"]), shown(m["prior_auroc_within_type"]),
            signed_interval(m["gain_within_type"], m["gain_within_type_ci"])]


def interval_text(block: dict) -> str:
    from .._base._formatting import signed_interval

    return signed_interval(block["diff"], block["ci"])


def say_fidelity(fidelity: dict) -> None:
    """One line: the documented contrasts the predictions reproduce, pooled, with interval."""
    if not fidelity["n_pooled"]:
        return
    low, high = fidelity["pooled_ratio_ci"]
    say(f"fidelity ({fidelity['predictions']}): predicted contrasts are "
        f"{fidelity['pooled_ratio']:.2f} [{low:.2f}, {high:.2f}] of the observed, over the "
        f"{fidelity['n_pooled']} documented entries the cohort replicates", to=out)
