"""Bounded load test of a running service: N concurrent clients against /api/search and /api/ask.

    rag serve &                       # or make run
    python -m eval.bench_service [--url http://127.0.0.1:8000] [--clients 4] [--requests 20]
                                 [--ask-clients 3] [--ask-requests 1] [--key KEY]

Reports throughput, latency p50/p95 and status counts per endpoint as Markdown for
docs/benchmarks.md. Asks go through the model queue: with more clients than the queue holds, the
surplus is answered 503 immediately, which is the behaviour being measured.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from eval.answer_evaluator import percentile
from eval.bench_retrieval import machine

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20, help="search requests per client")
    parser.add_argument("--ask-clients", type=int, default=3)
    parser.add_argument("--ask-requests", type=int, default=1, help="ask requests per client")
    parser.add_argument("--key", help="API key, when the service requires one")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    health = httpx.get(args.url + "/healthz", timeout=30).json()

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


if __name__ == "__main__":
    main()
