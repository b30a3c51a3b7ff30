"""The first line of an answer, composed from the figures it states.

A quote of the report is sure, but a whole report sentence is not an answer one reads at a glance
(「全年实现快递业务量22.3亿件，增长18.5%，…」). So a quoted answer opens with one sentence composed by a
template from the figure each quoted sentence states of what was asked — its year, place, what it
measures as the report names it, the figure with its bound, the citation:

    2024年保定市快递业务量22.3亿件[1]。
    原文：全年实现快递业务量22.3亿件，增长18.5%……[1]

and the report's sentences follow as its evidence. Where a quoted sentence states no figure of what was
asked (a glossary entry, a policy) there is no composed line: the quote is the answer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from rag.answering.figures import StatedFigure, lead_figure, listed_figures, worded
from rag.answering.terms import asks_for_figure
from rag.reading.chunking import Chunk
from rag.retrieval.query import QueryIntent
from rag.text.lexicon import lexicon

#: What stands before the report's own sentences given as the evidence of a composed first line.
EVIDENCE_LABEL = "原文："

#: Where a part of a question ends (「…多少家企业？一共减免多少钱？」 asks two figures).
_PART_END_RE = re.compile(r"[？?；;。！!]")
#: A question for several figures at once (「城里人和农村人…分别有多少」): the word of a 「分别」 list.
_RESPECTIVELY_RE = re.compile(lexicon().figures.respectively)
#: A quoted sentence and the passage it is cited from (「…22.3亿件。[1]」).
_QUOTED_RE = re.compile(r"(.+?)\[(\d+)\]")


def lead_figures(
    question: str,
    quote: str,
    chunks: Sequence[Chunk],
    sides: Sequence[QueryIntent],
    ignore: Collection[str],
    *,
    asks: Sequence[str] = (),
) -> list[StatedFigure]:
    """Per quoted sentence of ``quote`` (``sentence[n]…``), the figure it states of what ``question``
    asks (:func:`rag.answering.figures.lead_figure`; ``asks``: what the user typed, when a follow-up
    was made standalone) — read against the side of the passage's place and year; empty unless every
    sentence states one that describes one year (a 「十三五」 average is worded by its own sentence only)."""
    found: list[StatedFigure] = []
    # 「给多少家企业减免了罚金？一共减免多少钱？」 asks two figures: one per part that asks for one
    parts = [p for p in _PART_END_RE.split(question) if asks_for_figure(p)]
    for match in _QUOTED_RE.finditer(quote):
        sentence, n = match.group(1), int(match.group(2))
        if not 1 <= n <= len(chunks):
            return []
        chunk = chunks[n - 1]
        side = next(
            (s for s in sides if s.region in (None, chunk.region) and s.year in (None, chunk.year)), QueryIntent(question)
        )
        if len(parts) > 1:
            leads = [lead_figure(part, sentence, chunk, n, side, ignore, context=question) for part in parts]
        else:
            leads = [lead_figure(question, sentence, chunk, n, side, ignore, asks=asks)]
        stated = [f for f in leads if f is not None]
        if (
            _RESPECTIVELY_RE.search(question)
            and len(listed := listed_figures(question, sentence, chunk, n, ignore, asks=asks)) > 1
        ):
            stated = listed  # 「…分别有多少」 asks for each
        if not stated or any(f.span or not f.measures for f in stated):
            return []
        found.extend(f for f in stated if f not in found)
    return found


def lead_line(leads: Sequence[StatedFigure], sides: Sequence[QueryIntent]) -> str:
    """One sentence stating ``leads`` with the year and place each describes: 「2024年保定市快递业务量
    22.3亿件[1]。」 (``""`` without figures)."""
    if not leads:
        return ""
    asked = {s.region for s in sides if s.region}
    parts = []
    said = None
    for figure in leads:
        year = f"{figure.year}年" if figure.year else ""
        label = f"{year}{figure.place or next(iter(asked), None) or ''}"
        parts.append(worded(figure, label if label != said else ""))  # a year and place said once
        said = label
    return "；".join(parts) + "。"


def evidence(stated: Sequence[StatedFigure]) -> str:
    """The report sentences that state ``stated``, each once and cited: 「…22.3亿件，增长18.5%。[1]」."""
    return "".join(dict.fromkeys(f"{f.sentence}[{f.citation}]" for f in stated if f.citation))


def answer_part(text: str) -> str:
    """What an answer says, without the evidence after its first line (the whole text when there is
    none, or when the evidence is all there is)."""
    return text if text.startswith(EVIDENCE_LABEL) else text.split("\n" + EVIDENCE_LABEL, 1)[0]
