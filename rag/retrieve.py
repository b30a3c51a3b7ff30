"""Hybrid retrieval: dense (FAISS) + BM25, fused, with region and year as first-class filters.

Order of results: the region the question names (or the explicit filter) is a hard filter. Within
it, passages from sections about the asked year come first (plan sections first when the question
asks for targets), then the rest; inside each tier, the fused dense+BM25 ranking decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from typing import Literal

import faiss
import numpy as np

from rag.chunking import Chunk
from rag.config import Settings
from rag.embedding import Embedder
from rag.errors import QueryError
from rag.index import Index
from rag.query import QueryIntent, RegionName, find_regions, parse_query, year_parts

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int

    def to_dict(self) -> dict[str, object]:
        c = self.chunk
        return {
            "chunk_id": c.chunk_id,
            "source": c.source,
            "region": c.region,
            "year": c.year,
            "report_year": c.report_year,
            "period": c.period,
            "section": c.section,
            "text": c.text,
            "score": round(float(self.score), 6),
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    intent: QueryIntent
    hits: list[Hit]
    #: The sides of a comparison (one intent per region or year it names); just ``[intent]`` otherwise.
    sides: list[QueryIntent] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "query": self.query,
            "region": self.intent.region,
            "year": self.intent.year,
            "hits": [h.to_dict() for h in self.hits],
        }


def rrf(rankings: Sequence[Sequence[int]], k: int) -> dict[int, float]:
    """Reciprocal-rank fusion: sum of 1 / (k + rank) over the rankings a candidate appears in."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, idx in enumerate(ranking, start=1):
            scores[idx] = scores.get(idx, 0.0) + 1.0 / (k + rank)
    return scores


def weighted(dense: dict[int, float], lexical: dict[int, float], dense_weight: float) -> dict[int, float]:
    """Min-max normalised scores, combined linearly (a candidate missing from one list gets 0 there)."""

    def norm(scores: dict[int, float]) -> dict[int, float]:
        if not scores:
            return {}
        lo, hi = min(scores.values()), max(scores.values())
        span = hi - lo or 1.0
        return {i: (s - lo) / span for i, s in scores.items()}

    d, b = norm(dense), norm(lexical)
    return {i: dense_weight * d.get(i, 0.0) + (1 - dense_weight) * b.get(i, 0.0) for i in set(d) | set(b)}


class Retriever:
    """Searches one loaded :class:`Index` with the embedder it was built with."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.regions = self._regions(index)
        self.reference_years = self._reference_years(index)

    @staticmethod
    def _regions(index: Index) -> list[RegionName]:
        seen: dict[str, RegionName] = {}
        for source in index.sources:
            if source.get("region"):
                name = str(source["region"])
                seen[name] = RegionName(name, source.get("parent_region"))  # type: ignore[arg-type]
        return list(seen.values())

    @staticmethod
    def _reference_years(index: Index) -> dict[str, int]:
        """Newest report year per region, and overall under the key ``""``."""
        years: dict[str, int] = {}
        for source in index.sources:
            year = source.get("year")
            if isinstance(year, int):
                for key in (str(source.get("region") or ""), ""):
                    years[key] = max(years.get(key, year), year)
        return years

    # -- public API -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        region: str | None = None,
        year: int | None = None,
        mode: Mode = "hybrid",
        use_metadata: bool = True,
    ) -> SearchResult:
        """Top-``k`` passages for ``query``; explicit ``region``/``year`` override what the question says."""
        k = k or self.settings.top_k
        if k < 1 or k > 100:
            raise QueryError(f"k must be between 1 and 100, got {k}")
        known = {r.name for r in self.regions}
        if region is not None and region not in known:
            match = [r.name for r in self.regions if region in r.aliases]
            if not match:
                raise QueryError(f"unknown region {region!r}; the index has {', '.join(sorted(known))}")
            region = match[0]
        intent = parse_query(
            query, self.regions, reference_year=self.reference_years.get(""), reference_years=self.reference_years
        )
        if use_metadata:
            intent = replace(intent, region=region or intent.region, year=year or intent.year)
        else:
            intent = QueryIntent(intent.text, region, year, None)

        qvec = self.embedder.embed_query(intent.text) if mode != "bm25" else None
        bm25 = self.index.lexical.scores(intent.text) if mode != "dense" else None
        parts = self._compared(query, intent) if use_metadata and region is None and year is None else [intent]
        if len(parts) == 1:
            ranked = self._ranked(intent, qvec, bm25, mode, k)
        else:  # a comparison: each side's best passages, taken in turn
            sides = [self._ranked(part, qvec, bm25, mode, k) for part in parts]
            ranked = list(dict.fromkeys(r for group in zip_longest(*sides) for r in group if r is not None))
        chunks = self.index.chunks
        hits = [Hit(chunks[idx], score, rank) for rank, (idx, score) in enumerate(ranked[:k], 1)]
        return SearchResult(query, intent, hits, parts)

    # -- internals --------------------------------------------------------------------------

    def _compared(self, query: str, intent: QueryIntent) -> list[QueryIntent]:
        """The sides of a comparison: 「太仓和相城区…」 one intent per region, 「2024年…比2023年…」 one per
        year (a target when that part of the question asks for one); otherwise just ``intent``."""
        regions = find_regions(query, self.regions)
        if len(regions) >= 2:
            return [replace(intent, region=name) for name in regions]
        years = year_parts(query)
        if len(years) >= 2:  # each side carries its part of the question (what it asks of that year)
            return [replace(intent, text=part, year=y, period=period) for y, period, part in years]
        return [intent]

    def _ranked(
        self, intent: QueryIntent, qvec: np.ndarray | None, bm25: np.ndarray | None, mode: Mode, k: int
    ) -> list[tuple[int, float]]:
        """The best ``k`` (chunk index, score) pairs for ``intent``: tier by tier, fused within a tier."""
        chunks = self.index.chunks
        allowed = [i for i, c in enumerate(chunks) if intent.region is None or c.region == intent.region]
        ranked: list[tuple[int, float]] = []
        for tier in self._tiers(allowed, intent):
            ranked.extend(self._rank(tier, qvec, bm25, mode))
            if len(ranked) >= k:
                break
        return ranked[:k]

    def _tiers(self, allowed: list[int], intent: QueryIntent) -> list[list[int]]:
        """Candidate groups in priority order: the asked year (its plan sections first when the question
        asks for targets, its review first otherwise), then the rest."""
        chunks = self.index.chunks

        def split(ids: list[int], keep: Callable[[Chunk], bool]) -> tuple[list[int], list[int]]:
            yes = [i for i in ids if keep(chunks[i])]
            chosen = set(yes)
            return yes, [i for i in ids if i not in chosen]

        tiers: list[list[int]] = []
        rest = allowed
        wants_plan = intent.period == "plan"
        if intent.year is not None:
            same_year, rest = split(rest, lambda c: c.year == intent.year)
            tiers.extend(split(same_year, lambda c: (c.period == "plan") == wants_plan))
        elif wants_plan:
            plan, rest = split(rest, lambda c: c.period == "plan")
            tiers.append(plan)
        tiers.append(rest)
        return [t for t in tiers if t]

    def _rank(self, ids: list[int], qvec: np.ndarray | None, bm25: np.ndarray | None, mode: Mode) -> list[tuple[int, float]]:
        """Fused ranking of the candidates ``ids`` (best first)."""
        if not ids:
            return []
        n = self.settings.candidates
        dense = self._dense(ids, qvec, n) if qvec is not None else {}
        lexical: dict[int, float] = {}
        if bm25 is not None:
            sub = bm25[ids]
            order = np.argsort(-sub, kind="stable")[:n]
            lexical = {ids[j]: float(sub[j]) for j in order if sub[j] > 0}
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = lexical
        elif self.settings.fusion == "weighted":
            fused = weighted(dense, lexical, self.settings.dense_weight)
        else:
            by_score = lambda s: sorted(s, key=s.get, reverse=True)  # noqa: E731
            fused = rrf([by_score(dense), by_score(lexical)], self.settings.rrf_k)
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

    def _dense(self, ids: list[int], qvec: np.ndarray, n: int) -> dict[int, float]:
        q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
        k = min(n, len(ids))
        if len(ids) == self.index.dense.ntotal:
            scores, found = self.index.dense.search(q, k)
        else:
            selector = faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))
            scores, found = self.index.dense.search(q, k, params=faiss.SearchParameters(sel=selector))  # type: ignore[call-arg]
        return {int(i): float(s) for i, s in zip(found[0], scores[0], strict=True) if i >= 0}


def open_retriever(settings: Settings, *, check_files: bool = True) -> Retriever:
    """Load the index from ``settings.index_dir``, check it matches the settings, and attach the embedder."""
    from rag.embedding import load_embedder
    from rag.index import check_compatible, load_index

    index = load_index(settings.index_dir)
    check_compatible(index.manifest, settings, check_files=check_files)
    return Retriever(index, load_embedder(settings), settings)
