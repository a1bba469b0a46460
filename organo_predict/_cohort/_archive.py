"""Safe extraction of study tarballs: every member is checked before anything is written."""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

from .._base._errors import CohortError, excerpt
from .._base._limits import MAX_MEMBERS, InflationLimits, inflation_limits


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


def safe_extract(archive: Path, destination: Path, limits: InflationLimits | None = None) -> None:
    """Extract `archive` into `destination` after checking every member.

    A member with an absolute path, a `..` component, a link leaving the destination or a
    special file makes the whole archive refused before a single byte is written; so do
    members that together expand past the inflation limits (`_limits`), or more than
    `MAX_MEMBERS` of them. An archive that is not one, or holds nothing, is named as such.
    """
    limits = limits or inflation_limits()
    budget = limits.budget(archive.stat().st_size)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members: list[tarfile.TarInfo] = []
            total = 0
            for member in tar:  # headers one by one: stop before reading past the budget
                _check_member(member, archive.name)
                members.append(member)
                total += member.size
                if total > budget:
                    raise CohortError(limits.refusal(archive.stat().st_size, "the archive")
                                      + ", nothing extracted", file=archive.name)
                if len(members) > MAX_MEMBERS:
                    raise CohortError(f"the archive holds more than {MAX_MEMBERS:,} files; "
                                      "refused, nothing extracted", file=archive.name)
            if not members:
                raise CohortError("the archive is empty", file=archive.name)
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise CohortError(f"not a readable tar archive ({exc})", file=archive.name) from None
