"""The README's quickstart runs as written (against a small bundle instead of the champion),
and its curl example sends a profile the endpoint accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_the_quickstart_runs(liver_lung_bone, tmp_path: Path, monkeypatch, capsys) -> None:
    import matplotlib

    import organo_predict._model._loading as loading
    from organo_predict import save_bundle

    matplotlib.use("Agg")
    builder, model, _ = liver_lung_bone
    bundle = save_bundle(builder, model, tmp_path / "bundle")
    monkeypatch.setattr(loading, "DEFAULT_MODEL_URI", str(bundle))  # no registry needed
    monkeypatch.chdir(tmp_path)
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    exec(compile(code, str(README), "exec"), {})
    printed = capsys.readouterr().out
    assert "LIVER" in printed and "BONE" in printed and "LUNG" in printed
    assert (tmp_path / "liver.png").stat().st_size > 10_000  # the waterfall was drawn


def test_the_curl_example_is_a_valid_profile() -> None:
    from organo_predict import PatientProfile

    body = re.search(r"curl .*?-d '(.*?)'", README.read_text(), re.S).group(1)
    profile = PatientProfile.model_validate(json.loads(body))
    assert profile.mutations[0].gene == "EGFR"
    assert (Path(__file__).parents[1] / "docs" / "page.png").is_file()  # the screenshot shown
