"""Running the (blocking) answerer for an SSE response without tying up the event loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Generator
from contextlib import nullcontext

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rag.answer import Draft, Event
from service.engine import Engine
from service.throttle import Ticket

logger = logging.getLogger(__name__)


def answer_events(engine: Engine, draft: Draft, ticket: Ticket | None) -> Generator[Event, None, None]:
    """A draft's events, produced while holding a generation slot when it needs the model."""
    with ticket.running() if ticket else nullcontext():
        yield from engine.events(draft)


async def in_threadpool(events: Generator[Event, None, object], ticket: Ticket | None) -> AsyncIterator[Event]:
    """Iterate ``events`` in worker threads; on disconnect or error, close it and free the queue place."""
    try:
        async for event in iterate_in_threadpool(events):
            yield event
    finally:
        try:
            await run_in_threadpool(events.close)
        except ValueError:  # still running in its thread: it is closed when that step returns
            logger.debug("answer stream abandoned mid-step")
        if ticket:
            ticket.close()
