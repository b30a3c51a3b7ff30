"""The on-disk index: chunks, a FAISS inner-product index and a BM25 index, under one manifest.

Layout of ``index_dir``::

    CURRENT            name of the live generation (replaced atomically)
    gen-<ns>/          manifest.json, chunks.jsonl, dense.faiss, bm25/

A build writes a new generation beside the live one and only then switches ``CURRENT`` with
``os.replace``: a crash or a bad input file at any point leaves the previous index loadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.core.config import Settings
from rag.core.errors import IndexMismatchError, IndexNotFoundError
from rag.indexing.lexical import LexicalIndex
from rag.reading.chunking import Chunk
from rag.reading.documents import READING_VERSION, file_sha256

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
CURRENT = "CURRENT"
KEEP_GENERATIONS = 2


@dataclass
class Index:
    """Everything retrieval needs, in memory. Row ``i`` of both indexes is ``chunks[i]``."""

    chunks: list[Chunk]
    dense: faiss.Index
    lexical: LexicalIndex
    manifest: dict[str, object]
    path: Path | None = None

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    @property
    def sources(self) -> list[dict[str, object]]:
        return list(self.manifest["sources"])  # type: ignore[call-overload]


def build_dense(vectors: np.ndarray) -> faiss.Index:
    """Exact inner product over normalised vectors (= cosine): small corpora need nothing fancier."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def chunking_settings(settings: Settings) -> dict[str, int]:
    """How passages were cut, and by which version of the reading rules (rag.reading.documents): an index
    made otherwise must be rebuilt."""
    return {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap, "reading": READING_VERSION}


def make_manifest(
    *, model: str, dimension: int, settings: Settings, sources: list[dict[str, object]], chunks: int
) -> dict[str, object]:
    return {
        "format": INDEX_FORMAT,
        "model": model,
        "dimension": dimension,
        "chunking": chunking_settings(settings),
        "sources": sources,
        "chunks": chunks,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# --- writing -------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index directory."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_index(index: Index, index_dir: Path) -> Path:
    """Write ``index`` as a new generation and make it current atomically; returns the generation dir."""
    with _locked(index_dir):
        generation = index_dir / f"gen-{time.time_ns()}"
        tmp = index_dir / f".tmp-{generation.name}"
        try:
            tmp.mkdir()
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
                for chunk in index.chunks:
                    f.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
            faiss.write_index(index.dense, str(tmp / "dense.faiss"))
            index.lexical.save(tmp / "bm25")
            _write_json(tmp / "manifest.json", index.manifest)  # written last: marks a complete build
            os.replace(tmp, generation)
            pointer = index_dir / f".{CURRENT}.tmp"
            pointer.write_text(generation.name + "\n", encoding="utf-8")
            with open(pointer) as f:
                os.fsync(f.fileno())
            os.replace(pointer, index_dir / CURRENT)
            _fsync_dir(index_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(index_dir, keep=generation.name)
    index.path = generation
    logger.info("index written to %s (%d chunks)", generation, len(index.chunks))
    return generation


def _prune(index_dir: Path, keep: str) -> None:
    """Remove old generations, keeping the newest ``KEEP_GENERATIONS`` (the live one included)."""
    generations = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.name)
    for old in generations[:-KEEP_GENERATIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in index_dir.glob(".tmp-gen-*"):
        shutil.rmtree(stale, ignore_errors=True)


# --- reading -------------------------------------------------------------------------------


def current_generation(index_dir: Path) -> Path:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFoundError(f"no index in {index_dir}/; build it with `rag ingest`")
    generation = index_dir / pointer.read_text(encoding="utf-8").strip()
    if not (generation / "manifest.json").is_file():
        raise IndexNotFoundError(f"index pointer {pointer} names a missing generation; run `rag ingest`")
    return generation


def load_manifest(index_dir: Path) -> dict[str, object]:
    return json.loads((current_generation(index_dir) / "manifest.json").read_text(encoding="utf-8"))


def load_index(index_dir: Path) -> Index:
    """Load the current generation; a damaged one raises :class:`IndexMismatchError`."""
    generation = current_generation(index_dir)
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != INDEX_FORMAT:
        raise IndexMismatchError(f"index format {manifest.get('format')} is not {INDEX_FORMAT}; run `rag ingest`")
    with open(generation / "chunks.jsonl", encoding="utf-8") as f:
        chunks = [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
    dense = faiss.read_index(str(generation / "dense.faiss"))
    lexical = LexicalIndex.load(generation / "bm25", len(chunks))
    if dense.ntotal != len(chunks) or manifest.get("chunks") != len(chunks):
        raise IndexMismatchError(f"index in {generation} is inconsistent; rebuild it with `rag ingest`")
    return Index(chunks, dense, lexical, manifest, generation)


def check_compatible(manifest: dict[str, object], settings: Settings, *, check_files: bool = True) -> None:
    """Raise :class:`IndexMismatchError` when the index was built differently from what settings say."""
    if manifest.get("model") != settings.embedding_identity:  # "<model>#int8" when quantised
        raise IndexMismatchError(
            f"index was built with embedding model {manifest.get('model')!r} but the settings say "
            f"{settings.embedding_identity!r}; run `rag ingest` to rebuild"
        )
    if manifest.get("chunking") != chunking_settings(settings):
        raise IndexMismatchError(
            f"index was built with chunking {manifest.get('chunking')} but the settings say "
            f"{chunking_settings(settings)}; run `rag ingest` to rebuild"
        )
    if check_files:
        changed = changed_sources(manifest)
        if changed:
            raise IndexMismatchError(f"report files changed since the index was built: {', '.join(changed)}; run `rag ingest`")


def changed_sources(manifest: dict[str, object]) -> list[str]:
    """Source files that still exist at their recorded path but whose content hash differs."""
    changed = []
    for source in manifest.get("sources", []):  # type: ignore[attr-defined]
        path = Path(str(source.get("path", "")))
        if path.is_file():
            if file_sha256(path) != source.get("sha256"):
                changed.append(str(path))
    return changed
