"""Downloads against a loopback HTTP server; no test touches the internet."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from organo_predict import DownloadError, load_study
from organo_predict._cohort._download import download_study
from organo_predict.cli import main

from ..conftest import write_study


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def _tarball(tmp_path: Path, out: Path) -> bytes:
    study = write_study(tmp_path / "build" / "tiny_study")
    with tarfile.open(out, "w:gz") as tar:
        tar.add(study, arcname="tiny_study")
    return out.read_bytes()


def test_download_extracts_and_reports_checksum(server, tmp_path: Path, capsys) -> None:
    url, www = server
    blob = _tarball(tmp_path, www / "tiny_study.tar.gz")
    dest = tmp_path / "studies"
    rc = main(["download", "tiny_study", "--dest", str(dest), "--url",
               f"{url}/tiny_study.tar.gz"])
    assert rc == 0
    assert hashlib.sha256(blob).hexdigest() in capsys.readouterr().out
    assert len(load_study(dest / "tiny_study").samples) == 4
    assert [p.name for p in dest.iterdir()] == ["tiny_study"]


def test_http_error_leaves_nothing(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "studies"
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_study("nope", dest, url=f"{url}/nope.tar.gz")
    assert list(dest.iterdir()) == []


def test_corrupt_tarball_leaves_nothing(server, tmp_path: Path, capsys) -> None:
    url, www = server
    blob = _tarball(tmp_path, www / "full.tar.gz")
    (www / "cut.tar.gz").write_bytes(blob[: len(blob) // 2])
    dest = tmp_path / "studies"
    rc = main(["download", "tiny_study", "--dest", str(dest), "--url", f"{url}/cut.tar.gz"])
    assert rc == 2
    assert "not a readable tar archive" in capsys.readouterr().err
    assert list(dest.iterdir()) == []


def test_malicious_tarball_is_refused(server, tmp_path: Path) -> None:
    url, www = server
    with tarfile.open(www / "evil.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    dest = tmp_path / "studies"
    with pytest.raises(DownloadError, match="escapes the destination"):
        download_study("evil", dest, url=f"{url}/evil.tar.gz")
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_existing_target_needs_force(server, tmp_path: Path) -> None:
    url, www = server
    _tarball(tmp_path, www / "t.tar.gz")
    dest = tmp_path / "studies"
    download_study("tiny_study", dest, url=f"{url}/t.tar.gz")
    with pytest.raises(DownloadError, match="already exists"):
        download_study("tiny_study", dest, url=f"{url}/t.tar.gz")
    download_study("tiny_study", dest, url=f"{url}/t.tar.gz", overwrite=True)


def test_a_download_over_the_byte_limit_keeps_nothing(server, tmp_path: Path,
                                                      monkeypatch) -> None:
    url, www = server
    _tarball(tmp_path, www / "tiny_study.tar.gz")
    monkeypatch.setenv("ORGANO_PREDICT_MAX_BYTES", "1000")
    dest = tmp_path / "studies"
    with pytest.raises(DownloadError, match=r"bytes announced, over the 1,000-byte limit "
                       r"\(ORGANO_PREDICT_MAX_BYTES\); nothing kept"):
        download_study("tiny_study", dest, url=f"{url}/tiny_study.tar.gz")
    assert list(dest.iterdir()) == []


def test_the_timeout_bounds_the_whole_download(tmp_path: Path) -> None:
    # a server that trickles one byte every 50 ms: each read is quick, the download is not
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(1000):
                conn.sendall(b"x")
                time.sleep(0.05)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"not finished within the 0.5 s timeout"):
        download_study("s", tmp_path, url=f"http://127.0.0.1:{listener.getsockname()[1]}/s",
                       timeout=0.5)
    assert time.monotonic() - started < 5
    listener.close()
