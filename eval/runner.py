"""One evaluation run: every system on the same gold questions, written to a folder named by the run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eval.answer_evaluator import AnswerEvaluator
from eval.baselines import NaivePipeline
from eval.gold import GOLD, load_gold
from eval.report import write_report
from eval.retrieval_evaluator import RetrievalEvaluator
from rag.answer import Answerer, rewrite_followup
from rag.config import Settings
from rag.llm import LLMClient
from rag.retrieve import Retriever

logger = logging.getLogger(__name__)

OURS = "ours"
BM25 = "bm25-only"
DENSE = "dense-only"
USUAL = "usual-pipeline"


@dataclass
class EvalOptions:
    gold: Path = GOLD
    out_dir: Path = Path("eval/runs")
    name: str | None = None
    retrieval_only: bool = False
    types: list[str] | None = None
    limit: int | None = None
    #: Also answer with the usual pipeline (doubles the model time).
    baseline_answers: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def standalone(item: dict) -> str:
    """What retrieval sees: follow-ups are made standalone by the same rule the answerer uses."""
    return rewrite_followup(item["question"], item["history"], None) if item["history"] else item["question"]


def report_paths(retriever: Retriever, settings: Settings) -> list[Path]:
    """The report files the index was built from (so the baseline reads the same reports)."""
    paths = [Path(str(s["path"])) for s in retriever.index.sources if Path(str(s.get("path", ""))).is_file()]
    return paths or [settings.seeds_dir]


def run_eval(
    settings: Settings,
    retriever: Retriever,
    llm: LLMClient | None,
    options: EvalOptions,
    progress: Callable[[str], None] = lambda line: None,
) -> Path:
    started = time.strftime("%Y%m%d-%H%M%S")
    items = load_gold(options.gold, types=options.types, limit=options.limit)
    queries = {item["id"]: standalone(item) for item in items}
    naive = NaivePipeline(report_paths(retriever, settings), retriever.embedder)

    def hits(**kwargs: object) -> Callable[[dict], list[tuple[str | None, str]]]:
        def search(item: dict) -> list[tuple[str | None, str]]:
            found = retriever.search(queries[item["id"]], k=10, **kwargs).hits  # type: ignore[arg-type]
            return [(h.chunk.source, h.chunk.text) for h in found]

        return search

    systems = {
        OURS: hits(),
        BM25: hits(mode="bm25", use_metadata=False),
        DENSE: hits(mode="dense", use_metadata=False),
        USUAL: lambda item: naive.search(queries[item["id"]], k=10),
    }
    evaluator = RetrievalEvaluator(items)
    retrieval = {}
    for name, search in systems.items():
        retrieval[name] = evaluator(search)
        progress(f"retrieval {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in retrieval[name]["metrics"].items() if k != "questions"))

    answers: dict[str, dict] = {}
    if not options.retrieval_only:
        answerer = Answerer(retriever, llm, settings)

        def ours(item: dict) -> dict:
            sources: list[dict] = []
            for event in answerer.stream(item["question"], item["history"]):
                if event.kind == "sources":
                    sources = event.data  # type: ignore[assignment]
                elif event.kind == "done":
                    answer = event.data
            return {"answer": answer.answer, "refused": answer.refused, "passages": sources, "timings": answer.timings}  # type: ignore[attr-defined]

        def tick(row: dict) -> None:
            progress(f"  {row['id']} {'ok ' if row['correct'] else 'BAD'} {row['answer'][:70]!r}")

        answers[OURS] = AnswerEvaluator(items)(ours, progress=tick)
        if options.baseline_answers and llm is not None:
            answers[USUAL] = AnswerEvaluator(items)(lambda item: naive.answer(queries[item["id"]], llm), progress=tick)

    run = {
        "run": options.name or started,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "gold": str(options.gold),
        "questions": len(items),
        "backend": (llm.backend + ":" + llm.model) if llm is not None else ("none" if not options.retrieval_only else None),
        "settings": {
            "embedding_model": settings.embedding_model,
            "chunk_size": settings.chunk_size,
            "fusion": settings.fusion,
            "answer_passages": settings.answer_passages,
            "answer_context_chars": settings.answer_context_chars,
        },
        "baseline": {"chunks": len(naive.passages), "chunk_size": 500, "overlap": 50, "k": naive.k},
        "retrieval": retrieval,
        "answers": answers,
        **options.extra,
    }
    return write_report(options.out_dir / run["run"], run)
