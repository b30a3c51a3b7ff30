"""The report's name for what a question asks in everyday words.

A reader asks 「发了多少个包裹」, the report states 「快递业务量130.6亿件」; 「上学的名额」 is 「新增学位」,
「新开的公司和个体店铺」 are 「新增市场主体」. The small embedder and the small model know neither
pairing, so the passage that answers ranks low and the sentence that answers is never judged.

:data:`EVERYDAY` pairs everyday wordings with the names government work reports give the
statistical indicators they mean — general statistical vocabulary (the statistics bureau's and the
ministries' indicator names), not any one report's wording. Two strengths:

- a **name** (``sure``): the wording means that indicator and no other (「坐飞机进出的人次」 is
  「机场旅客吞吐量」); its alternatives are the ways reports write it. A sentence stating a figure of
  it answers the question as surely as one in the question's own words (rag/answering/quote.py).
- a **hint**: the wording points to a family of indicators (「看病」: hospitals, beds, doctors) —
  only retrieval and the judge's choice of candidate sentences look for them.

:func:`report_terms` gives every name and hint a question implies and does not say already (for
retrieval), :func:`named_metrics` the indicator names its sure wordings make up together
(「城里人…到手多少钱」: 城镇居民 + 人均可支配收入).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

from rag.core.config import Settings
from rag.text.lexicon import lexicon


@dataclass(frozen=True)
class Everyday:
    """An everyday wording (a regular expression over the question) and the report's names for it."""

    wording: str
    names: tuple[str, ...]
    sure: bool = True


#: In this order (the order in which names that go together are joined: who, then what); the table is
#: rag/text/lexicon/everyday.toml, where each row is a pattern, its names and whether it is sure.
EVERYDAY: tuple[Everyday, ...] = tuple(Everyday(row.pattern, row.names, row.sure) for row in lexicon().everyday.everyday)

_COMPILED = tuple((re.compile(entry.wording, re.IGNORECASE), entry) for entry in EVERYDAY)
#: More names than this made up of several sure wordings are not tried (each is one more check): the
#: default of :func:`named_metrics`; the answer stage passes ``Settings.everyday_max_named``.
MAX_NAMED: int = Settings.model_fields["everyday_max_named"].default


def _matched(question: str) -> list[Everyday]:
    return [entry for pattern, entry in _COMPILED if pattern.search(question)]


def report_terms(question: str) -> list[str]:
    """Every name and hint the question's everyday words imply and it does not say already, in table
    order without repeats."""
    found: list[str] = []
    for entry in _matched(question):
        found.extend(name for name in entry.names if name not in question and name not in found)
    return found


def with_report_terms(question: str) -> str:
    """The question followed by the report terms its everyday words imply (unchanged when none)."""
    terms = report_terms(question)
    return f"{question}（{' '.join(terms)}）" if terms else question


def named_metrics(question: str, limit: int = MAX_NAMED) -> list[str]:
    """The indicator names the question's sure everyday wordings make up together, one alternative
    of each in table order (「城里人…到手多少钱」 → 「城镇居民人均可支配收入」), at most ``limit``; none when it has none."""
    sure = [entry.names for entry in _matched(question) if entry.sure]
    if not sure:
        return []
    return ["".join(parts) for parts in product(*sure)][:limit]
