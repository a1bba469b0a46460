"""Commands on a study or a cohort: what `score` refuses before any work."""

from __future__ import annotations

import pytest

from organo_predict import UsageError
from organo_predict._apps._commands import cmd_score, cmd_serve
from organo_predict.cli import build_parser


def test_spark_with_explanations_is_a_usage_error_before_any_model_loads(tmp_path) -> None:
    args = build_parser().parse_args(["score", "embedded:msk_met", "--out",
                                      str(tmp_path / "s.parquet"), "--engine", "spark",
                                      "--explain", "3", "--model", str(tmp_path / "none")])
    with pytest.raises(UsageError, match="--explain is computed by the local engine only"):
        cmd_score(args)
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_no_workers_before_starting(tmp_path) -> None:
    args = build_parser().parse_args(["serve", "--model", str(tmp_path / "none")])
    args.workers = 0
    with pytest.raises(UsageError, match="--workers must be at least 1, got 0"):
        cmd_serve(args)
