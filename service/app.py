"""The application factory: settings in, FastAPI app out; the engine is loaded once at start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from rag import __version__
from rag.core.config import Settings, get_settings
from service import errors, metrics
from service.engine import Engine
from service.jobs import JobManager
from service.middleware import AccessLog, AnswerOptions, BodySizeLimit
from service.questionlog import QuestionLog
from service.routers import admin, api, documents, feedback, health, openai_compat, widget
from service.throttle import RateLimiter
from service.uploads import UploadError

logger = logging.getLogger(__name__)

DESCRIPTION = """Questions over Chinese government work reports (政府工作报告), answered from the reports
with numbered citations, or 「提供的报告中没有找到相关信息。」 when they do not say.

`/api/*` is our JSON API, `/v1/*` is OpenAI-compatible. With `RAG_API_KEYS` set, both need
`Authorization: Bearer <key>`. Errors are `{"error": {"message", "type", "code"}}`."""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app. With ``engine`` given (tests), it is used as is and not closed at shutdown."""
    settings = settings or (engine.settings if engine else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = getattr(app.state, "engine", None) is None
        if owned:
            app.state.engine = await run_in_threadpool(Engine.load, settings)
            app.state.engine.on_answer.append(app.state.metrics.observe)
            if settings.warm_up:
                await run_in_threadpool(app.state.engine.warm_up)
        logger.info("serving %s", app.state.engine.index_info())
        if app.state.question_log is not None:
            app.state.question_log.start()  # opens the file and applies retention, in its own thread
        try:
            yield
        finally:
            app.state.jobs.close()
            if app.state.question_log is not None:
                await run_in_threadpool(app.state.question_log.close)
            if owned:
                app.state.engine.close()
                app.state.engine = None

    app = FastAPI(title="govrag", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.rate_limiter = RateLimiter(settings.rate_limit)
    app.state.auth_limiter = RateLimiter(settings.auth_failure_limit)
    #: Ratings have a budget like questions, of their own.
    app.state.feedback_limiter = RateLimiter(settings.rate_limit)
    #: Every answer and its rating (service/questionlog.py); None with RAG_LOG_QUESTIONS=0.
    app.state.question_log = QuestionLog.from_settings(settings) if settings.log_questions else None
    #: Uploads and the ingest worker; the engine is read when a job runs (it may load after this).
    app.state.jobs = JobManager(settings, lambda: app.state.engine)
    errors.install(app)
    app.add_exception_handler(UploadError, documents.upload_error)
    app.state.metrics = metrics.install(app)
    if engine is not None:
        engine.on_answer.append(app.state.metrics.observe)

    # added innermost first: request id → access log → CORS → body cap → OPTIONS → routes
    app.add_middleware(AnswerOptions)
    # uploads are exempt from the JSON body cap: the route streams them to disk under max_upload_bytes
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt=[documents.UPLOAD_ROUTE])
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(AccessLog)
    app.add_middleware(CorrelationIdMiddleware)

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(documents.router)
    app.include_router(openai_compat.router)
    app.include_router(feedback.router)
    app.include_router(admin.router)
    app.include_router(widget.router)
    app.include_router(admin.page_router)

    return app
