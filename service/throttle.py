"""Request limits: a per-client rate limit and a bounded queue in front of the model."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class Busy(Exception):
    """No room: the caller should answer 429/503 with ``Retry-After: retry_after``."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """A moving window per key (``"30/minute"``); an empty spec allows everything."""

    def __init__(self, spec: str) -> None:
        self.item = parse(spec) if spec else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key: str, what: str = "requests") -> None:
        if self.item is None or self._limiter.hit(self.item, key):
            return
        reset, _ = self._limiter.get_window_stats(self.item, key)
        raise Busy(f"rate limit of {self.item} {what} exceeded", max(1, math.ceil(reset - time.time())))


class GenerationGate:
    """At most ``concurrency`` generations at once and ``queue_size`` more waiting; beyond that, :class:`Busy`.

    The local model answers one question at a time; a bounded queue keeps waiting times bounded
    instead of piling requests up behind it. The gate also knows how long the model's recent answers
    took, so it can tell a newcomer how long it would wait (:meth:`expected_wait`): the service answers
    a question that would wait too long from the report at once instead of queueing it.
    """

    #: A waiting request gives up after this long.
    wait_seconds = 300.0
    #: What 503 suggests: roughly one local answer.
    retry_after = 30
    #: How long a model answer is assumed to take before one has been timed (the bundled 1.5B model
    #: on 2 cores: 6–17 s); then a moving average of the last ones.
    assumed_answer_seconds = 10.0
    _smoothing = 0.3

    def __init__(self, concurrency: int, queue_size: int) -> None:
        self.concurrency = concurrency
        self.capacity = concurrency + queue_size
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.admitted = 0
        self.rejected = 0
        #: Model answers not queued because they would have waited too long (answered from the report).
        self.shed = 0
        self.answer_seconds = self.assumed_answer_seconds
        self._running: dict[int, float] = {}  # id(ticket) -> when it got its slot

    def admit(self, max_wait: float | None = None) -> Ticket:
        """A place in line (running or waiting); :class:`Busy` when the line is full or, with
        ``max_wait``, when the expected wait is longer than that."""
        with self._lock:
            if self.admitted >= self.capacity:
                self.rejected += 1
                raise Busy("the model is busy; try again shortly", self.retry_after)
            if max_wait is not None and (wait := self._expected_wait()) > max_wait:
                self.rejected += 1
                raise Busy(f"the model is busy (about {wait:.0f} s to wait)", max(1, math.ceil(wait)))
            self.admitted += 1
        return Ticket(self)

    def expected_wait(self) -> float:
        """Seconds a question admitted now would wait for a slot: what the running answers have left
        (by the recent average) plus the average for each one waiting, shared among the slots."""
        with self._lock:
            return self._expected_wait()

    def _expected_wait(self) -> float:
        if self.admitted < self.concurrency:
            return 0.0
        now = time.monotonic()
        left = sum(max(1.0, self.answer_seconds - (now - since)) for since in self._running.values())
        waiting = self.admitted - len(self._running)
        return (left + waiting * self.answer_seconds) / self.concurrency

    def idle(self) -> bool:
        """No generation is running now (a slot can be taken at once)."""
        if not self._slots.acquire(blocking=False):
            return False
        self._slots.release()
        return True

    def _started(self, ticket: Ticket) -> None:
        with self._lock:
            self._running[id(ticket)] = time.monotonic()

    def _finished(self, ticket: Ticket) -> None:
        with self._lock:
            since = self._running.pop(id(ticket), None)
            if since is not None:
                took = time.monotonic() - since
                self.answer_seconds += self._smoothing * (took - self.answer_seconds)

    def _leave(self) -> None:
        with self._lock:
            self.admitted -= 1


class Ticket:
    """One admitted request. ``with ticket.running():`` waits for a generation slot; :meth:`close`
    gives the place back (idempotent, also for a request that never ran)."""

    def __init__(self, gate: GenerationGate) -> None:
        self.gate = gate
        self._closed = False

    @contextmanager
    def running(self, wait: float | None = None) -> Iterator[None]:
        """Hold a slot; :class:`Busy` when none came within ``wait`` seconds (default: the gate's)."""
        try:
            wait = self.gate.wait_seconds if wait is None else wait
            if not self.gate._slots.acquire(timeout=wait):
                raise Busy("timed out waiting for the model", self.gate.retry_after)
            self.gate._started(self)
            try:
                yield
            finally:
                self.gate._finished(self)
                self.gate._slots.release()
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.gate._leave()
