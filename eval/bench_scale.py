"""How cost grows with the corpus: synthetic corpora of N chunks generated from the real ones.

    python -m eval.bench_scale [--sizes 10000 100000] [--queries 50]

Each synthetic chunk is a real chunk with its figures changed and a numbered copy tag, so BM25
really tokenizes and indexes N distinct texts. Embedding 100k chunks with the CPU model would take
hours (throughput is measured here and extrapolated); the dense vectors are the real chunk vectors
plus small noise, renormalised, which is what FAISS cost depends on. Measured per size: BM25 +
FAISS build time, saved index size, resident memory of the loaded index, and hybrid query latency
(query embedding included) p50/p95.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.answer_evaluator import percentile
from eval.bench_retrieval import machine
from rag.config import get_settings
from rag.index import Index, build_dense, save_index
from rag.lexical import LexicalIndex
from rag.retrieve import Retriever, open_retriever

QUESTIONS = [
    "2023年太仓市一般公共预算收入是多少？",
    "苏州市2022年地区生产总值是多少",
    "相城区2024年高标准农田建设目标",
    "玉山镇2019年社会消费品零售总额",
    "太仓港集装箱吞吐量",
]


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(base: Retriever, size: int, seed: int = 0) -> Index:
    rng = random.Random(seed)
    chunks = base.index.chunks
    vectors = base.index.dense.reconstruct_n(0, base.index.dense.ntotal)
    noise = np.random.default_rng(seed)
    out_chunks, rows = [], []
    for i in range(size):
        j = i % len(chunks)
        text = re.sub(r"\d+(?:\.\d+)?", lambda m: str(round(float(m.group(0)) * rng.uniform(0.5, 1.5), 1)), chunks[j].text)
        out_chunks.append(dataclasses.replace(chunks[j], chunk_id=f"syn{i}", text=f"{text}（副本{i}）"))
        rows.append(j)
    dense = vectors[rows] + noise.normal(0, 0.02, (size, vectors.shape[1])).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    started = time.perf_counter()
    lexical = LexicalIndex.build([c.index_text for c in out_chunks])
    bm25_s = time.perf_counter() - started
    started = time.perf_counter()
    faiss_index = build_dense(dense.astype(np.float32))
    faiss_s = time.perf_counter() - started
    manifest = {**base.index.manifest, "chunks": size}
    index = Index(out_chunks, faiss_index, lexical, manifest)
    index.build_seconds = {"bm25": bm25_s, "faiss": faiss_s}  # type: ignore[attr-defined]
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    settings = get_settings()
    base = open_retriever(settings)

    texts = [c.index_text for c in base.index.chunks[:64]]
    base.embedder.embed_query("预热")
    started = time.perf_counter()
    base.embedder.model.encode(texts, batch_size=32)
    per_chunk = (time.perf_counter() - started) / len(texts)

    print(f"\n### Scale — {machine()}, {time.strftime('%Y-%m-%d')}\n")
    print(
        f"Embedding throughput (CPU, {base.embedder.model_name}): {1 / per_chunk:.1f} chunks/s, "
        f"so embedding alone would take ~{10_000 * per_chunk / 60:.0f} min for 10k and ~{100_000 * per_chunk / 3600:.1f} h for 100k chunks.\n"
    )
    print("| chunks | BM25 build | FAISS build | index on disk | RSS after load | query p50 | query p95 |")
    print("|---|---|---|---|---|---|---|")
    for size in [len(base.index.chunks), *args.sizes]:
        gc.collect()
        before = rss_mb()
        index = base.index if size == len(base.index.chunks) else synthetic(base, size)
        grown = rss_mb() - before
        built = getattr(index, "build_seconds", None)
        folder = Path(tempfile.mkdtemp())
        try:
            save_index(index, folder)
            disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        retriever = Retriever(index, base.embedder, settings)
        latencies = []
        for n in range(args.queries):
            started = time.perf_counter()
            retriever.search(QUESTIONS[n % len(QUESTIONS)], k=5)
            latencies.append((time.perf_counter() - started) * 1000)
        bm25 = f"{built['bm25']:.1f} s" if built else "(real index)"
        faiss_t = f"{built['faiss'] * 1000:.0f} ms" if built else "–"
        print(
            f"| {size:,} | {bm25} | {faiss_t} | {disk:.0f} MB | +{grown:.0f} MB | "
            f"{percentile(latencies, 0.5):.0f} ms | {percentile(latencies, 0.95):.0f} ms |",
            flush=True,
        )
        del index, retriever


if __name__ == "__main__":
    main()
