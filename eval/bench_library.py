"""A library of reports: the 67 real county reports of ``eval/library`` indexed beside the seeds, asked
the library's questions (year, level, compare, series, unanswerable), scored per kind and per wording.

    python -m eval.bench_library [--no-model] [--split dev|test|all] [--out DIR] [--kinds year,compare] [--show]
    python -m eval.bench_library --rescore eval/runs/library-…/library.json   # judge stored answers again

The seeds plus ``eval/library/reports/`` are indexed afresh in a temporary folder (vectors come from the
shared cache) and every question is answered as the service would (the bundled model behind
``RAG_LOCAL_URL`` or started here; ``--no-model``: quotes and the extractive answer). Scoring
(figures with whitespace ignored and never inside a longer number, :mod:`eval.library.judge`):

- year, level (answerable): right = not refused and the gold figure stated (:func:`eval.gold.answer_is_correct`);
  wrong figure = not refused and not right; refused = a false refusal;
- unanswerable, and level questions the corpus does not answer: right = refused; not refused = wrong;
- compare: right = both sides' figures stated (in the text, or ``answer.table``/``answer.figures`` when
  the Answer has them), at least two distinct passages cited, and no claim contradicting the figures
  (:func:`eval.library.judge.contradicts`); also counted: contradictions, both figures, both reports cited;
- series: row recall = share of the expected rows (every year the corpus states) whose figure the
  answer states; complete = recall 1.0.

Prints a table per kind and per wording (accuracy, wrong-figure rate, false refusals, p50/p95 time, how
many answers used the model) and writes ``library.json`` with every answer to ``--out`` (default
``eval/runs/library-<date>``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from eval.answer_evaluator import percentile
from eval.gold import answer_is_correct
from eval.library import KINDS, REPORTS, WORDINGS, load_questions
from eval.library.judge import contradicts, core, states
from eval.runner import commit, temporary_index
from rag.answering.answer import Answer, Answerer
from rag.answering.compose import answer_part
from rag.answering.verify import citations_in
from rag.core.config import Settings
from rag.llm.clients import make_llm
from rag.retrieval.retrieve import open_retriever

SEEDS = Path("seeds")


def structured(answer: Answer) -> str:
    """The series table the Answer may carry, as text to search (its figures are in its text; their
    sentences are evidence, not the answer)."""
    return json.dumps(answer.table, ensure_ascii=False, default=str) if answer.table else ""


def cited(answer: Answer) -> list[tuple[str, str]]:
    """The distinct passages (report, chunk) the answer's text cites."""
    by_n = {c.n: c for c in answer.citations}
    return list(dict.fromkeys((by_n[n].source, by_n[n].chunk_id) for n in citations_in(answer.answer) if n in by_n))


def judge(q: dict, answer: Answer) -> dict:
    """One question's verdict (see the module docstring)."""
    # the answer is its first line where the report's sentences follow as evidence (rag/answering/compose.py)
    text = answer_part(answer.answer) + "\n" + structured(answer)
    refused = bool(answer.refused)
    row: dict = {"refused": refused, "right": False, "wrong_figure": False}
    if not q["answerable"]:
        row["right"] = refused
        row["wrong_figure"] = not refused
    elif q["kind"] in ("year", "level"):
        item = {"must_contain": [q["answer"]], "answer_aliases": []}
        row["right"] = not refused and answer_is_correct(item, text) and states(text, q["answer"])
        row["wrong_figure"] = not refused and not row["right"]
    elif q["kind"] == "compare":
        sides = q["sides"]
        both = all(states(text, core(s["answer"])) for s in sides)
        passages = cited(answer)
        contradiction = not refused and contradicts(answer.answer, sides, q["direction"])
        sources = {source for source, _ in passages}
        row.update(
            both_figures=both,
            citations=len(passages),
            both_reports_cited=all(s["source"] in sources for s in sides) if sides[0]["source"] != sides[1]["source"] else None,
            contradiction=contradiction,
        )
        row["right"] = not refused and both and len(passages) >= 2 and not contradiction
        row["wrong_figure"] = not refused and not both
    elif q["kind"] == "series":
        found = [states(text, core(r["answer"])) for r in q["rows"]]
        row["recall"] = 0.0 if refused else sum(found) / len(found)
        row["missing_years"] = [r["year"] for r, f in zip(q["rows"], found, strict=True) if not f]
        row["right"] = row["recall"] == 1.0
    return row


def ask(answerer: Answerer, questions: list[dict], progress: Callable[[str], None]) -> list[dict]:
    rows = []
    for q in questions:
        started = time.perf_counter()
        answer = answerer.ask(q["question"])
        total = answer.timings.get("total_ms")
        row = {
            "id": q["id"], "kind": q["kind"], "wording": q["wording"], "split": q["split"], "answerable": q["answerable"],
            "question": q["question"], "expected": q["answer"], "answer": answer.answer, "mode": answer.mode,
            "reason": answer.reason, "cited": [[c.source, c.text[:160]] for c in answer.citations],
            "confidence": answer.confidence, "signals": answer.signals,
            "total_ms": total if total is not None else (time.perf_counter() - started) * 1000,
            "first_token_ms": answer.timings.get("first_token_ms"),
            **judge(q, answer),
        }  # fmt: skip
        progress(f"  {row['id']:<16} {row['mode'] or '':<10} {'ok ' if row['right'] else 'BAD'} {row['answer'][:80]!r}")
        rows.append(row)
    return rows


def rejudge(rows: list[dict], questions: list[dict]) -> list[dict]:
    """Answers of an earlier run judged again for contradictions (the detector changed, the answers did
    not): each comparison's ``contradiction`` and ``right`` from its stored text and counts."""
    by_id = {q["id"]: q for q in questions}
    for row in rows:
        q = by_id.get(row["id"])
        if q is None or row["kind"] != "compare":
            continue
        row["contradiction"] = not row["refused"] and contradicts(row["answer"], q["sides"], q["direction"])
        row["right"] = not row["refused"] and row["both_figures"] and row["citations"] >= 2 and not row["contradiction"]
    return rows


def _share(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def summary(rows: list[dict]) -> dict[str, float | int | None]:
    """Accuracy, wrong-figure rate and false refusals of some answers, their times and model use."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    compare = [r for r in rows if r["kind"] == "compare"]
    series = [r for r in rows if r["kind"] == "series"]
    times = [float(r["total_ms"]) for r in rows if r["total_ms"] is not None]
    model_path = [r for r in rows if r.get("first_token_ms") is not None]
    model_times = [float(r["total_ms"]) for r in model_path if r["total_ms"] is not None]
    first_tokens = [float(r["first_token_ms"]) for r in model_path]
    return {
        "questions": len(rows),
        "accuracy": _share(sum(r["right"] for r in rows), len(rows)),
        "answerable_right": _share(sum(r["right"] for r in answerable), len(answerable)),
        "wrong_figure_rate": _share(sum(r["wrong_figure"] for r in answerable), len(answerable)),
        "false_refusals": _share(sum(r["refused"] for r in answerable), len(answerable)),
        "refused_unanswerable": _share(sum(r["refused"] for r in unanswerable), len(unanswerable)),
        "compare_both_figures": _share(sum(r["both_figures"] for r in compare), len(compare)),
        "compare_two_citations": _share(sum(r["citations"] >= 2 for r in compare), len(compare)),
        "compare_contradictions": sum(r["contradiction"] for r in compare) if compare else None,
        "series_row_recall": _share(sum(r["recall"] for r in series), len(series)),
        "series_complete": _share(sum(r["recall"] == 1.0 for r in series), len(series)),
        "model_answers": sum(r["mode"] == "model" for r in rows),
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        # answers that asked the model (it gave a first token: the model's answer, a judge after it)
        "model_path_p50_ms": percentile(model_times, 0.5),
        "model_path_p95_ms": percentile(model_times, 0.95),
        "model_first_token_p50_ms": percentile(first_tokens, 0.5),
        "model_first_token_p95_ms": percentile(first_tokens, 0.95),
    }


def table(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """The summary per split, per kind and per wording (and all together)."""
    out: dict[str, dict[str, dict]] = {}
    for split in sorted({r["split"] for r in rows}) + ["all"]:
        some = [r for r in rows if split in ("all", r["split"])]
        groups = {"all": some}
        groups |= {kind: [r for r in some if r["kind"] == kind] for kind in KINDS}
        groups |= {wording: [r for r in some if r["wording"] == wording] for wording in WORDINGS}
        out[split] = {name: summary(group) for name, group in groups.items() if group}
    return out


def _pct(value: float | int | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _ms(value: float | int | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def print_table(result: dict[str, dict[str, dict]]) -> None:
    for split, groups in result.items():
        print(f"\n{split}\n| group | n | right | wrong figure | false refusals | refused unanswerable | "
              "compare: both figures / ≥2 cites / contradictions | series: row recall / complete | model | p50 ms | p95 ms | "
              "model path p50 / p95 ms | its first token p50 / p95 ms |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, s in groups.items():
            compare = (f"{_pct(s['compare_both_figures'])} / {_pct(s['compare_two_citations'])} / {s['compare_contradictions']}"
                       if s["compare_contradictions"] is not None else "–")  # fmt: skip
            series = (
                f"{_pct(s['series_row_recall'])} / {_pct(s['series_complete'])}" if s["series_row_recall"] is not None else "–"
            )
            print(f"| {name} | {s['questions']} | {_pct(s['accuracy'])} | {_pct(s['wrong_figure_rate'])} | "
                  f"{_pct(s['false_refusals'])} | {_pct(s['refused_unanswerable'])} | {compare} | {series} | "
                  f"{s['model_answers']} | {_ms(s['p50_ms'])} | {_ms(s['p95_ms'])} | "
                  f"{_ms(s['model_path_p50_ms'])} / {_ms(s['model_path_p95_ms'])} | "
                  f"{_ms(s['model_first_token_p50_ms'])} / {_ms(s['model_first_token_p95_ms'])} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-model", action="store_true", help="quotes and the extractive answer only")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--out", type=Path, help="folder for library.json (default eval/runs/library-<date>)")
    parser.add_argument("--kinds", help="only these kinds (comma-separated)")
    parser.add_argument("--ids", help="only these questions (comma-separated ids), for looking into them")
    parser.add_argument("--show", action="store_true", help="print every answer as it comes")
    parser.add_argument("--rescore", type=Path, help="judge the answers of this library.json again instead of asking")
    args = parser.parse_args()
    if args.rescore:
        run = json.loads(args.rescore.read_text(encoding="utf-8"))
        run["questions"] = rejudge(run["questions"], load_questions())
        run["summary"] = table(run["questions"])
        print_table(run["summary"])
        out = args.out or args.rescore.parent
        out.mkdir(parents=True, exist_ok=True)
        (out / "library.json").write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    questions = load_questions(split=args.split)
    if args.kinds:
        questions = [q for q in questions if q["kind"] in args.kinds.split(",")]
    if args.ids:
        questions = [q for q in questions if q["id"] in args.ids.split(",")]
    base = Settings()
    if args.no_model:
        base = base.model_copy(update={"llm_backend": "none"})
    llm = make_llm(base)
    files = [*sorted(SEEDS.iterdir()), *sorted(REPORTS.glob("*.txt"))]
    started = time.perf_counter()
    try:
        with temporary_index(files, base) as (settings, _tmp):
            indexed_s = time.perf_counter() - started
            print(f"indexed {len(files)} files in {indexed_s:.0f} s; {len(questions)} questions", flush=True)
            answerer = Answerer(open_retriever(settings), llm, settings)
            rows = ask(answerer, questions, lambda line: print(line, flush=True) if args.show else None)
    finally:
        close = getattr(llm, "close", None)
        if close:
            close()
    result = table(rows)
    print_table(result)
    out = args.out or Path("eval/runs") / f"library-{time.strftime('%Y%m%d-%H%M')}"
    out.mkdir(parents=True, exist_ok=True)
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit(), "split": args.split,
        "backend": (llm.backend + ":" + llm.model) if llm is not None else "none", "indexed_s": round(indexed_s, 1),
        "summary": result, "questions": rows,
    }  # fmt: skip
    (out / "library.json").write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nwrote {out / 'library.json'}")


if __name__ == "__main__":
    main()
