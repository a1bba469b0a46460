"""The serving floor: the HTTP stack of `organo-predict serve` (uvicorn, FastAPI, pydantic
validation of the profile; not its body-limit and logging middleware) answering a fixed,
real `/predict` body without any model work. What it cannot do under a load, no model
behind it can.

Started by bench_serve.py: uvicorn --app-dir benchmarks _floor_app:app; the answer is read
from the file named by $ORGANO_PREDICT_FLOOR_BODY.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

from organo_predict import PatientProfile

BODY = Path(os.environ["ORGANO_PREDICT_FLOOR_BODY"]).read_bytes()

app = FastAPI()


@app.get("/health")
async def health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@app.post("/predict")
async def predict(profile: PatientProfile) -> Response:
    return Response(BODY, media_type="application/json")
