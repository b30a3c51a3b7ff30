"""Building the index from report files: documents → chunks → embeddings → indexes, written atomically."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.chunking import Chunk, chunk_reports
from rag.config import Settings
from rag.documents import Report, discover, file_sha256, load_reports
from rag.embedding import Embedder, load_embedder
from rag.errors import IndexMismatchError, IndexNotFoundError
from rag.index import (
    Index,
    build_dense,
    check_compatible,
    load_index,
    load_manifest,
    make_manifest,
    save_index,
)
from rag.lexical import LexicalIndex

logger = logging.getLogger(__name__)

#: Passages embedded between two ``progress`` calls.
EMBED_PROGRESS_BATCH = 256


@dataclass
class IngestResult:
    index: Index
    reports: int
    chunks: int
    seconds: float
    replaced: list[str]


def source_entry(report: Report, path: Path, chunks: int) -> dict[str, object]:
    return {**report.metadata(), "path": str(path), "chunks": chunks}


def ingest(
    paths: list[Path] | None,
    settings: Settings,
    *,
    append: bool = False,
    embedder: Embedder | None = None,
    show_progress: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> IngestResult:
    """Index the reports under ``paths`` (default: the seeds folder).

    With ``append`` the existing index is kept and the given reports are added to it (a report whose
    file name is already indexed replaces its old chunks). Every input file is read and checked
    before anything is written, so a bad file leaves the current index untouched.

    ``progress(stage, fraction)``, when given, is called as the build goes: ``parsing``, ``embedding``
    (fraction done, in batches) and ``writing``, each starting at 0.0.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda stage, fraction: None)
    report_progress("parsing", 0.0)
    paths = paths or [settings.seeds_dir]
    reports = load_reports(paths)
    files = {r.source: _path_of(r, paths) for r in reports}
    embedder = embedder or load_embedder(settings)

    kept_chunks: list[Chunk] = []
    kept_sources: list[dict[str, object]] = []
    replaced: list[str] = []
    if append:
        try:
            old = load_index(settings.index_dir)
        except IndexNotFoundError:
            old = None
        if old is not None:
            check_compatible(old.manifest, settings, check_files=False)
            new_names = {r.source for r in reports}
            kept_chunks = [c for c in old.chunks if c.source not in new_names]
            kept_sources = [s for s in old.sources if s["source"] not in new_names]
            replaced = sorted(new_names & {str(s["source"]) for s in old.sources})

    names = [r.source for r in reports]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise IndexMismatchError(f"two reports share the file name {', '.join(dupes)}; file names identify reports")

    new_chunks = chunk_reports(reports, settings.chunk_size, settings.chunk_overlap)
    chunks = kept_chunks + new_chunks
    report_progress("embedding", 0.0)
    texts = [c.index_text for c in chunks]
    if progress is None:
        vectors = embedder.embed(texts, "passage", show_progress=show_progress)
    else:  # in batches, to say how far it got (cached vectors come back at once either way)
        parts = []
        for start in range(0, len(texts), EMBED_PROGRESS_BATCH):
            parts.append(embedder.embed(texts[start : start + EMBED_PROGRESS_BATCH], "passage"))
            progress("embedding", min(1.0, (start + EMBED_PROGRESS_BATCH) / len(texts)))
        vectors = np.concatenate(parts) if parts else embedder.embed([], "passage")
    report_progress("writing", 0.0)
    counts = {name: sum(1 for c in new_chunks if c.source == name) for name in names}
    sources = kept_sources + [source_entry(r, files[r.source], counts[r.source]) for r in reports]
    manifest = make_manifest(
        model=embedder.model_name,
        dimension=int(vectors.shape[1]),
        settings=settings,
        sources=sources,
        chunks=len(chunks),
    )
    index = Index(chunks, build_dense(vectors), LexicalIndex.build([c.index_text for c in chunks]), manifest)
    save_index(index, settings.index_dir)
    seconds = time.perf_counter() - started
    logger.info("indexed %d reports, %d chunks in %.1fs", len(sources), len(chunks), seconds)
    return IngestResult(index, len(sources), len(chunks), seconds, replaced)


def _path_of(report: Report, paths: list[Path]) -> Path:
    for path in paths:
        if path.is_file() and path.name == report.source:
            return path
        candidate = path / report.source
        if path.is_dir() and candidate.is_file():
            return candidate
    return Path(report.source)


def index_is_current(paths: list[Path] | None, settings: Settings) -> bool:
    """Whether the live index was built from exactly these files (same contents) with these settings."""
    try:
        manifest = load_manifest(settings.index_dir)
        check_compatible(manifest, settings, check_files=False)
    except (IndexNotFoundError, IndexMismatchError, OSError, ValueError):
        return False
    files = [f for f in discover(paths or [settings.seeds_dir]) if f.name != "manifest.json"]
    wanted = {f.name: file_sha256(f) for f in files}
    have = {str(s["source"]): s.get("sha256") for s in manifest["sources"]}  # type: ignore[attr-defined]
    return wanted == have
