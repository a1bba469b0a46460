"""Study tarballs: every member checked before a byte is written."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from organo_predict import CohortError, load_study
from organo_predict._archive import safe_extract


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_tarball_escaping_destination_is_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        good = tarfile.TarInfo("study/meta_study.txt")
        good.size = 4
        tar.addfile(good, io.BytesIO(b"x: y"))
        info = tarfile.TarInfo(member)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(CohortError, match=r"bad\.tar\.gz: .*refused, nothing extracted"):
        load_study(archive)
    assert not (tmp_path / "evil.txt").exists()


def test_tarball_symlink_out_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("study/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tar.addfile(info)
    with pytest.raises(CohortError, match="links outside the destination"):
        load_study(archive)


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_device_and_special_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    archive = tmp_path / "dev.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("study/null")
        info.type = kind
        tar.addfile(info)
    with pytest.raises(CohortError, match="device or special file"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_not_a_tarball(tmp_path: Path) -> None:
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tar at all")
    with pytest.raises(CohortError, match="x.tar.gz: not a readable tar archive"):
        safe_extract(bogus, tmp_path / "out")
