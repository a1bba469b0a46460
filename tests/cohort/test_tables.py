"""The tab-separated reader: text columns, leading '#' lines only, encodings, line numbers."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from organo_predict import CohortError
from organo_predict._cohort._tables import decode_utf8, read_bytes, read_discrete_cna, read_table


def _write(tmp_path: Path, text: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_only_leading_hash_lines_are_skipped(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "#a\n#b\nX\tY\n1\tnote #2\n3\tNA\n"), required=("X",))
    assert table.header_line == 3 and table.line_of(1) == 5
    assert table.frame["Y"].tolist()[0] == "note #2"  # a '#' inside a value is data
    assert table.frame["Y"].isna().tolist() == [False, True]
    assert table.frame["X"].tolist() == ["1", "3"]  # text: callers convert what they own


@pytest.mark.parametrize("text, message, line", [
    ("X\tY\n1\n", "ragged or truncated row: expected 2 tab-separated fields, found 1", 2),
    ("X\tX\n1\t2\n", "duplicate column in header", 1),
    ("\n", "file is empty", 1),
    ("A\tB\n1\t2\n", "missing required column 'X'", 1),
])
def test_errors_name_the_line(tmp_path: Path, text: str, message: str, line: int) -> None:
    with pytest.raises(CohortError, match=message) as caught:
        read_table(_write(tmp_path, text), required=("X",))
    assert caught.value.line == line and caught.value.file == "data.txt"


def test_gzip_by_magic_bytes_and_byte_order_marks(tmp_path: Path) -> None:
    plain = b"X\tY\n1\t2\n"
    assert read_bytes(_write(tmp_path, gzip.compress(plain), "no_gz_suffix.txt")) == plain
    assert read_bytes(_write(tmp_path, b"\xef\xbb\xbf" + plain)) == plain
    assert read_bytes(_write(tmp_path, plain.decode().encode("utf-16"))) == plain
    with pytest.raises(CohortError, match="truncated or corrupt gzip"):
        read_bytes(_write(tmp_path, gzip.compress(plain)[:-6]))


def test_decode_utf8_names_line_and_character() -> None:
    assert decode_utf8(b"ok\n", "f") == "ok\n"
    with pytest.raises(CohortError, match=r"f, line 12: not UTF-8 text: byte 0xe9 at character 3"):
        decode_utf8(b"a\nb\nca\xe9\n", "f", first_line=10)


def test_discrete_cna_matrix(tmp_path: Path) -> None:
    matrix = read_discrete_cna(_write(tmp_path, "Hugo_Symbol\tEntrez_Gene_Id\tS1\tS2\n"
                                                "EGFR\t1956\t2\tNA\nPTEN\t5728\t-1.5\t0\n"))
    assert matrix.genes == ["EGFR", "PTEN"] and matrix.samples == ["S1", "S2"]
    np.testing.assert_array_equal(matrix.values, np.array([[2, np.nan], [-1.5, 0]], np.float32))
    with pytest.raises(CohortError, match="'3' outside -2..2") as caught:
        read_discrete_cna(_write(tmp_path, "Hugo_Symbol\tS1\nEGFR\t3\n"))
    assert caught.value.line == 2 and caught.value.column == "S1"


@pytest.mark.parametrize("value", ["0.7", "-0.3", "1.2"])
def test_a_value_that_is_no_discrete_call_is_refused(tmp_path: Path, value: str) -> None:
    # 0.7 was accepted and silently matched no call (a log2 file read as discrete)
    with pytest.raises(CohortError, match=f"'{value}' is not a discrete call") as caught:
        read_discrete_cna(_write(tmp_path, f"Hugo_Symbol\tS1\tS2\nEGFR\t0\t{value}\n"))
    assert caught.value.line == 2 and caught.value.column == "S2"
    decimals = read_discrete_cna(_write(tmp_path, "Hugo_Symbol\tS1\tS2\nEGFR\t2.0\t-1.0\n"))
    np.testing.assert_array_equal(decimals.values, np.array([[2, -1]], np.float32))


def test_gzip_members_are_all_read_and_trailing_zeros_allowed(tmp_path: Path) -> None:
    two = gzip.compress(b"X\tY\n") + gzip.compress(b"1\t2\n") + bytes(8)
    assert read_bytes(_write(tmp_path, two, "two.txt.gz")) == b"X\tY\n1\t2\n"
    with pytest.raises(CohortError, match="truncated or corrupt gzip"):
        read_bytes(_write(tmp_path, gzip.compress(b"X\n") + b"junk", "junk.txt.gz"))


def test_a_gzip_file_of_newlines_stops_at_the_limit(tmp_path: Path, monkeypatch) -> None:
    # 2 GiB of newlines in a 2 MB file took validate to 4.36 GB; now the read stops at the
    # budget (here 1 MiB) instead of inflating the whole stream
    bomb = _write(tmp_path, gzip.compress(b"\n" * (16 << 20)), "data_mutations.txt.gz")
    monkeypatch.setenv("ORGANO_PREDICT_MAX_BYTES", str(1 << 20))
    with pytest.raises(CohortError, match=r"data_mutations.txt.gz: the gzip file expands past "
                       r"1 MiB; refused \(raise the limit with ORGANO_PREDICT_MAX_BYTES"):
        read_bytes(bomb)


def test_the_ratio_limit_and_a_bad_setting(tmp_path: Path, monkeypatch) -> None:
    from organo_predict import ConfigError
    from organo_predict._base._limits import InflationLimits
    from organo_predict._cohort._tables import gunzip_bounded

    blob = gzip.compress(b"\n" * (4 << 20))
    with pytest.raises(CohortError, match="expands past 50 times"):
        gunzip_bounded(blob, "x.gz", InflationLimits(max_ratio=50, ratio_floor=1 << 16))
    assert len(gunzip_bounded(blob, "x.gz")) == 4 << 20  # under the default floor
    monkeypatch.setenv("ORGANO_PREDICT_MAX_RATIO", "zero")
    with pytest.raises(ConfigError, match="ORGANO_PREDICT_MAX_RATIO='zero': expected a finite"):
        read_bytes(_write(tmp_path, blob, "y.gz"))
