"""Safe extraction of study tarballs: every member is checked before anything is written."""

from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

from ._errors import CohortError, excerpt


def _check_member(member: tarfile.TarInfo, archive_name: str) -> None:
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        raise CohortError(f"archive member {excerpt(name)} has an absolute path; refused, nothing "
                          "extracted", file=archive_name)
    if ".." in path.parts:
        raise CohortError(f"archive member {excerpt(name)} escapes the destination ('..'); refused, "
                          "nothing extracted", file=archive_name)
    if member.issym() or member.islnk():
        target = PurePosixPath(member.linkname)
        resolved = target if member.islnk() else path.parent / target
        if target.is_absolute() or ".." in resolved.parts:
            raise CohortError(f"archive member {excerpt(name)} links outside the destination "
                              f"({excerpt(member.linkname)}); refused, nothing extracted",
                              file=archive_name)
    elif not (member.isfile() or member.isdir()):
        raise CohortError(f"archive member {excerpt(name)} is a device or special file; refused, "
                          "nothing extracted", file=archive_name)


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract `archive` into `destination` after checking every member.

    A member with an absolute path, a `..` component, a link leaving the destination or a
    special file makes the whole archive refused before a single byte is written.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive.name)
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CohortError(f"not a readable tar archive ({exc})", file=archive.name) from None
