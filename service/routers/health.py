"""Probes, open to everyone (load balancers, the widget's status check), GET and HEAD:

- ``/healthz`` — liveness: the process serves HTTP. No I/O, answers at once whatever the model does.
- ``/readyz`` — readiness: the index is loaded, a shared index store (Milvus) answers, and the
  language model (when there is one) answers within a second; both checks are cached for
  ``MODEL_CHECK_SECONDS``. 503 with the reason otherwise (without the store no answer comes; without
  the model answers still come, but extractive and marked ``degraded``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from service.deps import get_engine
from service.engine import MODEL_CHECK_SECONDS, Engine
from service.errors import error_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """Liveness: ``{"status": "ok"}``."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: the index store or the language model does not answer."}})
@router.head("/readyz", include_in_schema=False)
def readyz(engine: Engine = Depends(get_engine)) -> JSONResponse:
    """Readiness: the loaded index (chunks, reports, embedding model) and the language model's state."""
    store_problem = engine.store_problem(cache_seconds=MODEL_CHECK_SECONDS)
    if store_problem is not None:
        return error_response(503, f"the index store does not answer: {store_problem}", "not_ready")
    llm = engine.llm_info(cache_seconds=MODEL_CHECK_SECONDS)
    body = {"status": "ready", "index": engine.index_info(), "llm": llm}
    if llm["backend"] != "none" and not llm["reachable"]:
        return error_response(503, "the language model does not answer", "not_ready", index=body["index"], llm=llm)
    return JSONResponse(body)
