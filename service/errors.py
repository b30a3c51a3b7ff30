"""Every error leaves as JSON: ``{"error": {"message", "type", "code"}}`` (the OpenAI shape, so the
official client reads our errors too), never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.core.errors import IndexMismatchError, IndexNotFoundError, QueryError, RagError, StoreError
from service.throttle import Busy

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a route answers on purpose: ``status`` and the envelope's ``type`` (``kind``)."""

    KINDS = {
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        422: "invalid_request_error",
        503: "log_unavailable",
    }

    def __init__(self, status: int, message: str, kind: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind or self.KINDS.get(status, "error")
        self.headers = headers


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": status, **extra}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(error.get("type") == "json_invalid" for error in exc.errors()):
            return error_response(400, "the body is not valid JSON", "invalid_request_error")
        return error_response(422, _validation_message(exc), "invalid_request_error")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.kind, exc.headers)

    @app.exception_handler(QueryError)
    async def bad_query(request: Request, exc: QueryError) -> JSONResponse:
        return error_response(422, str(exc), "invalid_request_error")

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        status = 429 if "rate limit" in str(exc) else 503
        kind = "rate_limit_error" if status == 429 else "overloaded_error"
        return error_response(status, str(exc), kind, {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(IndexNotFoundError)
    @app.exception_handler(IndexMismatchError)
    @app.exception_handler(StoreError)
    async def no_index(request: Request, exc: RagError) -> JSONResponse:
        return error_response(503, str(exc), "index_unavailable")

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        return error_response(400, str(exc), "invalid_request_error")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {401: "authentication_error", 404: "not_found_error", 405: "invalid_request_error"}.get(exc.status_code, "error")
        return error_response(exc.status_code, str(exc.detail), kind, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; see the service log", "internal_error")
