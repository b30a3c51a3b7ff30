"""The library questions (``eval/library/questions.jsonl``): the frozen test split, verbatim figures.

Stdlib + pytest only. Figures and evidence are matched against the raw report text with all whitespace
removed from both sides (the scraped reports put spaces inside numbers, e.g. ``36.5 9亿元``).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from eval.library import FROZEN, KINDS, REPORTS, WORDINGS, frozen_hash, is_test_place, load_questions, places

ROWS = load_questions()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def stated(row: dict) -> list[dict]:
    """The figures a question's answer rests on: its sides, its rows, or itself."""
    if row["kind"] == "compare":
        return row["sides"]
    if row["kind"] == "series":
        return row["rows"]
    return [row] if row["answerable"] else []


def test_the_test_split_is_frozen() -> None:
    assert frozen_hash(ROWS) == FROZEN.read_text(encoding="utf-8").strip(), (
        "the test split of eval/library/questions.jsonl changed: test questions are frozen"
    )


def test_ids_are_unique_and_kinds_known() -> None:
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids))
    assert {r["kind"] for r in ROWS} == set(KINDS)
    assert {r["wording"] for r in ROWS} == set(WORDINGS)


def test_the_split_is_by_place() -> None:
    for row in ROWS:
        assert row["split"] == ("test" if any(is_test_place(p) for p in places(row)) else "dev"), row["id"]


@pytest.mark.parametrize("split", ["dev", "test"])
def test_every_kind_and_wording_in_each_split(split: str) -> None:
    rows = [r for r in ROWS if r["split"] == split]
    assert set(Counter(r["kind"] for r in rows)) == set(KINDS)
    assert set(Counter(r["wording"] for r in rows)) == set(WORDINGS)


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_figures_and_evidence_are_verbatim(row: dict) -> None:
    if not row["answerable"]:
        assert row["kind"] in ("unanswerable", "level") and not row["answer"]
        return
    figures = stated(row)
    assert figures
    for figure in figures:
        body = squash((REPORTS / figure["source"]).read_text(encoding="utf-8"))
        assert squash(figure["evidence"]) in body, (figure["source"], figure["evidence"])
        assert squash(figure["answer"]) in squash(figure["evidence"]), (figure["answer"], figure["evidence"])
    if row["kind"] == "compare":
        assert len(figures) == 2 and row["direction"] in ("first", "second", "equal")
    if row["kind"] == "series":
        years = [r["year"] for r in figures]
        assert years == sorted(set(years))
