"""Where the indexed passages live: one small interface, two backends chosen by ``RAG_STORE``.

- ``local`` (:mod:`rag.indexing.stores.local`): the FAISS + bm25s files of :mod:`rag.indexing.index`, in the process;
- ``milvus`` (:mod:`rag.indexing.stores.milvus`): a Milvus collection (Milvus Lite in a file, or a Milvus
  server or cluster by URI) with the dense vectors, a BM25 function over a jieba analyzer and the
  scalar fields retrieval filters on, shared by every service replica.

Retrieval (:mod:`rag.retrieval.retrieve`) asks a store for the dense and the BM25 top-n under a :class:`~rag.indexing.stores.base.Where`
and fuses them itself, so ranking, fusion and the region/year tiers are the same on both. Writing goes
through :func:`replace` (a whole new generation, made live atomically) and :func:`update` (reports
added or removed in place, a new generation number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rag.core.config import Settings
from rag.indexing.stores.base import Store
from rag.reading.chunking import Chunk


def location(settings: Settings) -> str:
    """Where the configured store is, for messages: 「index/」 or 「govrag in http://host:19530」."""
    if settings.store == "milvus":
        return f"Milvus collection {settings.milvus_collection!r} at {settings.milvus_uri}"
    return f"{settings.index_dir}/"


def open_store(settings: Settings, *, check_files: bool = True) -> Store:
    """The live generation of the configured store, checked against the settings (and, for the local
    store with ``check_files``, against the report files it was built from)."""
    if settings.store == "milvus":
        from rag.indexing.stores.milvus import MilvusStore

        return MilvusStore.open(settings)
    from rag.indexing.stores.local import LocalStore

    return LocalStore.open(settings, check_files=check_files)


def live_manifest(settings: Settings) -> Mapping[str, object]:
    """The live generation's manifest (its reports under ``sources``), checked against the settings,
    without loading the index itself; :class:`rag.core.errors.IndexNotFoundError` when there is none."""
    if settings.store == "milvus":
        from rag.indexing.stores.milvus import MilvusStore

        store = MilvusStore.open(settings)
        store.close()
        return store.manifest
    from rag.indexing.index import check_compatible, load_manifest

    manifest = load_manifest(settings.index_dir)
    check_compatible(manifest, settings, check_files=False)
    return manifest


def replace(settings: Settings, chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, object]) -> Store:
    """Make ``chunks`` (with their ``vectors``) the whole index, as a new generation switched to
    atomically: a failure leaves the previous generation live."""
    if settings.store == "milvus":
        from rag.indexing.stores import milvus

        return milvus.replace(settings, chunks, vectors, manifest)
    from rag.indexing.stores import local

    return local.replace(settings, chunks, vectors, manifest)


def update(
    settings: Settings, chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, object], remove: Sequence[str] = ()
) -> Store:
    """Add the reports of ``manifest["sources"]`` (with their ``chunks`` and ``vectors``) and drop the
    reports named in ``remove`` (file names; a report added again is replaced); the rest is kept. With
    no index yet, this is :func:`replace`."""
    if settings.store == "milvus":
        from rag.indexing.stores import milvus

        return milvus.update(settings, chunks, vectors, manifest, remove)
    from rag.indexing.stores import local

    return local.update(settings, chunks, vectors, manifest, remove)
