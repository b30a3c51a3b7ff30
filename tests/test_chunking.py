from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.reading.chunking import chunk_report, chunk_reports
from rag.reading.documents import load_report, load_reports

SENTENCE_END = ("。", "！", "？", "；", "”", "：", "…", "）")


@pytest.fixture(scope="module")
def reports(seeds_dir: Path):
    return load_reports([seeds_dir])


@pytest.mark.parametrize("size", [200, 300, 500])
def test_chunks_end_on_sentence_boundaries(reports, size: int):
    for chunk in chunk_reports(reports, size, size // 5):
        assert len(chunk.text) <= size
        if not chunk.text.endswith(SENTENCE_END):
            # only a single sentence longer than the chunk size may be cut inside
            sentences = re.split(r"(?<=[。！？；])", chunk.text)
            longest = max(len(s) for s in sentences)
            assert longest >= size * 0.5, chunk.text


def test_chunks_are_verbatim_and_located(reports):
    for report in reports:
        for chunk in chunk_report(report, 300, 60):
            assert report.text[chunk.start : chunk.start + len(chunk.text)] == chunk.text


def test_chunks_overlap_inside_long_sections(seeds_dir: Path):
    chunks = chunk_report(load_report(seeds_dir / "001_b45d8ecc868d26b7.txt"), 300, 60)
    first_section = [c for c in chunks if c.section.endswith("一、坚持质效优先，经济运行回升向好")]
    assert len(first_section) >= 3
    a, b = first_section[0], first_section[1]
    assert b.start < a.start + len(a.text)  # the next chunk starts inside the previous one


def test_chunk_metadata_and_index_text(seeds_dir: Path):
    chunks = chunk_report(load_report(seeds_dir / "001_b45d8ecc868d26b7.txt"), 300, 60)
    hit = next(c for c in chunks if "189.4亿元" in c.text)
    assert hit.chunk_id.startswith("001_b45d8ecc868d26b7#")
    assert (hit.region, hit.report_year, hit.year, hit.period) == ("太仓市", 2024, 2023, "review")
    assert hit.index_text.startswith("太仓市 2024年政府工作报告 > 2023年政府工作回顾")
    assert hit.index_text.endswith(hit.text)
    assert [c.chunk_id for c in chunks] == [f"001_b45d8ecc868d26b7#{i}" for i in range(len(chunks))]


def test_short_sections_stay_whole(seeds_dir: Path):
    chunks = chunk_report(load_report(seeds_dir / "001_b45d8ecc868d26b7.txt"), 300, 60)
    glossary = [c for c in chunks if c.period == "glossary"]
    assert len(glossary) == 13
    assert all(c.text.startswith(f"{n}.") for n, c in enumerate(glossary, start=1))
