"""The per-user cache of what is costly to rebuild in every new process and cheap to check:
the flattened TreeSHAP tables of a model's boosters (1.2 s to build from ~2,500 trees, a few
ms to read). Keyed by the package version and a hash of the exact booster text, so a new
model or a new version never reads an old entry; written atomically; an entry that cannot
be read is rebuilt, never used; bounded per kind (`KEEP`, least recently used removed).
IO edge: computation stays in the modules that own it.

Location: $ORGANO_PREDICT_CACHE_DIR, else $XDG_CACHE_HOME/organo-predict, else
~/.cache/organo-predict; a cache that cannot be written is skipped silently (the work is
then done every time, as without a cache)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["CACHE_ENV", "KEEP", "cache_dir", "cached_arrays", "checked_before", "prune"]

CACHE_ENV = "ORGANO_PREDICT_CACHE_DIR"
# entries kept per kind, the least recently used removed past it: a model's TreeSHAP tables
# are ~8 MB, and every retrained model (each experiment, each test) makes a new one
KEEP = {"leafshap": 8, "checked-boosters": 4096, "cohorts": 2}
DEFAULT_KEEP = 8  # a kind not named above


def _version() -> str:
    try:
        return metadata.version("organo-predict")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "source"


def cache_dir() -> Path:
    """This user's cache folder for this version of the package."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "organo-predict")
    return Path(root) / _version()


def cached_arrays(kind: str, key_parts: list[bytes],
                  build: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays `build()` returns, from the cache when an entry for exactly `key_parts`
    (and this version) is there and whole; built and stored otherwise."""
    digest = hashlib.sha256(_version().encode())
    for part in key_parts:
        digest.update(hashlib.sha256(part).digest())
    key = digest.hexdigest()
    path = cache_dir() / kind / f"{key}.npz"
    with contextlib.suppress(Exception), np.load(path, allow_pickle=False) as stored:
        if str(stored["__key__"]) == key:  # missing, truncated, another layout: rebuilt
            found = {name: stored[name] for name in stored.files if name != "__key__"}
            _used(path)
            return found
    arrays = dict(build())
    with contextlib.suppress(OSError):  # a read-only home: no cache, same answers
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}-", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, __key__=np.asarray(key), **arrays)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        prune(path.parent, KEEP.get(kind, DEFAULT_KEEP))
    return arrays


def checked_before(kind: str, digest: str, check: Callable[[], None]) -> None:
    """Run `check()` (which raises when the content is bad) unless content of exactly this
    SHA-256 `digest` passed it before, for this user and version; remember a pass. The
    same bytes always get the same verdict, so a pass is worth keeping (a bad file is
    checked, and refused, every time)."""
    mark = cache_dir() / kind / digest
    if mark.is_file():
        _used(mark)
        return
    check()
    with contextlib.suppress(OSError):
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
        prune(mark.parent, KEEP.get(kind, DEFAULT_KEEP))


def _used(path: Path) -> None:
    """Mark an entry as just used (its modification time: what `prune` orders by)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def prune(folder: Path, keep: int) -> None:
    """Keep the `keep` most recently used entries of `folder` (files or folders; hidden
    ones, being written, are left alone), removing the others."""
    import shutil

    with contextlib.suppress(OSError):
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns, reverse=True)
        for entry in entries[keep:]:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
