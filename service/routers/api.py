"""Our JSON API: ``/api/search``, ``/api/ask`` (JSON or SSE) and ``/api/documents``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from rag.answering.answer import Draft, final, validate_history
from rag.retrieval.query import validate_query
from service.answerlog import record_answer
from service.deps import get_engine
from service.engine import Engine
from service.schemas import ASK_RESPONSE, ERROR_RESPONSES, AskRequest, SearchRequest
from service.security import protected
from service.streaming import in_threadpool

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["api"], dependencies=protected, responses=ERROR_RESPONSES)


@router.post("/search")
def search(body: SearchRequest, engine: Engine = Depends(get_engine)) -> dict[str, object]:
    """Hybrid search; hits carry ``chunk_id``, ``source``, ``region``, ``year``, ``section``, ``text``, ``score``."""
    result = engine.retriever.search(validate_query(body.query), k=body.k, region=body.region, year=body.year)
    return result.to_dict()


@router.get("/documents")
def documents(engine: Engine = Depends(get_engine)) -> dict[str, object]:
    """The indexed reports with their metadata and chunk counts."""
    return {"documents": engine.documents()}


@router.post("/ask", response_model=None, responses=ASK_RESPONSE)
def ask(request: Request, body: AskRequest, engine: Engine = Depends(get_engine)) -> dict[str, object] | EventSourceResponse:
    """A grounded answer with citations (the object ``rag ask --json`` prints).

    With ``"stream": true``: ``text/event-stream`` with events ``sources`` (the passages), ``delta``
    (``{"text": …}``), ``done`` (the answer object) and, if something breaks mid-way, ``error``.
    Every answer has an ``id``: ``POST /api/feedback`` rates it.
    """
    question = validate_query(body.question)
    history = validate_history([turn.model_dump() for turn in body.history])
    answerer = engine.answerer  # the generation served now drafts and finishes this answer
    draft = answerer.draft(question, history)  # quotes, cached answers, refusals: no model needed
    ticket = engine.admit(draft)  # 503 now, before any byte is sent, when the model's queue is full
    if body.stream:
        return EventSourceResponse(_sse(request, engine, draft, ticket, answerer.generation), ping=10)
    try:
        answer = final(engine.answer_events(draft, ticket))
    finally:
        if ticket:
            ticket.close()
    record_answer(request, answer, answerer.generation, "api")
    return answer.to_dict()


async def _sse(request: Request, engine: Engine, draft: Draft, ticket, generation: str) -> AsyncIterator[dict[str, str]]:
    try:
        async for event in in_threadpool(engine.answer_events(draft, ticket), ticket, draft):
            if event.kind == "sources":
                data: object = event.data
            elif event.kind in ("delta", "replace"):
                data = {"text": event.data}
            else:
                record_answer(request, event.data, generation, "api")  # type: ignore[arg-type]
                data = event.data.to_dict()  # type: ignore[attr-defined]
            yield {"event": event.kind, "data": json.dumps(data, ensure_ascii=False)}
    except Exception as exc:  # the status line is already sent: report in-band
        logger.exception("answer stream failed")
        yield {"event": "error", "data": json.dumps({"message": _public(exc)}, ensure_ascii=False)}


def _public(exc: Exception) -> str:
    from rag.core.errors import RagError
    from service.throttle import Busy

    return str(exc) if isinstance(exc, (RagError, Busy)) else "internal error; see the service log"
