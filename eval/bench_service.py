"""Bounded load test of a running service: N concurrent clients against /api/search and /api/ask,
then U users each streaming a few different gold questions.

    rag serve &                       # or make run
    python -m eval.bench_service [--url http://127.0.0.1:8000] [--clients 4] [--requests 20]
                                 [--ask-clients 3] [--ask-requests 1] [--users 10] [--per-user 4] [--key KEY]

Reports throughput, latency p50/p95 and status counts per endpoint as Markdown for
docs/benchmarks.md. Only answers that need the model go through its queue: with more of them than the
queue holds, the surplus is answered 503 with Retry-After at once; a user (like the widget) retries
such a 503 once after Retry-After. For users: time to the first answer text (the first ``delta``
event) and to ``done``, by how the answer was made.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval.answer_evaluator import percentile
from eval.bench_retrieval import machine
from eval.gold import answer_is_correct, answerable, load_gold
from rag.answering.compose import answer_part

QUESTIONS = [
    "2023年太仓市一般公共预算收入是多少？",
    "苏州市2022年地区生产总值是多少",
    "相城区2023年一般公共预算收入多少",
    "玉山镇2019年地区生产总值是多少？",
    "太仓港2023年集装箱吞吐量是多少？",
]


def run(url: str, path: str, bodies: list[dict], clients: int, headers: dict[str, str], timeout: float) -> dict:
    def one(body: dict) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status = httpx.post(url + path, json=body, headers=headers, timeout=timeout).status_code
        except httpx.HTTPError:
            status = 0
        return status, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, bodies))
    wall = time.perf_counter() - started
    ok = [t for s, t in results if s == 200]
    return {
        "path": path,
        "clients": clients,
        "requests": len(results),
        "statuses": Counter(s for s, _ in results),
        "throughput": len(ok) / wall if wall else 0.0,
        "p50": percentile(ok, 0.5) if ok else None,
        "p95": percentile(ok, 0.95) if ok else None,
    }


def stream_ask(url: str, question: str, headers: dict[str, str], timeout: float) -> dict:
    """One streamed ask, retried once after Retry-After on 503: statuses, first-text and done times
    (from the first attempt: a retried question's wait counts), mode and the final answer object."""
    statuses: list[int] = []
    started = time.perf_counter()
    first = done = None
    mode = None
    answer: dict | None = None
    for _attempt in range(2):
        try:
            with httpx.stream("POST", url + "/api/ask", json={"question": question, "stream": True},
                              headers=headers, timeout=timeout) as response:  # fmt: skip
                statuses.append(response.status_code)
                if response.status_code == 503:
                    retry = response.headers.get("retry-after")
                    statuses[-1] = 503 if retry else 599  # a 503 without Retry-After is a defect
                    time.sleep(min(30.0, float(retry or 1)))
                    continue
                event = None
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "delta" and first is None:
                        first = time.perf_counter() - started
                    elif line.startswith("data:") and event == "done":
                        done = time.perf_counter() - started
                        answer = json.loads(line[5:])
                        mode = answer["mode"]
                        if mode == "degraded" and "busy" in (answer.get("reason") or ""):
                            mode = "from the report, model busy"
        except httpx.HTTPError:
            statuses.append(0)
        break
    return {"statuses": statuses, "first": first, "done": done, "mode": mode, "answer": answer}


def users(
    url: str, count: int, per_user: int, headers: dict[str, str], timeout: float, ids: set[str] | None = None
) -> list[dict]:
    """``count`` users at once, each asking ``per_user`` different single-turn gold questions in turn
    (only those of ``ids`` when given: e.g. the ones that need the model)."""
    items = [item for item in load_gold() if not item["history"] and (ids is None or item["id"] in ids)]
    plan = [[items[(u + count * k) % len(items)] for k in range(per_user)] for u in range(count)]

    def user(mine: list[dict]) -> list[dict]:
        return [{**stream_ask(url, item["question"], headers, timeout), "item": item} for item in mine]

    with ThreadPoolExecutor(count) as pool:
        return [r for rows in pool.map(user, plan) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20, help="search requests per client")
    parser.add_argument("--ask-clients", type=int, default=3)
    parser.add_argument("--ask-requests", type=int, default=1, help="ask requests per client")
    parser.add_argument("--users", type=int, default=10, help="concurrent users streaming gold questions")
    parser.add_argument("--per-user", type=int, default=4, help="questions each user asks in turn")
    parser.add_argument("--key", help="API key, when the service requires one")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--ids", help="users ask only these gold questions (comma-separated ids)")
    parser.add_argument("--out", type=Path, help="write each user's answers here (JSON), to compare two runs")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    health = httpx.get(args.url + "/readyz", timeout=30).json()
    health = health.get("error", health)  # not ready (a model slow to answer the check) says the same inside its error

    n = args.clients * args.requests
    searches = [{"query": QUESTIONS[i % len(QUESTIONS)], "k": 5} for i in range(n)]
    asks = [{"question": QUESTIONS[i % len(QUESTIONS)]} for i in range(args.ask_clients * args.ask_requests)]
    rows = [run(args.url, "/api/search", searches, args.clients, headers, args.timeout)]
    if asks:
        rows.append(run(args.url, "/api/ask", asks, args.ask_clients, headers, args.timeout))

    print(f"\n### Service load — {machine()}; llm {health['llm']}\n")
    print("| endpoint | clients | requests | statuses | ok/s | p50 | p95 |\n|---|---|---|---|---|---|---|")
    for r in rows:
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
        p50 = f"{r['p50'] * 1000:.0f} ms" if r["p50"] is not None else "–"
        p95 = f"{r['p95'] * 1000:.0f} ms" if r["p95"] is not None else "–"
        print(f"| {r['path']} | {r['clients']} | {r['requests']} | {statuses} | {r['throughput']:.2f} | {p50} | {p95} |")
    if args.users:
        started = time.perf_counter()
        ids = set(args.ids.split(",")) if args.ids else None
        rows_u = users(args.url, args.users, args.per_user, headers, args.timeout, ids)
        wall = time.perf_counter() - started
        statuses = Counter(s for r in rows_u for s in r["statuses"])
        print(
            f"\n{args.users} users × {args.per_user} streamed gold questions in {wall:.0f} s; every status seen "
            f"(a 503 is retried once after Retry-After): " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))
        )
        if args.out:
            kept = [{"id": r["item"]["id"], "mode": r["mode"], "right": _right(r), "statuses": r["statuses"],
                     "first": r["first"], "done": r["done"], "answer": r["answer"]} for r in rows_u]  # fmt: skip
            args.out.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
        by_mode: dict[str, list[dict]] = defaultdict(list)
        for r in rows_u:
            by_mode[r["mode"] or "no answer"].append(r)

        def ms(values: list[float], q: float) -> str:
            value = percentile(values, q)
            return f"{value * 1000:.0f} ms" if value is not None else "–"

        print("\n| answered by | n | right | first text p50 | p95 | done p50 | p95 |\n|---|---|---|---|---|---|---|")
        for mode, group in [("all", rows_u), *sorted(by_mode.items())]:
            firsts = [r["first"] for r in group if r["first"] is not None]
            dones = [r["done"] for r in group if r["done"] is not None]
            right = sum(_right(r) for r in group)
            print(f"| {mode} | {len(group)} | {right} | {ms(firsts, 0.5)} | {ms(firsts, 0.95)} | {ms(dones, 0.5)} | "
                  f"{ms(dones, 0.95)} |")  # fmt: skip


def _right(row: dict) -> bool:
    """Whether the answer a user got under load is right by the gold set (a refusal for an
    unanswerable question; the gold figure, not refused, for an answerable one)."""
    answer, item = row["answer"], row["item"]
    if answer is None:
        return False
    if not answerable(item):
        return bool(answer["refused"])
    return not answer["refused"] and answer_is_correct(item, answer_part(answer["answer"]))


if __name__ == "__main__":
    main()
