"""A bundle's manifest: the SHA-256 of every file, which must list exactly the bundle's
files. Standard library only, so the metadata a model travels with (its mechanism table,
its training cohort's fingerprint) is read, checked, without building the model."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .._base._errors import ModelError

__all__ = ["FORMAT", "checked_manifest", "read_metadata", "sha256_of"]

FORMAT = "organo-predict-bundle/1"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_REQUIRED_FILES = ("features.json", "model.json", "metadata.json")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def checked_manifest(path: Path) -> dict[str, str]:
    """The manifest's files (name -> SHA-256), once it is well-formed, lists exactly the
    bundle's files (none missing, none unlisted: a file swapped in beside a dropped entry
    used to load without a word) and every file matches its checksum."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise ModelError(f"{path}: not a model bundle (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{manifest_path}: not a readable manifest ({exc}); truncated or "
                         "edited? refusing to load") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ModelError(f"{manifest_path}: unsupported bundle format {found!r}")
    files = manifest.get("files")
    if not (isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str)
                                            and _SHA256.fullmatch(v) for k, v in files.items())):
        raise ModelError(f"{manifest_path}: 'files' is not a map of file names to SHA-256 "
                         "checksums; refusing to load")
    on_disk = {str(p.relative_to(path)) for p in path.rglob("*")
               if p.is_file() and p != manifest_path}
    missing = sorted(set(files) - on_disk)
    if missing:
        raise ModelError(f"{path}: file {missing[0]} listed in the manifest is missing")
    unlisted = sorted(on_disk - set(files))
    if unlisted:
        raise ModelError(f"{path}: file {unlisted[0]} is not in the manifest; a bundle holds "
                         "exactly the files it lists; refusing to load")
    for name in _REQUIRED_FILES:
        if name not in files:
            raise ModelError(f"{path}: the manifest does not list {name}; refusing to load")
    for name, digest in files.items():
        if sha256_of(path / name) != digest:
            raise ModelError(f"{path}: checksum mismatch for {name}; refusing to load")
    return files


def read_metadata(path: str | Path) -> dict:
    """A bundle's metadata.json alone, once its manifest checks out (no model built)."""
    path = Path(path)
    checked_manifest(path)
    try:
        return json.loads((path / "metadata.json").read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: metadata.json is not readable ({exc})") from None


