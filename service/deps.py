"""FastAPI dependencies: the shared engine, its settings and the rate limiter, from ``app.state``."""

from __future__ import annotations

from fastapi import Request

from rag.core.config import Settings
from service.engine import Engine
from service.questionlog import QuestionLog
from service.throttle import RateLimiter


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_engine_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


def get_auth_limiter(request: Request) -> RateLimiter:
    return request.app.state.auth_limiter


def get_question_log(request: Request) -> QuestionLog | None:
    """The question log, ``None`` when it is off (``RAG_LOG_QUESTIONS=0``)."""
    return request.app.state.question_log
