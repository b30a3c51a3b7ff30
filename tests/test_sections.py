from __future__ import annotations

from pathlib import Path

import pytest

from rag.reading.documents import load_report
from rag.reading.headings import embedded_heading, glossary_term, heading_rank, period_of
from rag.reading.sections import split_sections


@pytest.mark.parametrize(
    ("text", "rank"),
    [
        ("2023年政府工作回顾", 0),
        ("二、2024年主要任务", 0),
        ("2025年目标任务和主要工作", 0),
        ("一、坚持质效优先，经济运行回升向好", 1),
        ("（三）坚定不移推进改革开放", 2),
        ("(一)坚持党的领导，强化政治担当", 2),
        ("1.加快建设", 3),
        ("(2)推进改革", 4),
        ("过去一年，全市上下坚持", None),
        ("2023年，我们坚持稳中求进。", None),
    ],
)
def test_heading_rank(text: str, rank: int | None):
    assert heading_rank(text) == rank


def test_periods():
    assert period_of("2023年政府工作回顾") == ("review", 2023)
    assert period_of("一、2023年工作总结") == ("review", 2023)
    assert period_of("2020年工作安排") == ("plan", 2020)
    assert period_of("二、2023年主要任务") == ("plan", 2023)


def test_embedded_heading_and_glossary_term():
    assert embedded_heading("一、坚持质效优先，经济运行回升向好。工业经济稳中有进。") == "一、坚持质效优先，经济运行回升向好"
    assert glossary_term("1.P4“五大行动”：指党建引领共促行动") == "“五大行动”"


def sections_of(seeds_dir: Path, name: str):
    return split_sections(load_report(seeds_dir / name))


def top_headings(sections) -> list[str]:
    seen: list[str] = []
    for s in sections:
        if len(s.path) >= 2 and s.path[1] not in seen:
            seen.append(s.path[1])
    return seen


def test_taicang_2025_continuation_page(seeds_dir: Path):
    sections = sections_of(seeds_dir, "000_034bf6dae47362c9.txt")
    assert sections[0].period == "review" and sections[0].year == 2024
    assert "区域协同持续深化" in sections[0].text
    plan = [s for s in sections if s.period == "plan"]
    assert {s.year for s in plan} == {2025}
    heads = top_headings(plan)
    assert [h[:2] for h in heads[:6]] == ["一、", "二、", "三、", "四、", "五、", "六、"]
    assert "加强政府自身建设" in heads
    assert any(s.path[-1].startswith("(四)坚持廉洁从政") for s in plan)


def test_taicang_2024_review_plan_and_glossary(seeds_dir: Path):
    sections = sections_of(seeds_dir, "001_b45d8ecc868d26b7.txt")
    review = [s for s in sections if s.period == "review"]
    plan = [s for s in sections if s.period == "plan"]
    glossary = [s for s in sections if s.period == "glossary"]
    assert {s.year for s in review} == {2023} and {s.year for s in plan} == {2024}
    assert [h[:2] for h in top_headings(review)] == ["一、", "二、", "三、", "四、", "五、"]
    assert top_headings(review)[0] == "一、坚持质效优先，经济运行回升向好"
    assert len(top_headings(plan)) == 8
    assert len(glossary) == 13
    assert glossary[0].path[-1] == "“五大行动”" and glossary[0].year is None
    assert glossary[0].text.startswith("1.P4")
    assert "189.4亿元" in review[0].text


def test_suzhou_2023_numbered_periods_and_subsections(seeds_dir: Path):
    sections = sections_of(seeds_dir, "002_d1626c153a2d6c28.txt")
    assert {(s.period, s.year) for s in sections} == {("preamble", 2023), ("review", 2022), ("plan", 2023)}
    review = [s.path[-1] for s in sections if s.period == "review" and len(s.path) == 2]
    plan = [s.path[-1] for s in sections if s.period == "plan" and len(s.path) == 2]
    assert len(review) == 7 and review[0] == "（一）全力应对疫情稳住大盘"
    assert len(plan) == 10 and plan[-1].startswith("（十）聚焦社会治理")


def test_yushan_2020_markdown_with_inconsistent_levels(seeds_dir: Path):
    sections = sections_of(seeds_dir, "003_55331ebdb0be2b0e.txt")
    review = [s for s in sections if s.period == "review"]
    plan = [s for s in sections if s.period == "plan"]
    assert review[0].path == ["2019年工作回顾"] and review[0].year == 2019
    assert [h[:2] for h in top_headings(review)] == ["一、", "二、", "三、", "四、"]
    assert [h[:2] for h in top_headings(plan)] == ["一、", "二、", "三、", "四、", "五、"]
    assert {s.year for s in plan} == {2020}
    # bold lead phrases become the deepest heading level
    assert any(s.path[-1] == "永葆公心，提升政府效能" for s in plan)


def test_xiangcheng_2024(seeds_dir: Path):
    sections = sections_of(seeds_dir, "004_f99c609a9d7be82b.txt")
    review = [s for s in sections if s.period == "review"]
    plan = [s for s in sections if s.period == "plan"]
    assert review[0].path == ["一、2023年工作总结"] and review[0].year == 2023
    assert plan[0].path == ["二、2024年主要任务"] and plan[0].year == 2024
    assert [h[:3] for h in top_headings(plan)] == ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"]


def test_sections_are_verbatim_parts_of_the_report(seeds_dir: Path):
    for path in sorted(seeds_dir.glob("*.txt")):
        report = load_report(path)
        for section in split_sections(report):
            assert section.text in report.text
