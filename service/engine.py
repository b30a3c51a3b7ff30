"""What the service loads once at start-up and shares between requests."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.answering.answer import Answer, Answerer, Draft, Event
from rag.core.config import Settings
from rag.core.errors import IndexNotFoundError, LLMError, RagError
from rag.llm.clients import LLMClient, LocalClient, make_llm
from rag.retrieval.retrieve import Retriever, open_retriever
from service.throttle import Busy, GenerationGate, Ticket

logger = logging.getLogger(__name__)

#: How long one check that the model answers serves /readyz and /metrics (probes and scrapes every
#: few seconds must not each ask the model).
MODEL_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Served:
    """One index generation as the service answers from it: its retriever and the answerer over it."""

    retriever: Retriever
    answerer: Answerer

    @property
    def generation(self) -> str:
        return self.answerer.generation


class _Drafts:
    """Which answerer made which draft, by the draft's identity; an entry goes when its draft is
    garbage-collected. Plain dict operations only (atomic): the finaliser may run inside any thread."""

    def __init__(self) -> None:
        self._owners: dict[int, Answerer] = {}

    def pin(self, draft: Draft, answerer: Answerer) -> None:
        key = id(draft)
        self._owners[key] = answerer
        weakref.finalize(draft, self._owners.pop, key, None)

    def owner(self, draft: Draft) -> Answerer | None:
        return self._owners.get(id(draft))

    def __len__(self) -> int:
        return len(self._owners)


class ServedAnswerer(Answerer):
    """An :class:`Answerer` that records the drafts it makes, so that :meth:`Engine.events` finishes
    each with the generation that started it even when the engine swapped in between."""

    def __init__(self, retriever: Retriever, llm: LLMClient | None, settings: Settings, drafts: _Drafts) -> None:
        super().__init__(retriever, llm, settings)
        self._drafts = drafts

    def draft(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Draft:
        draft = super().draft(question, history)
        self._drafts.pin(draft, self)
        return draft


class Engine:
    """The served index generation (swapped atomically by :meth:`swap`), the model client and its queue.

    A request reads :attr:`retriever` or :attr:`answerer` once and keeps what it got: an answer is
    drafted and finished by the answerer of one generation, and a swap never waits for requests nor
    makes one fail.
    """

    def __init__(self, settings: Settings, retriever: Retriever, llm: LLMClient | None) -> None:
        self.settings = settings
        self.llm = llm
        self.gate = GenerationGate(settings.llm_concurrency, settings.queue_size)
        #: Called with every final answer (the app's metrics).
        self.on_answer: list[Callable[[Answer], None]] = []
        self._checked: tuple[float, bool] | None = None
        self._store_checked: tuple[float, str | None] | None = None
        self._checked_lock = threading.Lock()
        self._drafts = _Drafts()
        self._swap_lock = threading.Lock()
        self._served = self._serve(retriever)
        self._looked = time.monotonic()
        self._follow_lock = threading.Lock()

    def _serve(self, retriever: Retriever) -> Served:
        return Served(retriever, ServedAnswerer(retriever, self.llm, self.settings, self._drafts))

    @property
    def served(self) -> Served:
        """The generation served now (one attribute read: atomic), after following a shared store."""
        self._follow_store()
        return self._served

    @property
    def retriever(self) -> Retriever:
        return self.served.retriever

    @property
    def answerer(self) -> Answerer:
        return self.served.answerer

    @property
    def generation(self) -> str:
        return self.served.generation

    def _follow_store(self) -> None:
        """With a store other processes write too (Milvus), serve what it holds now: at most every
        ``store_refresh_seconds`` one cheap look at its generation, and a swap when it changed. A store
        that cannot be reached keeps the current view (requests then fail or succeed on their own)."""
        if self.settings.store == "local" or time.monotonic() - self._looked < self.settings.store_refresh_seconds:
            return
        if not self._follow_lock.acquire(blocking=False):
            return  # another thread is looking
        try:
            self._looked = time.monotonic()
            current = self._served.retriever
            try:
                latest = current.store.latest_generation()
                if latest == current.store.generation:
                    return
                fresh = open_retriever(self.settings, embedder=current.embedder)
            except RagError as exc:
                logger.warning("cannot look at the shared store: %s", exc)
                return
            self.swap(fresh)
        finally:
            self._follow_lock.release()

    def swap(self, retriever: Retriever) -> Served:
        """Serve ``retriever``'s index from now on. The new answerer is built first (its answer cache
        keys carry the new generation, and opening it drops the stored answers of other generations);
        requests under way finish with the generation they started with."""
        served = self._serve(retriever)
        with self._swap_lock:
            old, self._served = self._served, served
        logger.info("serving index generation %s (was %s)", served.generation, old.generation)
        return served

    @classmethod
    def load(cls, settings: Settings) -> Engine:
        """Open the index (building it from the corpus when there is none yet) and the model client.

        The corpus is ``settings.seeds_dir``, changed by the uploads listed in ``settings.uploads_dir``
        (:mod:`service.uploads`); an index that differs from it (``rag ingest`` of the seeds alone, an
        upload interrupted by a crash) is rebuilt from it first: vectors are cached, so this is quick."""
        from rag.indexing.ingest import ingest
        from service.uploads import corpus_files, corpus_matches

        files = corpus_files(settings) or None
        try:
            retriever = open_retriever(settings)
            shared = settings.store != "local"  # the shared store is the corpus of record: never rebuilt here
            if files is not None and not shared and not corpus_matches(retriever.store.sources, files):
                logger.info("the index differs from the corpus (seeds and uploads): re-indexing %d reports", len(files))
                ingest(files, settings, embedder=retriever.embedder)
                retriever = open_retriever(settings)
        except IndexNotFoundError:
            logger.info(
                "no index in %s/: building it from %s", settings.index_dir, "the corpus" if files else f"{settings.seeds_dir}/"
            )
            ingest(files, settings)
            retriever = open_retriever(settings)
        retriever.search("预热", k=1)  # load the embedding model and jieba now, not on the first request
        return cls(settings, retriever, make_llm(settings))

    def events(self, draft: Draft) -> Generator[Event, None, None]:
        """The events for ``draft`` from the answerer that drafted it (the generation it started with);
        each final answer is handed to :attr:`on_answer` (metrics)."""
        answerer = self._drafts.owner(draft) or self.answerer
        for event in answerer.events(draft):
            if event.kind == "done":
                for observe in self.on_answer:
                    observe(event.data)  # type: ignore[arg-type]
            yield event

    def admit(self, draft: Draft) -> Ticket | None:
        """A place in the model's queue; ``None`` when the draft needs no model (a quote, a cached
        answer, an early refusal), there is no model to wait for, or the model is too busy and the
        draft was answered from the report instead (``RAG_BUSY_ANSWER=excerpt``). :class:`Busy` (503)
        when the queue is full and ``RAG_BUSY_ANSWER=503``."""
        if self.llm is None or not draft.needs_model:
            return None
        if self.settings.busy_answer == "503":
            return self.gate.admit()
        try:
            return self.gate.admit(max_wait=self.settings.model_wait_seconds)
        except Busy as busy:
            self._shed(draft, busy)
            return None

    def answer_events(self, draft: Draft, ticket: Ticket | None) -> Generator[Event, None, None]:
        """A draft's events, holding a generation slot while it needs the model. With
        ``RAG_BUSY_ANSWER=excerpt`` a question whose slot does not come within twice
        ``model_wait_seconds`` (the model took longer than expected) is answered from the report."""
        if ticket is None:
            yield from self.events(draft)
            return
        shedding = self.settings.busy_answer == "excerpt"
        try:
            with ticket.running(2 * self.settings.model_wait_seconds if shedding else None):
                yield from self.events(draft)
            return
        except Busy as busy:  # raised only while waiting for the slot, before any event
            if not shedding:
                raise
            self._shed(draft, busy)
        yield from self.events(draft)

    def _shed(self, draft: Draft, busy: Busy) -> None:
        logger.info("answering from the report without the model: %s", busy)
        self.gate.shed += 1
        (self._drafts.owner(draft) or self.answerer).answer_busy(draft)

    def warm_up(self) -> None:
        """Start the bundled model server now rather than on the first question; failures only log."""
        if isinstance(self.llm, LocalClient):
            try:
                self.llm.server.ensure()
            except LLMError as exc:
                logger.warning("local model not started (answers will be extractive until it is): %s", exc)

    def close(self) -> None:
        close = getattr(self.llm, "close", None)
        if close:
            close()

    def documents(self) -> list[dict[str, object]]:
        """The indexed reports: ``id``, metadata (region, year, title …), ``name`` (an upload's own file
        name), ``format``, ``origin`` (``seed`` or ``upload``) and chunk counts, without local paths or hashes."""
        from service.uploads import UploadStore, format_of

        store = UploadStore(self.settings)
        uploads, seeds = self.settings.uploads_dir.resolve(), self.settings.seeds_dir.resolve()
        hidden = {"path", "sha256"}
        listed = []
        for source in self.retriever.store.sources:
            file_name = str(source.get("source", ""))
            folder = Path(str(source.get("path", ""))).resolve().parent
            upload = folder != seeds  # in a shared store, also another replica's upload
            name = store.sidecar(file_name).get("name") if folder == uploads else None
            listed.append(
                {
                    "id": source.get("doc_id") or Path(file_name).stem,
                    **{k: v for k, v in source.items() if k not in hidden},
                    "name": name or file_name,
                    "format": source.get("format") or format_of(file_name),
                    "origin": "upload" if upload else "seed",
                }
            )
        return listed

    def index_info(self) -> dict[str, object]:
        served = self.served
        store = served.retriever.store
        return {
            "store": store.kind,
            "chunks": store.size,
            "reports": len(store.sources),
            "model": store.manifest.get("model"),
            "generation": served.generation,
        }

    def store_problem(self, cache_seconds: float = 0.0) -> str | None:
        """Why the index store does not answer now (``None`` when it does; the local store always
        does); the check is kept ``cache_seconds``."""
        if self.settings.store == "local":
            return None
        now = time.monotonic()
        with self._checked_lock:
            if self._store_checked is None or now - self._store_checked[0] > cache_seconds:
                try:
                    self.served.retriever.store.latest_generation()
                    problem = None
                except RagError as exc:
                    problem = str(exc)
                self._store_checked = (now, problem)
            return self._store_checked[1]

    def llm_info(self, cache_seconds: float = 0.0) -> dict[str, object]:
        """Backend, model and whether it answers within a second (that check kept ``cache_seconds``)."""
        if self.llm is None:
            return {"backend": "none", "reachable": False}
        now = time.monotonic()
        with self._checked_lock:
            if self._checked is None or now - self._checked[0] > cache_seconds:
                self._checked = (now, self.llm.reachable(timeout=1.0))
            reachable = self._checked[1]
        return {"backend": self.llm.backend, "model": self.llm.model, "reachable": reachable}
