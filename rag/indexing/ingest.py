"""Building the index from report files: documents → chunks → embeddings → indexes, written atomically."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.config import Settings
from rag.core.errors import IndexMismatchError, IndexNotFoundError
from rag.indexing import stores
from rag.indexing.embedding import Embedder, load_embedder
from rag.indexing.index import Index, chunking_settings, make_manifest
from rag.indexing.stores.base import Store
from rag.indexing.stores.local import LocalStore, in_process_index
from rag.reading.chunking import Chunk, chunk_reports, covered_years
from rag.reading.documents import Report, discover, file_sha256, load_reports

logger = logging.getLogger(__name__)

#: Passages embedded between two ``progress`` calls.
EMBED_PROGRESS_BATCH = 256


@dataclass
class IngestResult:
    store: Store
    reports: int
    chunks: int
    seconds: float
    replaced: list[str]

    @property
    def index(self) -> Index:
        """The new generation of a local store."""
        return in_process_index(self.store)

    @property
    def location(self) -> str:
        """Where the new generation lives: its folder, or the Milvus collection."""
        return str(self.store.index.path) if isinstance(self.store, LocalStore) else self.store.generation


def source_entry(report: Report, path: Path, chunks: list[Chunk]) -> dict[str, object]:
    """A report's manifest entry: its metadata, file, chunk count and the years its passages cover."""
    years = sorted(covered_years(chunks).get(report.region or "", set())) if report.region else []
    return {**report.metadata(), "path": str(path), "chunks": len(chunks), "years": years}


def ingest(
    paths: list[Path] | None,
    settings: Settings,
    *,
    append: bool = False,
    remove: Sequence[str] = (),
    embedder: Embedder | None = None,
    show_progress: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> IngestResult:
    """Index the reports under ``paths`` (default: the seeds folder) in the configured store.

    Without ``append`` they become the whole index (a new generation). With ``append`` they are added
    to it (a report whose file name is already indexed replaces its old chunks) and the reports named
    in ``remove`` (file names) leave it; ``paths`` may then be empty. Every input file is read and
    checked before anything is written, so a bad file leaves the current index untouched.

    ``progress(stage, fraction)``, when given, is called as the build goes: ``parsing``, ``embedding``
    (fraction done, in batches) and ``writing``, each starting at 0.0.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda stage, fraction: None)
    report_progress("parsing", 0.0)
    if not append:
        paths = paths or [settings.seeds_dir]
    reports = load_reports(paths) if paths else []
    files = {r.source: _path_of(r, paths or []) for r in reports}
    names = [r.source for r in reports]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise IndexMismatchError(f"two reports share the file name {', '.join(dupes)}; file names identify reports")
    embedder = embedder or load_embedder(settings)

    chunks = chunk_reports(reports, settings.chunk_size, settings.chunk_overlap)
    report_progress("embedding", 0.0)
    vectors = _embed([c.index_text for c in chunks], embedder, show_progress, progress)
    report_progress("writing", 0.0)
    by_source: dict[str, list[Chunk]] = {name: [] for name in names}
    for chunk in chunks:
        by_source[chunk.source].append(chunk)
    sources = [source_entry(r, files[r.source], by_source[r.source]) for r in reports]
    manifest = make_manifest(
        model=embedder.model_name, dimension=int(vectors.shape[1]), settings=settings, sources=sources, chunks=len(chunks)
    )
    if append:
        before = {str(s["source"]) for s in _live_sources(settings)}
        replaced = sorted(before & set(names))
        store = stores.update(settings, chunks, vectors, manifest, remove=list(remove))
    else:
        replaced = []
        store = stores.replace(settings, chunks, vectors, manifest)
    seconds = time.perf_counter() - started
    logger.info("indexed %d reports, %d chunks in %.1fs", len(store.sources), store.size, seconds)
    return IngestResult(store, len(store.sources), store.size, seconds, replaced)


def _embed(
    texts: list[str], embedder: Embedder, show_progress: bool, progress: Callable[[str, float], None] | None
) -> np.ndarray:
    if progress is None:
        return embedder.embed(texts, "passage", show_progress=show_progress)
    parts = []  # in batches, to say how far it got (cached vectors come back at once either way)
    for start in range(0, len(texts), EMBED_PROGRESS_BATCH):
        parts.append(embedder.embed(texts[start : start + EMBED_PROGRESS_BATCH], "passage"))
        progress("embedding", min(1.0, (start + EMBED_PROGRESS_BATCH) / len(texts)))
    return np.concatenate(parts) if parts else embedder.embed([], "passage")


def _live_sources(settings: Settings) -> list[dict[str, object]]:
    """The reports in the live index (none when there is no index yet), read from its manifest."""
    try:
        return list(stores.live_manifest(settings)["sources"])  # type: ignore[call-overload]
    except IndexNotFoundError:
        return []


def _path_of(report: Report, paths: list[Path]) -> Path:
    for path in paths:
        if path.is_file() and path.name == report.source:
            return path
        candidate = path / report.source
        if path.is_dir() and candidate.is_file():
            return candidate
    return Path(report.source)


def index_is_current(paths: list[Path] | None, settings: Settings) -> bool:
    """Whether the live index was built from exactly these files (same contents) with these settings.

    A shared store (Milvus) is the corpus of record: other replicas add and remove reports in it, so
    any compatible index there is current (only `rag ingest` without ``--if-needed`` rebuilds it)."""
    try:
        manifest = stores.live_manifest(settings)
    except (IndexNotFoundError, IndexMismatchError, OSError, ValueError):
        return False
    if manifest.get("chunking") != chunking_settings(settings):
        return False  # cut otherwise, or read by older rules
    sources = list(manifest["sources"])  # type: ignore[call-overload]
    if settings.store != "local":
        return bool(sources)
    files = [f for f in discover(paths or [settings.seeds_dir]) if f.name != "manifest.json"]
    wanted = {f.name: file_sha256(f) for f in files}
    have = {str(s["source"]): s.get("sha256") for s in sources}
    return wanted == have
