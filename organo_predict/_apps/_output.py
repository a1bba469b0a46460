"""Writing a scored table where the user asked, safely: the destination is checked before
any work, chunks go to a hidden partial file beside it (`.NAME.partial-PID`, on the same file
system so the final rename is atomic) that is renamed into place only when every chunk is
written; Ctrl-C and `kill` remove it; the leftover of a run killed outright (`kill -9`) is
removed by the next run to the same output; an existing output is never replaced unless
asked."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pandas as pd

from .._base._errors import OrganoPredictError, braced
from .._base._threads import process_alive

__all__ = ["atomic_output", "check_output", "output_format", "remove_stale_partials"]

Write = Callable[[pd.DataFrame], None]


def output_format(path: str | Path) -> str:
    """The output format named by the file extension, or a clear error."""
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffix in (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".tsv.gz"):
        return suffix
    raise OrganoPredictError.about(
        f"{{out}}{braced(path)}: unknown format {suffix or '(no extension)'!r}; use .parquet, "
        ".csv, .csv.gz, .tsv or .tsv.gz")


def check_output(path: str | Path, overwrite: bool = False) -> str:
    """The output format of `path` once it is known that a run can write there: a known
    extension, not a folder, not an existing file (unless `overwrite`), and a parent that is
    (or can become) a writable folder. Called before any work, so a bad destination costs
    nothing; returns what `output_format` returns."""
    path = Path(path)
    if path.is_dir():
        raise OrganoPredictError.about(f"{{out}}{braced(path)}: is a folder; give a file name")
    fmt = output_format(path)
    if path.exists() and not overwrite:
        raise OrganoPredictError.about(f"{{out}}{braced(path)}: already exists; not "
                                       "overwritten (pass {overwrite} to replace it)")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OrganoPredictError.about(f"{{out}}{braced(path)}: {braced(ancestor)} is a "
                                       "file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OrganoPredictError.about(f"{{out}}{braced(path)}: folder {braced(ancestor)} "
                                       "is not writable")
    return fmt


def _partial_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial-{os.getpid()}")


def remove_stale_partials(out: Path) -> list[Path]:
    """Remove the partial files of earlier runs to `out` whose process is gone (killed
    outright: nothing else leaves one); those of a run still going are left alone."""
    removed = []
    for partial in out.parent.glob(f".{out.name}.partial-*"):
        pid = partial.name.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


def _writer(path: Path, suffix: str, metadata: Mapping[str, str]):
    """Appends chunks to `path` as Parquet (with `metadata` in its schema) or CSV (`suffix`
    from `output_format`)."""
    if suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        state: dict[str, object] = {}

        def write(frame: pd.DataFrame) -> None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if metadata:
                table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                       **{k.encode(): v.encode()
                                                          for k, v in metadata.items()}})
            if "writer" not in state:
                state["writer"] = pq.ParquetWriter(path, table.schema, compression="zstd")
            state["writer"].write_table(table)

        def close() -> None:
            if "writer" in state:
                state["writer"].close()

        return write, close
    sep = "\t" if suffix.startswith(".tsv") else ","
    first = {"header": True}

    def write(frame: pd.DataFrame) -> None:
        frame.to_csv(path, mode="w" if first["header"] else "a", header=first["header"],
                     index=False, sep=sep, compression="gzip" if suffix.endswith(".gz") else None)
        first["header"] = False

    return write, lambda: None


@contextlib.contextmanager
def atomic_output(out: Path, fmt: str, overwrite: bool,
                  metadata: Mapping[str, str] | None = None) -> Iterator[Write]:
    """A writer of chunks into a hidden partial file, renamed to `out` when the block ends
    well; on any failure (Ctrl-C and `kill` included) the partial file is removed and
    nothing is written. `metadata` goes into a Parquet file's schema (CSV has no place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    tmp = _partial_path(out)
    write, close = _writer(tmp, fmt, metadata or {})
    with _sigterm_as_interrupt() as terminated:
        try:
            yield write
            close()
            if out.exists() and not overwrite:  # created by someone else while this one ran
                raise OrganoPredictError.about(f"{{out}}{braced(out)}: created while scoring; "
                                               "not overwritten")
            os.replace(tmp, out)
        except BaseException as exc:
            _close_quietly(close)
            tmp.unlink(missing_ok=True)
            if terminated():
                raise OrganoPredictError("terminated; no output written") from None
            if isinstance(exc, OSError):  # disk full, quota, a folder gone: said, not traced
                raise OrganoPredictError.about(
                    f"{{out}}{braced(out)}: writing failed ({braced(exc.strerror or exc)}); "
                    "no output written" + ("" if not out.exists() else
                                           ", the existing file is unchanged")) from None
            raise


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[Callable[[], bool]]:
    """`kill` (SIGTERM) raises KeyboardInterrupt inside the block, so it cleans up as Ctrl-C
    does; yields whether it happened. Only the main thread can install signal handlers."""
    if not _in_main_thread():
        yield lambda: False
        return
    terminated = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal terminated
        terminated = True
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, on_term)
    try:
        yield lambda: terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def _close_quietly(close: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):  # the run already failed; its error is the one
        close()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
