"""The local store: one :class:`rag.indexing.index.Index` generation (FAISS + bm25s files) in this process."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cached_property, lru_cache

import faiss
import numpy as np

from rag.core.config import SCORE_DECIMALS, Settings
from rag.core.errors import IndexNotFoundError
from rag.indexing.index import Index, build_dense, check_compatible, load_index, save_index
from rag.indexing.lexical import LexicalIndex
from rag.indexing.stores.base import Key, Store, Where
from rag.reading.chunking import Chunk, covered_years

logger = logging.getLogger(__name__)

#: BM25 score arrays kept per store for the latest query texts (one search asks once per tier).
LEXICAL_MEMO = 8


class LocalStore:
    """Filters are numpy masks over per-chunk region/year/plan columns; row numbers are the keys."""

    kind = "local"

    def __init__(self, index: Index) -> None:
        self.index = index
        chunks = index.chunks
        self._region = np.array([c.region or "" for c in chunks], dtype=object)
        self._year = np.array([-1 if c.year is None else c.year for c in chunks], dtype=np.int64)
        self._plan = np.array([c.period == "plan" for c in chunks], dtype=bool)
        self._scores = lru_cache(maxsize=LEXICAL_MEMO)(index.lexical.scores)

    @classmethod
    def open(cls, settings: Settings, *, check_files: bool = True) -> LocalStore:
        index = load_index(settings.index_dir)
        check_compatible(index.manifest, settings, check_files=check_files)
        return cls(index)

    # -- what the index is ----------------------------------------------------------------------

    @property
    def manifest(self) -> Mapping[str, object]:
        return self.index.manifest

    @property
    def sources(self) -> list[dict[str, object]]:
        return self.index.sources

    @property
    def generation(self) -> str:
        path = self.index.path
        return path.name if path else str(self.index.manifest.get("created_at", ""))

    @property
    def size(self) -> int:
        return len(self.index.chunks)

    def latest_generation(self) -> str:
        return self.generation

    # -- searching ------------------------------------------------------------------------------

    def _ids(self, where: Where) -> np.ndarray | None:
        """Row numbers allowed by ``where`` (ascending), or ``None`` for all of them."""
        mask: np.ndarray | None = None

        def both(more: np.ndarray) -> None:
            nonlocal mask
            mask = more if mask is None else mask & more

        if where.region is not None:
            both(np.isin(self._region, [where.region, *where.also]))
        if where.year is not None:
            both(self._year != where.year if where.other_years else self._year == where.year)
        if where.plan is not None:
            both(self._plan if where.plan else ~self._plan)
        return None if mask is None else np.flatnonzero(mask)

    def dense(self, vector: np.ndarray, n: int, where: Where) -> dict[Key, float]:
        ids = self._ids(where)
        total = self.index.dense.ntotal
        count = total if ids is None else len(ids)
        if count == 0:
            return {}
        q = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        k = min(n, count)
        if ids is None or count == total:
            scores, found = self.index.dense.search(q, k)
        else:
            selector = faiss.IDSelectorBatch(ids.astype(np.int64))
            scores, found = self.index.dense.search(q, k, params=faiss.SearchParameters(sel=selector))  # type: ignore[call-arg]
        return {int(i): float(s) for i, s in zip(found[0], scores[0], strict=True) if i >= 0}

    def lexical(self, text: str, n: int, where: Where) -> dict[Key, float]:
        scores = self._scores(text)
        ids = self._ids(where)
        if ids is None:
            ids = np.arange(len(scores))
        if not len(ids):
            return {}
        sub = scores[ids]
        order = np.argsort(-np.round(sub, SCORE_DECIMALS), kind="stable")[:n]  # ties by row, on any CPU
        return {int(ids[j]): float(sub[j]) for j in order if sub[j] > 0}

    def chunks(self, keys: Sequence[Key]) -> list[Chunk]:
        return [self.index.chunks[int(key)] for key in keys]  # type: ignore[call-overload]

    @cached_property
    def _first(self) -> list[Chunk]:
        first: dict[str, Chunk] = {}
        for chunk in self.index.chunks:
            first.setdefault(chunk.source, chunk)
        return list(first.values())

    def first_chunks(self) -> list[Chunk]:
        return self._first

    def covered_years(self) -> dict[str, set[int]]:
        return covered_years(self.index.chunks)

    def close(self) -> None:
        pass


def in_process_index(store: Store) -> Index:
    """The :class:`Index` of a local store; other stores keep theirs out of this process."""
    if not isinstance(store, LocalStore):
        raise AttributeError(f"a {store.kind} store has no in-process index")
    return store.index


# --- writing -------------------------------------------------------------------------------


def replace(settings: Settings, chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, object]) -> LocalStore:
    index = Index(chunks, build_dense(vectors), LexicalIndex.build([c.index_text for c in chunks]), manifest)
    save_index(index, settings.index_dir)
    return LocalStore(index)


def update(
    settings: Settings, chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, object], remove: Sequence[str] = ()
) -> LocalStore:
    """A new generation: the live one's chunks (vectors read back from FAISS) without the removed and
    re-added reports, plus the new ones (``manifest`` describes these; its sources are added)."""
    try:
        old: Index | None = load_index(settings.index_dir)
    except IndexNotFoundError:
        old = None
    added = list(manifest["sources"])  # type: ignore[call-overload]
    if old is None:
        return replace(settings, chunks, vectors, manifest)
    check_compatible(old.manifest, settings, check_files=False)
    gone = set(remove) | {str(s["source"]) for s in added}
    kept_rows = [i for i, c in enumerate(old.chunks) if c.source not in gone]
    kept_sources = [s for s in old.sources if s["source"] not in gone]
    if kept_rows:
        kept_vectors = old.dense.reconstruct_batch(np.asarray(kept_rows, dtype=np.int64)).astype(np.float32)
        vectors = np.concatenate([kept_vectors, vectors.astype(np.float32).reshape(-1, kept_vectors.shape[1])])
    merged = [old.chunks[i] for i in kept_rows] + chunks
    return replace(settings, merged, vectors, {**manifest, "sources": kept_sources + added, "chunks": len(merged)})
