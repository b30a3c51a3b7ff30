"""Retrieval metrics for one system over gold items: hit@1/3/5, MRR@10, nDCG@10 and recall@5 (the
share of a question's evidence strings found in the first five passages: both sides of a comparison).

A system is a function ``item -> [(source, text), …]`` (ranked passages); relevance is
:func:`eval.gold.is_relevant`. Items without evidence (unanswerable) are skipped.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from eval.gold import evidence_recall, is_relevant

Passages = Sequence[tuple[str | None, str]]
SearchFn = Callable[[dict], Passages]

DEPTH = 10
RECALL_AT = 5


class RetrievalEvaluator:
    def __init__(self, items: list[dict], ks: tuple[int, ...] = (1, 3, 5)) -> None:
        self.items = [item for item in items if item["evidence"]]
        self.ks = ks

    def __call__(self, search: SearchFn) -> dict:
        per_question = []
        for item in self.items:
            started = time.perf_counter()
            passages = search(item)[:DEPTH]
            ms = (time.perf_counter() - started) * 1000
            relevant = [is_relevant(item, source, text) for source, text in passages]
            recall = evidence_recall(item, passages[:RECALL_AT])
            per_question.append(
                {"id": item["id"], "type": item["type"], "relevant": relevant, "recall": recall, "ms": round(ms, 1)}
            )
        by_type: dict[str, list[dict]] = defaultdict(list)
        for row in per_question:
            by_type[row["type"]].append(row)
        return {
            "metrics": self._metrics(per_question),
            "per_type": {kind: self._metrics(rows) for kind, rows in sorted(by_type.items())},
            "questions": [
                {"id": r["id"], "rank": r["relevant"].index(True) + 1 if any(r["relevant"]) else None, "ms": r["ms"]}
                for r in per_question
            ],
        }

    def _metrics(self, rows: list[dict]) -> dict[str, float]:
        n = len(rows) or 1
        out = {f"hit@{k}": sum(any(r["relevant"][:k]) for r in rows) / n for k in self.ks}
        out["mrr@10"] = sum(1 / (r["relevant"].index(True) + 1) for r in rows if any(r["relevant"])) / n
        out["ndcg@10"] = sum(ndcg(r["relevant"]) for r in rows) / n
        out[f"recall@{RECALL_AT}"] = sum(r["recall"] for r in rows) / n
        out["questions"] = len(rows)
        return out


def ndcg(relevant: list[bool], k: int = DEPTH) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts every relevant passage found first (at least one)."""
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(relevant[:k]) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(max(1, min(k, sum(relevant[:k])))))
    return dcg / ideal
