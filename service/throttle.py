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
    instead of piling requests up behind it.
    """

    #: A waiting request gives up after this long.
    wait_seconds = 300.0
    #: What 503 suggests: roughly one local answer.
    retry_after = 30

    def __init__(self, concurrency: int, queue_size: int) -> None:
        self.concurrency = concurrency
        self.capacity = concurrency + queue_size
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.admitted = 0
        self.rejected = 0

    def admit(self) -> Ticket:
        """A place in line (running or waiting), or :class:`Busy` when the line is full."""
        with self._lock:
            if self.admitted >= self.capacity:
                self.rejected += 1
                raise Busy("the model is busy; try again shortly", self.retry_after)
            self.admitted += 1
        return Ticket(self)

    def idle(self) -> bool:
        """No generation is running now (a slot can be taken at once)."""
        if not self._slots.acquire(blocking=False):
            return False
        self._slots.release()
        return True

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
    def running(self) -> Iterator[None]:
        try:
            if not self.gate._slots.acquire(timeout=self.gate.wait_seconds):
                raise Busy("timed out waiting for the model", self.gate.retry_after)
            try:
                yield
            finally:
                self.gate._slots.release()
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.gate._leave()
