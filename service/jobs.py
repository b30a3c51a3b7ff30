"""Background changes of the corpus: one worker thread runs upload, delete and re-index jobs one at a
time, each ending with the served engine swapped to the new index generation (or failed, with the
served index unchanged).

A job is kept in memory and as ``<uploads_dir>/jobs/<id>.json`` (rewritten atomically at each step),
so after a restart a job that was running reads ``failed`` (「interrupted by a restart」) and the
files it had stored but not committed are removed.

What a job does (upload): parse each new file with :func:`rag.reading.documents.load_report` (an unreadable
one fails the job with the loader's reason), work out the new corpus (with ``replace``: without the
older reports of the same region and year), index it with :func:`rag.indexing.ingest.ingest` (a new generation,
written atomically; vectors of unchanged passages come from the embedding cache), commit the corpus
(``corpus.json``), and swap the engine. Delete and re-index jobs do the same with another corpus; a
re-index of one report reads its stored original again, its passages replacing the old ones.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rag.core.errors import RagError
from rag.reading.documents import load_report
from service.uploads import CorpusState, StoredDocument, UploadError, UploadStore, read_json, write_json_atomic

if TYPE_CHECKING:
    from rag.core.config import Settings
    from service.engine import Engine

logger = logging.getLogger(__name__)

Status = Literal["queued", "parsing", "embedding", "done", "failed"]
Kind = Literal["upload", "delete", "reindex"]
RUNNING: tuple[Status, ...] = ("queued", "parsing", "embedding")
INTERRUPTED = "interrupted by a restart"
#: Job files kept on disk (the oldest beyond this are removed at start-up).
KEEP_JOBS = 500
#: How often, at most, a running job's progress is written to its file.
PERSIST_EVERY_SECONDS = 1.0
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Job:
    id: str
    kind: Kind
    documents: list[dict[str, object]] = field(default_factory=list)
    replace: bool = False
    status: Status = "queued"
    progress: float = 0.0
    reason: str | None = None
    #: The index generation served once the job is done (the new one, or the same when nothing changed).
    generation: str | None = None
    #: Nothing to do: the bytes were in the corpus already, or the document was gone already.
    unchanged: bool = False
    #: Ids of the documents this job took out of the corpus (a delete, or ``replace``).
    removed: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    #: Internal: the stored file names an upload adds, or the source file a delete removes.
    files: list[str] = field(default_factory=list)
    target: str | None = None

    def public(self) -> dict[str, object]:
        return {
            "job": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 3),
            "reason": self.reason,
            "documents": [dict(d) for d in self.documents],
            "generation": self.generation,
            "unchanged": self.unchanged,
            "removed": list(self.removed),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Job:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


class JobManager:
    """The jobs of one app and the worker thread that runs them (started on the first job)."""

    def __init__(self, settings: Settings, engine: Callable[[], Engine | None]) -> None:
        self.settings = settings
        self.store = UploadStore(settings)
        self._engine = engine
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._recovered = False
        self._persisted: dict[str, float] = {}
        if self.store.acquire_if_present():
            self._recover()

    # -- public API -----------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Take the uploads folder for this process and start the worker; 503 when another process has it."""
        if not self.store.acquire():
            raise UploadError(503, f"{self.settings.uploads_dir}/ is managed by another service process; uploads go there")
        if not self._recovered:
            self._recover()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
                self._thread.start()

    def known_hashes(self) -> set[str]:
        """sha256 of every report in the corpus (listed uploads, and the served index's sources)."""
        engine = self._engine()
        served = {str(s.get("sha256")) for s in engine.retriever.store.sources} if engine else set()
        return self.store.listed_hashes(self.store.state()) | served

    def submit_upload(self, documents: list[StoredDocument], replace: bool) -> Job:
        job = Job(uuid.uuid4().hex, "upload", [d.public() for d in documents], replace=replace)
        job.files = list(dict.fromkeys(d.file for d in documents if not d.unchanged))
        if not job.files:  # every file is in the corpus already: nothing to index
            self._finish_unchanged(job)
        return self._submit(job)

    def submit_delete(self, doc_id: str) -> Job:
        """A job removing document ``doc_id``; 404 when no indexed document has that id, 409 for the last one."""
        source, sources = self._indexed(doc_id)
        if len(sources) == 1:
            raise UploadError(409, "this is the only report in the index; upload another one before removing it")
        job = Job(uuid.uuid4().hex, "delete", [_describe(source)])
        job.target = str(source["source"])
        return self._submit(job)

    def submit_reindex(self, doc_id: str | None = None) -> Job:
        """A job reading the whole corpus again into a new index generation, or with ``doc_id`` that one
        report from its stored original (its passages replaced); 404 when no indexed document has that id."""
        job = Job(uuid.uuid4().hex, "reindex")
        if doc_id is not None:
            source, _ = self._indexed(doc_id)
            job.documents, job.target = [_describe(source)], str(source["source"])
        return self._submit(job)

    def recent(self, limit: int = 50, status: str = "all") -> list[dict[str, object]]:
        """The jobs of this process and those read back at start-up, newest first: ``status`` ``running``
        (queued, parsing or embedding), ``done``, ``failed`` or ``all``."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda job: job.created_at, reverse=True)
            wanted = RUNNING if status == "running" else (status,) if status != "all" else None
            return [job.public() for job in jobs if wanted is None or job.status in wanted][:limit]

    def _indexed(self, doc_id: str) -> tuple[dict[str, object], list[dict[str, object]]]:
        """The served index's source with id ``doc_id`` and all its sources; 404 when there is none."""
        engine = self._engine()
        sources = engine.retriever.store.sources if engine else []
        match = [s for s in sources if str(s.get("doc_id") or Path(str(s.get("source"))).stem) == doc_id]
        if not match:
            raise UploadError(404, f"no indexed document has the id {doc_id!r}")
        return match[0], sources

    def get(self, job_id: str) -> dict[str, object] | None:
        """A job's public view: from memory, else (a job of another process) from its file."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return job.public()
        if not _JOB_ID.match(job_id):
            return None
        data = read_json(self.store.jobs_dir / f"{job_id}.json")
        return Job.from_dict(data).public() if isinstance(data, dict) else None

    def wait_idle(self, timeout: float) -> bool:
        """Whether every job finished within ``timeout`` seconds (for shutdown and tests)."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while time.monotonic() < deadline:
            with self._lock:
                if all(job.status not in RUNNING for job in self._jobs.values()):
                    return True
            pause.wait(0.02)
        return False

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker after the job it is running (waiting at most ``timeout`` seconds; a job still
        running then is reported interrupted after the next start) and let go of the uploads folder."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("ingest worker still busy at shutdown; its job will read as interrupted")
                return
        self.store.release()

    # -- the worker -----------------------------------------------------------------------------

    def _submit(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
        self._persist(job, force=True)
        if job.status == "queued":
            self._queue.put(job.id)
            logger.info("job %s (%s) queued", job.id, job.kind)
        return job

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            job = self._jobs[job_id]
            started = time.perf_counter()
            try:
                self._run(job)
            except Exception as exc:
                if isinstance(exc, RagError):
                    reason = str(exc)
                    logger.warning("job %s failed: %s", job.id, reason)
                else:
                    reason = "internal error; see the service log"
                    logger.exception("job %s failed", job.id)
                self._discard_uncommitted(job)
                self._update(job, status="failed", reason=reason)
            else:
                logger.info("job %s %s in %.1fs", job.id, job.status, time.perf_counter() - started)

    def _run(self, job: Job) -> None:
        from rag.indexing.ingest import ingest
        from rag.retrieval.retrieve import Retriever

        engine = self._engine()
        if engine is None:
            raise RagError("no index is loaded yet")
        served = engine.served
        sources = served.retriever.store.sources
        indexed = [str(s["source"]) for s in sources]
        state = self.store.state()
        seeds = [p.name for p in self.store.seed_files()]
        self._update(job, status="parsing", progress=0.02)
        added: list[str] = []
        removed: list[str] = []
        if job.kind == "upload":
            new_state = self._plan_upload(job, state, seeds, sources)
            if new_state is None:
                return
            added = [name for name in new_state.uploads if name not in state.uploads]
            removed = [name for name in indexed if Path(name).stem in job.removed]  # with ``replace``
        elif job.kind == "delete":
            if job.target not in indexed:
                self._finish_unchanged(job)
                return
            new_state = state.changed(remove=[str(job.target)], seeds=seeds)
            removed = [str(job.target)]
            job.removed = [Path(str(job.target)).stem]
        else:
            new_state = state
        if job.kind != "reindex" and not set(indexed) - set(removed) | set(added):
            raise RagError("the corpus would have no report left")
        if job.kind == "reindex" and not self.store.files(new_state):
            raise RagError("the corpus would have no report left")
        reread: list[Path] = []
        if job.kind == "reindex" and job.target is not None:
            if job.target not in indexed:
                raise RagError(f"{job.target} is no longer in the index")
            original = next((p for p in self.store.files(new_state) if p.name == job.target), None)
            if original is None or not original.is_file():
                raise RagError(f"{job.documents[0].get('name') or job.target}: its stored original is gone")
            reread = [original]

        def progress(stage: str, fraction: float) -> None:
            if stage == "parsing":
                self._update(job, status="parsing", progress=0.1 + 0.1 * fraction)
            elif stage == "embedding":
                self._update(job, status="embedding", progress=0.2 + 0.7 * fraction)
            else:  # writing the new generation
                self._update(job, status="embedding", progress=0.95)

        embedder = served.retriever.embedder
        if job.kind == "reindex" and job.target is None:  # the whole corpus again, as a new generation
            result = ingest(self.store.files(new_state), self.settings, embedder=embedder, progress=progress)
        else:  # only what changed (one report re-read replaces its passages): the rest is kept as it is
            paths = reread or [self.store.path(name) for name in added]
            result = ingest(paths, self.settings, append=True, remove=removed, embedder=embedder, progress=progress)
        self.store.commit(new_state)
        self.store.remove_files(name for name in state.uploads if name not in new_state.uploads)
        engine.swap(Retriever(result.store, embedder, self.settings))
        self._update(job, status="done", progress=1.0, generation=engine.generation)

    def _plan_upload(
        self, job: Job, state: CorpusState, seeds: list[str], sources: list[dict[str, object]]
    ) -> CorpusState | None:
        """Parse the job's new files; the corpus with them (and, with ``replace``, without the older
        reports of their region and year). ``None`` when every file is in the corpus already."""
        known = self.store.listed_hashes(state) | {str(s.get("sha256")) for s in sources}
        documents = {str(doc["id"]): doc for doc in job.documents}
        adding: list[str] = []
        replaced: list[str] = []
        for file in job.files:
            doc = documents[Path(file).stem]
            if str(doc["sha256"]) in known:
                doc["unchanged"] = True
                continue
            path = self.store.path(file)
            if not path.is_file():
                raise RagError(f"{doc['name']}: the stored file is gone (an earlier upload of the same bytes failed)")
            try:
                report = load_report(path)
            except RagError as exc:  # the loader names the stored path: say the uploaded name instead
                raise RagError(str(exc).replace(str(path), str(doc["name"]))) from None
            doc.update(region=report.region, year=report.year, title=report.title)
            adding.append(file)
            if job.replace and report.region and report.year:
                replaced += [
                    str(s["source"]) for s in sources if s.get("region") == report.region and s.get("year") == report.year
                ]
        if not adding:
            self._finish_unchanged(job)
            return None
        job.removed = [Path(name).stem for name in dict.fromkeys(replaced)]
        return state.changed(add=adding, remove=replaced, seeds=seeds)

    def _finish_unchanged(self, job: Job) -> None:
        engine = self._engine()
        self._update(job, status="done", progress=1.0, unchanged=True, generation=engine.generation if engine else None)

    def _discard_uncommitted(self, job: Job) -> None:
        """Remove the files a failed job stored, unless the corpus lists them or a queued job needs them."""
        listed = set(self.store.state().uploads)
        with self._lock:
            wanted = {f for other in self._jobs.values() if other is not job and other.status in RUNNING for f in other.files}
        self.store.remove_files(f for f in job.files if f not in listed and f not in wanted)

    # -- state ----------------------------------------------------------------------------------

    def _update(self, job: Job, **changes: object) -> None:
        with self._lock:
            status_changed = "status" in changes and changes["status"] != job.status
            for key, value in changes.items():
                setattr(job, key, value)
            job.updated_at = time.time()
        self._persist(job, force=status_changed or job.status not in RUNNING)

    def _persist(self, job: Job, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._persisted.get(job.id, 0.0) < PERSIST_EVERY_SECONDS:
            return
        self._persisted[job.id] = now
        with self._lock:
            data = asdict(job)
        try:
            write_json_atomic(self.store.jobs_dir / f"{job.id}.json", data)
        except OSError as exc:  # the job still runs and is reported from memory
            logger.warning("cannot write job %s: %s", job.id, exc)

    def _recover(self) -> None:
        """At start-up (this process holds the folder): jobs that were running read as failed, the
        oldest job files beyond ``KEEP_JOBS`` go, and stored files no corpus lists are removed."""
        self._recovered = True
        files = sorted(self.store.jobs_dir.glob("*.json")) if self.store.jobs_dir.is_dir() else []
        jobs = []
        for path in files:
            data = read_json(path)
            if isinstance(data, dict) and _JOB_ID.match(str(data.get("id", ""))):
                try:
                    jobs.append(Job.from_dict(data))
                except TypeError:
                    logger.warning("ignoring unreadable job file %s", path)
        jobs.sort(key=lambda j: j.created_at)
        for old in jobs[:-KEEP_JOBS]:
            (self.store.jobs_dir / f"{old.id}.json").unlink(missing_ok=True)
        for job in jobs[-KEEP_JOBS:]:
            if job.status in RUNNING:
                job.status, job.reason, job.updated_at = "failed", INTERRUPTED, time.time()
                write_json_atomic(self.store.jobs_dir / f"{job.id}.json", asdict(job))
                logger.warning("job %s was %s when the service stopped: failed", job.id, job.kind)
            self._jobs[job.id] = job
        self.store.collect_garbage(keep=set())


def _describe(source: dict[str, object]) -> dict[str, object]:
    name = str(source.get("source", ""))
    described: dict[str, object] = {"id": source.get("doc_id") or Path(name).stem, "name": name}
    described.update({key: source.get(key) for key in ("sha256", "format", "region", "year", "title")})
    return described
