"""Retrieval benchmark: hit@1/hit@5/MRR per retriever mode, ingest time cold/warm, query latency.

    python -m eval.bench_retrieval [--questions eval/retrieval_questions.jsonl] [--repeat 5]

Prints a Markdown section for docs/benchmarks.md. Uses temporary index and vector-cache folders, so
"cold" really embeds every chunk; the converted model itself is reused from the cache directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from eval.answer_evaluator import percentile  # noqa: E402
from eval.gold import is_relevant  # noqa: E402
from rag.core.config import Settings  # noqa: E402
from rag.indexing.embedding import load_embedder  # noqa: E402
from rag.indexing.ingest import ingest  # noqa: E402
from rag.retrieval.retrieve import Retriever  # noqa: E402


def rank_of(hits, item: dict) -> int | None:
    """Rank of the first passage from the right report holding an evidence string (whitespace ignored)."""
    evidence = item["evidence"] if isinstance(item["evidence"], list) else [item["evidence"]]
    judged = {**item, "evidence": evidence}
    return next((n for n, hit in enumerate(hits, start=1) if is_relevant(judged, hit.chunk.source, hit.chunk.text)), None)


def load_questions(path: Path) -> list[dict]:
    """Questions with evidence; gold-set rows that are unanswerable or need a previous turn are skipped."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("evidence") and not r.get("history")]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


VARIANTS = {
    "dense only": dict(mode="dense", use_metadata=False),
    "BM25 only": dict(mode="bm25", use_metadata=False),
    "hybrid RRF, no region/year": dict(mode="hybrid", use_metadata=False),
    "dense + region/year": dict(mode="dense"),
    "BM25 + region/year": dict(mode="bm25"),
    "hybrid RRF + region/year": dict(mode="hybrid"),
}


def table(retrievers: dict[str, Retriever], questions: list[dict]) -> list[str]:
    lines = ["| retriever | hit@1 | hit@5 | MRR@5 |", "|---|---|---|---|"]
    n = len(questions)
    rows = [(name, retrievers["rrf"], kwargs) for name, kwargs in VARIANTS.items()]
    rows.append(("hybrid weighted 0.5 + region/year (default)", retrievers["weighted"], {}))
    for name, retriever, kwargs in rows:
        ranks = [rank_of(retriever.search(q["question"], k=5, **kwargs).hits, q) for q in questions]
        hit1 = sum(r == 1 for r in ranks) / n
        hit5 = sum(r is not None for r in ranks) / n
        mrr = sum(1 / r for r in ranks if r) / n
        lines.append(f"| {name} | {hit1:.2f} | {hit5:.2f} | {mrr:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions", type=Path, nargs="+", default=[Path("eval/retrieval_questions.jsonl"), Path("eval/gold.jsonl")]
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, index_dir=Path(tmp) / "index", embedding_cache=Path(tmp) / "v.sqlite")
        t0 = time.perf_counter()
        embedder = load_embedder(settings)
        embedder.model  # noqa: B018 - load now, so ingest timings exclude it
        load_s = time.perf_counter() - t0
        cold = ingest(None, settings, embedder=embedder)
        warm = ingest(None, settings, embedder=embedder)
        retrievers = {
            "rrf": Retriever(warm.index, embedder, settings.model_copy(update={"fusion": "rrf"})),
            "weighted": Retriever(warm.index, embedder, settings.model_copy(update={"fusion": "weighted"})),
        }
        print(f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. {warm.chunks} chunks from {warm.reports} reports.\n")
        latencies: list[float] = []
        for path in args.questions:
            questions = load_questions(path)
            print(f"#### `{path}` ({len(questions)} questions with evidence)\n")
            print("\n".join(table(retrievers, questions)) + "\n")
            for _ in range(args.repeat):
                for q in questions:
                    t = time.perf_counter()
                    retrievers["weighted"].search(q["question"], k=5)
                    latencies.append((time.perf_counter() - t) * 1000)

    print(
        f"- model load: {load_s:.1f} s; ingest cold (empty vector cache): {cold.seconds:.1f} s; "
        f"warm (unchanged reports): {warm.seconds:.1f} s"
    )
    print(
        f"- query latency (hybrid, k=5, {len(latencies)} queries incl. query embedding): "
        f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
    )


if __name__ == "__main__":
    main()
