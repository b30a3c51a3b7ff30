"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``: the official client and chat
front-ends work unchanged. The last user message is the question, earlier turns are the history;
the reply text carries its [n] citations and a short source list, and the full citations are in
the extra field ``sources``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from rag.answering.answer import Answer, Draft, final, validate_history
from rag.core.errors import QueryError
from rag.retrieval.query import validate_query
from service.answerlog import record_answer
from service.deps import get_engine
from service.engine import Engine
from service.schemas import ERROR_RESPONSES, STREAMING_RESPONSE, ChatRequest
from service.security import protected
from service.streaming import in_threadpool

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=protected, responses=ERROR_RESPONSES)

MODEL_ID = "govrag"
#: A completion's ``id`` is this prefix and the answer's id (``POST /api/feedback`` takes either form).
ID_PREFIX = "chatcmpl-"


def sources_footer(answer: Answer) -> str:
    """「来源：[1] 太仓市 2024年政府工作报告 · 2023年政府工作回顾」 lines for chat front-ends."""
    lines = [f"[{c.n}] {c.region or ''} {c.report_title or c.source} · {c.section}".strip() for c in answer.citations]
    return "\n\n来源：\n" + "\n".join(lines) if lines else ""


def _extra(answer: Answer) -> dict[str, object]:
    data = answer.to_dict()
    return {
        "sources": data["citations"],
        "refused": answer.refused,
        "degraded": answer.degraded,
        "unsupported_numbers": answer.unsupported_numbers,
        "confidence": answer.confidence,
        "low_confidence": answer.low_confidence,
    }


def _split(body: ChatRequest) -> tuple[str, list[dict[str, str]]]:
    turns = [{"role": m.role, "content": m.text()} for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise QueryError("the last message must come from the user")
    return validate_query(turns[-1]["content"]), validate_history(turns[:-1][-20:])


@router.get("/models")
def models() -> dict[str, object]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "govrag"}]}


@router.post("/chat/completions", response_model=None, responses=STREAMING_RESPONSE)
def chat_completions(
    request: Request, body: ChatRequest, engine: Engine = Depends(get_engine)
) -> dict[str, object] | EventSourceResponse:
    """A chat completion; its ``id`` is ``chatcmpl-`` and the answer's id (``POST /api/feedback`` rates it)."""
    question, history = _split(body)
    model = body.model or MODEL_ID
    answerer = engine.answerer
    draft = answerer.draft(question, history)
    ticket = engine.admit(draft)
    if body.stream:
        return EventSourceResponse(_chunks(request, engine, draft, ticket, model, answerer.generation), ping=10)
    try:
        answer = final(engine.answer_events(draft, ticket))
    finally:
        if ticket:
            ticket.close()
    record_answer(request, answer, answerer.generation, "v1")
    return {
        "id": f"{ID_PREFIX}{answer.id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer + sources_footer(answer)},
                "finish_reason": "stop",
            }
        ],
        **_extra(answer),
    }


async def _chunks(
    request: Request, engine: Engine, draft: Draft, ticket, model: str, generation: str
) -> AsyncIterator[dict[str, str]]:
    ident, created = f"{ID_PREFIX}{draft.id}", int(time.time())

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: object) -> dict[str, str]:
        body = {
            "id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
        }  # fmt: skip
        return {"data": json.dumps(body, ensure_ascii=False)}

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    try:
        async for event in in_threadpool(engine.answer_events(draft, ticket), ticket, draft):
            if event.kind == "delta":
                sent += str(event.data)
                yield chunk({"content": str(event.data)})
            elif event.kind == "done":
                answer: Answer = event.data  # type: ignore[assignment]
                record_answer(request, answer, generation, "v1")
                # checks may add citations or a warning after the streamed text; send what is new
                if answer.answer.startswith(sent):
                    tail = answer.answer[len(sent) :]
                else:  # rewritten (refusal normalised, figures flagged): give the checked version
                    tail = f"\n\n（核对后的回答：{answer.answer}）"
                yield chunk({"content": tail + sources_footer(answer)}, "stop", **_extra(answer))
    except Exception:  # the status line is already sent: end the stream properly, say so in-band
        logger.exception("chat completion stream failed")
        yield chunk({"content": "\n\n（回答中断，请重试。）"}, "error")
    yield {"data": "[DONE]"}
