"""Answer benchmark with a real model: accuracy (fact / unanswerable), time to first token, total time,
prompt tokens per question.

    python -m eval.bench_answer [--per-type 8] [--types fact,unanswerable] [--out answers.jsonl]

Uses the settings' LLM backend (default: the bundled local model, started on demand; set
``RAG_LOCAL_URL`` to attach to one already running) and the index in ``settings.index_dir`` (built if
missing). Prints a Markdown section for docs/benchmarks.md.

A fact answer is correct when it is not refused and contains every ``must_contain`` figure (spaces
ignored); it is *cited right* when a citation points at the gold report. An unanswerable question is
correct when it is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from eval.answer_evaluator import percentile  # noqa: E402
from eval.bench_retrieval import machine  # noqa: E402
from rag.answer import Answer, Answerer  # noqa: E402
from rag.config import get_settings  # noqa: E402
from rag.documents import squash  # noqa: E402
from rag.ingest import index_is_current, ingest  # noqa: E402
from rag.llm import LocalClient, make_llm  # noqa: E402
from rag.prompts import build_messages  # noqa: E402
from rag.retrieve import open_retriever  # noqa: E402

GOLD = Path(__file__).with_name("gold.jsonl")


def pick(path: Path, types: list[str], per_type: int) -> list[dict]:
    """The first ``per_type`` single-turn questions of each type, spread over the file's regions."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen: list[dict] = []
    for kind in types:
        pool = [r for r in rows if r["type"] == kind and not r.get("history")]
        by_region: dict[str | None, list[dict]] = defaultdict(list)
        for row in pool:
            by_region[row.get("region")].append(row)
        spread: list[dict] = []
        while len(spread) < min(per_type, len(pool)):
            for group in by_region.values():
                if group and len(spread) < per_type:
                    spread.append(group.pop(0))
        chosen.extend(spread)
    return chosen


def judge(row: dict, answer: Answer) -> tuple[bool, bool]:
    """(correct, cited the gold report)."""
    if row["type"] == "unanswerable":
        return answer.refused, answer.refused
    text = squash(answer.answer)
    correct = not answer.refused and all(squash(m) in text for m in row.get("must_contain", []))
    sources = set(row.get("sources") or [row.get("source")])
    return correct, any(c.source in sources for c in answer.citations)


def chatml_tokens(base_url: str, messages: list[dict[str, str]]) -> int | None:
    """Prompt tokens as the llama.cpp server counts them (Qwen chat template); None for other servers."""
    prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        response = httpx.post(f"{root}/extras/tokenize/count", json={"input": prompt}, timeout=10)
        return int(response.json()["count"]) if response.status_code == 200 else None
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--types", default="fact,unanswerable")
    parser.add_argument("--per-type", type=int, default=8)
    parser.add_argument("--out", type=Path, help="write every answer as JSON Lines here")
    args = parser.parse_args()

    settings = get_settings()
    if not index_is_current(None, settings):
        ingest(None, settings)
    retriever = open_retriever(settings)
    llm = make_llm(settings)
    answerer = Answerer(retriever, llm, settings)
    retriever.search("预热")  # the first query loads jieba; keep it out of the timings
    if isinstance(llm, LocalClient):
        started = time.perf_counter()
        llm.server.ensure()
        print(f"local server start: {time.perf_counter() - started:.1f} s")

    rows = pick(args.gold, args.types.split(","), args.per_type)
    results: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    ttft: list[float] = []
    total: list[float] = []
    tokens: list[int] = []
    out = args.out.open("w", encoding="utf-8") if args.out else None
    for row in rows:
        answer = answerer.ask(row["question"])
        correct, cited = judge(row, answer)
        results[row["type"]].append((correct, cited))
        if answer.timings.get("first_token_ms") is not None:
            ttft.append(answer.timings["first_token_ms"])  # type: ignore[arg-type]
            total.append(answer.timings["total_ms"])  # type: ignore[arg-type]
            chunks = [h.chunk for h in retriever.search(row["question"], k=settings.answer_passages).hits]
            count = chatml_tokens(getattr(llm, "base_url", "") or "", build_messages(row["question"], chunks, settings.answer_context_chars))
            if count:
                tokens.append(count)
        print(f"{row['id']} {'OK ' if correct else 'BAD'} {answer.timings.get('total_ms')} ms  {row['question']} → {answer.answer[:80]!r}", flush=True)
        if out:
            out.write(json.dumps({"id": row["id"], "correct": correct, "cited": cited, **answer.to_dict()}, ensure_ascii=False) + "\n")
    if out:
        out.close()

    model = getattr(llm, "model", "none")
    print(f"\n### Answers — {answerer.backend} ({model}), {len(rows)} gold questions\n")
    print(f"{machine()}; {settings.answer_passages} passages, {settings.answer_context_chars} characters of context, "
          f"max {settings.llm_max_tokens} new tokens.\n")
    print("| type | questions | correct | cited the right report |\n|---|---|---|---|")
    for kind, marks in results.items():
        n = len(marks)
        print(f"| {kind} | {n} | {sum(c for c, _ in marks) / n:.2f} | {sum(r for _, r in marks) / n:.2f} |")
    if ttft:
        print("\n| measure | p50 | p95 |\n|---|---|---|")
        print(f"| time to first token (incl. retrieval) | {percentile(ttft, .5) / 1000:.1f} s | {percentile(ttft, .95) / 1000:.1f} s |")
        print(f"| total time | {percentile(total, .5) / 1000:.1f} s | {percentile(total, .95) / 1000:.1f} s |")
    if tokens:
        print(f"| prompt tokens | {percentile(tokens, .5):.0f} | {percentile(tokens, .95):.0f} |")
        print(f"\nmean prompt tokens {statistics.mean(tokens):.0f} over {len(tokens)} generated answers")


if __name__ == "__main__":
    main()
