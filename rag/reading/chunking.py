"""Sections → chunks: sentence-aligned pieces that keep the report's exact wording and their heading path."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.core.errors import DocumentError
from rag.reading.documents import Report
from rag.reading.sections import Section, split_sections

logger = logging.getLogger(__name__)

#: Paragraphs first, then Chinese sentence ends; commas and characters only for a sentence that alone
#: exceeds the chunk size.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", ""]


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage. ``text`` is verbatim from the cleaned report (``report.text[start:]``)."""

    chunk_id: str
    doc_id: str
    source: str
    region: str | None
    parent_region: str | None
    report_year: int | None
    report_title: str | None
    year: int | None
    period: str
    section: str
    start: int
    text: str

    @property
    def index_text(self) -> str:
        """What gets embedded and BM25-indexed: the heading path in front of the passage."""
        return f"{self.label} > {self.section}\n{self.text}" if self.section else f"{self.label}\n{self.text}"

    @property
    def label(self) -> str:
        """「太仓市 2024年政府工作报告」."""
        year = f"{self.report_year}年" if self.report_year else ""
        return f"{self.region or ''} {year}政府工作报告".strip()

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Chunk:
        return cls(**data)  # type: ignore[arg-type]


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    """The sentence-aware splitter used for every section longer than ``chunk_size``."""
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        strip_whitespace=True,
    )


def chunk_report(report: Report, chunk_size: int = 300, chunk_overlap: int = 60) -> list[Chunk]:
    """Chunk one report section by section; chunk ids are ``<doc_id>#<n>`` in reading order."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    full_text = report.text
    chunks: list[Chunk] = []
    cursor = 0
    for section in split_sections(report):
        section_start = full_text.find(section.text, cursor)
        if section_start < 0:  # sections are runs of consecutive paragraphs, save for a stray title line
            raise DocumentError(f"{report.source}: a title line inside the text breaks its sections; remove it and retry")
        cursor = section_start
        pieces = [section.text] if len(section.text) <= chunk_size else splitter.split_text(section.text)
        search_from = section_start
        for piece in pieces:
            start = full_text.find(piece, search_from)
            if start < 0:
                raise DocumentError(f"{report.source}: chunk text not found in report")
            search_from = start + 1
            chunks.append(_make_chunk(report, section, len(chunks), start, piece))
    logger.debug("%s: %d chunks", report.source, len(chunks))
    return chunks


def _make_chunk(report: Report, section: Section, n: int, start: int, text: str) -> Chunk:
    return Chunk(
        chunk_id=f"{report.doc_id}#{n}",
        doc_id=report.doc_id,
        source=report.source,
        region=report.region,
        parent_region=report.parent_region,
        report_year=report.year,
        report_title=report.title,
        year=described_year(report.year, section),
        period=section.period,
        section=section.heading,
        start=start,
        text=text,
    )


def described_year(delivered: int | None, section: Section) -> int | None:
    """The year a section describes: its own; for a review of several years (「回顾“十三五”」 names no
    one year) or the opening, in a report delivered in year N, N−1 — the year the span ends and the one
    a report reviews (an opening that runs into a review whose heading was not recognised states that
    year's figures). A plan or glossary without a year keeps none."""
    if delivered is None or section.period in ("plan", "glossary"):
        return section.year
    if section.year is None or (section.period == "preamble" and section.year == delivered):
        return delivered - 1  # an opening speaks of the year under review (or runs into the review unmarked)
    return section.year


def chunk_reports(reports: Iterable[Report], chunk_size: int = 300, chunk_overlap: int = 60) -> list[Chunk]:
    """Chunk several reports, in order."""
    return [chunk for report in reports for chunk in chunk_report(report, chunk_size, chunk_overlap)]


def covered_years(chunks: Iterable[Chunk]) -> dict[str, set[int]]:
    """The years each region's indexed passages speak about or were reported in."""
    years: dict[str, set[int]] = {}
    for chunk in chunks:
        if chunk.region:
            years.setdefault(chunk.region, set()).update(y for y in (chunk.year, chunk.report_year) if y is not None)
    return years
