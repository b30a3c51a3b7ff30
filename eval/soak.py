"""A bounded loopback soak of `rag serve`: N clients for D seconds mixing search, ask, streamed ask
(some closed early) and /v1 chat completions; then every status seen, server RSS growth after
warm-up, and the queue at the end. Without a model by default (`RAG_LLM_BACKEND=none`): it tests the
service, not the model's speed.

    python -m eval.soak [--clients 50] [--seconds 180] [--warm-up 30] [--port 8011]

Exit status 1 when a 5xx or a transport error was seen, RSS grew ≥ 10 % after warm-up, or the queue
was not empty at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from eval.gold import load_gold
from rag.llm.clients import free_port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def client(base: str, questions: list[str], stop: threading.Event, seen: Counter[str], rng: random.Random) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        while not stop.is_set():
            question, kind = rng.choice(questions), rng.random()
            try:
                if kind < 0.3:
                    status = http.post("/api/search", json={"query": question, "k": 5}).status_code
                elif kind < 0.55:
                    status = http.post("/api/ask", json={"question": question}).status_code
                elif kind < 0.8:
                    with http.stream("POST", "/api/ask", json={"question": question, "stream": True}) as response:
                        status = response.status_code
                        for n, _ in enumerate(response.iter_lines()):
                            if rng.random() < 0.1 and n > 0:
                                break  # closed early, as a user who leaves
                else:
                    body = {"model": "govrag", "messages": [{"role": "user", "content": question}], "stream": rng.random() < 0.5}
                    status = http.post("/v1/chat/completions", json=body).status_code
                seen[str(status)] += 1
            except httpx.HTTPError as exc:
                seen[f"transport error: {type(exc).__name__}"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--warm-up", type=float, default=30)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = args.port or free_port()
    env = {"RAG_LLM_BACKEND": "none", "RAG_RATE_LIMIT": "", "RAG_ANSWER_CACHE": "0", **os.environ, "RAG_PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print("rag serve did not become ready", file=sys.stderr)
                return 1
            time.sleep(0.5)
        questions = [item["question"] for item in load_gold() if not item["history"]]
        stop, seen = threading.Event(), Counter[str]()
        threads = [
            threading.Thread(target=client, args=(base, questions, stop, seen, random.Random(i))) for i in range(args.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(args.warm_up)
        warm = rss_kib(server.pid)
        time.sleep(max(0.0, args.seconds - args.warm_up))
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        elapsed = time.monotonic() - started
        end = rss_kib(server.pid)
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        depth = next((float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("rag_queue_depth ")), None)
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(seen.values())
    growth = (end - warm) / warm if warm else 0.0
    bad = sum(n for status, n in seen.items() if not status.isdigit() or status.startswith("5"))
    print("| clients | seconds | requests | statuses | RSS after warm-up | RSS at end | growth | queue at end |")
    print("|---|---|---|---|---|---|---|---|")
    statuses = ", ".join(f"{status}×{n}" for status, n in sorted(seen.items()))
    print(
        f"| {args.clients} | {elapsed:.0f} | {total} | {statuses} | {warm / 1024:.0f} MiB | {end / 1024:.0f} MiB | {growth:+.1%} | {depth} |"
    )
    return 1 if bad or growth >= 0.10 or depth not in (0.0, None) else 0


if __name__ == "__main__":
    raise SystemExit(main())
