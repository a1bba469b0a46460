"""The organ vocabulary (MSK-MET's DMETS_DX_<ORGAN> flags), light enough for the command
line to check an organ a user typed before any library or model loads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._base._errors import OrganoPredictError, did_you_mean

__all__ = ["MAIN_ORGANS", "ORGANS", "checked_organs"]

ORGANS: tuple[str, ...] = (
    "ADRENAL_GLAND", "BILIARY_TRACT", "BLADDER_UT", "BONE", "BOWEL", "BREAST", "CNS_BRAIN",
    "DIST_LN", "FEMALE_GENITAL", "HEAD_NECK", "INTRA_ABDOMINAL", "KIDNEY", "LIVER", "LUNG",
    "MALE_GENITAL", "MEDIASTINUM", "OVARY", "PLEURA", "PNS", "SKIN",
)
# the organs a run is judged on (its macro within-type AUROC and the champion alias)
MAIN_ORGANS: tuple[str, ...] = ("LIVER", "LUNG", "BONE", "CNS_BRAIN", "DIST_LN", "PLEURA",
                                "ADRENAL_GLAND", "INTRA_ABDOMINAL")


def checked_organs(names: Iterable[str], flag: str, known: Sequence[str] = ORGANS) -> list[str]:
    """`names` upper-cased, each one of `known`; else an error naming the flag, the value and
    the closest organ (`--organ brain`: did you mean 'CNS_BRAIN'?)."""
    out = []
    for name in names:
        organ = name.strip().upper()
        if organ not in known:
            raise OrganoPredictError(f"{flag} {name}: not an organ"
                                     + (did_you_mean(organ, known) or
                                        f" (one of {', '.join(known)})"))
        out.append(organ)
    return out
