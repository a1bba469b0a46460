"""The per-user cache: built once, read after; a damaged or foreign entry is rebuilt."""

from __future__ import annotations

import numpy as np

from organo_predict._base import _cache as _cache
from organo_predict._base._cache import cache_dir, cached_arrays


def test_an_entry_is_built_once_read_after_and_rebuilt_when_damaged(tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"a": np.arange(3), "n": np.asarray(7)}

    first = cached_arrays("kind", [b"model text"], build)
    again = cached_arrays("kind", [b"model text"], build)
    assert len(calls) == 1 and np.array_equal(again["a"], first["a"]) and again["n"] == 7
    cached_arrays("kind", [b"another model"], build)  # another key: built
    assert len(calls) == 2
    for path in (cache_dir() / "kind").iterdir():  # truncated: never used, rebuilt
        path.write_bytes(path.read_bytes()[:20])
    assert np.array_equal(cached_arrays("kind", [b"model text"], build)["a"], np.arange(3))
    assert len(calls) == 3
    assert not [p for p in (cache_dir() / "kind").iterdir() if p.name.startswith(".")]


def test_a_new_version_never_reads_an_old_entry(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(tmp_path))
    calls: list[str] = []
    monkeypatch.setattr(_cache, "_version", lambda: "1.0")
    cached_arrays("kind", [b"m"], lambda: calls.append("1.0") or {"a": np.zeros(1)})
    monkeypatch.setattr(_cache, "_version", lambda: "1.1")
    cached_arrays("kind", [b"m"], lambda: calls.append("1.1") or {"a": np.ones(1)})
    assert calls == ["1.0", "1.1"]
    assert {p.name for p in tmp_path.iterdir()} == {"1.0", "1.1"}


def test_an_unwritable_cache_gives_the_same_answers(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(blocker))
    assert cached_arrays("kind", [b"m"], lambda: {"a": np.arange(2)})["a"].tolist() == [0, 1]


def test_a_check_passed_once_is_not_run_again_and_a_failure_never_remembered(
        tmp_path, monkeypatch) -> None:
    import pytest

    from organo_predict._base._cache import checked_before

    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(tmp_path))
    runs: list[str] = []
    checked_before("k", "a" * 64, lambda: runs.append("good"))
    checked_before("k", "a" * 64, lambda: runs.append("good"))
    assert runs == ["good"]

    def bad() -> None:
        runs.append("bad")
        raise ValueError("refused")

    for _ in range(2):
        with pytest.raises(ValueError):
            checked_before("k", "b" * 64, bad)
    assert runs == ["good", "bad", "bad"]


def test_each_kind_keeps_its_most_recently_used_entries(tmp_path, monkeypatch) -> None:
    # every retrained model wrote ~8 MB of TreeSHAP tables that nothing ever removed
    import os
    import time

    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(_cache.KEEP, "kind", 3)
    for i in range(3):
        cached_arrays("kind", [f"model {i}".encode()], lambda: {"a": np.zeros(1)})
    folder = cache_dir() / "kind"
    oldest = min(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    past = time.time() - 100
    for k, path in enumerate(sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)):
        os.utime(path, (past + k, past + k))
    calls: list[int] = []
    cached_arrays("kind", [b"model 0"], lambda: calls.append(1) or {"a": np.zeros(1)})
    assert not calls  # read, and so used just now
    for i in range(3, 5):
        cached_arrays("kind", [f"model {i}".encode()], lambda: {"a": np.zeros(1)})
    assert len(list(folder.iterdir())) == 3 and oldest.exists()  # model 0 kept: used
    cached_arrays("kind", [b"model 1"], lambda: calls.append(1) or {"a": np.zeros(1)})
    assert calls == [1]  # removed as least recently used, built again
