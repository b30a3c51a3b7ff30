"""Answers that are the report's own sentences, quoted and cited.

A quote cannot invent a figure, and needs no model: when a retrieved passage of the asked place,
year and period plainly states a figure of what was asked, that sentence *is* the answer. Three kinds:

- :func:`sure_quote` — the glossary entry a question names, or for each side of the question (one
  region/year, or both sides of a comparison) a sentence that names everything asked and states a
  figure of it. Sure enough to answer before (or instead of) the model.
- :func:`unit_quote` — a weaker rule for questions in everyday words (「城里人一年能拿到手的钱」): a
  sentence of the right place and time whose figure has the unit kind the question asks for (辆, 亩,
  money, share…): the only one of a specific kind, or one that names most of what is asked. Only used
  after the model refused.
- :func:`extractive_answer` — the best-overlapping sentences, for when there is no model at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence

from rag.answering.figures import one_year_figure
from rag.answering.prompts import sentences
from rag.answering.terms import ASKS_CHANGE_RE, NAMES_ENOUGH, agreement, asked_terms, asked_unit_kind, known, names_asked
from rag.answering.verify import figures, measures_of, states_asked_figure, states_sibling
from rag.indexing.lexical import tokenize
from rag.reading.chunking import Chunk
from rag.retrieval.everyday import MAX_NAMED, named_metrics
from rag.retrieval.query import QueryIntent
from rag.text.gazetteer import same_place
from rag.text.lexicon import lexicon
from rag.text.numbers import comparable, figures_in, fits_kind

logger = logging.getLogger(__name__)

#: A glossary note's leading number and page (「13.P22」).
_NOTE_NUMBER_RE = re.compile(r"^\s*\d+\s*[.．、]\s*(?:P\d+)?")


def _of_side(chunk: Chunk, side: QueryIntent, chunks: Sequence[Chunk]) -> bool:
    """A passage speaks for a side when region and year agree and a target answers only for targets —
    unless the year is one the reports only plan for (retrieval ranks a year's review first, so when
    no retrieved passage of that year is a review, there is none: a report's opening lines, dated
    that year, do not count as one)."""
    if (side.region and not same_place(chunk.region, side.region)) or (side.year and chunk.year != side.year):
        return False
    if (side.period == "plan") == (chunk.period == "plan"):
        return True
    same_year = [c for c in chunks if c.year == side.year and not (side.region and not same_place(c.region, side.region))]
    return side.year is not None and side.period is None and not any(c.period == "review" for c in same_year)


def glossary_quote(question: str, chunks: Sequence[Chunk]) -> str | None:
    """The glossary entry the question names (「“六个不发生”具体是哪六个？」), without its note number."""
    for n, chunk in enumerate(chunks, start=1):
        term = chunk.section.rsplit(" > ", 1)[-1].strip('“”"「」 ')
        if chunk.period == "glossary" and len(term) >= 2 and term in question:
            return f"{_NOTE_NUMBER_RE.sub('', chunk.text).strip()}[{n}]"
    return None


def sure_quote(
    question: str,
    chunks: Sequence[Chunk],
    sides: Sequence[QueryIntent],
    ignore: Collection[str],
    *,
    enough: float = NAMES_ENOUGH,
    max_named: int = MAX_NAMED,
) -> str | None:
    """The glossary entry asked for, or per side the first sentence (in rank order) that names
    everything asked and states a figure of it; ``None`` unless every side is found. ``enough`` and
    ``max_named``: see :func:`named_quote`."""
    glossary = glossary_quote(question, chunks)
    if glossary:
        return glossary
    quotes: list[str] = []
    for side in sides:
        # a side of a comparison may ask only what its part of the question asks (「2022年新增就业人数和
        # 2023年的城镇新增就业目标比」: 城镇 only of 2023): the whole question first, then that part
        asks = [question] + ([side.text] if len(sides) > 1 and any(map(known, asked_terms(side.text, ignore))) else [])
        # a sentence stating the asked year's own figure first, not a span's (「年均增长7%」 of a five-year
        # review), then any that states a figure of what is asked
        quote = next(
            (
                f"{sentence}[{n}]"
                for one_year in ((True, False) if side.year is not None else (False,))
                for asked in asks
                for n, chunk in enumerate(chunks, start=1)
                if _of_side(chunk, side, chunks)
                for sentence in sentences(chunk.text)
                if (
                    one_year_figure(sentence, asked, ignore, enough=enough)
                    if one_year
                    else states_asked_figure(sentence, asked, ignore, enough=enough)
                )
            ),
            None,
        )
        if quote is None and len(sides) == 1:
            quote = named_quote(question, chunks, side, ignore, enough=enough, max_named=max_named)
        if quote is None:
            return None
        if quote not in quotes:
            quotes.append(quote)
    return "".join(quotes) or None


def named_quote(
    question: str,
    chunks: Sequence[Chunk],
    side: QueryIntent,
    ignore: Collection[str],
    *,
    enough: float = NAMES_ENOUGH,
    max_named: int = MAX_NAMED,
) -> str | None:
    """For a question in everyday words, a sentence of the asked place and time that states a figure
    of the indicator those words name (rag/retrieval/everyday.py: 「发了多少个包裹」 → 「快递业务量」), asked as the
    question asks it (its level, or its change or target) and of the unit kind it asks for: of those,
    the one whose figure's clause names least besides (「外贸进出口总额 | 752.6亿元」 before 「对东盟进出口
    201.6亿元」), then the best ranked. ``enough``: the share of the asked words a figure's clause names
    (:data:`rag.answering.terms.NAMES_ENOUGH`); ``max_named``: how many indicator names are tried."""
    metrics = named_metrics(question, max_named)
    if not metrics:
        return None
    kind = asked_unit_kind(question)
    change = ASKS_CHANGE_RE.search(question)
    asks = [metric + (question[change.start() :] if change else "是多少") for metric in metrics]
    wanted = {asked: asked_terms(asked, ignore) for asked in asks}
    found: list[tuple[int, int, int, str]] = []  # (words besides, rank, order, quote)
    for n, chunk in enumerate(chunks, start=1):
        if not _of_side(chunk, side, chunks):
            continue
        for sentence in sentences(chunk.text):
            besides = [
                _besides(sentence, wanted[asked], kind, ignore, enough)
                for asked in asks
                if states_asked_figure(sentence, asked, ignore, enough=enough)
            ]
            if fits := [b for b in besides if b is not None]:
                found.append((min(fits), n, len(found), f"{sentence}[{n}]"))
    return min(found)[3] if found else None


def _besides(sentence: str, wanted: list[str], kind: str | None, ignore: Collection[str], enough: float) -> int | None:
    """How few words the clause of a figure of unit ``kind`` that names the ``wanted`` metric words
    says besides them (``None`` when no such figure is the sentence's)."""
    counts = [
        sum(not names_asked(w, wanted) for w in words)
        for words in measures_of(sentence, kind, ignore)
        if agreement(wanted, words, lenient=True) >= enough
    ]
    return min(counts, default=None)


#: Unit kinds nearly every passage has a figure of (money, shares, counts of things): a sentence of
#: such a unit answers an everyday-words question only when it also names most of what is asked
#: (rag/text/lexicon/quote.toml).
COMMON_KINDS = frozenset(lexicon().quote.common_kinds)


def candidate_sentences(
    chunks: Sequence[Chunk],
    side: QueryIntent,
    kind: str | None,
    wanted: Sequence[str] = (),
    ignore: Collection[str] = (),
    *,
    enough: float = NAMES_ENOUGH,
) -> list[tuple[int, str]]:
    """(passage number, sentence) for each sentence of the asked place and time stating a figure of
    unit ``kind`` (of any unit when ``kind`` is ``None``), in rank order — save those whose figures all
    measure a sibling of the ``wanted`` metric words (:func:`rag.answering.verify.states_sibling`)."""
    asked = list(wanted)
    return [
        (n, sentence)
        for n, chunk in enumerate(chunks, start=1)
        if _of_side(chunk, side, chunks)
        for sentence in sentences(chunk.text)
        if any(fits_kind(f.unit, kind) for f in figures_in(comparable(sentence)))
        and not states_sibling(sentence, asked, kind, ignore, enough=enough)
    ]


def unit_quote(
    question: str, chunks: Sequence[Chunk], side: QueryIntent, ignore: Collection[str], *, enough: float = NAMES_ENOUGH
) -> str | None:
    """A sentence of the asked place and time whose figure has the unit kind the question asks for:
    the only such sentence when the kind is specific (辆, 亩, 吨, 小时…), else the one naming at least
    ``enough`` of the question's metric words (the most, then the best ranked)."""
    kind = asked_unit_kind(question)
    if kind is None:
        return None
    wanted = asked_terms(question, ignore)
    candidates = candidate_sentences(chunks, side, kind, wanted, ignore, enough=enough)
    if len(candidates) == 1 and kind not in COMMON_KINDS:
        n, sentence = candidates[0]
        return f"{sentence}[{n}]"
    # what the figure of that kind measures, not the whole sentence: 「全年实现地区生产总值2.4万亿元，…税收
    # 收入占全省比重达到27.9%」 names GDP, but its share is not GDP's growth
    named = [
        (max((agreement(wanted, words) for words in measures_of(sentence, kind, ignore)), default=0.0), -i)
        for i, (_, sentence) in enumerate(candidates)
    ]
    if not wanted or not named or max(named)[0] < enough:
        return None
    n, sentence = candidates[-max(named)[1]]
    return f"{sentence}[{n}]"


def extractive_answer(question: str, chunks: Sequence[Chunk], max_sentences: int = 2) -> tuple[str, list[int]]:
    """The report sentences that best match the question, each cited; ``("", [])`` if nothing matches."""
    wanted = set(tokenize(question))
    scored: list[tuple[float, int, int, str]] = []  # (score, passage n, sentence i, sentence)
    for n, chunk in enumerate(chunks, start=1):
        for i, sentence in enumerate(sentences(chunk.text)):
            overlap = len(wanted & set(tokenize(sentence)))
            if overlap:  # a sentence that states a figure beats a preamble with the same words
                scored.append((overlap + (1.0 if figures(sentence) else 0.0) - 0.01 * n, n, i, sentence))
    ranked = sorted(scored, key=lambda s: -s[0])
    if not ranked or ranked[0][0] < min(2, len(wanted)) - 0.5:
        return "", []
    best = [s for s in ranked[:max_sentences] if s[0] >= ranked[0][0] - 1.5]  # only close runners-up
    best.sort(key=lambda s: (s[1], s[2]))
    return "".join(f"{sentence}[{n}]" for _, n, _, sentence in best), sorted({n for _, n, _, _ in best})
