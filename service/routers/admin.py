"""What was asked and what readers thought of it, and which reports answer it, for the people who run
the service: the JSON routes ``GET /api/admin/questions`` and ``GET /api/admin/reports`` (admin keys
only, ``RAG_ADMIN_KEYS``) and ``/admin``, a small page (no build step, like the widget) that asks for
the admin key and lists the most asked questions, the refused ones, 👎 with their comments and the
slowest answers, and manages the report library (upload, delete, re-index, jobs with their progress
and failures: the routes of :mod:`service.routers.documents`).

The page itself holds no data and is open; everything it shows comes from the admin route with the
key typed into it (kept for the browser session only)."""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from rag.text.gazetteer import division
from service.deps import get_engine, get_question_log
from service.engine import Engine
from service.errors import ApiError
from service.questionlog import LogUnavailable, QuestionLog, iso, parse_since
from service.schemas import documented_error
from service.security import require_admin_key

logger = logging.getLogger(__name__)

ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: documented_error("No `Authorization: Bearer` key, or one that is neither an API key nor an admin key."),
    403: documented_error("An API key that is no admin key, or no `RAG_ADMIN_KEYS` configured (the admin routes are off)."),
    422: documented_error(
        "`kind` is not one of all, refused, down, up, slow, top; `since` is no date, time or duration; or `limit` is out of range."
    ),
    429: documented_error("Too many failed authentications from this address; see `Retry-After`."),
    503: documented_error("The question log is off (`RAG_LOG_QUESTIONS=0`) or cannot be read now."),
}


REPORTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: ADMIN_RESPONSES[status] for status in (401, 403, 429)},
    503: documented_error("No index is loaded yet."),
}


class QuestionsView(BaseModel):
    """Entries of the question log, or for ``kind=top`` the most asked questions with their counts."""

    kind: Literal["all", "refused", "down", "up", "slow", "top"]
    #: The lower bound applied (ISO 8601, UTC), null for none.
    since: str | None
    count: int
    questions: list[dict[str, Any]]


class ReportView(BaseModel):
    """One report of the served index, as the admin's library lists it."""

    #: The id ``DELETE /api/documents/{id}`` and ``POST /api/documents/{id}/reindex`` take.
    id: str
    #: The file name it was uploaded as (a seed: its file name).
    name: str
    title: str | None
    #: The place the report is about (``region``), its division level (省, 地级市, 县级市, 区, 县, 镇 …, from
    #: the gazetteer; null when the place is unknown to it) and the division it lies in.
    place: str | None
    level: str | None
    parent: str | None
    #: The year it was delivered in, and the years its passages describe (e.g. the year reviewed and the plan year).
    year: int | None
    date: str | None
    years: list[int]
    format: str | None
    chunks: int
    #: Bytes of its stored original; null when that file is not on this machine (a shared store's report).
    size: int | None
    #: When an upload was stored (ISO 8601, UTC); null for a seed report.
    added_at: str | None
    origin: Literal["seed", "upload"]
    #: Its original is on this machine, so ``POST /api/documents/{id}/reindex`` can read it again.
    reindexable: bool


class ReportsView(BaseModel):
    """The reports of the served index generation."""

    generation: str
    count: int
    chunks: int
    reports: list[ReportView]


router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin_key)])


@router.get("/reports", response_model=ReportsView, responses=REPORTS_RESPONSES)
def reports(engine: Engine = Depends(get_engine)) -> dict[str, object]:
    """The report library: every report of the served index with its place (level and the division
    above it), delivery year, the years its passages describe, format, passages, size and, for an
    upload, when it was added. Change it with ``POST /api/documents``, ``DELETE /api/documents/{id}``
    and the re-index routes."""
    served = engine.served
    paths = {str(s.get("source")): Path(str(s.get("path") or "")) for s in served.retriever.store.sources}
    listed = [_report(doc, paths.get(str(doc.get("source")))) for doc in engine.documents()]
    chunks = served.retriever.store.size
    return {"generation": served.generation, "count": len(listed), "chunks": chunks, "reports": listed}


def _report(doc: dict[str, Any], path: Path | None) -> dict[str, object]:
    place = division(doc.get("region"), doc.get("parent_region"))
    stat = path.stat() if path is not None and path.name and path.is_file() else None
    return {
        "id": str(doc["id"]),
        "name": str(doc.get("name") or doc.get("source") or doc["id"]),
        "title": doc.get("title"),
        "place": doc.get("region"),
        "level": place.level if place else None,
        "parent": doc.get("parent_region") or (place.parent if place else None),
        "year": doc.get("year"),
        "date": doc.get("date"),
        "years": list(doc.get("years") or []),
        "format": doc.get("format"),
        "chunks": int(doc.get("chunks") or 0),
        "size": stat.st_size if stat else None,
        "added_at": iso(stat.st_mtime) if stat and doc.get("origin") == "upload" else None,
        "origin": doc.get("origin", "seed"),
        "reindexable": stat is not None,
    }


@router.get("/questions", response_model=QuestionsView, responses=ADMIN_RESPONSES)
def questions(
    kind: Annotated[Literal["all", "refused", "down", "up", "slow", "top"], Query(description="Which entries.")] = "all",
    since: Annotated[
        str | None, Query(max_length=64, description="From when: `2026-01-31`, `2026-01-31T08:00Z`, unix time, or `7d`, `24h`.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    log: QuestionLog | None = Depends(get_question_log),
) -> dict[str, object]:
    """The question log: ``all`` (newest first), ``refused``, ``down`` / ``up`` (rated so, newest rating
    first, with the comment), ``slow`` (slowest first), or ``top`` (the most asked questions: the same
    standalone question however it was typed, with how often it was asked, refused and rated)."""
    if log is None:
        raise ApiError(503, "the question log is off on this service (RAG_LOG_QUESTIONS=0)")
    try:
        start = parse_since(since, log.clock())
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    log.flush(timeout=2.0)  # what was answered and rated a moment ago is shown
    try:
        found = log.questions(kind, start, limit)
    except LogUnavailable as exc:
        logger.error("admin: %s", exc)
        raise ApiError(503, str(exc)) from None
    return {"kind": kind, "since": iso(start), "count": len(found), "questions": found}


# --- the page ------------------------------------------------------------------------------------

page_router = APIRouter(tags=["admin"], include_in_schema=False)

#: The page loads only its own script; no inline script, no other origin.
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_HEADERS = {"Content-Security-Policy": ADMIN_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}  # fmt: skip


@cache
def _asset(name: str) -> str:
    return resources.files("service.widget").joinpath(name).read_text(encoding="utf-8")


@page_router.api_route("/admin", methods=["GET", "HEAD"], response_class=HTMLResponse)
def admin_page() -> HTMLResponse:
    return HTMLResponse(_asset("admin.html"), headers=_HEADERS)


@page_router.api_route("/admin.js", methods=["GET", "HEAD"])
def admin_script() -> Response:
    return Response(_asset("admin.js"), media_type="application/javascript; charset=utf-8", headers=_HEADERS)
