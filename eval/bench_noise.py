"""How often float noise in the scores changes what retrieval returns: another CPU's rounding, simulated.

    python -m eval.bench_noise [--noises 1e-7 1e-6 1e-5] [--seeds 3] [--decimals 12 4]

Each dense and BM25 score the store returns is multiplied by ``1 + u`` with ``|u| <= noise`` (uniform,
seeded: :func:`jittered`), for every gold question and seed, and the top-k chunk ids are compared with
the unjittered search. ``--decimals 12`` is (near enough) comparing raw floats, the behaviour before
``Settings.score_decimals`` (only the BM25 candidate cut of the local store stays at 4 places); 4 is
today's default. Prints a Markdown section for docs/benchmarks.md.
Uses a temporary index (the real embedding model, the seed reports).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from eval.bench_retrieval import machine
from rag.core.config import Settings
from rag.indexing.embedding import load_embedder
from rag.indexing.ingest import ingest
from rag.retrieval.retrieve import Retriever


def jittered(retriever: Retriever, noise: float, seed: int) -> Retriever:
    """``retriever`` with its store's dense and BM25 scores each multiplied by ``1 + u``, ``|u| <= noise``
    (``u`` from a generator seeded with ``seed``); unchanged when ``noise`` is 0."""
    if not noise:
        return retriever
    rng = random.Random(seed)
    store = retriever.store

    def jitter(search):  # type: ignore[no-untyped-def]
        def noisy(*args, **kwargs):  # type: ignore[no-untyped-def]
            return {key: score * (1 + rng.uniform(-noise, noise)) for key, score in search(*args, **kwargs).items()}

        return noisy

    store.dense, store.lexical = jitter(store.dense), jitter(store.lexical)  # type: ignore[method-assign]
    return retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--noises", type=float, nargs="+", default=[1e-7, 1e-6, 1e-5])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--decimals", type=int, nargs="+", default=[12, 4])
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line]

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, index_dir=Path(tmp) / "index", embedding_cache=Path(tmp) / "v.sqlite")
        embedder = load_embedder(settings)
        index = ingest(None, settings, embedder=embedder).index
        print(f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. {len(questions)} questions × {args.seeds} seeds.\n")
        print("| scores compared at | noise (relative) | searches whose top-k changed | of them only in order |")
        print("|---|---|---|---|")
        for decimals in args.decimals:
            current = settings.model_copy(update={"score_decimals": decimals})
            reference = Retriever(index, embedder, current)
            want = {q: [h.chunk.chunk_id for h in reference.search(q).hits] for q in questions}
            for noise in args.noises:
                changed = reordered = 0
                for seed in range(args.seeds):
                    noisy = jittered(Retriever(index, embedder, current), noise, seed)
                    for q in questions:
                        got = [h.chunk.chunk_id for h in noisy.search(q).hits]
                        if got != want[q]:
                            changed += 1
                            reordered += set(got) == set(want[q])
                label = "raw floats" if decimals >= 12 else f"{decimals} places"
                total = len(questions) * args.seeds
                print(f"| {label} | {noise:g} | {changed}/{total} | {reordered} |", flush=True)


if __name__ == "__main__":
    main()
