"""Readers rate answers: ``POST /api/feedback`` with the answer's id, ``up`` or ``down`` and, optionally,
a short comment. The same keys as asking; a flood is rate-limited like questions (``RAG_RATE_LIMIT``, a
budget of its own, so rating does not use up the questions). The rating lands in the question log
(:mod:`service.questionlog`), where the admin page reads it; the latest rating of an answer wins."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from rag.core.config import Settings
from service.deps import get_engine_settings, get_question_log
from service.errors import ApiError
from service.questionlog import MAX_COMMENT_CHARS, LogUnavailable, QuestionLog
from service.routers.openai_compat import ID_PREFIX
from service.schemas import ERROR_RESPONSES, documented_error
from service.security import client_key, require_key

logger = logging.getLogger(__name__)


def feedback_rate_limit(request: Request, settings: Settings = Depends(get_engine_settings)) -> None:
    request.app.state.feedback_limiter.check(client_key(request, settings))


router = APIRouter(prefix="/api", tags=["feedback"], dependencies=[Depends(require_key), Depends(feedback_rate_limit)])

FEEDBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: ERROR_RESPONSES[status] for status in (400, 401, 413, 429)},
    404: documented_error("No answer with this id in the question log (unknown, or deleted by retention)."),
    422: documented_error("`rating` is not `up` or `down`, the comment is longer than 1000 characters, or a field is missing."),
    503: documented_error("The question log is off (`RAG_LOG_QUESTIONS=0`) or cannot be read now."),
}


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The ``id`` of an answer (``/api/ask``, the stream's ``done`` event, or a ``/v1`` completion's ``id``).
    answer_id: str = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    #: Optional, what was wrong (or right); at most 1000 characters.
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)


class FeedbackView(BaseModel):
    """The rating as stored (the latest rating of an answer replaces an earlier one)."""

    answer_id: str
    rating: Literal["up", "down"]
    comment: str | None


@router.post("/feedback", response_model=FeedbackView, responses=FEEDBACK_RESPONSES)
def feedback(body: FeedbackRequest, log: QuestionLog | None = Depends(get_question_log)) -> dict[str, object]:
    """Rate an answer 👍 (``up``) or 👎 (``down``), with an optional comment."""
    if log is None:
        raise ApiError(503, "feedback is not kept on this service (RAG_LOG_QUESTIONS=0)")
    answer_id = body.answer_id.strip().removeprefix(ID_PREFIX)
    comment = (body.comment or "").strip() or None
    try:
        known = log.rate(answer_id, body.rating, comment)
    except LogUnavailable as exc:
        logger.error("feedback on %s not kept: %s", answer_id, exc)
        raise ApiError(503, str(exc)) from None
    if not known:
        raise ApiError(404, f"no answer {body.answer_id!r} in the question log")
    return {"answer_id": answer_id, "rating": body.rating, "comment": comment}
