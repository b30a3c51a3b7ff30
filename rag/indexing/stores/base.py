"""What a store is (:class:`Store`), how a chunk is named in one (:data:`Key`) and what a retrieval tier asks
of it (:class:`Where`): the interface both backends (:mod:`rag.indexing.stores.local`,
:mod:`rag.indexing.stores.milvus`) implement and :mod:`rag.indexing.stores` opens."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.reading.chunking import Chunk

#: A chunk's handle in a store: the row number in the local index, the chunk id in Milvus.
Key = Hashable


@dataclass(frozen=True)
class Where:
    """The passages one retrieval tier may return: all of ``region`` (when given) and of its other names
    ``also`` (one place under its old and today's name: 清苑县, 清苑区); of ``year`` only, or with
    ``other_years`` of every year but it (passages of no year included); with ``plan`` only plan
    sections (True) or none (False)."""

    region: str | None = None
    year: int | None = None
    other_years: bool = False
    plan: bool | None = None
    also: tuple[str, ...] = ()


class Store(Protocol):
    """What retrieval and the service read from an index generation."""

    #: ``local`` or ``milvus``.
    kind: str

    @property
    def manifest(self) -> Mapping[str, object]:
        """Embedding model, chunking settings and the like (see :func:`rag.indexing.index.make_manifest`)."""

    @property
    def sources(self) -> list[dict[str, object]]:
        """One entry per indexed report: its metadata, file name, hash and chunk count."""

    @property
    def generation(self) -> str:
        """Names this state of the index: answer-cache keys carry it."""

    @property
    def size(self) -> int:
        """Number of chunks."""

    def dense(self, vector: np.ndarray, n: int, where: Where) -> dict[Key, float]:
        """The ``n`` best chunks under ``where`` by inner product with ``vector`` (normalised: cosine)."""

    def lexical(self, text: str, n: int, where: Where) -> dict[Key, float]:
        """The ``n`` best chunks under ``where`` by BM25 for ``text`` (only chunks that match a term)."""

    def chunks(self, keys: Sequence[Key]) -> list[Chunk]:
        """The chunks of ``keys``, in that order."""

    def first_chunks(self) -> list[Chunk]:
        """Each report's first chunk (cited by answers about the reports themselves)."""

    def covered_years(self) -> dict[str, set[int]]:
        """Per region, the years its passages speak about or were reported in."""

    def latest_generation(self) -> str:
        """The generation the store holds now (another process may have changed it since this view
        was opened); the same as :attr:`generation` for a store only this process writes."""

    def close(self) -> None:
        """Let go of connections and files."""
