"""``GET /healthz``: open to everyone (load balancers, the widget's status check)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.deps import get_engine
from service.engine import Engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(engine: Engine = Depends(get_engine)) -> dict[str, object]:
    """The index that is loaded and whether the language model answers."""
    return {"status": "ok", "index": engine.index_info(), "llm": engine.llm_info()}
