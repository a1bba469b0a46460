"""The README's quickstart runs as written (against a small bundle instead of the champion)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_the_quickstart_runs(liver_lung_bone, tmp_path: Path, monkeypatch, capsys) -> None:
    import organo_predict._loading as loading
    from organo_predict import save_bundle

    builder, model, _ = liver_lung_bone
    bundle = save_bundle(builder, model, tmp_path / "bundle")
    monkeypatch.setattr(loading, "DEFAULT_MODEL_URI", str(bundle))  # no registry needed
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    exec(compile(code, str(README), "exec"), {})
    printed = capsys.readouterr().out
    assert "LIVER" in printed and "BONE" in printed and "LUNG" in printed
