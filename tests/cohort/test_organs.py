"""The organ vocabulary, checked where a user types an organ."""

from __future__ import annotations

import pytest

from organo_predict import ORGANS, OrganoPredictError
from organo_predict._cohort._organs import checked_organs


def test_organs_are_upper_cased_and_a_typo_gets_the_closest() -> None:
    assert checked_organs(["liver", " Cns_Brain "], "--organ") == ["LIVER", "CNS_BRAIN"]
    with pytest.raises(OrganoPredictError, match=r"--organ brain: not an organ; did you mean "
                                                 r"'CNS_BRAIN'\?"):
        checked_organs(["brain"], "--organ")
    with pytest.raises(OrganoPredictError, match=r"--organ xyz: not an organ \(one of LIVER, "
                                                 r"LUNG\)"):
        checked_organs(["xyz"], "--organ", known=["LIVER", "LUNG"])
    assert len(ORGANS) == 20
