"""Running the (blocking) answerer for an SSE response without tying up the event loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Generator

import anyio
from starlette.concurrency import run_in_threadpool

from rag.answering.answer import Draft, Event
from service.throttle import Ticket

logger = logging.getLogger(__name__)


def _step(events: Generator[Event, None, object], gone: threading.Event) -> Event | None:
    """One event (``None`` at the end), in a worker thread. A step whose asker left while it ran
    (its await was abandoned) closes the generation itself: only this thread can, once ``next``
    returned, and closing gives the generation slot back at once instead of whenever the
    abandoned generator is garbage-collected."""
    event = next(events, None)
    if gone.is_set():
        events.close()
        return None
    return event


async def in_threadpool(
    events: Generator[Event, None, object], ticket: Ticket | None, draft: Draft | None = None
) -> AsyncIterator[Event]:
    """Iterate ``events`` in worker threads; on disconnect or error, stop the generation and free
    the queue place and the generation slot.

    A client that goes away cancels this task while a worker thread waits for the model's next
    token or for a generation slot; that wait is abandoned (not awaited), so the clean-up runs at
    once: the queue place is given back, the draft marked cancelled (the generation stops at the
    model's next token, or before sending a prompt), the generator closed here or by its step."""
    gone = draft.cancelled if draft is not None else threading.Event()
    try:
        while (event := await anyio.to_thread.run_sync(_step, events, gone, abandon_on_cancel=True)) is not None:
            yield event
    finally:
        if ticket:
            ticket.close()  # before any await: nothing can cancel it
        gone.set()
        with anyio.CancelScope(shield=True):
            try:
                await run_in_threadpool(events.close)
            except ValueError:  # its step is still running: that step closes it when it returns
                logger.debug("answer stream abandoned mid-step")
