"""Retrieval on our own questions, with the real embedding model over the five seed reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.core.errors import QueryError
from rag.text.normalize import squash

TAICANG_2025, TAICANG_2024 = "000_034bf6dae47362c9.txt", "001_b45d8ecc868d26b7.txt"
SUZHOU_2023, YUSHAN_2020, XIANGCHENG_2024 = (
    "002_d1626c153a2d6c28.txt",
    "003_55331ebdb0be2b0e.txt",
    "004_f99c609a9d7be82b.txt",
)

QUESTIONS_FILE = Path(__file__).resolve().parent.parent / "eval" / "retrieval_questions.jsonl"
# Our own questions: {question, source (report file), evidence (a verbatim piece of the answering passage)}
QUESTIONS = [json.loads(line) for line in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def rank_of(result, source: str, evidence: str) -> int | None:
    key = squash(evidence)
    for n, hit in enumerate(result.hits, start=1):
        if hit.chunk.source == source and key in squash(hit.chunk.text):
            return n
    return None


def test_there_are_at_least_a_dozen_questions():
    assert len(QUESTIONS) >= 12


@pytest.mark.parametrize("item", QUESTIONS, ids=[q["question"] for q in QUESTIONS])
def test_expected_passage_in_top_5(any_retriever, item: dict[str, str]):
    result = any_retriever.search(item["question"], k=5)
    assert rank_of(result, item["source"], item["evidence"]) is not None, [h.chunk.chunk_id for h in result.hits]


@pytest.mark.parametrize(
    ("question", "year", "source"),
    [
        ("2023年太仓市一般公共预算收入是多少？", 2023, TAICANG_2024),
        ("2024年太仓市城镇新增就业多少人？", 2024, TAICANG_2025),
        ("太仓去年新增就业多少人", 2024, TAICANG_2025),
        ("2024年太仓的主要预期目标", 2024, TAICANG_2024),
    ],
)
def test_named_year_comes_first(any_retriever, question: str, year: int, source: str):
    top = any_retriever.search(question, k=5).hits[0].chunk
    assert (top.year, top.source) == (year, source)


def test_region_in_question_filters(any_retriever):
    hits = any_retriever.search("相城区一般公共预算收入", k=10).hits
    assert hits and {h.chunk.region for h in hits} == {"相城区"}


def test_explicit_filters_override_the_question(any_retriever):
    hits = any_retriever.search("一般公共预算收入", k=5, region="玉山", year=2019).hits
    assert {h.chunk.region for h in hits} == {"玉山镇"}
    assert hits[0].chunk.year == 2019


def test_unknown_region_filter_is_an_error(any_retriever):
    with pytest.raises(QueryError, match="unknown region"):
        any_retriever.search("GDP", region="南京市")


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_returns_k_ranked_hits(any_retriever, mode: str):
    hits = any_retriever.search("高标准农田", k=7, mode=mode).hits
    assert len(hits) == 7
    assert [h.rank for h in hits] == list(range(1, 8))
    assert len({h.chunk.chunk_id for h in hits}) == 7


@pytest.mark.parametrize(
    ("question", "needed"),
    [
        # two regions: each side's figure, not only the region the search likes best
        ("2023年太仓和相城区的社会消费品零售总额哪个更高？", ["548.1亿元", "603亿元"]),
        ("2023年太仓和相城的一般公共预算收入分别是多少？谁更多？", ["189.4亿元", "155.2亿元"]),
        # two years, one of them a target (2023 built, 2024 planned; 2022 actual, 2023 target)
        ("相城区2024年计划建的高标准农田比2023年实际建成的多多少亩？", ["6100亩", "8000亩"]),
        ("苏州2022年新增就业人数和2023年的城镇新增就业目标比，哪个大？", ["新增就业21.6万人", "城镇新增就业20万人"]),
    ],
)
def test_comparisons_retrieve_both_sides(any_retriever, question: str, needed: list[str]):
    top = "".join(hit.chunk.text for hit in any_retriever.search(question, k=4).hits)
    assert all(figure in top for figure in needed), [f for f in needed if f not in top]
