"""A bundle's manifest, and its metadata read without building the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from organo_predict import ModelError
from organo_predict._model._manifest import read_metadata

from .test_bundle import _bundle_pair


def test_metadata_is_read_after_the_manifest_checks_out_and_loads_no_model(tmp_path: Path
                                                                          ) -> None:
    path, _, _ = _bundle_pair(tmp_path)
    assert read_metadata(path) == {}
    probe = ("import sys, json\n"
             "from organo_predict._model._manifest import read_metadata\n"
             f"read_metadata({str(path)!r})\n"
             "print(json.dumps(sorted(m for m in ('pandas', 'lightgbm', 'sklearn')"
             " if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert json.loads(done.stdout) == [], done.stderr
    (path / "metadata.json").write_text('{"fingerprint": "edited"}')
    with pytest.raises(ModelError, match="checksum mismatch for metadata.json"):
        read_metadata(path)
