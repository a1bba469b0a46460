"""The endpoint's request models: strict, bounded, unknown fields refused by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from organo_predict._apps._serve_models import MAX_BATCH, BatchRequest, ErrorOut

PATIENT = {"cancer_type": "Non-Small Cell Lung Cancer", "gene_panel": "IMPACT468",
           "mutations": [{"gene": "EGFR", "protein_change": "L858R"}]}


def test_a_batch_is_one_to_max_batch_patients_with_bounded_drivers() -> None:
    assert BatchRequest(patients=[PATIENT]).top_drivers == 3
    for patients in ([], [PATIENT] * (MAX_BATCH + 1)):
        with pytest.raises(ValidationError):
            BatchRequest(patients=patients)
    for top in (-1, 11, "3"):  # strict: a string is not a number
        with pytest.raises(ValidationError):
            BatchRequest(patients=[PATIENT], top_drivers=top)


def test_an_unknown_field_is_refused_by_its_name() -> None:
    with pytest.raises(ValidationError, match="top_driver"):
        BatchRequest(patients=[PATIENT], top_driver=2)


def test_an_error_body_is_a_message_or_one_entry_per_field() -> None:
    assert ErrorOut(detail="too large").detail == "too large"
    assert ErrorOut(detail=[{"loc": ["body", "age"], "msg": "x"}]).detail[0]["loc"] == [
        "body", "age"]
