"""Fetch a study tarball from cBioPortal's datahub and unpack it atomically."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._base._errors import CohortError, DownloadError, braced
from .._base._limits import MAX_BYTES_ENV, inflation_limits
from ._archive import safe_extract
from ._study import study_root

DATAHUB_URL = "https://cbioportal-datahub.s3.amazonaws.com/{study_id}.tar.gz"
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Downloaded:
    """Where a study landed and the SHA-256 of the tarball it came from."""

    path: Path
    sha256: str
    n_bytes: int


ProgressCallback = Callable[[int, int | None], None]


def download_study(
    study_id: str,
    dest: str | Path,
    *,
    url: str | None = None,
    timeout: float = 60.0,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
) -> Downloaded:
    """Download `study_id` and unpack it as `dest/<study_id>`.

    The tarball is streamed to a temporary file beside the destination, checked member by
    member, extracted to a temporary folder and only then renamed into place: a failure at
    any step leaves nothing behind. `progress(done, total)` is called as bytes arrive.
    `timeout` (seconds) bounds each read and the whole download.
    """
    if not study_id or "/" in study_id or study_id.startswith("."):
        raise DownloadError(f"invalid study id {study_id!r}")
    dest = Path(dest)
    target = dest / study_id
    if target.exists() and not overwrite:
        raise DownloadError.about(f"{braced(target)} already exists (pass {{replace_study}} "
                                  "to replace it)")
    dest.mkdir(parents=True, exist_ok=True)
    source = url or DATAHUB_URL.format(study_id=study_id)
    with tempfile.TemporaryDirectory(prefix=f".{study_id}-", dir=dest) as tmp:
        tmp_dir = Path(tmp)
        archive = tmp_dir / f"{study_id}.tar.gz"
        sha, n_bytes = _fetch(source, archive, timeout, progress)
        unpacked = tmp_dir / "unpacked"
        try:
            safe_extract(archive, unpacked)
            root = study_root(unpacked, named=archive.name)
        except CohortError as exc:
            raise DownloadError(f"{source}: {exc}") from None
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    return Downloaded(path=target, sha256=sha, n_bytes=n_bytes)


def _fetch(url: str, out: Path, timeout: float,
           progress: ProgressCallback | None) -> tuple[str, int]:
    """Stream `url` to `out`: `timeout` bounds each read and the whole download (checked
    as each chunk arrives), and the bytes kept are bounded by the inflation limit."""
    sha = hashlib.sha256()
    done = 0
    limit = inflation_limits().max_bytes
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, out.open("wb") as fh:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                raise DownloadError(f"{url}: {total:,} bytes announced, over the "
                                    f"{limit:,}-byte limit ({MAX_BYTES_ENV}); nothing kept")
            while chunk := response.read1(_CHUNK):  # what has arrived, for the deadline
                fh.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if done > limit:
                    raise DownloadError(f"{url}: more than {limit:,} bytes, over the limit "
                                        f"({MAX_BYTES_ENV}); stopped, nothing kept")
                if time.monotonic() > deadline:
                    raise DownloadError(f"{url}: not finished within the {timeout:g} s "
                                        f"timeout ({done:,} bytes so far); nothing kept")
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: {reason}") from None
    if total is not None and done != total:
        raise DownloadError(f"{url}: connection closed after {done} of {total} bytes")
    return sha.hexdigest(), done
