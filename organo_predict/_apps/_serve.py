"""The model-serving endpoint: a FastAPI app around one loaded model, and its web page.

    GET  /              the page (a form, example patients, probabilities vs baseline)
    GET  /health        liveness and the model's identity
    GET  /metadata      model name/version/alias, organs, features, knowledge base, cohort
    POST /predict       one patient profile -> per-organ probability, baseline, drivers
    POST /predict/batch up to 1,000 profiles
    GET  /openapi.json, /docs

Concurrent requests are scored together (adaptive micro-batching: requests already received
join the batch, and those arriving while it is scored form the next one), because building
features costs mostly per call, not per patient. Scoring runs on the event loop itself: a
worker thread would only contend with it for the GIL (measured ~25% fewer requests/s).
Nothing about a patient is logged: the access log (ours, not uvicorn's) has the method, the
path without its query string, the status and the time, never a client address. An
unexpected failure answers 500 with a generic message and no stack trace. Requests are
strict: numbers must be JSON numbers, an unknown field or query parameter is a 422 naming
it, malformed JSON is a 400; HEAD is answered wherever GET is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from importlib import resources
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi_offline import FastAPIOffline

from .._base._errors import OrganoPredictError
from .._cohort._study import reference_panels
from .._explain._explainer import Explainer
from .._features._profiles import (
    PatientProfile,
    ProfileError,
    check_panels,
    cohort_from_profiles,
    with_known_cancer_types,
)
from .._model._loading import LoadedModel
from ._asgi import (
    AccessLog,
    BodyGuard,
    HeadAsGet,
    MicroBatcher,
    guarded_http_protocol,
    json_response,
    refuse_unknown_query,
)
from ._serve_models import (
    ERRORS,
    QUERY_ERRORS,
    BatchOut,
    BatchRequest,
    PredictionOut,
)

__all__ = ["MODEL_ENV", "Predictor", "app_from_environment", "create_app",
           "run_server"]

log = logging.getLogger("organo_predict.serve")

MODEL_ENV = "ORGANO_PREDICT_SERVE_MODEL"  # how `serve --workers N` tells each worker the model
ACCESS_LOG_ENV = "ORGANO_PREDICT_SERVE_ACCESS_LOG"  # ... and whether to log each request
MAX_BODY_BYTES = 8 * 1024 * 1024




class Predictor:
    """Profiles -> JSON-ready predictions with explanations. Pure computation on a loaded
    model (the app calls it from its one scoring thread, off the event loop)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.builder, self.model = loaded.builder, loaded.model
        self.explainer = Explainer.from_loaded(loaded)
        # every answer from the compiled trees, one patient or a micro-batch of many: the
        # same numbers to the last digit whichever way a request is grouped (an engine not
        # compiled answers a few rows through LightGBM, equal only to float precision)
        self.explainer.shap_engine.compile()
        self.panels = reference_panels()
        self._genes = set(self.builder.genes_) | set(self.builder.cna_genes_) | set(
            self.builder.sv_genes_)

    def check(self, profiles: Sequence[PatientProfile], loc: tuple[str | int, ...]
              ) -> list[PatientProfile]:
        """The profiles with their cancer types as the model spells them; unknown types
        and panels refused before queuing: one bad profile must not fail the other requests
        of its micro-batch."""
        check_panels(profiles, self.panels, loc)
        return with_known_cancer_types(
            profiles, lambda value: self.builder.match("cancer_type", value),
            self.builder.categories_["cancer_type"], loc)

    def predict(self, profiles: list[PatientProfile], top_k: int = 3) -> list[dict]:
        cohort = cohort_from_profiles(profiles, self.panels)
        x = self.builder.transform(cohort)
        explanations = self.explainer.explain(x, top_k=top_k)
        return [{"cancer_type": p.cancer_type, "subtype": p.subtype,
                 "warnings": self._warnings(p),
                 "organs": [o.to_dict() for o in sorted(e.organs, key=lambda o: -o.probability)]}
                for p, e in zip(profiles, explanations, strict=True)]

    def _warnings(self, profile: PatientProfile) -> list[str]:
        out = []
        for name, value in (("cancer_type", profile.cancer_type), ("subtype", profile.subtype),
                            ("primary_site", profile.primary_site)):
            if value is not None and self.builder.match(name, value) is None:
                out.append(f"{name} {value!r} is not one the model was trained on: it is "
                           "treated as unknown" + (" (the pooled prior of all types)"
                                                   if name == "cancer_type" else "")
                           + " (see /metadata for the known values)")
        genes = {m.gene for m in profile.mutations} | {c.gene for c in profile.copy_number or []}
        unseen = sorted(genes - self._genes)
        if unseen:
            out.append(f"{len(unseen)} gene(s) the model never saw are ignored: "
                       f"{', '.join(unseen[:10])}")
        return out

    def metadata(self) -> dict[str, object]:
        info = self.loaded.info
        meta = self.loaded.metadata
        return {
            "model": {"name": info.get("name"), "version": info.get("version"),
                      "alias": info.get("alias"), "uri": self.loaded.uri,
                      "source": info.get("source")},
            "organs": list(self.model.organs_),
            # the model's inputs: the builder's columns less what the leakage audit refused
            "n_features": len(self.model.feature_names_),
            "knowledge_base_version": self.explainer.knowledge.version,
            "recipes_version": self.builder.recipes_version_,
            "training_cohort": {"id": meta.get("cohort"), "citation": meta.get("citation"),
                                "population": meta.get("population"),
                                "fingerprint": meta.get("fingerprint")},
            "train_prevalence": _prevalence(meta.get("train_prevalence"),
                                            self.model.train_prevalence_),
            "cancer_types": list(self.builder.categories_["cancer_type"]),
            "subtypes": list(self.builder.categories_["subtype"]),
            "primary_sites": list(self.builder.categories_.get("primary_site", [])),
            "gene_panels": sorted(self.panels),
            # per organ, the training run's out-of-fold skill within cancer type ({} for a
            # model saved without it): a 44% for an organ ranked at 0.52 is weak evidence
            "skill": meta.get("skill") if isinstance(meta.get("skill"), dict) else {},
        }


def _fewer_drivers(result: dict, top_k: int) -> dict:
    """One answer with at most `top_k` drivers each way per organ."""
    organs = [{**o, "drivers_up": o["drivers_up"][:top_k],
               "drivers_down": o["drivers_down"][:top_k]} for o in result["organs"]]
    return {**result, "organs": organs}


def _prevalence(from_metadata: object, fitted: object) -> dict[str, float]:
    source = fitted if isinstance(fitted, dict) else from_metadata
    return {str(k): float(v) for k, v in source.items()} if isinstance(source, dict) else {}


def _validation_body(errors: Sequence[dict]) -> dict[str, object]:
    """422 body naming each field; the offending values are not echoed back."""
    return {"detail": [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                        "type": str(e.get("type", ""))} for e in errors]}


def _with_panel_enum(app: FastAPI, panels: Sequence[str]) -> None:
    """The OpenAPI schema lists the gene panels this server knows as `gene_panel`'s enum
    (the pydantic model can only say what a panel id looks like)."""
    build = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = build()
            field = schema["components"]["schemas"]["PatientProfile"]["properties"]["gene_panel"]
            field["anyOf"] = [{"type": "string", "enum": list(panels)}, {"type": "null"}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(loaded: LoadedModel, max_body_bytes: int = MAX_BODY_BYTES,
               warm_up: bool = True, log_requests: bool = False) -> FastAPI:
    """The app for one loaded model (loaded once by the caller, checksums verified).
    `warm_up` scores one dummy profile first, so the first client does not pay for
    compiling the SHAP kernel and filling caches; `log_requests` writes the access log
    (method, path, status, time) to the `organo_predict.access` logger."""
    predictor = Predictor(loaded)
    batcher = MicroBatcher(lambda profiles, k: predictor.predict(profiles, k),  # late-bound
                           _fewer_drivers)
    if warm_up:
        predictor.predict([PatientProfile(cancer_type="warm-up", unknown_cancer_type="pooled")])
    page = (resources.files("organo_predict.serving") / "index.html").read_text("utf-8")
    examples = json.loads((resources.files("organo_predict.serving") / "examples.json")
                          .read_text("utf-8"))
    metadata = predictor.metadata()

    # /docs and /redoc from the assets fastapi-offline ships: the tool runs offline, and
    # FastAPI's own pages load Swagger UI from a CDN (blank without a network)
    app = FastAPIOffline(
        title="organo-predict", version=str(loaded.info.get("version") or "bundle"),
        description="Where will a cancer spread, and why: per-organ probabilities of "
                    "metastasis from tumor genomics, with SHAP drivers tied to documented "
                    "mechanisms.",
        dependencies=[Depends(refuse_unknown_query)], static_url="/docs/assets")
    app.add_middleware(BodyGuard, limit=max_body_bytes)
    app.add_middleware(HeadAsGet)
    if log_requests:
        app.add_middleware(AccessLog)
    _with_panel_enum(app, sorted(predictor.panels))
    app.state.predictor = predictor
    app.state.loaded = loaded

    _add_error_handlers(app)
    _add_routes(app, predictor, batcher, page, examples, metadata)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """400 for malformed JSON, 422 naming the field, 500 without a stack trace."""
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return json_response({"detail": "the body is not valid JSON"}, 400)
        return json_response(_validation_body(errors), 422)

    @app.exception_handler(ProfileError)
    async def _unusable(request: Request, exc: ProfileError) -> Response:
        return json_response({"detail": [{"loc": list(exc.loc), "msg": str(exc),
                                  "type": "value_error"}]}, 422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s: %s", request.method, request.url.path,
                  type(exc).__name__)
        return json_response({"detail": "internal error"}, 500)


def _add_routes(app: FastAPI, predictor: Predictor, batcher: MicroBatcher[PatientProfile],
                page: str, examples: object, metadata: dict[str, object]) -> None:
    """The page, /examples, /health, /metadata, /predict and /predict/batch."""
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/examples", summary="Example patient profiles for the page",
             responses=QUERY_ERRORS)
    async def example_profiles() -> Response:
        return json_response(examples)

    @app.get("/health", summary="Liveness and the model's identity", responses=QUERY_ERRORS)
    async def health() -> Response:
        return json_response({"status": "ok", "model": metadata["model"]})

    @app.get("/metadata", summary="Model, organs, knowledge base and training cohort",
             responses=QUERY_ERRORS)
    async def get_metadata() -> Response:
        return json_response(metadata)

    @app.post("/predict", summary="One patient: per-organ probability, baseline, drivers",
              response_model=PredictionOut, responses=ERRORS)
    async def predict(profile: PatientProfile,
                      top_drivers: Annotated[int, Query(ge=0, le=10)] = 3) -> Response:
        checked = predictor.check([profile], ("body",))
        results = await batcher.submit(checked, top_drivers)
        return json_response(results[0])

    @app.post("/predict/batch", summary="Up to 1,000 patients",
              response_model=BatchOut, responses=ERRORS)
    async def predict_batch(request: BatchRequest) -> Response:
        checked = predictor.check(request.patients, ("body", "patients"))
        results = await batcher.submit(checked, request.top_drivers)
        return json_response({"results": results})


# --------------------------------------------------------------------------- response docs
# The answers are `OrganExplanation.to_dict()` (the one serialisation of an explanation), written
# --------------------------------------------------------------------------- running


def app_from_environment() -> FastAPI:
    """uvicorn factory for multi-worker serving: each worker loads the model named by
    $ORGANO_PREDICT_SERVE_MODEL (empty: the registered champion) once."""
    import os

    from .._model._loading import load_model

    return _settled(create_app(load_model(os.environ.get(MODEL_ENV) or None),
                               log_requests=os.environ.get(ACCESS_LOG_ENV) == "1"))


def _settled(app: FastAPI) -> FastAPI:
    """Move everything alive after start-up (libraries, model, caches: ~425,000 tracked objects) out of
    the garbage collector's reach. Without it, full collections walking that heap stalled
    requests: p99 ~400 ms against ~95 ms with it, at 32 connections."""
    import gc

    gc.collect()
    gc.freeze()
    return app


def run_server(model: str | None, host: str = "127.0.0.1", port: int = 8000,
               workers: int = 1, access_log: bool = True) -> None:
    """Check the address is free, load the model (fail fast, before binding) and serve
    until interrupted."""
    import uvicorn

    from .._model._loading import load_model

    check_address_free(host, port)  # before the model load: a busy port is a 2-second error
    loaded = load_model(model)  # a bad model is a clear error here, not in a worker
    options = {"host": host, "port": port, "access_log": False, "log_level": "info",
               "log_config": _log_config(),  # uvicorn's access log has client addresses
               "http": guarded_http_protocol(), "timeout_keep_alive": 5}
    if workers == 1:
        uvicorn.run(_settled(create_app(loaded, log_requests=access_log)), **options)
        return
    del loaded
    import os

    os.environ[MODEL_ENV] = model or ""  # each worker process loads it again, by this name
    os.environ[ACCESS_LOG_ENV] = "1" if access_log else "0"
    uvicorn.run("organo_predict._apps._serve:app_from_environment", factory=True, workers=workers,
                **options)


def check_address_free(host: str, port: int) -> None:
    """OrganoPredictError if `host:port` cannot be bound (in use, not an address of this
    machine, a privileged port)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OrganoPredictError(f"--host {host!r}: not an address ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise OrganoPredictError(f"cannot listen on {host}:{port}: {exc.strerror} (is "
                                     "another server using it? pick another --port)") from None


def _log_config() -> dict[str, object]:
    """uvicorn's logging set-up plus ours: `organo_predict.*` lines (the access log, internal
    errors) on stderr in uvicorn's format."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["organo_predict"] = {"handlers": ["default"], "level": "INFO",
                                           "propagate": False}
    return config
