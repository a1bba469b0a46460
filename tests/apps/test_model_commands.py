"""Commands on a model and a cohort: answered before heavy imports where they can be, the
stored mechanism table printed without the model."""

from __future__ import annotations


def test_an_organ_typo_in_explain_is_answered_before_any_heavy_import(tmp_path) -> None:
    # `explain ... --organ brain` failed only after ~15 s (imports, model, cohort), without
    # a suggestion; now the organ is checked first, in a process that loads none of them
    import subprocess
    import sys

    probe = ("import sys\n"
             "from organo_predict.cli import main\n"
             "rc = main(['explain', 'P-0000280-T01-IM3', '--organ', 'brain'])\n"
             "heavy = sorted(m for m in ('pandas', 'lightgbm', 'mlflow', 'numba', 'sklearn')\n"
             "               if m in sys.modules)\n"
             "print(rc, heavy)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.stdout.strip() == "2 []", done.stderr
    assert "--organ brain: not an organ; did you mean 'CNS_BRAIN'?" in done.stderr


def test_mechanisms_on_the_training_cohort_print_the_stored_table_without_the_model(
        luad_model, msk_features, tmp_path, capsys) -> None:
    import json

    from organo_predict import save_bundle
    from organo_predict.cli import main
    from organo_predict.datasets import msk_met_fingerprint

    builder, model, _ = luad_model
    cohort, _ = msk_features
    assert msk_met_fingerprint() == cohort.fingerprint  # read from the columnar copy
    table = {"summary": {"cohort": "msk_met_2021", "entries": 0}, "entries": []}
    bundle = save_bundle(builder, model, tmp_path / "bundle",
                         metadata={"fingerprint": cohort.fingerprint, "mechanisms": table})
    assert main(["mechanisms", "--model", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == table
