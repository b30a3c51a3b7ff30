"""Questions about the reports themselves, answered from the index's metadata instead of the passages.

「你们有哪些报告？」「一共有几份报告」「有没有苏州2023年的报告」「太仓的报告是哪天作的？」
「相城区2024年政府工作报告是谁作的？」「玉山镇的报告标题是什么」 ask about the collection or about a
report's own attributes (date, speaker, title, year). Retrieval cannot answer them — no passage says
「本库收录了5份报告」 — but ``Index.sources`` (one :meth:`rag.reading.documents.Report.metadata` dict per report)
can, exactly.

The rule lives in one place, :data:`ABOUT_PATTERNS` (kind → compiled pattern, from rag/text/lexicon/about.toml), guarded by
:data:`CONTENT_PATTERN`. A question is about the reports when

* it is short (at most :data:`MAX_ABOUT_CHARS` characters, ``Settings.about_max_chars``) and mentions 报告 or 收录,
* one of the :data:`ABOUT_PATTERNS` matches, each anchored on 报告 (or 收录) next to the attribute word:
  ``speaker`` 谁作的 / 报告人 / 作者; ``date`` 报告…哪天 / 什么时候 / 日期 ending the clause (so not
  「报告什么时候实现碳达峰」); ``title`` 报告…标题 / 题目 / 叫什么; ``year`` 报告是哪一年的 ending the
  question; ``count`` 几份 / 多少个…报告; ``list`` 哪些 / 有没有 / 所有…报告 with 报告 ending the clause,
  or 收录了哪些地区 / 年份,
* and nothing in it asks about what a report says (:data:`CONTENT_PATTERN`: 报告中 / 报告里, 提到,
  提出, 说的, 内容, 关于, 根据 …) — 「报告中提到的2023年GDP是多少」 stays a content question.

When unsure the rule says no: a content question answered from metadata would be wrong, a metadata
question sent to retrieval is merely answered less well.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date

from rag.answering.coverage import COMMON_WORD_FREQ, foreign_place
from rag.core.config import Settings
from rag.reading.chunking import Chunk
from rag.retrieval.query import RegionName, find_regions, find_years
from rag.text.lexicon import lexicon

logger = logging.getLogger(__name__)

#: Questions about the collection are short; anything longer is treated as a content question: the
#: default of the functions that take it (``max_chars``); the answer stage passes ``Settings.about_max_chars``.
MAX_ABOUT_CHARS: int = Settings.model_fields["about_max_chars"].default

#: The module's patterns (rag/text/lexicon/about.toml, where each is explained).
_RULES = lexicon().about
#: The kinds of metadata question, in the order their patterns are tried.
ABOUT_KINDS = ("speaker", "date", "title", "year", "count", "list")
#: Kind of metadata question → the pattern that recognises it (tried in this order).
ABOUT_PATTERNS: dict[str, re.Pattern[str]] = {kind: re.compile(getattr(_RULES, kind)) for kind in ABOUT_KINDS}

#: Words that ask what a report says: any of them makes a question a content question.
CONTENT_PATTERN = re.compile(_RULES.content)

_TOPIC = re.compile(_RULES.topic)
_EXISTS = re.compile(_RULES.exists)
_INTERROGATIVE = re.compile(_RULES.interrogative)


def about_kind(question: str, max_chars: int = MAX_ABOUT_CHARS) -> str | None:
    """Which metadata the question asks for (a key of :data:`ABOUT_PATTERNS`), or ``None`` (always for a
    question longer than ``max_chars``)."""
    text = (question or "").strip()
    if not text or len(text) > max_chars or not _TOPIC.search(text) or CONTENT_PATTERN.search(text):
        return None
    for kind, pattern in ABOUT_PATTERNS.items():
        if pattern.search(text):
            if kind == "speaker" and "报告" not in text:
                continue
            return kind
    return None


def is_about_reports(question: str, max_chars: int = MAX_ABOUT_CHARS) -> bool:
    """Whether the question asks about the collection or a report's own attributes, not its content."""
    return about_kind(question, max_chars) is not None


def regions_of(sources: Sequence[Mapping[str, object]]) -> list[RegionName]:
    """The regions the reports cover, as :class:`RegionName` (like ``Retriever.regions``)."""
    seen: dict[str, RegionName] = {}
    for source in sources:
        if source.get("region"):
            name = str(source["region"])
            parent = source.get("parent_region")
            seen[name] = RegionName(name, str(parent) if parent else None)
    return list(seen.values())


# --- formatting ----------------------------------------------------------------------------


def _year(source: Mapping[str, object]) -> int | None:
    value = source.get("year")
    try:
        return int(value) if value is not None else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _date(source: Mapping[str, object]) -> str | None:
    """「2024年1月9日」 from an ISO date (or a ``date``); an unparsable value is shown as it is."""
    value = source.get("date")
    if not value:
        return None
    try:
        parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{parsed.year}年{parsed.month}月{parsed.day}日"


def _text(source: Mapping[str, object], key: str) -> str | None:
    value = source.get(key)
    return str(value).strip() or None if value else None


def report_label(source: Mapping[str, object]) -> str:
    """The report's name: its title (with the region in front when the title lacks it), else
    「<region><year>年政府工作报告」, else its file name."""
    region, year, title = _text(source, "region"), _year(source), _text(source, "title")
    if title:
        return title if not region or region in title else f"{region}{title}"
    if region or year:
        return f"{region or ''}{f'{year}年' if year else ''}政府工作报告"
    return _text(source, "source") or _text(source, "doc_id") or "政府工作报告"


def format_report(source: Mapping[str, object]) -> str:
    """「太仓市2024年政府工作报告（2024年1月9日，市长徐华东作）」; missing fields are left out."""
    label = report_label(source)
    year, when, speaker = _year(source), _date(source), _text(source, "speaker")
    details = []
    if year and str(year) not in label:
        details.append(f"{year}年")
    if when:
        details.append(when)
    if speaker:
        details.append(f"{speaker}作")
    return f"{label}（{'，'.join(details)}）" if details else label


def _subject(source: Mapping[str, object]) -> str:
    """「玉山镇2020年的报告」: how a report is named when its title is what is asked."""
    region, year = _text(source, "region") or "", _year(source)
    subject = f"{region}{f'{year}年' if year else ''}"
    return f"{subject}的报告" if subject else report_label(source)


# --- answering -----------------------------------------------------------------------------


class _Citations:
    """Numbers reports by the first chunk of theirs, in the order they are cited."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.first: dict[str, Chunk] = {}
        for chunk in chunks:
            self.first.setdefault(chunk.source, chunk)
        self.cited: list[Chunk] = []

    def mark(self, source: Mapping[str, object]) -> str:
        chunk = self.first.get(str(source.get("source")))
        if chunk is None:
            return ""
        if chunk not in self.cited:
            self.cited.append(chunk)
        return f"[{self.cited.index(chunk) + 1}]"


def _ordered(sources: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """Grouped by region (in order of first appearance), newest report first; reports without a
    region last."""
    first_seen: dict[str, int] = {}
    for source in sources:
        first_seen.setdefault(str(source.get("region") or ""), len(first_seen))
    return sorted(
        sources,
        key=lambda s: (not s.get("region"), first_seen[str(s.get("region") or "")], -(_year(s) or 0)),
    )


def _scope(regions: Sequence[str], years: Sequence[int]) -> str:
    """「太仓市2024年」, 「太仓市、相城区」, 「2023年」 or ""."""
    return "、".join(regions) + "、".join(f"{y}年" for y in years)


def _listing(reports: Sequence[Mapping[str, object]], cite: _Citations) -> str:
    lines = [f"{format_report(r)}{cite.mark(r)}" for r in reports]
    return lines[0] + "。" if len(lines) == 1 else "\n" + "\n".join(f"- {line}" for line in lines)


def _attribute(kind: str, report: Mapping[str, object], cite: _Citations) -> str:
    mark = cite.mark(report)
    if kind == "speaker":
        speaker = _text(report, "speaker")
        return f"{report_label(report)}由{speaker}作{mark}。" if speaker else f"{report_label(report)}未注明报告人{mark}。"
    if kind == "date":
        when = _date(report)
        return f"{report_label(report)}作于{when}{mark}。" if when else f"{report_label(report)}未注明报告日期{mark}。"
    title = _text(report, "title")
    return f"{_subject(report)}标题为《{title}》{mark}。" if title else f"{_subject(report)}未注明标题{mark}。"


def answer_about_reports(
    question: str,
    sources: list[dict[str, object]],
    chunks: Sequence[Chunk],
    regions: list[RegionName],
    *,
    common_freq: int = COMMON_WORD_FREQ,
    max_chars: int = MAX_ABOUT_CHARS,
) -> tuple[str, list[Chunk]] | None:
    """Answer a question about the reports from their metadata: the text with ``[n]`` markers and the
    cited chunks (each report's first chunk in ``chunks``) in citation order; ``None`` when the
    question is not about the reports (see :func:`is_about_reports`).

    A region (by any alias, see :func:`rag.retrieval.query.find_regions`) or year the question names restricts
    the answer to those reports; when none matches, or the question names a place no report covers,
    the answer says so and lists what is there, without citations.
    """
    kind = about_kind(question, max_chars)
    if kind is None:
        return None
    regions = regions or regions_of(sources)
    everything = _ordered(sources)
    if not everything:
        return "目前尚未收录任何政府工作报告。", []

    named = find_regions(question, regions)
    years = [year for year, _ in find_years(question)]
    foreign = foreign_place(question, regions, common_freq=common_freq)
    if foreign is not None and _INTERROGATIVE.search(foreign):
        foreign = None  # 「哪些市县的报告」: a question word, not a place
    matches = [s for s in everything if (not named or s.get("region") in named) and (not years or _year(s) in years)]
    if foreign is not None or not matches:
        scope = foreign if foreign is not None else _scope(named, years)
        text = f"未收录{scope}的政府工作报告。目前收录的有：{'、'.join(report_label(s) for s in everything)}。"
        logger.info("metadata question (%s) names a missing report: %s", kind, scope)
        return text, []

    cite = _Citations(chunks)
    scope = _scope(named, years)
    if kind in {"speaker", "date", "title"}:
        text = "\n".join(_attribute(kind, report, cite) for report in matches)
    elif _EXISTS.search(question):
        count = "" if len(matches) == 1 else f"{len(matches)}份："
        text = f"有，收录了{count}{_listing(matches, cite)}"
    else:
        covered = list(dict.fromkeys(str(s["region"]) for s in matches if s.get("region")))
        spread = f"，涉及{len(covered)}个地区（{'、'.join(covered)}）" if not named and len(covered) > 1 else ""
        lead = "目前共收录" if kind == "count" else "目前收录了"
        text = f"{lead}{len(matches)}份{scope}政府工作报告{spread}：{_listing(matches, cite)}"
    logger.info("answered a metadata question (%s) from %d reports", kind, len(matches))
    return text, cite.cited
