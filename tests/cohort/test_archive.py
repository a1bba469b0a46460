"""Study tarballs: every member checked before a byte is written."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from organo_predict import CohortError, load_study
from organo_predict._base._limits import InflationLimits
from organo_predict._cohort._archive import safe_extract


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


def _bomb(archive: Path, size: int) -> None:
    """A tarball of one `size`-byte member of zeros (it compresses ~1000 times)."""
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("study/data_mutations.txt")
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))


def test_a_tarball_expanding_past_the_byte_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    archive = tmp_path / "big.tar.gz"
    _bomb(archive, 4 << 20)
    monkeypatch.setenv("ORGANO_PREDICT_MAX_BYTES", str(1 << 20))
    with pytest.raises(CohortError, match=r"big\.tar\.gz: the archive expands past 1 MiB; "
                       r"refused \(raise the limit with ORGANO_PREDICT_MAX_BYTES=<bytes>"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_tarball_past_the_ratio_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar.gz"
    _bomb(archive, 4 << 20)
    limits = InflationLimits(max_ratio=100, ratio_floor=1 << 20)
    with pytest.raises(CohortError, match=r"expands past 100 times its .*ORGANO_PREDICT_MAX_RATIO"):
        safe_extract(archive, tmp_path / "out", limits)
    assert not (tmp_path / "out").exists()
    safe_extract(archive, tmp_path / "out", InflationLimits(max_ratio=2000, ratio_floor=1 << 20))
    assert (tmp_path / "out" / "study" / "data_mutations.txt").stat().st_size == 4 << 20


def test_an_empty_or_nested_tarball_names_the_archive(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(CohortError, match=r"empty\.tar\.gz: the archive is empty"):
        load_study(empty)
    nested = tmp_path / "nested.tar.gz"
    with tarfile.open(nested, "w:gz") as tar:
        tar.add(empty, arcname="inner/empty.tar.gz")
    with pytest.raises(CohortError) as caught:
        load_study(nested)
    assert caught.value.file == "nested.tar.gz"
    assert "no meta_*.txt file in the archive's top folder" in str(caught.value)
