"""A report the code was never built on, in each of its formats: is it read and answered right?

    python -m eval.bench_unseen eval/unseen/a [--no-model] [--formats txt,pdf,docx,html]

The folder holds one report in several formats (any file names: ``W0202501080012.pdf`` …) and its
questions (``questions.jsonl``: ``id``, ``question``, ``answerable``, ``answer`` — the figure as the
report states it —, ``evidence``, ``type``). For each format the seeds plus that one file are indexed
afresh (in a temporary folder; vectors come from the shared cache) and every question is answered
as the service would (the bundled model behind ``RAG_LOCAL_URL`` or started here; ``--no-model``:
quotes and the extractive answer). Prints, per format, the report's detected region/year and how
many of its answerable questions were answered right and of its unanswerable ones refused.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.gold import answer_is_correct, load_gold
from eval.runner import temporary_index
from rag.answering.answer import Answerer
from rag.answering.compose import answer_part
from rag.core.config import Settings
from rag.llm.clients import LLMClient, make_llm
from rag.retrieval.retrieve import open_retriever

SEEDS = Path("seeds")


def as_gold(folder: Path, source: str, out: Path) -> Path:
    """The folder's ``questions.jsonl`` in the gold set's form, naming ``source`` as the report."""
    rows = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        answerable = bool(q["answerable"])
        rows.append({
            "id": q["id"], "question": q["question"], "answer": q.get("answer") or "",
            "answer_aliases": [], "must_contain": [q["answer"]] if answerable else [],
            "source": source, "evidence": [q["evidence"]] if answerable else [],
            "type": q["type"] if answerable else "unanswerable", "region": None, "year": None, "history": [],
            "split": "test",
        })  # fmt: skip
    path = out / "questions.gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def measure(report: Path, folder: Path, base: Settings, llm: LLMClient | None, ids: set[str] | None = None) -> dict:
    with temporary_index([*sorted(SEEDS.iterdir()), report], base) as (settings, tmp):
        retriever = open_retriever(settings)
        answerer = Answerer(retriever, llm, settings)
        about = next((s for s in retriever.store.sources if s.get("source") == report.name), None)
        rows = []
        for item in load_gold(as_gold(folder, report.name, tmp)):
            if ids and item["id"] not in ids:
                continue
            answer = answerer.ask(item["question"])
            if item["type"] == "unanswerable":
                right = answer.refused
            else:
                right = not answer.refused and answer_is_correct(item, answer_part(answer.answer))
            rows.append({"id": item["id"], "type": item["type"], "right": right, "mode": answer.mode,
                         "answer": answer.answer, "expected": item["answer"], "doubtful": answer.doubtful_numbers,
                         "reason": answer.reason, "cited": [c.text for c in answer.citations]})  # fmt: skip
        return {"report": report.name, "about": about, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--no-model", action="store_true", help="quotes and the extractive answer only")
    parser.add_argument("--formats", default="txt,pdf,docx,html")
    parser.add_argument("--show", action="store_true", help="print every answer")
    parser.add_argument("--ids", help="only these questions (comma-separated ids), for looking into them")
    args = parser.parse_args()
    base = Settings()
    if args.no_model:
        base = base.model_copy(update={"llm_backend": "none"})
    llm = make_llm(base)
    formats = args.formats.split(",")
    reports = [p for p in sorted(args.folder.iterdir()) if p.suffix.lower().lstrip(".") in formats]
    print("\n| file | read as | answerable right | unanswerable refused | wrong |\n|---|---|---|---|---|")
    for report in reports:
        result = measure(report, args.folder, base, llm, set(args.ids.split(",")) if args.ids else None)
        rows = result["rows"]
        answerable = [r for r in rows if r["type"] != "unanswerable"]
        unanswerable = [r for r in rows if r["type"] == "unanswerable"]
        wrong = ", ".join(f"{r['id']} ({r['mode']})" for r in rows if not r["right"]) or "–"
        about = result["about"] or {}
        read_as = f"{about.get('region')} {about.get('year')} ({about.get('chunks')} chunks)"
        print(f"| {report.name} | {read_as} | {sum(r['right'] for r in answerable)}/{len(answerable)} | "
              f"{sum(r['right'] for r in unanswerable)}/{len(unanswerable)} | {wrong} |")  # fmt: skip
        if args.show:
            for r in rows:
                mark = "ok " if r["right"] else "BAD"
                print(f"    {mark} {r['id']} [{r['mode']}] expected {r['expected']!r}: {r['answer'][:160]!r}")
                if not r["right"]:
                    print(f"        doubtful {r['doubtful']} reason {r['reason']!r}")
                    for n, text in enumerate(r["cited"], start=1):
                        print(f"        cited {n}: {text[:200]!r}")
    close = getattr(llm, "close", None)
    if close:
        close()


if __name__ == "__main__":
    main()
