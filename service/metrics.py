"""Prometheus metrics at ``/metrics``, every name starting ``rag_``.

Requests by route and status (and their latency) come from prometheus-fastapi-instrumentator;
answers by how they were made, retrieval time and time to the model's first token are recorded as
each answer completes (:meth:`Metrics.observe`); queue depth, rejections, whether the model answers
and the loaded index are read from the engine when scraped (:class:`EngineCollector`). Each app has
its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator

from service.engine import MODEL_CHECK_SECONDS

if TYPE_CHECKING:
    from rag.answering.answer import Answer
    from service.engine import Engine

#: Seconds: retrieval takes milliseconds, the model's first token seconds.
RETRIEVAL_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
FIRST_TOKEN_BUCKETS = (0.5, 1, 2, 4, 6, 8, 12, 20, 40, 60, 120)


class Metrics:
    """The answer metrics of one app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.answers = Counter(
            "rag_answers",
            "Answers by how they were made: quote, model, refused, degraded, cached, about…",
            ["mode"],
            registry=registry,
        )
        self.retrieval = Histogram(
            "rag_retrieval_seconds", "Retrieval time per answer", buckets=RETRIEVAL_BUCKETS, registry=registry
        )
        self.first_token = Histogram(
            "rag_first_token_seconds", "Time to the model's first token", buckets=FIRST_TOKEN_BUCKETS, registry=registry
        )

    def observe(self, answer: Answer) -> None:
        self.answers.labels("cached" if answer.cached else answer.mode).inc()
        timings = answer.timings or {}
        retrieval, first_token = timings.get("retrieve_ms"), timings.get("first_token_ms")
        if retrieval is not None:
            self.retrieval.observe(retrieval / 1000)
        if first_token is not None:
            self.first_token.observe(first_token / 1000)


class EngineCollector(Collector):
    """What the engine holds, read at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        engine: Engine | None = getattr(self.app.state, "engine", None)
        if engine is None:
            return
        gate = engine.gate
        yield GaugeMetricFamily("rag_queue_depth", "Model answers running or waiting", value=gate.admitted)
        yield CounterMetricFamily(
            "rag_queue_rejections", "Model answers not queued (queue full, or the wait too long)", value=gate.rejected
        )
        yield CounterMetricFamily(
            "rag_answers_shed", "Questions answered from the reports because the model was busy", value=gate.shed
        )
        llm = engine.llm_info(cache_seconds=MODEL_CHECK_SECONDS)
        yield GaugeMetricFamily("rag_model_up", "1 when the language model answers", value=1.0 if llm["reachable"] else 0.0)
        info = engine.index_info()
        yield GaugeMetricFamily("rag_index_chunks", "Passages in the loaded index", value=float(info["chunks"]))  # type: ignore[arg-type]
        yield GaugeMetricFamily("rag_index_reports", "Reports in the loaded index", value=float(info["reports"]))  # type: ignore[arg-type]
        index = InfoMetricFamily("rag_index", "The loaded index")
        index.add_metric([], {"generation": engine.answerer.generation, "model": str(info["model"])})
        yield index


def install(app: FastAPI) -> Metrics:
    """Instrument ``app`` and serve ``/metrics`` (open like the probes; no question text is exported)."""
    registry = CollectorRegistry()
    Instrumentator(registry=registry, excluded_handlers=["/metrics"], should_group_status_codes=False).instrument(
        app, metric_namespace="rag"
    ).expose(app, include_in_schema=False)
    registry.register(EngineCollector(app))
    return Metrics(registry)
