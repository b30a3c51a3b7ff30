"""The figure model: a number a report states, with what it measures, where, when and in what sense.

One figure of one report sentence — 「2024年全县地区生产总值增长5.4%」 — is a :class:`StatedFigure`:

- ``value`` and ``unit`` as the report writes them (Arabic digits: 「三座」 is ``3`` ``座``);
- ``measures``: what it measures *as the report names it*, the words of its own clause before it
  (「地区生产总值增长」, 「中国古动物馆接待游客」), else of the nearest clause before that names anything;
- ``place`` and ``level``: the report's place, unless the clause names the whole of another level
  (「全市」 in a county's report is its city: ``level="市"``, ``place`` the parent when it is known);
- ``year``: the year it describes — the one its sentence names before it, else its section's (a report
  delivered in 2024 reviews 2023: :attr:`rag.reading.chunking.Chunk.year`), never the delivery year;
- ``kind``: ``actual``, ``target`` (a plan section, or 「预期」「力争」 in its clause) or ``estimate``
  (「预计」);
- ``citation``: the number of the passage that states it, and the ``sentence`` itself.

Comparisons (:mod:`rag.answering.compare`) and series (:mod:`rag.answering.series`) are computed from
these, and every answer that states a figure carries them (``Answer.figures``). The vocabulary is data:
rag/text/lexicon/figures.toml.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Literal

from rag.answering.prompts import sentences
from rag.answering.terms import CHANGE_WORDS, agreement, asked_terms, asked_unit_kind, metric_words
from rag.answering.verify import asked_figures, figures, strip_citations
from rag.reading.chunking import Chunk
from rag.retrieval.everyday import named_metrics
from rag.retrieval.query import QueryIntent
from rag.text.gazetteer import same_place
from rag.text.lexicon import lexicon
from rag.text.numbers import MULTIPLIERS, Figure, comparable, figures_in, fits_kind, stated_at, unit_kind

_RULES = lexicon().figures

Kind = Literal["actual", "target", "estimate"]

_TARGET_RE = re.compile(_RULES.target)
_TARGET_LEAD_RE = re.compile(_RULES.target_lead)
_ESTIMATE_RE = re.compile(_RULES.estimate)
_FIGURE_YEAR_RE = re.compile(_RULES.figure_year)
_FROM_YEAR_RE = re.compile(_RULES.from_year)
_LEAD_WORDS_RE = re.compile(_RULES.lead_words)
_RATE_WORDS_RE = re.compile(_RULES.rate_words)
_SPAN_RE = re.compile(_RULES.span)
_FALL_RE = re.compile(_RULES.fall)
_SEVERAL_YEARS_RE = re.compile(_RULES.several_years)
_RESPECTIVELY_RE = re.compile(_RULES.respectively)
_PLAN_ACTUAL_RE = re.compile(_RULES.plan_actual_words)
_SINCE_RE = re.compile(_RULES.since)
_FLOW_RE = re.compile(_RULES.flow)
#: A change word a name ends in (「民生支出增长」): the subject is what comes before it.
_CHANGE_END_RE = re.compile(f"(?:{'|'.join(CHANGE_WORDS)})$")
_ASKS_STOCK_RE = re.compile(_RULES.asks_stock)
_SHARE_OF_RE = re.compile(_RULES.share_of)
_ASKS_SHARE_OF_RE = re.compile(_RULES.asks_share_of)
_PART_RE = re.compile(_RULES.part)
_ASKS_PART_RE = re.compile(_RULES.asks_part)
_ASKS_CHANGE_OF_RE = re.compile(_RULES.asks_change_of)
_CHANGE_IN_RE = re.compile(_RULES.change_in)
#: Where the subjects of a 「分别」 list start (a list's 「、」 is inside them).
_SUBJECT_END_RE = re.compile(r"[，,；;：:。！？!?（）()\n]")
#: Brackets around a clause of their own.
_PAREN_RE = re.compile(r"[（）()]")
#: The joins of a list (「城镇、农村」「A和B」).
_LIST_JOIN_RE = re.compile(r"、|和|与|及")
_QUALIFIER_RE = re.compile(_RULES.qualifier)
_ASKS_COMPARE_RE = re.compile(_RULES.asks_compare)
_ASKS_SERIES_RE = re.compile(_RULES.asks_series)
_LEVELS_RE = re.compile("|".join(sorted(map(re.escape, _RULES.levels), key=len, reverse=True)))
#: The levels 「全X」 names, longest first (「自治区」 before 「区」): what a division's name ends in.
_LEVEL_SUFFIXES = tuple(sorted(set(_RULES.levels.values()), key=len, reverse=True))
#: Where a clause ends (the marks :mod:`rag.answering.verify` splits clauses at, and a sentence's end).
_CLAUSE_END_RE = re.compile(r"[，,；;：:。！？!?、（）()\n]")
#: Where a clause's first figure starts (what the clause names is before it).
_FIGURE_START_RE = re.compile(r"\d")
#: What one multiplier is worth.
_MULTIPLIER_VALUE = {
    "万亿": Decimal(10) ** 12,
    "亿": Decimal(10) ** 8,
    "万": Decimal(10) ** 4,
    "千": Decimal(1000),
    "百": Decimal(100),
}


@dataclass(frozen=True)
class StatedFigure:
    """One figure a report sentence states (see the module's docstring for each field)."""

    value: str
    unit: str
    measures: str
    place: str | None
    level: str | None
    year: int | None
    kind: Kind
    citation: int | None
    sentence: str
    source: str | None = None
    #: 「以上」「左右」「以内」 right after it: a bound, not an exact value.
    qualifier: str = ""
    #: It describes several years (「年均增长」「累计」「“十三五”期间」), not ``year`` alone.
    span: bool = False
    #: Its own sentence names its year (「2020年，…」「从2015年的…」), not only its section.
    named_year: bool = False
    #: The words of its own clause before it (「总数达到」), where ``measures`` may take its name from a
    #: clause before (「新增境内外上市公司总数」): whether it is a flow, a share of a whole… is read here.
    clause: str = ""
    #: The word that states it as a fall (「同比下降1.2%」 → 「下降」): a change of minus the value; empty otherwise.
    fall: str = ""

    @property
    def text(self) -> str:
        """「5.4%」, 「189.4亿元」: the figure as written."""
        return f"{self.value}{self.unit}"

    @property
    def stated(self) -> str:
        """The figure with its bound: 「6%以上」."""
        return f"{self.text}{self.qualifier}"

    @property
    def said(self) -> str:
        """The figure as the report says it, a fall with its word: 「下降1.2%」, else :attr:`stated`."""
        return f"{self.fall}{self.stated}"

    @property
    def unit_kind(self) -> str | None:
        return unit_kind(self.unit)

    def amount(self) -> tuple[Decimal, str] | None:
        """The value in its base unit and that unit (「1.2万亿元」 → (1.2e12, 元)), below zero for a fall
        (「下降1.2%」 → −1.2); ``None`` when the value is no number."""
        try:
            value = -Decimal(self.value) if self.fall else Decimal(self.value)
        except InvalidOperation:
            return None
        unit = self.unit
        for multiplier in MULTIPLIERS:
            if unit.startswith(multiplier) and len(unit) >= len(multiplier):
                return value * _MULTIPLIER_VALUE[multiplier], unit[len(multiplier) :]
        return value, unit

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "text": self.text}


def respectively(sentence: str) -> str:
    """``sentence`` (:func:`comparable` text, brackets read as clause marks) with each 「分别」 list written out subject by subject:
    「城乡居民人均可支配收入分别达到40678元和24761元」 → 「城镇居民人均可支配收入达到40678元，农村居民人均可支配
    收入达到24761元」; 「城镇、农村居民人均可支配收入分别增长5.3%、8.8%」 likewise. Unchanged when the
    subjects and the figures do not pair up one to one."""
    body = _PAREN_RE.sub("，", comparable(sentence))  # 「增长6.5%（年度目标6%以上）」: two clauses
    match = _RESPECTIVELY_RE.search(body)
    if match is None:
        return body
    start = max((m.end() for m in _SUBJECT_END_RE.finditer(body, 0, match.start())), default=0)
    subject = body[start : match.start()]
    end = next((m.start() for m in re.finditer(r"[，,；;。！？!?]", body[match.end() :])), len(body) - match.end())
    rest = body[match.end() : match.end() + end]
    verb = _FIGURE_START_RE.split(rest, maxsplit=1)[0]
    values = [v for v in _LIST_JOIN_RE.split(rest[len(verb) :]) if v]
    names = _subjects(subject)
    if len(names) < 2 or len(names) != len(values) or not all(_FIGURE_START_RE.match(v) for v in values):
        return body
    spelled = "，".join(f"{name}{verb}{value}" for name, value in zip(names, values, strict=True))
    return body[:start] + spelled + body[match.end() + end :]


def _subjects(subject: str) -> list[str]:
    """The subjects a 「分别」 list speaks of: a pair word's two (「城乡居民…」 → 城镇居民…, 农村居民…), or a
    list's items, the short ones completed by the last one's tail (「城镇、农村居民收入」 → 城镇居民收入, 农村居民收入)."""
    for pair, parts in _RULES.pairs.items():
        if pair in subject:
            at = subject.index(pair)
            return [subject[:at] + part + subject[at + len(pair) :] for part in parts]
    items = [i for i in _LIST_JOIN_RE.split(subject) if i]
    if len(items) < 2:
        return []
    last = items[-1]
    short = len(items[0])
    if all(len(i) <= 3 for i in items[:-1]) and len(last) > short + 1:  # 「城镇、农村居民…」: prefixes of one name
        tail = last[short:]
        return [i + tail for i in items[:-1]] + [last]
    return items


def describe(sentence: str, figure: Figure, at: int, chunk: Chunk, citation: int | None) -> StatedFigure:
    """The :class:`StatedFigure` of ``figure``, which stands at ``at`` in :func:`comparable` ``sentence``
    of ``chunk`` (passage number ``citation``)."""
    body = comparable(sentence)
    before = body[:at]
    own = _own_clause(body, at)
    clause_start = at - len(own)
    named = _FIGURE_START_RE.split(own, maxsplit=1)[0]  # 「生产总值从2015年的87.55亿元增长到」 names 生产总值
    # a name taken from a clause before is its subject, without that clause's flow or change words:
    # 「新增上市公司29家、总数达到241家」 — 241家 is the total of 上市公司; 「民生支出增长7.3%、占一般公共预算支出82%」
    # — 82% is the share of 民生支出
    # 「为1338家企业减免罚金3212万元」: a figure earlier in the clause; what this one measures follows it
    name = _name(named) or _name(_after_last_figure(own))
    if not name or _SHARE_OF_RE.match(name):
        subject = _CHANGE_END_RE.sub("", _FLOW_RE.sub("", _name_before(before[:clause_start])))
        name = subject + (name or _LEAD_WORDS_RE.sub("", own.strip()))
    after = body[at + len(figure.number) + len(figure.unit) :]
    qualifier = _QUALIFIER_RE.match(after)
    place, level = _place(own, chunk)  # 「全省率先推出…平台，新增人才公寓3064套」 is the city's own
    year = _year(before, chunk)
    return StatedFigure(
        value=figure.number,
        unit=figure.unit,
        measures=name,
        place=place,
        level=level,
        year=year,
        named_year=year != chunk.year or bool(_FIGURE_YEAR_RE.search(before)),
        kind=_kind(before, before[clause_start:], chunk),
        citation=citation,
        sentence=sentence.strip(),
        source=chunk.source,
        qualifier=qualifier.group() if qualifier else "",
        span=bool(_SPAN_RE.search(own)),
        clause=own.strip(),
        fall=fall.group(1) if (fall := _FALL_RE.search(own)) else "",
    )


def _after_last_figure(text: str) -> str:
    """``text`` after the last figure it states (「为1338家企业减免罚金」 → 「企业减免罚金」; ``""`` without one)."""
    spots = [m.start() + len(f.number) + len(f.unit) for f in figures_in(text) for m in stated_at(f, text)]
    return text[max(spots) :] if spots else ""


def _name(clause: str) -> str:
    """A clause's words before its figure, without the lead words that name nothing (「其中」「实现」)."""
    name = clause.strip()
    for _ in range(3):  # 「全年实现」: a lead word and a verb; strip until nothing changes
        stripped = _LEAD_WORDS_RE.sub("", name).strip()
        if stripped == name:
            break
        name = stripped
    return name if metric_words(name) else ""


def _name_before(text: str) -> str:
    """The nearest clause before a figure's own that names anything (「城乡居民人均可支配收入分别增长」
    for 「…，分别达到7.95万元、4.38万元」)."""
    clauses = [_FIGURE_START_RE.split(c, maxsplit=1)[0] for c in _CLAUSE_END_RE.split(text) if c.strip()]
    return next((name for clause in reversed(clauses) if (name := _name(clause))), "")


def _year(before: str, chunk: Chunk) -> int | None:
    """The last year the sentence names before the figure (not a baseline, not a span's start), else
    the year its section describes."""
    if start := _FROM_YEAR_RE.search(before):  # a baseline: its own year, or one not named
        return int(start.group(1)) if start.group(1) else None
    years = [int(m.group(1)) for m in _FIGURE_YEAR_RE.finditer(before)]
    return years[-1] if years else chunk.year


def _kind(before: str, clause: str, chunk: Chunk) -> Kind:
    if _TARGET_RE.search(clause):  # 「增长6.5%（年度目标6%以上）」: the bracket's figure is the target
        return "target"
    if _ESTIMATE_RE.search(before):
        return "estimate"
    if chunk.period == "plan" or _TARGET_LEAD_RE.search(before):
        return "target"
    return "actual"


def region_level(name: str | None) -> str | None:
    """The level of a division from its name's suffix (「清苑区」 → 区, 「安国市」 → 市)."""
    if not name:
        return None
    return next((level for level in _LEVEL_SUFFIXES if name.endswith(level)), None)


def _place(clause: str, chunk: Chunk) -> tuple[str | None, str | None]:
    """Whose figure: the report's place, or the division 「全X」 in the figure's own clause names when X is
    not the place's own level (the parent when its level is X, else unnamed)."""
    own = region_level(chunk.region)
    whole = list(_LEVELS_RE.finditer(clause))
    if not whole:
        return chunk.region, own
    level = _RULES.levels[whole[-1].group()]
    if level == own:
        return chunk.region, own
    parent = chunk.parent_region if region_level(chunk.parent_region) == level else None
    return parent, level


def figures_of_answer(text: str, chunks: Sequence[Chunk], cited: Sequence[int]) -> list[StatedFigure]:
    """What each figure an answer states measures, as the passage sentence stating it names it: the
    first cited passage (passage numbers from 1) with a sentence stating the number with its unit, and
    the figure described there (:func:`describe`). A figure no cited passage states is left out."""
    found: list[StatedFigure] = []
    for figure in figures(strip_citations(text)):
        for n in cited:
            if not 1 <= n <= len(chunks):
                continue
            # a 「分别」 list is read subject by subject: 「城乡居民收入分别达到7.95万元、4.38万元」 states 农村's 4.38万元
            spot = next(
                (
                    (sentence, spelled, m.start())
                    for sentence in sentences(chunks[n - 1].text)
                    for spelled in (respectively(sentence),)
                    for m in stated_at(figure, spelled)
                ),
                None,
            )
            if spot is not None and figure.unit:  # a bare number (「1.82﹕1」「PM2.5」) measures nothing one can name
                found.append(replace(describe(spot[1], figure, spot[2], chunks[n - 1], n), sentence=spot[0].strip()))
                break
    return found


def stated_figures(chunks: Sequence[Chunk], first: int = 1) -> list[StatedFigure]:
    """Every figure of every sentence of ``chunks`` (numbered from ``first``)."""
    found: list[StatedFigure] = []
    for n, chunk in enumerate(chunks, start=first):
        for sentence in sentences(chunk.text):
            body = comparable(sentence)
            for figure in figures(sentence):
                at = body.find(figure.number)
                if at >= 0:
                    found.append(describe(sentence, figure, at, chunk, n))
    return found


def of_side(chunk: Chunk, side: QueryIntent, *, any_year: bool = False) -> bool:
    """Whether a passage is of the side's place and year (of any year with ``any_year``); a plan
    section only for a side asking for a target — which a review may restate (「增长6.5%（年度目标6%
    以上）」), so a target side takes both."""
    if side.region and not same_place(chunk.region, side.region, chunk.parent_region):
        return False
    if side.year and chunk.year != side.year and not any_year:
        return False
    return side.period == "plan" or chunk.period != "plan"


def asks_for_span(question: str) -> bool:
    """Whether a question asks for a figure of several years (「年均」「“十三五”期间」「累计」)."""
    return bool(_SPAN_RE.search(question))


def one_year_figure(sentence: str, question: str, ignore: Collection[str], *, enough: float) -> bool:
    """Whether the sentence states a figure of what is asked that describes one year, not several
    (「社会消费品零售总额达到14.2亿元，年均增长7%」 in a five-year review answers no question about one
    year) — any figure of it when the question itself asks for several years' (:func:`asks_for_span`)."""
    found = asked_figures(sentence, question, ignore, enough=enough)
    if asks_for_span(question):
        return next(found, None) is not None
    body = comparable(sentence)
    return any(not _SEVERAL_YEARS_RE.search(_own_clause(body, at)) for _, at in found)


def _own_clause(body: str, at: int) -> str:
    """The clause of :func:`comparable` ``body`` before the figure at ``at``."""
    return body[max((m.end() for m in _CLAUSE_END_RE.finditer(body, 0, at)), default=0) : at]


def what_is_asked(question: str) -> str:
    """A question as one side or one year of it asks: without how it asks to compare or for a series
    (「相比」「历年」 are no metric), its rate words as reports write them (「增速」 → 「增长」)."""
    text = _ASKS_SERIES_RE.sub("", _ASKS_COMPARE_RE.sub("", _PLAN_ACTUAL_RE.sub("", _SINCE_RE.sub("", question))))
    return _RATE_WORDS_RE.sub("增长多少", text)


def asked_figure(
    question: str,
    side: QueryIntent,
    chunks: Sequence[Chunk],
    ignore: Collection[str],
    *,
    asks: Sequence[str] = (),
    any_year: bool = False,
) -> StatedFigure | None:
    """The first figure (in rank order) of a passage of the side's place, year and period that is a
    figure of what is asked (:func:`rag.answering.verify.asked_figures`) — of the side's own place and
    year, not of a level above it (「全市」) nor another year its sentence names. What is asked is the
    question's part for this side (``asks``), the question, then the indicators its everyday words name
    (「经济长得快」 → 地区生产总值…). A 「分别」 list counts subject by subject (:func:`respectively`).
    With ``any_year`` a passage of another year counts where its sentence names the side's year
    (「从2015年的87.55亿元增长到…」 in a five-year review)."""
    for asked in _asked(question, asks):
        for n, chunk in enumerate(chunks, start=1):
            if not of_side(chunk, side, any_year=any_year):
                continue
            for sentence in sentences(chunk.text):
                found = [
                    stated
                    for stated in _asked_in(sentence, asked, chunk, n, ignore)
                    if _belongs(stated, side) and (not any_year or stated.named_year or chunk.year == side.year)
                ]
                if found:
                    return _best_named(found, asked, ignore, question)
    return None


def lead_figure(
    question: str,
    sentence: str,
    chunk: Chunk,
    citation: int,
    side: QueryIntent,
    ignore: Collection[str],
    *,
    asks: Sequence[str] = (),
    context: str = "",
) -> StatedFigure | None:
    """The figure of a quoted report ``sentence`` (of ``chunk``, passage ``citation``) that answers
    ``question``: of the figures with a unit of what is asked (``asks`` first — a follow-up's own
    words, 「货物吞吐量呢？」 — then :func:`asked_figure`'s wordings, tried in turn), those of the side's
    own place, year and kind first, then the one that fits what is asked best (:func:`_best_named`).
    ``None`` when the sentence states no figure of what is asked (a glossary entry, a policy). A part
    of a question that asks for two figures (「一共减免多少钱」) is read in its ``context``, the whole
    question, when its own words name too little; the sort asked is still the part's."""
    first: StatedFigure | None = None
    kind = asked_unit_kind(question)
    for asked in _wordings(question, asks, context):
        found = [f for f in _asked_in(sentence, asked, chunk, citation, ignore) if f.unit]
        if not found:
            continue
        best = _best_named([f for f in found if _belongs(f, side)] or found, asked, ignore, question)
        if not _misfits(best, question, kind):
            return best
        # of another sort than asked (「优良天数比例72.4%」 for 「有多少天」): a later wording may name the one
        first = first or best
    return first


def listed_figures(
    question: str, sentence: str, chunk: Chunk, citation: int, ignore: Collection[str], *, asks: Sequence[str] = ()
) -> list[StatedFigure]:
    """For a question asking for several figures at once (「城里人和农村人…分别有多少」), every figure of
    the quoted ``sentence`` that some wording of what is asked names (each of the indicators its
    everyday words name: 城镇…, 农村…), of the first one's unit kind, in the sentence's order; one
    figure or none when that is all."""
    found: list[StatedFigure] = []
    for asked in _wordings(question, asks):
        found += [f for f in _asked_in(sentence, asked, chunk, citation, ignore) if f.unit and f not in found]
    kind = found[0].unit_kind if found else None
    return sorted((f for f in found if f.unit_kind == kind), key=lambda f: sentence.find(f.value))


def _wordings(question: str, asks: Sequence[str], context: str = "") -> list[str]:
    """The wordings of what is asked a quoted sentence is read with, in turn: ``asks`` (what the user
    typed), the question as typed (「比2023年提高了多少」 asks for the change, which :func:`what_is_asked`
    drops), :func:`_asked`'s wordings, then the ``context`` a part of a question stands in."""
    return list(dict.fromkeys([*asks, question, *_asked(question, asks), *([what_is_asked(context)] if context else [])]))


def _asked_in(sentence: str, asked: str, chunk: Chunk, n: int, ignore: Collection[str]) -> Iterator[StatedFigure]:
    """The figures of what is ``asked`` that ``sentence`` states, described (a 「分别」 list subject by
    subject: :func:`respectively`)."""
    spelled = respectively(sentence)
    for figure, at in asked_figures(spelled, asked, ignore):
        yield replace(describe(spelled, figure, at, chunk, n), sentence=sentence.strip())


def _best_named(found: Sequence[StatedFigure], asked: str, ignore: Collection[str], question: str = "") -> StatedFigure:
    """Of figures of one sentence, the one that answers what is ``asked``: one of the sort asked for
    (:func:`_misfits`), then the one whose own name agrees best with it (「其中一般公共预算收入7.02亿元」
    before 「全部财政收入突破10亿」), then the one whose name the question's own words spell most of (「到账外资1.95亿美元」 for 「到账外资」 before 「注册外资5亿美元」), then the first. The sort asked
    is read from the ``question`` itself where given (what is asked may be an indicator its everyday
    words name: 「有多大比例花在老百姓身上」 → 民生支出)."""
    wanted = asked_terms(asked, ignore)
    sort = question or asked
    kind = asked_unit_kind(sort)

    def fit(i: int) -> tuple[int, float, float, int]:
        f = found[i]
        spelled = sum(ch in asked for ch in f.measures) / len(f.measures) if f.measures else 0.0
        return -_misfits(f, sort, kind), agreement(wanted, metric_words(f.measures, ignore)), spelled, -i

    return found[max(range(len(found)), key=fit)]


def _misfits(figure: StatedFigure, asked: str, kind: str | None) -> int:
    """How many ways ``figure`` is not of the sort ``asked``: of another unit kind than asked; a flow
    (「新增…29家」) for a stock or total (「一共多少家」) or the reverse; not a share of a whole (「占…82%」)
    for a proportion (「有多大比例」); not a part (「其中税收收入…」) for a part (「财政收入里光税收」); not
    a change (「提高0.9个百分点」) for a change (「比2023年提高了多少」)."""
    flow = bool(_FLOW_RE.search(figure.clause))
    return sum(
        (
            bool(kind) and not fits_kind(figure.unit, kind),
            bool(_ASKS_STOCK_RE.search(asked)) and flow,
            bool(_FLOW_RE.search(asked)) and not flow,
            bool(_ASKS_SHARE_OF_RE.search(asked)) and not _SHARE_OF_RE.search(figure.clause),
            bool(_ASKS_PART_RE.search(asked)) and not _PART_RE.search(figure.clause),
            bool(_ASKS_CHANGE_OF_RE.search(asked)) and not _CHANGE_IN_RE.search(figure.clause),
        )
    )


def worded(figure: StatedFigure, label: str = "") -> str:
    """A figure as an answer states it, cited: 「2024年地区生产总值增长5.4%[1]」 — ``label`` (a year, a
    place) first, then what it measures (「目标」 before a target's, 「预计」 before an estimate's) and the
    figure with its bound."""
    measures = figure.measures
    if figure.kind == "target" and not any(w in label + measures for w in ("目标", "预期")):
        measures = f"目标{measures}"
    elif figure.kind == "estimate" and "预计" not in measures:
        measures = f"预计{measures}"
    cite = f"[{figure.citation}]" if figure.citation else ""
    return f"{label}{measures}{figure.stated}{cite}"


def _asked(question: str, asks: Sequence[str]) -> list[str]:
    """What is asked, in the order tried: the side's part, the question, the indicators its everyday
    words name with how the question asks of them (a rate: 「增长多少」)."""
    tried = [what_is_asked(q) for q in [*asks, question]]
    # a question for a rate asks how the indicator grew; one for a proportion of a whole (「有多大比例」)
    # asks for a level, its share
    share = asked_unit_kind(what_is_asked(question)) == "share" and not _ASKS_SHARE_OF_RE.search(question)
    rate = "增长多少" if share else "是多少"
    tried += [f"{metric}多少" if metric.endswith("增长") else f"{metric}{rate}" for metric in named_metrics(question)]
    return list(dict.fromkeys(tried))


def _belongs(stated: StatedFigure, side: QueryIntent) -> bool:
    """A figure answers a side when it is of the side's place (not 「全市」 in a county's report) and
    year, and a target only when the side asks for one."""
    if side.region and not same_place(stated.place, side.region):
        return False
    if side.year and (stated.year != side.year or stated.span):
        return False
    return (stated.kind == "target") == (side.period == "plan")
