"""Changing the corpus while serving: ``POST /api/documents`` (upload), ``DELETE /api/documents/{id}``,
``POST /api/documents/{id}/reindex`` and ``POST /api/reindex`` (read again), ``GET /api/jobs/{id}`` and
``GET /api/jobs`` (recent jobs), for admin keys only (``RAG_ADMIN_KEYS``).

An upload streams to disk as it arrives (never whole in memory), capped at ``RAG_MAX_UPLOAD_BYTES``
per request (this route is exempt from the JSON body cap ``RAG_MAX_BODY_BYTES``); its files are
checked (empty: 422, a type no loader reads, by content: 415), stored under their sha256 and handed
to the ingest worker (:mod:`service.jobs`): 202 with the job, which ends ``done`` when the engine
serves the new index generation, or ``failed`` with the reason, the served index unchanged.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from rag.core.config import Settings
from service.deps import get_auth_limiter, get_engine_settings
from service.errors import error_response
from service.jobs import JobManager
from service.schemas import documented_error
from service.security import bearer_token, client_address, matches_any, valid_key
from service.throttle import RateLimiter
from service.uploads import HEAD_BYTES, Received, StoredDocument, UploadError, sniff_format

logger = logging.getLogger(__name__)

#: Exempt from the JSON body cap (``BodySizeLimit``): the route caps it at ``max_upload_bytes`` itself.
UPLOAD_ROUTE = ("POST", "/api/documents")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


# --- who may change documents ------------------------------------------------------------------


def _admin_key(token: str, settings: Settings) -> bool:
    return matches_any(token, settings.admin_keys)


def require_admin(
    request: Request,
    settings: Settings = Depends(get_engine_settings),
    failures: RateLimiter = Depends(get_auth_limiter),
) -> None:
    """``Authorization: Bearer <one of RAG_ADMIN_KEYS>``: 401 without a known key, 403 for an API key
    that is no admin key, 403 for everyone while no admin key is configured (uploads are off)."""
    if not settings.admin_keys:
        raise UploadError(403, "uploads and document changes are disabled on this service (no RAG_ADMIN_KEYS)")
    token = bearer_token(request)
    if token is not None and _admin_key(token, settings):
        return
    if valid_key(token, settings):
        raise UploadError(403, "this API key may read and ask but not change documents; use an admin key")
    failures.check("ip:" + client_address(request, settings), what="failed authentications")
    raise UploadError(401, "missing or invalid admin key", headers={"WWW-Authenticate": "Bearer"})


def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs


async def upload_error(request: Request, exc: Exception) -> JSONResponse:
    """The error envelope for :class:`UploadError` (installed by the app)."""
    assert isinstance(exc, UploadError)
    return error_response(exc.status, str(exc), exc.kind, exc.headers)


# --- documentation -----------------------------------------------------------------------------


_AUTH: dict[int | str, dict[str, Any]] = {
    401: documented_error("No `Authorization: Bearer` key, or one that is neither an API key nor an admin key."),
    403: documented_error("An API key that is no admin key, or no `RAG_ADMIN_KEYS` configured (uploads are disabled)."),
    429: documented_error("Too many failed authentications from this address; see `Retry-After`."),
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    413: documented_error("The upload is larger than `RAG_MAX_UPLOAD_BYTES` (all files of the request together)."),
    415: documented_error(
        "Not `multipart/form-data`, or a file of a type no loader reads (PDF, Word .docx, HTML, text; by content)."
    ),
    422: documented_error("No file in `files`, an empty file, a malformed body, or `replace` is no boolean."),
    503: documented_error("Another service process manages `RAG_UPLOADS_DIR`, or no index is loaded."),
}
JOB_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    404: documented_error("No such job."),
    422: documented_error("The job id is malformed."),
}
DELETE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    404: documented_error("No indexed document has this id."),
    409: documented_error("The document is the only report left in the index."),
    422: documented_error("The document id is malformed."),
    503: documented_error("Another service process manages `RAG_UPLOADS_DIR`, or no index is loaded."),
}
#: Re-reading one report answers as deleting it does, but never 409; the whole library has no id to get wrong.
REINDEX_RESPONSES = {status: answer for status, answer in DELETE_RESPONSES.items() if status != 409}
REINDEX_ALL_RESPONSES = {status: answer for status, answer in REINDEX_RESPONSES.items() if status not in (404, 422)}
JOBS_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    422: documented_error("`status` is not one of all, running, done, failed; or `limit` is out of range."),
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One or more reports: PDF, Word .docx, HTML or text (UTF-8, GBK …).",
                        },
                        "replace": {
                            "type": "boolean",
                            "default": False,
                            "description": "Take older reports of the same region and year out of the corpus.",
                        },
                    },
                }
            }
        },
    }
}


class JobDocument(BaseModel):
    """A document of a job. Once parsed it also has ``region``, ``year`` and ``title``; ``"unchanged":
    true`` when the same bytes were in the corpus already (nothing was done for it)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    sha256: str | None = None
    format: str | None = None


class JobView(BaseModel):
    """An upload, delete or re-index job."""

    job: str
    kind: Literal["upload", "delete", "reindex"]
    status: Literal["queued", "parsing", "embedding", "done", "failed"]
    progress: float = Field(ge=0.0, le=1.0)
    #: Why the job failed (one line), else null.
    reason: str | None
    documents: list[JobDocument]
    #: The index generation served once the job is done.
    generation: str | None
    #: Nothing to do: the reports were in the corpus already (or, for a delete, gone already).
    unchanged: bool
    #: Ids of the documents the job took out of the corpus.
    removed: list[str]
    created_at: float
    updated_at: float


class JobsView(BaseModel):
    """Recent jobs, newest first."""

    #: The filter applied.
    status: Literal["all", "running", "done", "failed"]
    count: int
    jobs: list[JobView]


# --- routes ------------------------------------------------------------------------------------

router = APIRouter(prefix="/api", tags=["documents"], dependencies=[Depends(require_admin)])

DocumentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$", description="The document's `id`.")]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The job's id.")]


@router.post("/documents", status_code=202, response_model=JobView, responses=UPLOAD_RESPONSES, openapi_extra=UPLOAD_BODY)
async def upload(request: Request, jobs: JobManager = Depends(get_jobs)) -> dict[str, object]:
    """Add reports: ``multipart/form-data`` with the files in ``files`` and optionally ``replace``
    (``true``: older reports of the same region and year leave the corpus; default: kept beside).

    202 with the job (``GET /api/jobs/{job}`` follows it); bytes already in the corpus make a job that
    is ``done`` at once with ``"unchanged": true``.
    """
    limit = jobs.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadError(413, f"upload larger than {limit} bytes (RAG_MAX_UPLOAD_BYTES)")
    jobs.ensure_ready()
    receiver = jobs.store.receiver(request.headers.get("content-type", ""))
    try:
        try:
            async for chunk in request.stream():
                if chunk:
                    await run_in_threadpool(receiver.write, chunk)
        except ClientDisconnect:
            raise UploadError(400, "the client went away during the upload") from None
        receiver.finish()
        replace = _boolean(receiver.fields.get("replace"))
        formats = [_checked_format(received) for received in receiver.files]
        if not receiver.files:
            raise UploadError(422, "no file in the form field `files`")
        known = jobs.known_hashes()
        stored = await run_in_threadpool(_keep_all, jobs, receiver.files, formats, known)
    finally:
        await run_in_threadpool(receiver.discard)
    job = jobs.submit_upload(stored, replace)
    logger.info("upload of %d files: job %s", len(stored), job.id)
    return jobs.get(job.id) or job.public()


@router.get("/jobs/{job_id}", response_model=JobView, responses=JOB_RESPONSES)
def job_status(job_id: JobId, jobs: JobManager = Depends(get_jobs)) -> dict[str, object]:
    """A job: ``status`` (queued → parsing → embedding → done | failed), ``progress`` 0–1, ``reason``
    when it failed, its ``documents``, and the index ``generation`` served once it is done."""
    job = jobs.get(job_id)
    if job is None:
        raise UploadError(404, f"no job {job_id}")
    return job


@router.get("/jobs", response_model=JobsView, responses=JOBS_RESPONSES)
def recent_jobs(
    status: Annotated[
        Literal["all", "running", "done", "failed"], Query(description="`running`: queued, parsing or embedding.")
    ] = "all",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    jobs: JobManager = Depends(get_jobs),
) -> dict[str, object]:
    """The jobs of this service process and those it found at start-up (a job that was running then
    reads ``failed``, 「interrupted by a restart」), newest first, each as ``GET /api/jobs/{job}`` shows it:
    a failed one with its ``reason``, an upload's ``documents`` with their region, year and title once parsed."""
    found = jobs.recent(limit, status)
    return {"status": status, "count": len(found), "jobs": found}


@router.post("/reindex", status_code=202, response_model=JobView, responses=REINDEX_ALL_RESPONSES)
def reindex_all(jobs: JobManager = Depends(get_jobs)) -> dict[str, object]:
    """Read every report of the corpus again from its stored original (seed files and uploads) into a
    new index generation, served once it is written: 202 with the job."""
    jobs.ensure_ready()
    job = jobs.submit_reindex()
    return jobs.get(job.id) or job.public()


@router.post("/documents/{doc_id}/reindex", status_code=202, response_model=JobView, responses=REINDEX_RESPONSES)
def reindex_document(doc_id: DocumentId, jobs: JobManager = Depends(get_jobs)) -> dict[str, object]:
    """Read one report again from its stored original (after a reader got better, or its seed file was
    corrected): its passages are replaced, the rest of the index is kept. 202 with the job."""
    jobs.ensure_ready()
    job = jobs.submit_reindex(doc_id)
    return jobs.get(job.id) or job.public()


@router.delete("/documents/{doc_id}", status_code=202, response_model=JobView, responses=DELETE_RESPONSES)
def delete_document(doc_id: DocumentId, jobs: JobManager = Depends(get_jobs)) -> dict[str, object]:
    """Take a document out of the corpus (an upload's file is deleted; a seed report stays on disk and
    is only left out) and re-index without it: 202 with the job."""
    jobs.ensure_ready()
    job = jobs.submit_delete(doc_id)
    return jobs.get(job.id) or job.public()


# --- helpers -----------------------------------------------------------------------------------


def _boolean(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UploadError(422, f"replace: {value!r} is not a boolean (true or false)")


def _checked_format(received: Received) -> str:
    """The file's format by its content; 422 when it is empty, 415 when no loader reads it."""
    head = bytes(received.head)
    if received.size == 0:
        raise UploadError(422, f"{received.name}: empty file")
    fmt = sniff_format(head, received.name)
    if fmt is None:
        raise UploadError(415, f"{received.name}: not a report this service can read (PDF, Word .docx, HTML or text)")
    if fmt == "text" and received.size <= HEAD_BYTES and not head.decode("utf-8", "ignore").strip():
        raise UploadError(422, f"{received.name}: empty file (only white space)")
    return fmt


def _keep_all(jobs: JobManager, files: list[Received], formats: list[str], known: set[str]) -> list[StoredDocument]:
    """Store every file; the same bytes twice in one request count once."""
    stored: dict[str, StoredDocument] = {}
    for received, fmt in zip(files, formats, strict=True):
        if received.digest not in stored:
            stored[received.digest] = jobs.store.keep(received, fmt, known)
    return list(stored.values())
