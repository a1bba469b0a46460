"""The serving floor: the same HTTP stack as `organo-predict serve` (uvicorn, FastAPI, the
body limit, pydantic validation of the profile) answering a fixed, real `/predict` body
without any model work. What it cannot do under a load, no model behind it can.

Started by bench_serve.py: uvicorn --app-dir benchmarks _floor_app:app; the answer is read
from the file named by $ORGANO_PREDICT_FLOOR_BODY.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

from organo_predict._asgi import BodyLimit
from organo_predict._profiles import PatientProfile
from organo_predict._serve import MAX_BODY_BYTES

BODY = Path(os.environ["ORGANO_PREDICT_FLOOR_BODY"]).read_bytes()

app = FastAPI()
app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)


@app.get("/health")
async def health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@app.post("/predict")
async def predict(profile: PatientProfile) -> Response:
    return Response(BODY, media_type="application/json")
