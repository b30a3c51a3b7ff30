"""The seeds in every format: does a report read from .pdf, .docx or .html answer as its .txt does?

    python -m eval.bench_formats [--model] [--formats txt,pdf,docx,html]

For each format the five seeds in that format (``tests/fixtures/formats/``, made by
``eval/make_format_fixtures.py``; the .txt are the seeds themselves) are indexed afresh in a temporary
folder and scored on the whole gold set, each question's ``source`` renamed to that format's file:
retrieval (hit@1, hit@5, recall@5) and the answers — without a model unless ``--model`` (then the
bundled model behind ``RAG_LOCAL_URL``, or one started here). Prints one row per format; issue #8
asks every format to stay within 0.02 of the .txt.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.gold import GOLD
from eval.runner import OURS, EvalOptions, run_eval, temporary_index
from rag.core.config import Settings
from rag.llm.clients import make_llm
from rag.retrieval.retrieve import open_retriever

SEEDS = Path("seeds")
FIXTURES = Path("tests/fixtures/formats")


def corpus_of(ext: str) -> list[Path]:
    """The five seeds as ``ext`` files."""
    return [seed if ext == "txt" else FIXTURES / f"{seed.stem}.{ext}" for seed in sorted(SEEDS.glob("*.txt"))]


def gold_for(ext: str, out: Path) -> Path:
    """The gold set with each question's reports named as their ``ext`` files."""
    rows = []
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item.get("source"):
                item["source"] = f"{Path(item['source']).stem}.{ext}"
            if item.get("sources"):  # a comparison's reports
                item["sources"] = [f"{Path(s).stem}.{ext}" for s in item["sources"]]
            rows.append(json.dumps(item, ensure_ascii=False))
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


def measure(ext: str, base: Settings, with_model: bool) -> dict[str, object]:
    with temporary_index(corpus_of(ext), base) as (settings, tmp):
        retriever = open_retriever(settings)
        chunks = retriever.store.size
        llm = make_llm(settings) if with_model else None
        try:
            options = EvalOptions(gold=gold_for(ext, tmp / "gold.jsonl"), out_dir=tmp / "runs", name=ext)
            run = json.loads((run_eval(settings, retriever, llm, options) / "results.json").read_text(encoding="utf-8"))
        finally:
            close = getattr(llm, "close", None)
            if close:
                close()
    retrieval, answers = run["retrieval"][OURS]["metrics"], run["answers"][OURS]
    return {
        "chunks": chunks,
        **{k: retrieval[k] for k in ("hit@1", "hit@5", "recall@5")},
        "accuracy": answers["metrics"]["accuracy"],
        "test accuracy": answers["per_split"].get("test", {}).get("accuracy"),
        "refusal recall": answers["metrics"]["refusal_recall"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="store_true", help="answer with the bundled model (else quotes and extractive)")
    parser.add_argument("--formats", default="txt,pdf,docx,html")
    args = parser.parse_args()
    base = Settings()
    if not args.model:
        base = base.model_copy(update={"llm_backend": "none"})
    rows = {ext: measure(ext, base, args.model) for ext in args.formats.split(",")}
    columns = list(next(iter(rows.values())))
    print("\n| format | " + " | ".join(columns) + " |\n|---" * 1 + "|---" * len(columns) + "|")
    for ext, row in rows.items():
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()]
        print(f"| .{ext} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
