"""The service's side of the question log: each answer the HTTP API sends goes into the log
(:mod:`service.questionlog`, the storage), with the client's address and key fingerprint when
``RAG_LOG_CLIENTS=1``."""

from __future__ import annotations

import logging

from fastapi import Request

from rag.answering.answer import Answer
from rag.core.config import Settings
from service.questionlog import LoggedAnswer, QuestionLog, key_fingerprint
from service.security import bearer_token, client_address, valid_key

logger = logging.getLogger(__name__)


def record_answer(request: Request, answer: Answer, generation: str | None, route: str) -> None:
    """Log an answer the service is sending (when the log is on). Never raises: a failure is logged."""
    log: QuestionLog | None = getattr(request.app.state, "question_log", None)
    if log is None:
        return
    try:
        settings: Settings = request.app.state.settings
        client = key_id = None
        if settings.log_clients:
            client = client_address(request, settings)
            token = bearer_token(request)
            if token is not None and valid_key(token, settings):
                key_id = key_fingerprint(token)
        log.record(LoggedAnswer.of(answer, generation=generation, route=route, client=client, key_id=key_id))
    except Exception:
        logger.exception("question log: answer %s not logged", getattr(answer, "id", "?"))
