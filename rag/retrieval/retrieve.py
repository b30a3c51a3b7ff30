"""Hybrid retrieval: dense + BM25 from a store (:mod:`rag.indexing.stores`), fused here, with region and year
as first-class filters.

Order of results: the region the question names (or the explicit filter) is a hard filter. Within
it, passages from sections about the asked year come first (plan sections first when the question
asks for targets), then the rest; inside each tier, the fused dense+BM25 ranking decides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from typing import Literal

import numpy as np

from rag.core.config import Settings
from rag.core.errors import QueryError
from rag.indexing.embedding import Embedder
from rag.indexing.index import Index
from rag.indexing.stores import open_store
from rag.indexing.stores.base import Key, Store, Where
from rag.indexing.stores.local import LocalStore, in_process_index
from rag.reading.chunking import Chunk
from rag.retrieval.everyday import with_report_terms
from rag.retrieval.query import QueryIntent, RegionName, asks_plan_vs_actual, find_regions, parse_query, year_parts
from rag.text.gazetteer import same_place

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


def rrf(rankings: Sequence[Sequence[Key]], k: int) -> dict[Key, float]:
    """Reciprocal-rank fusion: sum of 1 / (k + rank) over the rankings a candidate appears in."""
    scores: dict[Key, float] = {}
    for ranking in rankings:
        for rank, idx in enumerate(ranking, start=1):
            scores[idx] = scores.get(idx, 0.0) + 1.0 / (k + rank)
    return scores


def weighted(dense: dict[Key, float], lexical: dict[Key, float], dense_weight: float) -> dict[Key, float]:
    """Min-max normalised scores, combined linearly (a candidate missing from one list gets 0 there)."""

    def norm(scores: dict[Key, float]) -> dict[Key, float]:
        if not scores:
            return {}
        lo, hi = min(scores.values()), max(scores.values())
        span = hi - lo or 1.0
        return {i: (s - lo) / span for i, s in scores.items()}

    d, b = norm(dense), norm(lexical)
    return {i: dense_weight * d.get(i, 0.0) + (1 - dense_weight) * b.get(i, 0.0) for i in set(d) | set(b)}


class Retriever:
    """Searches one store generation with the embedder it was built with."""

    def __init__(self, store: Store | Index, embedder: Embedder, settings: Settings) -> None:
        self.store: Store = LocalStore(store) if isinstance(store, Index) else store
        self.embedder = embedder
        self.settings = settings
        self.regions = self._regions(self.store.sources)
        self.reference_years = self._reference_years(self.store.sources)
        #: Each region's names: itself and the other names of the same place (:func:`same_place`).
        self.names = {
            r.name: tuple(o.name for o in self.regions if same_place(r.name, o.name, r.parent, o.parent)) for r in self.regions
        }

    @property
    def index(self) -> Index:
        """The in-process index of a local store (tests and benchmarks look inside it)."""
        return in_process_index(self.store)

    @staticmethod
    def _regions(sources: list[dict[str, object]]) -> list[RegionName]:
        """The indexed regions, each with the parent any of its reports names, else the one a report of
        the same place under its other name names (清苑县's reports that do not name 保定市)."""
        parents: dict[str, str | None] = {}
        for source in sources:
            if source.get("region"):
                name = str(source["region"])
                parents[name] = parents.get(name) or source.get("parent_region")  # type: ignore[assignment]
        for name, parent in parents.items():
            if parent is None:
                parents[name] = next((p for o, p in parents.items() if p and same_place(name, o, None, p)), None)
        return [RegionName(name, parent) for name, parent in parents.items()]

    def same_place(self, region: str) -> tuple[str, ...]:
        """The names the index knows ``region`` under: itself and its other names (a county renamed a
        district: 徐水县, 徐水区)."""
        return self.names.get(region, (region,))

    def covered_years(self) -> dict[str, set[int]]:
        """The store's years per region, each region's with those of its other names."""
        years = self.store.covered_years()
        return {name: set().union(*(years.get(n, set()) for n in self.same_place(name))) for name in years}

    @staticmethod
    def _reference_years(sources: list[dict[str, object]]) -> dict[str, int]:
        """Newest report year per region, and overall under the key ``""``."""
        years: dict[str, int] = {}
        for source in sources:
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

        wording = with_report_terms(intent.text)  # everyday words also look for the report's term
        qvec = self.embedder.embed_query(wording) if mode != "bm25" else None
        text = wording if mode != "dense" else None  # every side is matched by the whole question's terms
        parts = self._compared(query, intent) if use_metadata and region is None and year is None else [intent]
        if len(parts) == 1:
            ranked = self._ranked(intent, qvec, text, mode, k)
        else:  # a comparison: each side's best passages, taken in turn
            sides = [self._ranked(part, qvec, text, mode, k) for part in parts]
            ranked = list(dict.fromkeys(r for group in zip_longest(*sides) for r in group if r is not None))
        ranked = ranked[:k]
        chunks = self.store.chunks([key for key, _ in ranked])
        hits = [Hit(chunk, score, rank) for rank, (chunk, (_, score)) in enumerate(zip(chunks, ranked, strict=True), 1)]
        return SearchResult(query, intent, hits, parts)

    def search_sides(self, query: str, sides: Sequence[QueryIntent], *, k: int, exact_year: bool = False) -> list[list[Chunk]]:
        """For each side (a place and year, as :meth:`search` finds them in a comparison, or one year of
        a series), its best ``k`` passages for ``query``: that year's first, then — unless
        ``exact_year`` — the other years' (a side's figure may be restated by a later report). The
        query is embedded once."""
        if k < 1 or k > 100:
            raise QueryError(f"k must be between 1 and 100, got {k}")
        wording = with_report_terms(query)
        qvec = self.embedder.embed_query(wording)
        found: list[list[Chunk]] = []
        for side in sides:
            if exact_year and side.year is not None:
                ranked = self._rank(self._where(side.region, side.year), qvec, wording, "hybrid")[:k]
            else:
                ranked = self._ranked(side, qvec, wording, "hybrid", k)
            found.append(self.store.chunks([key for key, _ in ranked]))
        return found

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
        if intent.year is not None and asks_plan_vs_actual(query):  # the year's result, then its target
            return [replace(intent, period=None), replace(intent, period="plan")]
        return [intent]

    def _ranked(
        self, intent: QueryIntent, qvec: np.ndarray | None, text: str | None, mode: Mode, k: int
    ) -> list[tuple[Key, float]]:
        """The best ``k`` (chunk key, score) pairs for ``intent``: tier by tier, fused within a tier."""
        ranked: list[tuple[Key, float]] = []
        for where in self._tiers(intent):
            ranked.extend(self._rank(where, qvec, text, mode))
            if len(ranked) >= k:
                break
        return ranked[:k]

    def _where(
        self, region: str | None, year: int | None = None, *, other_years: bool = False, plan: bool | None = None
    ) -> Where:
        """A tier of ``region`` under every name of it (:meth:`same_place`)."""
        also = tuple(n for n in self.same_place(region) if n != region) if region else ()
        return Where(region, year, other_years, plan, also)

    def _tiers(self, intent: QueryIntent) -> list[Where]:
        """Candidate groups in priority order, all within the asked region: the asked year (its plan
        sections first when the question asks for targets, its review first otherwise), then the rest."""
        region = intent.region
        wants_plan = intent.period == "plan"
        if intent.year is not None:
            return [
                self._where(region, intent.year, plan=wants_plan),
                self._where(region, intent.year, plan=not wants_plan),
                self._where(region, intent.year, other_years=True),
            ]
        if wants_plan:
            return [self._where(region, plan=True), self._where(region, plan=False)]
        return [self._where(region)]

    def _rank(self, where: Where, qvec: np.ndarray | None, text: str | None, mode: Mode) -> list[tuple[Key, float]]:
        """Fused ranking of the candidates under ``where`` (best first)."""
        n, decimals = self.settings.candidates, self.settings.score_decimals
        # each score at the fixed precision before it is fused: the fused scores are then the same
        # floats on every CPU unless a score crosses a rounding boundary
        dense = rounded(self.store.dense(qvec, n, where), decimals) if qvec is not None else {}
        lexical = rounded(self.store.lexical(text, n, where), decimals) if text is not None else {}
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = lexical
        elif self.settings.fusion == "weighted":
            fused = weighted(dense, lexical, self.settings.dense_weight)
        else:
            fused = rrf([[key for key, _ in ranking(s, decimals)] for s in (dense, lexical)], self.settings.rrf_k)
        return ranking(fused, decimals)


def rounded(scores: dict[Key, float], decimals: int) -> dict[Key, float]:
    """``scores`` at ``decimals`` places."""
    return {key: round(score, decimals) for key, score in scores.items()}


def ranking(scores: dict[Key, float], decimals: int) -> list[tuple[Key, float]]:
    """``scores`` best first, compared at ``decimals`` places and then by key (:func:`_order`): scores
    that differ only in float rounding are a tie, and a tie goes the same way on every CPU."""
    return sorted(scores.items(), key=lambda kv: (-round(kv[1], decimals), _order(kv[0])))


def _order(key: Key) -> tuple[int, str]:
    """Ties in score go by row number (local store) or chunk id (Milvus)."""
    return (int(key), "") if isinstance(key, int) else (0, str(key))


def open_retriever(settings: Settings, *, check_files: bool = True, embedder: Embedder | None = None) -> Retriever:
    """Open the configured store (checked against the settings) and attach the embedder."""
    from rag.indexing.embedding import load_embedder

    store = open_store(settings, check_files=check_files)
    return Retriever(store, embedder or load_embedder(settings), settings)
