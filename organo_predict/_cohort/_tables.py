"""Fast, strict reading of cBioPortal tab-separated files (plain or gzip).

Everything is read as text; callers convert the columns they own. Errors name the file and
the 1-based line, never a bare pyarrow/pandas traceback.
"""

from __future__ import annotations

import codecs
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .._base._errors import CohortError, excerpt
from .._base._limits import InflationLimits, inflation_limits

NULL_VALUES = ["", "NA", "NaN", "nan", "N/A", "NULL", "[Not Available]", "[Unknown]",
               "[Not Applicable]", "[Not Evaluated]"]


@dataclass(frozen=True, slots=True)
class Table:
    """A tab-separated file read as text columns; `first_data_line` maps rows to lines."""

    frame: pd.DataFrame
    name: str
    header_line: int

    @property
    def first_data_line(self) -> int:
        return self.header_line + 1

    def line_of(self, row: int) -> int:
        """1-based line number in the file of 0-based data row `row`."""
        return self.first_data_line + int(row)


def resolve_data_file(folder: Path, filename: str) -> Path | None:
    """The file a meta file names, or its `.gz` twin; None when neither exists. Where it
    may live is the caller's to check (`_cohort` confines it to the study)."""
    for candidate in (folder / filename, folder / f"{filename}.gz"):
        if candidate.is_file():
            return candidate
    if filename.endswith(".gz") and (folder / filename[:-3]).is_file():
        return folder / filename[:-3]
    return None


_BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_utf8(data: bytes, name: str, first_line: int = 1) -> str:
    """`data` as text; bytes that are not UTF-8 are a CohortError naming their line
    (`first_line` is the line `data` starts on)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise CohortError(f"not UTF-8 text: byte {data[exc.start]:#04x} at character "
                          f"{exc.start - line_start + 1} (save the file as UTF-8)", file=name,
                          line=first_line + data.count(b"\n", 0, exc.start)) from None


def _as_utf8(raw: bytes, name: str) -> bytes:
    """UTF-8 bytes without a byte-order mark: a UTF-8 BOM is dropped, a UTF-16/32 file (by
    its BOM) is re-encoded; anything else is taken as UTF-8 and checked where it is read."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):]
    for bom, encoding in _BYTE_ORDER_MARKS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding).encode("utf-8")
            except UnicodeDecodeError:
                raise CohortError(f"not valid {encoding.upper()} text, though it starts with "
                                  "that byte-order mark", file=name) from None
    return raw


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is gzip (by magic bytes, not by name), as
    UTF-8 without a byte-order mark."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CohortError(f"cannot read file: {exc.strerror}", file=path.name) from None
    if raw[:2] == b"\x1f\x8b":
        raw = gunzip_bounded(raw, path.name)
    return _as_utf8(raw, path.name)


def gunzip_bounded(raw: bytes, name: str, limits: InflationLimits | None = None) -> bytes:
    """`raw` gunzipped (every member), refused as soon as it would pass the inflation
    limits: a 2 MB file of 2 GiB of newlines stops after the budget, not after 2 GiB."""
    limits = limits or inflation_limits()
    budget = limits.budget(len(raw))
    out = bytearray()
    data = raw
    try:
        while data:
            inflate = zlib.decompressobj(wbits=31)
            out += inflate.decompress(data, budget + 1 - len(out))
            while inflate.unconsumed_tail and len(out) <= budget:
                out += inflate.decompress(inflate.unconsumed_tail, budget + 1 - len(out))
            if len(out) > budget:
                raise CohortError(limits.refusal(len(raw), "the gzip file"), file=name)
            if not inflate.eof:
                raise EOFError
            data = inflate.unused_data
            if data and not data.startswith(b"\x1f\x8b"):
                if data.strip(b"\x00"):
                    raise zlib.error("trailing garbage")
                break
    except (EOFError, zlib.error):
        raise CohortError("truncated or corrupt gzip stream", file=name) from None
    return bytes(out)


def _leading_comment_lines(data: bytes) -> int:
    count = 0
    pos = 0
    while pos < len(data) and data.startswith(b"#", pos):
        nxt = data.find(b"\n", pos)
        count += 1
        if nxt < 0:
            return count
        pos = nxt + 1
    return count


def _first_ragged_line(text: bytes, header_line: int, n_fields: int) -> tuple[int, int]:
    lines = text.split(b"\n")
    for idx in range(header_line, len(lines)):
        line = lines[idx].rstrip(b"\r")
        if not line and idx == len(lines) - 1:
            continue
        found = line.count(b"\t") + 1
        if found != n_fields:
            return idx + 1, found
    return -1, -1


def read_table(path: Path, *, required: tuple[str, ...] = ()) -> Table:
    """Read a tab-separated file as text, skipping only its leading `#` lines.

    Raises CohortError naming the file and line for an empty file, a ragged or truncated
    row, or a missing required column.
    """
    data = read_bytes(path)
    name = path.name
    skipped = _leading_comment_lines(data)
    header_start = 0
    for _ in range(skipped):
        header_start = data.index(b"\n", header_start) + 1
    header_end = data.find(b"\n", header_start)
    header = data[header_start: header_end if header_end >= 0 else len(data)].rstrip(b"\r")
    header_line = skipped + 1
    if not header.strip():
        raise CohortError("file is empty: no header row", file=name, line=header_line)
    columns = decode_utf8(header, name, header_line).split("\t")
    missing = [c for c in required if c not in columns]
    if missing:
        raise CohortError(
            f"missing required column {missing[0]!r} (header has: {_listed(columns)})",
            file=name,
            line=header_line,
            column=missing[0],
        )
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise CohortError("duplicate column in header", file=name, line=header_line,
                              column=col)
        seen.add(col)
    body = data[header_end + 1:] if header_end >= 0 else b""
    if not body.strip():
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        return Table(frame, name, header_line)
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False,
                                              double_quote=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                null_values=NULL_VALUES,
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        decode_utf8(body, name, header_line + 1)  # names the line of a non-UTF-8 byte
        line, found = _first_ragged_line(data, header_line, len(columns))
        if line > 0:
            raise CohortError(
                f"ragged or truncated row: expected {len(columns)} tab-separated fields, "
                f"found {found}",
                file=name,
                line=line,
            ) from None
        raise CohortError("unparseable tab-separated content", file=name) from None
    return Table(table.to_pandas(), name, header_line)


def _listed(columns: list[str], limit: int = 200) -> str:
    """Column names for a message, each and all together cut short."""
    text = ", ".join(c if len(c) <= 40 else f"{c[:39]}…" for c in columns)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


CNA_ANNOTATION_COLUMNS = ("Hugo_Symbol", "Entrez_Gene_Id", "Cytoband")


@dataclass(frozen=True, slots=True)
class CnaMatrix:
    """Discrete copy number as genes x samples float32 (NaN = not profiled)."""

    genes: list[str]
    samples: list[str]
    values: np.ndarray
    header_line: int


# The usual discrete tokens, looked up in C via map(); anything else takes the slow path.
_CNA_TOKENS: dict[bytes, float] = {b"0": 0.0, b"-2": -2.0, b"2": 2.0, b"-1": -1.0, b"1": 1.0,
                                   b"-1.5": -1.5, **{v.encode(): np.nan for v in NULL_VALUES}}
_DISCRETE_CALLS = frozenset({-2.0, -1.5, -1.0, 0.0, 1.0, 2.0})  # cBioPortal's (-1.5: hemizygous)


def read_discrete_cna(path: Path) -> CnaMatrix:
    """Read a cBioPortal discrete CNA matrix; values must be NA or a discrete call (-2,
    -1.5, -1, 0, 1, 2, written as integers or decimals).

    Hand-rolled because columnar CSV readers are slow on 20,000-column files.
    """
    data = read_bytes(path)
    name = path.name
    lines = data.split(b"\n")
    skipped = 0
    while skipped < len(lines) and lines[skipped].startswith(b"#"):
        skipped += 1
    if skipped >= len(lines) or not lines[skipped].strip():
        raise CohortError("file is empty: no header row", file=name, line=skipped + 1)
    header = decode_utf8(lines[skipped].rstrip(b"\r"), name, skipped + 1).split("\t")
    header_line = skipped + 1
    if "Hugo_Symbol" not in header:
        raise CohortError("missing required column 'Hugo_Symbol'", file=name,
                          line=header_line, column="Hugo_Symbol")
    n_annot = 0
    while n_annot < len(header) and header[n_annot] in CNA_ANNOTATION_COLUMNS:
        n_annot += 1
    samples = header[n_annot:]
    dup = pd.Index(samples).duplicated()
    if dup.any():
        raise CohortError("duplicate sample column in header", file=name, line=header_line,
                          column=samples[int(np.flatnonzero(dup)[0])])
    symbol_pos = header.index("Hugo_Symbol")
    n_fields = len(header)
    genes: list[str] = []
    rows: list[np.ndarray] = []
    for idx in range(skipped + 1, len(lines)):
        line = lines[idx].rstrip(b"\r")
        if not line:
            if idx == len(lines) - 1:
                continue
            raise CohortError(f"ragged or truncated row: expected {n_fields} tab-separated "
                              "fields, found an empty line", file=name, line=idx + 1)
        fields = line.split(b"\t")
        if len(fields) != n_fields:
            raise CohortError(f"ragged or truncated row: expected {n_fields} tab-separated "
                              f"fields, found {len(fields)}", file=name, line=idx + 1)
        tokens = fields[n_annot:]
        try:
            row = np.fromiter(map(_CNA_TOKENS.__getitem__, tokens), dtype=np.float32,
                              count=len(tokens))
        except KeyError:
            row = _parse_cna_row(tokens, samples, name, idx + 1)
        genes.append(decode_utf8(fields[symbol_pos], name, idx + 1))
        rows.append(row)
    values = np.vstack(rows) if rows else np.zeros((0, len(samples)), dtype=np.float32)
    return CnaMatrix(genes, samples, values, header_line)


def _parse_cna_row(tokens: list[bytes], samples: list[str], name: str, line: int) -> np.ndarray:
    row = np.empty(len(tokens), dtype=np.float32)
    for pos, token in enumerate(tokens):
        if token in _CNA_TOKENS:
            row[pos] = _CNA_TOKENS[token]
            continue
        text = token.decode("utf-8", errors="replace")
        try:
            value = float(text)
        except ValueError:
            raise CohortError(f"copy-number value {excerpt(text)} is not a number or NA",
                              file=name,
                              line=line, column=samples[pos]) from None
        if not -2 <= value <= 2:
            raise CohortError(f"copy-number value {excerpt(text)} outside -2..2 (or NA)",
                              file=name,
                              line=line, column=samples[pos])
        if value not in _DISCRETE_CALLS:  # 0.7 was read as a call and matched no threshold
            raise CohortError(f"copy-number value {excerpt(text)} is not a discrete call "
                              "(-2, -1.5, -1, 0, 1, 2 or NA): a continuous or log2 file? "
                              "its meta file must then not say datatype: DISCRETE",
                              file=name, line=line, column=samples[pos])
        row[pos] = value
    return row


def isin(values: pd.Series | pd.Index, allowed: pd.Index | pd.Series) -> np.ndarray:
    """Boolean mask of `values` found in `allowed`, computed in Arrow (pandas' string
    `isin` builds one Python scalar per allowed value)."""
    import pyarrow.compute as pc

    mask = pc.is_in(pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True),
                    value_set=pa.array(np.asarray(allowed, dtype=object), type=pa.string(),
                                       from_pandas=True))
    return np.asarray(mask.fill_null(False), dtype=bool)
