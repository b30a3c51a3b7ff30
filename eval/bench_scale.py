"""How cost grows with the corpus, per store: synthetic corpora of N chunks made from the real ones.

    python -m eval.bench_scale --store local  [--sizes 10000 100000 1000000] [--queries 50]
    python -m eval.bench_scale --store milvus [--sizes …]   # a `milvus-lite server` on loopback

Each synthetic chunk is a real chunk with its figures changed and a numbered copy tag, so BM25 really
tokenizes and indexes N distinct texts. Vectors: up to ``--real-up-to`` chunks (default 10k) the real
embedder makes them (cached in a benchmark-only file, so the second store's run reuses them); above
that, the real chunk vectors plus small noise, renormalised (what search cost depends on: embedding a
million chunks on this CPU would take days). Measured per size: build (local: BM25 + FAISS + writing
the generation; Milvus: inserting through gRPC, the server's BM25 analysis, flush, and the server's
background sealing and indexing until it is idle), the store on disk,
the resident memory the API process gains by opening it (and the Milvus server's own), and search
latency (query embedding included) p50/p95 with the region/year filters a question implies and
without any filter.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eval.answer_evaluator import percentile
from eval.bench_retrieval import machine
from rag.core.config import Settings, get_settings
from rag.reading.chunking import Chunk
from rag.retrieval.retrieve import Retriever, open_retriever

QUESTIONS = [
    "2023年太仓市一般公共预算收入是多少？",
    "苏州市2022年地区生产总值是多少",
    "相城区2024年高标准农田建设目标",
    "玉山镇2019年社会消费品零售总额",
    "太仓港集装箱吞吐量",
]
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def rss_mb(pid: int | str = "self") -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def synthetic_chunks(base: list[Chunk], size: int, seed: int = 0) -> tuple[list[Chunk], list[int]]:
    """``size`` chunks, each a base chunk with its figures changed; also which base chunk each copies."""
    rng = random.Random(seed)
    chunks, rows = [], []
    for i in range(size):
        j = i % len(base)
        text = _NUMBER.sub(lambda m: str(round(float(m.group(0)) * rng.uniform(0.5, 1.5), 1)), base[j].text)
        chunks.append(dataclasses.replace(base[j], chunk_id=f"syn{i}", text=f"{text}（副本{i}）"))
        rows.append(j)
    return chunks, rows


def vectors_for(chunks: list[Chunk], rows: list[int], base: Retriever, real: bool, seed: int = 0) -> np.ndarray:
    if real:
        return base.embedder.embed([c.index_text for c in chunks], "passage", show_progress=False)
    local = open_retriever(base.settings.model_copy(update={"store": "local"}), embedder=base.embedder, check_files=False)
    originals = local.index.dense.reconstruct_n(0, local.index.dense.ntotal)
    noisy = originals[rows] + np.random.default_rng(seed).normal(0, 0.02, (len(rows), originals.shape[1])).astype(np.float32)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def latencies(retriever: Retriever, queries: int, **search: object) -> tuple[float, float]:
    taken = []
    for n in range(queries):
        started = time.perf_counter()
        retriever.search(QUESTIONS[n % len(QUESTIONS)], k=5, **search)  # type: ignore[arg-type]
        taken.append((time.perf_counter() - started) * 1000)
    return percentile(taken, 0.5), percentile(taken, 0.95)


@dataclasses.dataclass
class Row:
    size: int
    vectors: str
    build_s: float
    disk_mb: float
    api_rss_mb: float
    server_rss_mb: float | None
    filtered: tuple[float, float]
    unfiltered: tuple[float, float]

    def markdown(self, store: str) -> str:
        server = f"{self.server_rss_mb:,.0f} MB" if self.server_rss_mb is not None else "–"
        return (
            f"| {store} | {self.size:,} | {self.vectors} | {self.build_s:,.1f} s | {self.disk_mb:,.0f} MB | "
            f"+{self.api_rss_mb:,.0f} MB | {server} | {self.filtered[0]:.0f} / {self.filtered[1]:.0f} ms | "
            f"{self.unfiltered[0]:.0f} / {self.unfiltered[1]:.0f} ms |"
        )


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, timeout: float = 1800.0) -> float:
    """Wait until process ``pid`` uses under 5% of a core over two seconds (Milvus Lite seals and
    indexes what was inserted in the background, and searches meanwhile are slow); seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds(pid)
        time.sleep(2.0)
        if cpu_seconds(pid) - before < 0.1:
            break
    return time.monotonic() - started


def measure(
    settings: Settings,
    base: Retriever,
    chunks: list[Chunk],
    vectors: np.ndarray,
    queries: int,
    settle: Callable[[], object] = lambda: None,
) -> tuple[float, float, tuple[float, float], tuple[float, float]]:
    """Build (timed) with ``settings``' store; then, in a fresh process as an API replica would, open it
    (the resident memory that adds) and search."""

    from rag.indexing import stores
    from rag.indexing.index import make_manifest

    manifest = make_manifest(
        model=base.embedder.model_name, dimension=int(vectors.shape[1]), settings=settings, sources=[], chunks=len(chunks)
    )
    counts: dict[str, int] = {}
    for chunk in chunks:
        counts[chunk.source] = counts.get(chunk.source, 0) + 1
    manifest["sources"] = [{**s, "chunks": counts.get(str(s["source"]), 0)} for s in base.store.sources]
    started = time.perf_counter()
    stores.replace(settings, chunks, vectors, manifest).close()
    settle()
    build_s = time.perf_counter() - started
    if not queries:
        return build_s, 0.0, (0.0, 0.0), (0.0, 0.0)
    _, grown, filtered, unfiltered = probe_in_fresh_process(settings, queries)
    return build_s, grown, filtered, unfiltered


def probe_in_fresh_process(settings: Settings, queries: int) -> tuple[float, float, tuple[float, float], tuple[float, float]]:
    import json
    import sys

    probe = subprocess.run(
        [sys.executable, "-m", "eval.bench_scale", "--probe", settings.model_dump_json(), "--queries", str(queries)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    return 0.0, found["rss_mb"], tuple(found["filtered"]), tuple(found["unfiltered"])  # type: ignore[return-value]


def probe(settings_json: str, queries: int) -> None:
    """Run in a fresh process: open the store after the embedder, search, print JSON."""
    import json

    from rag.indexing.embedding import load_embedder
    from rag.indexing.stores import open_store

    settings = Settings.model_validate_json(settings_json)
    embedder = load_embedder(settings)
    embedder.embed_query("预热")
    gc.collect()
    before = rss_mb()
    retriever = Retriever(open_store(settings, check_files=False), embedder, settings)
    retriever.search(QUESTIONS[0], k=5)  # first query: lazy loads
    grown = rss_mb() - before
    found = {
        "rss_mb": grown,
        "filtered": latencies(retriever, queries),
        "unfiltered": latencies(retriever, queries, use_metadata=False),
    }
    retriever.store.close()
    print(json.dumps(found))


def run_local(settings: Settings, base: Retriever, chunks: list[Chunk], vectors: np.ndarray, queries: int, label: str) -> Row:
    folder = Path(tempfile.mkdtemp(prefix="scale-local-"))
    try:
        local = settings.model_copy(update={"store": "local", "index_dir": folder})
        build_s, grown, filtered, unfiltered = measure(local, base, chunks, vectors, queries)
        return Row(len(chunks), label, build_s, disk_mb(folder), grown, None, filtered, unfiltered)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _milvus_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket
    import sys

    from rag.core.child import spawn
    from rag.llm.clients import free_port

    port = free_port()
    with open(folder / "server.log", "ab") as log:
        server = spawn([str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(folder / "data"),
                        "--host", "127.0.0.1", "--port", str(port)], log)  # fmt: skip
    deadline = time.monotonic() + 120
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"milvus-lite server did not start: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)
    return server, port


def run_milvus(settings: Settings, base: Retriever, chunks: list[Chunk], vectors: np.ndarray, queries: int, label: str) -> Row:
    """Against a fresh ``milvus-lite server`` on loopback (the API process holds only a client). The
    server is restarted on its folder before searching, as a served index is (right after inserting,
    Milvus Lite rebuilds its per-segment search state on every query: several times slower)."""
    from rag.core.child import stop

    folder = Path(tempfile.mkdtemp(prefix="scale-milvus-"))
    server, port = _milvus_server(folder)
    try:
        remote = settings.model_copy(
            update={
                "store": "milvus",
                "milvus_uri": f"http://127.0.0.1:{port}",
                "milvus_collection": "scale",
                "milvus_timeout": 600,
            }
        )
        build_s, _, _, _ = measure(remote, base, chunks, vectors, 0, lambda: wait_until_idle(server.pid))
        stop(server, grace=60)
        server, port = _milvus_server(folder)
        reopened = remote.model_copy(update={"milvus_uri": f"http://127.0.0.1:{port}"})
        _, grown, filtered, unfiltered = probe_in_fresh_process(reopened, queries)
        return Row(len(chunks), label, build_s, disk_mb(folder / "data"), grown, rss_mb(server.pid), filtered, unfiltered)
    finally:
        stop(server, grace=30)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["local", "milvus"], default="local")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--real-up-to", type=int, default=10_000, help="Embed corpora up to this size with the real model.")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "govrag-bench-scale-embeddings.sqlite")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # internal: the fresh process of `measure`
    args = parser.parse_args()
    if args.probe:
        probe(args.probe, args.queries)
        return
    settings = get_settings().model_copy(update={"embedding_cache": args.cache})
    base = open_retriever(settings.model_copy(update={"store": "local"}), check_files=False)
    seed_chunks = base.index.chunks

    texts = [c.index_text for c in seed_chunks[:64]]
    base.embedder.embed_query("预热")
    started = time.perf_counter()
    base.embedder.model.encode(texts, batch_size=32)
    per_chunk = (time.perf_counter() - started) / len(texts)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"\n### Scale, {args.store} store — {machine()}, {time.strftime('%Y-%m-%d')}, commit {commit}\n")
    print(f"Embedding throughput (CPU, {base.embedder.model_name}): {1 / per_chunk:.1f} chunks/s.\n")
    print(
        "| store | chunks | vectors | build | on disk | API process RSS | server RSS | search p50 / p95, filtered | unfiltered |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    run = run_local if args.store == "local" else run_milvus
    for size in args.sizes:
        gc.collect()
        chunks, rows = synthetic_chunks(seed_chunks, size)
        real = size <= args.real_up_to
        started = time.perf_counter()
        vectors = vectors_for(chunks, rows, base, real)
        label = f"real ({time.perf_counter() - started:,.0f} s to embed)" if real else "real + noise"
        print(run(settings, base, chunks, vectors, args.queries, label).markdown(args.store), flush=True)
        del chunks, rows, vectors


if __name__ == "__main__":
    main()
