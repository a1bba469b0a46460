"""What the endpoint takes and answers, as pydantic models: its OpenAPI schema, apart from
the I/O (`_serve`). Profiles themselves are the features stage's (`PatientProfile`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .._features._profiles import PatientProfile

__all__ = ["ERRORS", "MAX_BATCH", "QUERY_ERRORS", "BatchOut", "BatchRequest", "DriverOut",
           "ErrorOut", "IntervalOut", "MechanismOut", "OrganOut", "PredictionOut"]

MAX_BATCH = 1000


class BatchRequest(BaseModel):
    """Several patients at once (at most 1,000)."""

    model_config = ConfigDict(extra="forbid")
    patients: list[PatientProfile] = Field(min_length=1, max_length=MAX_BATCH)
    top_drivers: int = Field(3, ge=0, le=10, strict=True,
                             description="drivers per organ and direction")


class ErrorOut(BaseModel):
    """The body of every 4xx/5xx answer: `detail` is a message, or one entry per field."""

    detail: str | list[dict[str, object]]


ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "the body is not valid JSON"},
    413: {"model": ErrorOut, "description": "the body is larger than the server accepts"},
    422: {"model": ErrorOut, "description": "a field or query parameter is invalid or "
                                            "unknown; `loc` names it"},
}
QUERY_ERRORS = {422: ERRORS[422]}


# as JSON directly: validating every answer through these models would cost the endpoint's
# latency. They are its schema, and the tests enforce it: schemathesis checks every answer
# against them, and a test validates real answers with them.


class MechanismOut(BaseModel):
    id: str
    direction: str
    alteration: str
    carrier: bool | None
    consistent: bool | None
    evidence: str
    mechanism: str
    citation: str
    replication: str | None = Field(None, description="does the model's training cohort show "
                                                      "this association (Mantel-Haenszel OR, "
                                                      "95% CI)")


class DriverOut(BaseModel):
    marker: str
    contribution: float = Field(description="log-odds added to this organ's prediction")
    values: dict[str, float | None] = Field(description="the patient's values of the "
                                                        "marker's features (null: not measured)")
    status: str = Field(description="what the patient has of the marker: 'altered: "
                                    "mut_EGFR, ...', 'not altered', 'not profiled', "
                                    "'positive'/'negative' (a receptor), or 'value X'")
    mechanisms: list[MechanismOut]
    documented: bool = Field(description="does a documented mechanism apply")


class IntervalOut(BaseModel):
    low: float = Field(description="p0 of the Venn-ABERS interval, within the cancer type")
    high: float = Field(description="p1 of the Venn-ABERS interval, within the cancer type")


class OrganOut(BaseModel):
    organ: str
    probability: float
    interval: IntervalOut | None = Field(
        None, description="the probability's Venn-ABERS interval [p0, p1], fitted out of fold "
                          "within the patient's cancer type (pooled for small types): one of "
                          "the two is calibrated; null for a model without intervals")
    baseline_rate: float = Field(description="the cancer-type/subtype rate alone")
    log_odds: float = Field(description="the calibrated log-odds: expected_log_odds + "
                                        "context_contribution + every marker's contribution")
    expected_log_odds: float
    context_contribution: float = Field(description="log-odds from the clinical context")
    context: dict[str, float]
    drivers_up: list[DriverOut]
    drivers_down: list[DriverOut]


class PredictionOut(BaseModel):
    cancer_type: str
    subtype: str | None
    warnings: list[str]
    organs: list[OrganOut]


class BatchOut(BaseModel):
    results: list[PredictionOut]
