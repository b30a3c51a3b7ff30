"""One evaluation run: every system on the same gold questions, written to a folder named by the run."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from eval.answer_evaluator import AnswerEvaluator
from eval.baselines import NaivePipeline
from eval.gold import GOLD, load_gold
from eval.report import write_report
from eval.retrieval_evaluator import RetrievalEvaluator
from rag.answering.answer import Answer, Answerer, rewrite_followup
from rag.core.config import Settings
from rag.indexing.ingest import ingest
from rag.llm.clients import LLMClient
from rag.retrieval.retrieve import Retriever

logger = logging.getLogger(__name__)

OURS = "ours"
BM25 = "bm25-only"
DENSE = "dense-only"
USUAL = "usual-pipeline"
MODEL_ONLY = "model-only"


@dataclass
class EvalOptions:
    gold: Path = GOLD
    out_dir: Path = Path("eval/runs")
    name: str | None = None
    retrieval_only: bool = False
    types: list[str] | None = None
    limit: int | None = None
    #: ``dev`` (tune on it), ``test`` (frozen, report only) or ``None`` for the whole set.
    split: str | None = None
    #: Also answer with the usual pipeline (doubles the model time).
    baseline_answers: bool = False
    #: Also answer every question with the model (``answer_mode=model``): the path quotes must not
    #: be less accurate than, on the same questions.
    model_only: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def standalone(item: dict) -> str:
    """What retrieval sees: follow-ups are made standalone by the same rule the answerer uses."""
    return rewrite_followup(item["question"], item["history"], None) if item["history"] else item["question"]


def commit() -> str | None:
    """The checked-out commit (with ``+`` when the tree has changes), so a report says what it measured."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def answering(answerer: Answerer) -> Callable[[dict], dict]:
    """A gold item → what :class:`AnswerEvaluator` judges, from the answerer's events."""

    def answer(item: dict) -> dict:
        sources: list[dict] = []
        for event in answerer.stream(item["question"], item["history"]):
            if event.kind == "sources":
                sources = event.data  # type: ignore[assignment]
            elif event.kind == "done":
                done = cast(Answer, event.data)
        return {
            "answer": done.answer, "refused": done.refused, "passages": sources, "timings": done.timings,
            "mode": done.mode, "marked": done.unsupported_numbers,
            "doubtful": done.doubtful_numbers, "reason": done.reason, "steps": done.steps,
            "confidence": done.confidence, "signals": done.signals,
        }  # fmt: skip

    return answer


def versus(ours: dict, model_only: dict) -> dict[str, dict[str, float | int | None]]:
    """Per way of answering (quote, model, refused…): how ours and the model-only path did on the same
    questions — quotes must not be less accurate than the model would have been."""
    theirs = {row["id"]: row for row in model_only["questions"]}
    table: dict[str, dict[str, float | int | None]] = {}
    for mode in sorted({row["mode"] for row in ours["questions"]}):
        rows = [row for row in ours["questions"] if row["mode"] == mode]
        table[mode] = {
            "questions": len(rows),
            "ours_correct": sum(r["correct"] for r in rows) / len(rows),
            "model_only_correct": sum(theirs[r["id"]]["correct"] for r in rows) / len(rows),
        }
    return table


@contextmanager
def temporary_index(files: Iterable[Path], base: Settings) -> Iterator[tuple[Settings, Path]]:
    """``files`` copied into a temporary corpus and indexed there: the settings that read that index
    (answer cache off) and the temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for file in files:
            shutil.copy(file, corpus / file.name)
        settings = base.model_copy(update={"seeds_dir": corpus, "index_dir": Path(tmp) / "index", "answer_cache": False})
        ingest(sorted(corpus.iterdir()), settings)
        yield settings, Path(tmp)


def report_paths(retriever: Retriever, settings: Settings) -> list[Path]:
    """The report files the index was built from (so the baseline reads the same reports)."""
    paths = [Path(str(s["path"])) for s in retriever.store.sources if Path(str(s.get("path", ""))).is_file()]
    return paths or [settings.seeds_dir]


def run_eval(
    settings: Settings,
    retriever: Retriever,
    llm: LLMClient | None,
    options: EvalOptions,
    progress: Callable[[str], None] = lambda line: None,
) -> Path:
    started = time.strftime("%Y%m%d-%H%M%S")
    items = load_gold(options.gold, types=options.types, limit=options.limit, split=options.split)
    queries = {item["id"]: standalone(item) for item in items}
    naive = NaivePipeline(report_paths(retriever, settings), retriever.embedder)

    def hits(**kwargs: object) -> Callable[[dict], list[tuple[str | None, str]]]:
        def search(item: dict) -> list[tuple[str | None, str]]:
            found = retriever.search(queries[item["id"]], k=10, **kwargs).hits  # type: ignore[arg-type]
            return [(h.chunk.source, h.chunk.text) for h in found]

        return search

    systems: dict[str, Callable[[dict], Sequence[tuple[str | None, str]]]] = {
        OURS: hits(),
        BM25: hits(mode="bm25", use_metadata=False),
        DENSE: hits(mode="dense", use_metadata=False),
        USUAL: lambda item: naive.search(queries[item["id"]], k=10),
    }
    evaluator = RetrievalEvaluator(items)
    retrieval = {}
    for name, search in systems.items():
        retrieval[name] = evaluator(search)
        progress(
            f"retrieval {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in retrieval[name]["metrics"].items() if k != "questions")
        )

    answers: dict[str, dict] = {}
    if not options.retrieval_only:

        def tick(row: dict) -> None:
            progress(f"  {row['id']} {row['mode'] or '':<10} {'ok ' if row['correct'] else 'BAD'} {row['answer'][:70]!r}")

        answers[OURS] = AnswerEvaluator(items)(answering(Answerer(retriever, llm, settings)), progress=tick)
        if options.model_only and llm is not None:
            model_settings = settings.model_copy(update={"answer_mode": "model"})
            answers[MODEL_ONLY] = AnswerEvaluator(items)(answering(Answerer(retriever, llm, model_settings)), progress=tick)
            answers[OURS]["versus_model_only"] = versus(answers[OURS], answers[MODEL_ONLY])
        if options.baseline_answers and llm is not None:
            answers[USUAL] = AnswerEvaluator(items)(lambda item: naive.answer(queries[item["id"]], llm), progress=tick)

    run = {
        "run": options.name or started,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": commit(),
        "gold": str(options.gold) + (f" ({options.split} split)" if options.split else ""),
        "questions": len(items),
        "backend": (llm.backend + ":" + llm.model) if llm is not None else ("none" if not options.retrieval_only else None),
        "settings": {
            "embedding_model": settings.embedding_model,
            "chunk_size": settings.chunk_size,
            "fusion": settings.fusion,
            "answer_passages": settings.answer_passages,
            "answer_context_chars": settings.answer_context_chars,
            "answer_mode": settings.answer_mode,
            "answer_steps_off": list(settings.answer_steps_off),
        },
        "baseline": {"chunks": len(naive.passages), "chunk_size": 500, "overlap": 50, "k": naive.k},
        "retrieval": retrieval,
        "answers": answers,
        **options.extra,
    }
    return write_report(options.out_dir / str(run["run"]), run)
