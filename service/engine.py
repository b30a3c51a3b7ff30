"""What the service loads once at start-up and shares between requests."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from rag.answer import Answer, Answerer, Draft, Event
from rag.config import Settings
from rag.errors import IndexNotFoundError, LLMError
from rag.llm import LLMClient, LocalClient, make_llm
from rag.retrieve import Retriever, open_retriever
from service.throttle import GenerationGate, Ticket

logger = logging.getLogger(__name__)

#: How long one check that the model answers serves /readyz and /metrics (probes and scrapes every
#: few seconds must not each ask the model).
MODEL_CHECK_SECONDS = 5.0


@dataclass
class Engine:
    settings: Settings
    retriever: Retriever
    llm: LLMClient | None
    answerer: Answerer = field(init=False)
    gate: GenerationGate = field(init=False)

    #: Called with every final answer (the app's metrics).
    on_answer: list[Callable[[Answer], None]] = field(init=False, default_factory=list)
    _checked: tuple[float, bool] | None = field(init=False, default=None)
    _checked_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.answerer = Answerer(self.retriever, self.llm, self.settings)
        self.gate = GenerationGate(self.settings.llm_concurrency, self.settings.queue_size)

    @classmethod
    def load(cls, settings: Settings) -> Engine:
        """Open the index (building it from ``settings.seeds_dir`` when there is none yet) and the model client."""
        try:
            retriever = open_retriever(settings)
        except IndexNotFoundError:
            from rag.ingest import ingest

            logger.info("no index in %s/: building it from %s/", settings.index_dir, settings.seeds_dir)
            ingest(None, settings)
            retriever = open_retriever(settings)
        retriever.search("预热", k=1)  # load the embedding model and jieba now, not on the first request
        return cls(settings, retriever, make_llm(settings))

    def events(self, draft: Draft) -> Generator[Event, None, None]:
        """The answerer's events for ``draft``; each final answer is handed to :attr:`on_answer` (metrics)."""
        for event in self.answerer.events(draft):
            if event.kind == "done":
                for observe in self.on_answer:
                    observe(event.data)  # type: ignore[arg-type]
            yield event

    def admit(self, draft: Draft) -> Ticket | None:
        """A place in the model's queue (:class:`Busy` when full); ``None`` when the draft needs no model
        (a quote, a cached answer, an early refusal) or there is no model to wait for."""
        return self.gate.admit() if self.llm is not None and draft.needs_model else None

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
        """The indexed reports: metadata and chunk counts, without local paths or hashes."""
        hidden = {"path", "sha256"}
        return [{k: v for k, v in source.items() if k not in hidden} for source in self.retriever.index.sources]

    def index_info(self) -> dict[str, object]:
        index = self.retriever.index
        return {"chunks": len(index.chunks), "reports": len(index.sources), "model": index.model}

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
