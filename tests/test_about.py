"""Questions about the reports themselves (which, how many, date, speaker, title), answered from metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.about import (
    about_kind,
    answer_about_reports,
    format_report,
    is_about_reports,
    regions_of,
)
from rag.reading.chunking import Chunk
from rag.reading.documents import load_reports
from rag.retrieval.query import RegionName

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def source(name: str, region: str | None, year: int | None, **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "doc_id": name.removesuffix(".txt"),
        "source": name,
        "region": region,
        "parent_region": None,
        "year": year,
        "date": None,
        "speaker": None,
        "title": f"{region}{year}年政府工作报告" if region and year else None,
        "sha256": "0" * 64,
        "path": f"seeds/{name}",
        "chunks": 2,
    }
    entry.update(extra)
    return entry


def chunks_of(entry: dict[str, object], n: int = 2) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=f"{entry['doc_id']}#{i}",
            doc_id=str(entry["doc_id"]),
            source=str(entry["source"]),
            region=entry["region"],  # type: ignore[arg-type]
            parent_region=entry["parent_region"],  # type: ignore[arg-type]
            report_year=entry["year"],  # type: ignore[arg-type]
            report_title=entry["title"],  # type: ignore[arg-type]
            year=None,
            period="review",
            section="",
            start=i * 100,
            text=f"第{i}段",
        )
        for i in range(n)
    ]


SOURCES = [
    source("a.txt", "太仓市", 2025, parent_region="苏州市"),
    source("b.txt", "太仓市", 2024, parent_region="苏州市", date="2024-01-09", speaker="市长徐华东"),
    source("c.txt", "苏州市", 2023, date="2023-01-07", speaker="市长吴庆文"),
    source("d.txt", "玉山镇", 2020, parent_region="昆山市", date="2020-01-09", speaker="镇长张建文"),
    source("e.txt", "相城区", 2024, parent_region="苏州市", date="2024-01-08", speaker="区长张伟"),
]
# chunks in index order, deliberately not the order the answer lists the reports in
CHUNKS = [c for s in reversed(SOURCES) for c in chunks_of(s)]
REGIONS = regions_of(SOURCES)


def ask(question: str) -> tuple[str, list[Chunk]]:
    result = answer_about_reports(question, SOURCES, CHUNKS, REGIONS)
    assert result is not None, question
    return result


# --- recognising the questions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("你们有哪些报告？", "list"),
        ("收录了哪些政府工作报告", "list"),
        ("有没有苏州2023年的报告", "list"),
        ("有苏州2023年的报告吗？", "list"),
        ("收录了哪些地区", "list"),
        ("一共有几份报告", "count"),
        ("太仓有多少个政府工作报告？", "count"),
        ("太仓的报告是哪天作的？", "date"),
        ("太仓的报告是什么时候发布的？", "date"),
        ("相城区2024年政府工作报告是谁作的？", "speaker"),
        ("作报告的是谁", "speaker"),
        ("玉山镇的报告标题是什么", "title"),
        ("太仓的报告是哪一年的？", "year"),
    ],
)
def test_recognises_questions_about_the_reports(question: str, kind: str):
    assert is_about_reports(question)
    assert about_kind(question) == kind


@pytest.mark.parametrize(
    "question",
    [
        "报告中提到的2023年GDP是多少",
        "政府工作报告里说的六个不发生是什么",
        "2023年太仓市一般公共预算收入是多少？",
        "2024年太仓市政府工作报告提出了哪些目标",
        "相城区有哪些重点项目",
        "什么是政府工作报告",
        "太仓的地铁什么时候通车",
        "太仓报告什么时候实现碳达峰",
        "谁是太仓市长",
        "报告表扬了谁",
        "有没有关于人工智能的报告",
        "哪份报告提到了人工智能",
        "太仓2024年报告第三部分的标题",
        "报告的主要内容有哪些",
        "",
        "有哪些报告" * 20,  # too long to be a question about the collection
    ],
)
def test_content_questions_are_not_about_the_reports(question: str):
    assert not is_about_reports(question)
    assert answer_about_reports(question, SOURCES, CHUNKS, REGIONS) is None


# --- answering -------------------------------------------------------------------------------


def test_format_report_uses_what_metadata_exists():
    assert format_report(SOURCES[1]) == "太仓市2024年政府工作报告（2024年1月9日，市长徐华东作）"
    assert format_report(SOURCES[0]) == "太仓市2025年政府工作报告"
    assert format_report(source("x.txt", "太仓市", 2024, title="政府工作报告")) == "太仓市政府工作报告（2024年）"
    assert format_report(source("x.txt", None, None)) == "x.txt"


def test_lists_every_report_citing_each_by_its_first_chunk():
    text, cited = ask("你们有哪些报告？")
    assert text.startswith("目前收录了5份政府工作报告")
    assert "太仓市2024年政府工作报告（2024年1月9日，市长徐华东作）[2]" in text
    assert "相城区2024年政府工作报告（2024年1月8日，区长张伟作）[5]" in text
    assert [c.source for c in cited] == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
    assert all(c.chunk_id.endswith("#0") for c in cited)
    for n in range(1, 6):
        assert f"[{n}]" in text


def test_counts_reports():
    text, cited = ask("一共有几份报告")
    assert "共收录5份" in text and "4个地区" in text
    assert len(cited) == 5
    text, cited = ask("太仓有几份报告？")
    assert "2份太仓市" in text and "苏州市" not in text
    assert [c.source for c in cited] == ["a.txt", "b.txt"]


def test_date_of_a_region_s_reports_by_its_alias():
    text, cited = ask("太仓的报告是哪天作的？")
    assert "太仓市2024年政府工作报告作于2024年1月9日" in text
    assert "太仓市2025年政府工作报告未注明报告日期" in text
    assert {c.source for c in cited} == {"a.txt", "b.txt"}
    assert "相城区" not in text


def test_speaker_of_one_report():
    text, cited = ask("相城区2024年政府工作报告是谁作的？")
    assert text == "相城区2024年政府工作报告由区长张伟作[1]。"
    assert [c.chunk_id for c in cited] == ["e#0"]


def test_title():
    text, cited = ask("玉山镇的报告标题是什么")
    assert "《玉山镇2020年政府工作报告》[1]" in text
    assert [c.source for c in cited] == ["d.txt"]


def test_existing_report():
    text, cited = ask("有没有苏州2023年的报告")
    assert text.startswith("有，")
    assert "苏州市2023年政府工作报告（2023年1月7日，市长吴庆文作）[1]" in text
    assert "相城区" not in text and "太仓" not in text
    assert [c.source for c in cited] == ["c.txt"]


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("有没有太仓2023年的报告", "未收录太仓市2023年的政府工作报告。"),
        ("有2019年的报告吗", "未收录2019年的政府工作报告。"),
        ("有南京的报告吗", "未收录南京的政府工作报告。"),
    ],
)
def test_missing_report_says_so_and_lists_what_there_is(question: str, missing: str):
    text, cited = ask(question)
    assert text.startswith(missing)
    assert "目前收录的有：" in text
    assert "相城区2024年政府工作报告" in text and "玉山镇2020年政府工作报告" in text
    assert cited == []


def test_reports_without_chunks_or_metadata():
    sources = [source("x.txt", None, None), source("y.txt", "太仓市", 2024)]
    text, cited = answer_about_reports("有哪些报告", sources, chunks_of(sources[1]), [])  # type: ignore[misc]
    assert "太仓市2024年政府工作报告[1]" in text
    assert "x.txt" in text and "x.txt[" not in text  # no chunk of it: listed, not cited
    assert [c.source for c in cited] == ["y.txt"]
    assert answer_about_reports("有哪些报告", [], [], []) == ("目前尚未收录任何政府工作报告。", [])


def test_regions_of_sources():
    assert regions_of(SOURCES) == [
        RegionName("太仓市", "苏州市"),
        RegionName("苏州市"),
        RegionName("玉山镇", "昆山市"),
        RegionName("相城区", "苏州市"),
    ]


def test_real_seeds_metadata_lists_all_five_reports():
    """The seeds as ingest sees them (manifest overrides applied by load_reports)."""
    reports = load_reports([SEEDS])
    sources = [{**r.metadata(), "chunks": 1} for r in reports]
    chunks = [
        Chunk(f"{r.doc_id}#0", r.doc_id, r.source, r.region, r.parent_region, r.year, r.title, r.year, "review", "", 0, "…")
        for r in reports
    ]
    result = answer_about_reports("有哪些报告", sources, chunks, regions_of(sources))
    assert result is not None
    text, cited = result
    assert len(reports) == 5 and len(cited) == 5
    for region in ("太仓市", "苏州市", "玉山镇", "相城区"):
        assert region in text
    for report in reports:
        assert report.title and report.title in text
    assert "相城区2024年政府工作报告（2024年1月8日，区长张伟作）" in text
    # manifest.json supplies 相城区's parent: 「苏州相城」 finds it
    text, _ = answer_about_reports("苏州相城的报告是谁作的", sources, chunks, regions_of(sources)) or ("", [])
    assert text.startswith("相城区2024年政府工作报告由区长张伟作[1]")


def test_a_question_longer_than_max_chars_is_a_content_question():
    question = "收录了哪些报告？"
    assert is_about_reports(question) and not is_about_reports(question, max_chars=len(question) - 1)
    assert about_kind(question, max_chars=len(question)) == about_kind(question)
