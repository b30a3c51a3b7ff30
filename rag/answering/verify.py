"""Checking a generated answer against its passages: citations, refusals, and every number it states."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence

from rag.answering.prompts import sentences
from rag.answering.terms import (
    NAMES_ENOUGH,
    STATED_AS_CHANGE_RE,
    agreement,
    asked_terms,
    asked_unit_kind,
    asks_for_level,
    known,
    metric_words,
    names_asked,
    opposed,
)
from rag.core.config import Settings
from rag.text.lexicon import lexicon
from rag.text.numbers import Figure, comparable, figures_in, fits_kind, occurrences, stated_at, states, unit_kind

#: The module's words and patterns (rag/text/lexicon/verify.toml, where each is explained).
_RULES = lexicon().verify

_CITATION_RE = re.compile(_RULES.citation)
_CITATION_SEPARATOR_RE = re.compile(_RULES.citation_separator)
_REFUSAL_RE = re.compile(_RULES.refusal)
_REFUSAL_CLAUSE_RE = re.compile(_RULES.refusal_clause)
_REFUSAL_SENTENCE_RE = re.compile(_RULES.refusal_sentence)


def citations_in(text: str) -> list[int]:
    """Citation numbers in order of first appearance: [1], [1,2], [1][3], 【2】."""
    seen: list[int] = []
    for match in _CITATION_RE.finditer(text):
        for part in _CITATION_SEPARATOR_RE.split(match.group(1)):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


_LEAD_IN_RE = re.compile(_RULES.lead_in)
#: Where a sentence ends.
_BOUNDARY_RE = re.compile(_RULES.sentence_end)


def tidy_citations(text: str) -> str:
    """「…2.4万亿元，依据[2]。」 → 「…2.4万亿元[2]。」: markers sit right after what they support."""
    return _LEAD_IN_RE.sub("", text)


def strip_citations(text: str) -> str:
    return _CITATION_RE.sub("", text)


def has_refusal(text: str) -> bool:
    return bool(_REFUSAL_RE.search(text))


def strip_refusal(text: str, *, clauses: bool = False) -> str:
    """``text`` without its refusal sentences (a small model sometimes answers *and* refuses)."""
    pattern = _REFUSAL_CLAUSE_RE if clauses else _REFUSAL_SENTENCE_RE
    kept = [s for s in pattern.findall(text) if not _REFUSAL_RE.search(s)]
    return "".join(kept).strip()


def is_refusal(text: str) -> bool:
    """The model said the passages do not hold the answer and gave nothing cited or checkable instead."""
    if not has_refusal(text):
        return False
    rest = strip_refusal(text, clauses=True)
    return len(rest) < 4 or not (citations_in(rest) or figures(rest))


def figures(text: str) -> list[Figure]:
    """Figures stated in ``text`` (citation markers and bare years excluded; full-width digits and
    Chinese numerals included, as Arabic digits)."""
    return figures_in(comparable(strip_citations(text)))


def supported(figure: Figure, passages: Sequence[str]) -> bool:
    """Whether some passage states this number (with the same unit, when the answer gives one)."""
    return any(states(figure, comparable(passage)) for passage in passages)


def cite_figure(text: str, figure: Figure, n: int) -> str:
    """``text`` with ``[n]`` added at the end of the sentence stating ``figure`` (or at the very end)."""
    marker = f"[{n}]"
    match = re.search(rf"(?<![\d.]){re.escape(figure.number)}", text.replace(",", ""))
    start = match.end() if match and "," not in text else len(text)
    end = _BOUNDARY_RE.search(text, start)
    at = end.start() if end else len(text.rstrip())
    if text[:at].rstrip().endswith("]") and marker in text[max(0, at - 12) : at]:
        return text
    return text[:at] + marker + text[at:]


#: The agreement (:func:`rag.answering.terms.agreement`) of an answer's metric words with the passage clause
#: that states its figure, above which the figure counts as verified, and below which it counts as
#: given for another metric. In between it is kept and marked doubtful. The defaults of the functions
#: that take them; the answer stage uses ``Settings.answer_verified`` and ``Settings.answer_misattributed``.
VERIFIED: float = Settings.model_fields["answer_verified"].default
MISATTRIBUTED: float = Settings.model_fields["answer_misattributed"].default
_CLAUSE_MARKS = _RULES.clause_marks
_CLAUSE_RE = re.compile(f"[{_CLAUSE_MARKS}]")
_CLAUSE_BODY_RE = re.compile(f"[^{_CLAUSE_MARKS}]+")
_DIGIT_RE = re.compile(r"\d")


def _lead_in(text: str, end: int, boundary: re.Pattern[str] = _BOUNDARY_RE) -> str:
    """The sentence up to ``end``: what the figure at ``end`` is said to measure."""
    start = max((m.end() for m in boundary.finditer(text, 0, end)), default=0)
    return text[start:end]


def _measured(text: str, figure: Figure, match: re.Match[str], ignore: Collection[str]) -> list[str]:
    """What the figure stated at ``match`` of an answer or passage measures, nearest last: its own
    clause's metric words before it (「地区生产总值增长5%以上，一般公共预算收入同口径增长4%以上」 keeps
    the two apart); when there are none, what it counts right after it and its unit in its clause
    (「5191名新市民子女进入公办学校」); else the sentence's words before it (「…189.4亿元，同比分别增长6.5%」) —
    for a bare change (「，增长7.2%」), the change of the level stated last, up to the end of the nearest
    clause before that states a figure: a remark between (「地区生产总值100.6亿元，历史性突破百亿大关，
    增长7.2%」) is not what it measures."""
    lead = _lead_in(text, match.start(), _CLAUSE_RE)
    own = metric_words(lead, ignore)
    if not own and (counted := _CLAUSE_BODY_RE.match(text, _figure_end(text, figure, match))):
        own = metric_words(counted.group(), ignore)[::-1]
    if own:
        return own
    before = _lead_in(text, match.start())
    digits = [m.end() for m in _DIGIT_RE.finditer(before)] if STATED_AS_CHANGE_RE.search(lead) else []
    end = _CLAUSE_RE.search(before, digits[-1]) if digits else None
    return (end and metric_words(before[: end.start()], ignore)) or metric_words(before, ignore)


def measured_in_answer(answer: str, figure: Figure, ignore: Collection[str] = ()) -> list[str]:
    """What an answer says its ``figure`` measures (its metric words, nearest last; ``[]`` when the
    answer does not state it or names nothing)."""
    return _in_answer(answer, figure, ignore)[0]


def _in_answer(answer: str, figure: Figure, ignore: Collection[str]) -> tuple[list[str], list[str]]:
    """What an answer says its ``figure`` measures (:func:`measured_in_answer`) and the name it gives it:
    the metric words of its clause before it (``[]`` when there are none: 「189.4亿元中的160.3亿元是税收
    收入」 names 189.4亿元 nothing of its own)."""
    clean = comparable(strip_citations(answer))
    at = next(occurrences(figure, clean), None)
    if at is None:
        return [], []
    return _measured(clean, figure, at, ignore), metric_words(_lead_in(clean, at.start(), _CLAUSE_RE), ignore)


def _figure_end(body: str, figure: Figure, match: re.Match[str]) -> int:
    """Where the figure at ``match`` ends, its unit included."""
    return match.end() + (len(figure.unit) if body.startswith(figure.unit, match.end()) else 0)


def measures_of(sentence: str, kind: str | None, ignore: Collection[str] = ()) -> list[list[str]]:
    """For each figure of unit ``kind`` (any unit when ``None``) in a report sentence, the metric words
    of its clause, before and after it (「7069套认定为保障性租赁住房」 names what it counts after it),
    or of the nearest clause before that names any (「…税收收入占全省比重达到27.9%，提高1.4个百分点」)."""
    body = comparable(sentence)
    clauses = _clauses(body)
    found: list[list[str]] = []
    for figure in figures_in(body):
        if not fits_kind(figure.unit, kind):
            continue
        for match in occurrences(figure, body):
            if words := _clause_words(body, clauses, figure, match, ignore):
                found.append(words)
    return found


def _clauses(body: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _CLAUSE_BODY_RE.finditer(body)]


def _clause_words(
    body: str, clauses: list[tuple[int, int, str]], figure: Figure, match: re.Match[str], ignore: Collection[str]
) -> list[str]:
    """The metric words of the clause stating ``figure`` at ``match`` (else of the nearest clause
    before it that names any — for a bare change, 「，增长7.2%」, the nearest that states a figure first):
    what that figure measures."""
    at = next((i for i, (a, b, _) in enumerate(clauses) if a <= match.start() < b), None)
    if at is None:
        return []
    a, b, _ = clauses[at]
    end = _figure_end(body, figure, match)
    own = body[a : match.start()] + "，" + body[end:b]  # the figure itself (「1.4个百分点」) names nothing
    earlier = [c for _, _, c in reversed(clauses[:at])]
    if STATED_AS_CHANGE_RE.search(body, a, match.start()):
        earlier = [c for c in earlier if _DIGIT_RE.search(c)] + earlier
    for clause in [own, *earlier]:
        if words := metric_words(clause, ignore):
            return words
    return []


def states_asked_figure(sentence: str, question: str, ignore: Collection[str] = (), *, enough: float = NAMES_ENOUGH) -> bool:
    """Whether a report sentence names everything the question asks about and states a figure *of*
    it (:func:`asked_figures`)."""
    return next(asked_figures(sentence, question, ignore, enough=enough), None) is not None


def asked_figures(
    sentence: str, question: str, ignore: Collection[str] = (), *, enough: float = NAMES_ENOUGH
) -> Iterator[tuple[Figure, int]]:
    """The figures of a report sentence that are figures *of* what the question asks, each with where
    it stands in :func:`comparable` ``sentence``, in order: the sentence must name everything asked,
    the metric word nearest before the figure must be one asked for, so 「研发投入占地区生产总值比重
    接近4%」 does not answer a question about 地区生产总值, and the figure's own clause must name most of
    what is asked (``enough``), so 「新增规上工业企业246家，…数字经济核心产业增加值增长10.6%」 does not
    answer one about 规模以上工业增加值."""
    wanted = asked_terms(question, ignore)
    if not wanted or agreement(wanted, metric_words(sentence, ignore), lenient=True) < 1:
        return
    body = comparable(sentence)
    clauses = _clauses(body)
    # a question for a rate (「增长了百分之多少」) is not answered by a level (「地区生产总值2.4万亿元」), nor
    # one for a level (「社会消费品零售总额是多少」) by a change (「社会消费品零售总额增长6.8%」)
    rate = asked_unit_kind(question) == "share"
    level = asks_for_level(question)
    for figure in figures_in(body):
        if rate and unit_kind(figure.unit) != "share":
            continue
        for match in occurrences(figure, body):
            if level and STATED_AS_CHANGE_RE.search(body, 0, match.start()):
                continue
            words = _measured(body, figure, match, ignore)
            if (
                words
                and names_asked(words[-1], wanted)
                and agreement(wanted, _clause_words(body, clauses, figure, match, ignore), lenient=True) >= enough
            ):
                yield figure, match.start()


def attribution(
    answer: str,
    figure: Figure,
    passage: str,
    ignore: Collection[str] = (),
    question: str = "",
    *,
    enough: float = NAMES_ENOUGH,
    misattributed: float = MISATTRIBUTED,
) -> float | None:
    """How surely ``passage`` states ``figure`` *for the same thing* the answer says it measures:
    ``None`` when the passage does not state the number (with its unit) at all, else the best
    :func:`rag.answering.terms.agreement` of the answer's metric words with those leading up to the figure in the
    passage's sentence (a table row is one: 「…第2\n\n一般公共预算收入 | 421.6亿元」 does not run the
    rows together), 1.0 when the answer names no metric and the question cannot be judged against the
    passage. Two metrics that differ in their head word, the one nearest the figure, are never more
    than doubtful (:func:`_same_head`): 「一般公共预算支出」 is not 「一般公共预算收入」; nor are two
    siblings (:func:`_sibling`): 「城镇调查失业率」 is not 「城镇登记失业率」.

    「城镇居民人均可支配收入是155.2亿元」 against 「一般公共预算收入155.2亿元」 scores low. A bare answer
    (「5%以上[1]」) names no metric: the ``question``'s words stand for it, so the GDP target cannot
    answer a question about revenue. Such a figure scores at most ``misattributed``; ``enough``: see
    :func:`_sibling`.
    """
    spots = [(body, m) for body in map(comparable, sentences(passage)) for m in stated_at(figure, body)]
    if not spots:
        return None
    measured, named = _in_answer(answer, figure, ignore)
    wanted = list(dict.fromkeys(measured))
    lenient = False
    asked: list[str] = []
    if not wanted and question:
        asked = asked_terms(question, ignore)
        # judge by the question only where the passage names all it asks (a paraphrase such as
        # 「城里人的收入」 cannot be judged: the number alone decides then)
        lenient = True
        wanted = asked if agreement(asked, metric_words(passage, ignore), lenient=True) == 1 else []
    scores = []
    for body, m in spots:
        found = _measured(body, figure, m, ignore)
        score = agreement(wanted, found, lenient=lenient)
        if asked and opposed(asked, found):  # a bare 「421.6亿元」 for 支出 from the row of 收入
            score = 0.0
        alike = _same_head(wanted, found) and not _sibling(named or asked, found, enough)
        scores.append(score if alike else min(score, misattributed))
    return max(scores)


def states_sibling(
    sentence: str, wanted: list[str], kind: str | None, ignore: Collection[str] = (), *, enough: float = NAMES_ENOUGH
) -> bool:
    """Whether every figure of unit ``kind`` in a report sentence measures a sibling of the asked metric
    (:func:`_sibling`): 「城镇登记失业率2.36%」 when 「城镇调查失业率」 is asked is no answer to quote."""
    measures = measures_of(sentence, kind, ignore)
    return bool(wanted) and bool(measures) and all(_sibling(wanted, words, enough) for words in measures)


def _same_head(wanted: list[str], found: list[str]) -> bool:
    """Whether two metrics (their words, nearest the figure last) agree in their head word: the one
    nearest the figure of either is named by the other's whole words — not by a part jieba also gives
    (「用电量」 and 「发电量」 share 「电量」, yet one is not the other)."""
    return not wanted or not found or names_asked(found[-1], _whole(wanted)) or names_asked(wanted[-1], _whole(found))


def _whole(words: list[str]) -> list[str]:
    """The words that are no part of another of ``words`` (jieba's search mode gives both)."""
    return [w for w in words if not any(w != v and w in v for v in words)]


def _sibling(named: list[str], found: list[str], enough: float = NAMES_ENOUGH) -> bool:
    """Whether the name an answer (or, for a bare figure, the question) gives a figure and the name the
    passage gives it share most of their words (``enough``) yet each has a dictionary word the
    other lacks: a sibling metric under the same number, 「网络零售额」 for 「社会消费品零售总额」,
    「城镇调查失业率」 for 「城镇登记失业率」 — only a judge can tell those apart. Leaving out a passage's
    word (「城镇居民」 for 「城镇常住居民」) is no other metric, and words that mostly differ
    (「城里人人均收入」 for 「城镇居民人均可支配收入」) are a paraphrase, which the number decides."""

    def unnamed(words: list[str], by: list[str]) -> bool:
        return any(known(w) and not names_asked(w, by) for w in words)

    return unnamed(named, found) and unnamed(found, named) and agreement(named, found, lenient=True) >= enough


def attributed(
    answer: str, figure: Figure, passage: str, ignore: Collection[str] = (), question: str = "", *, verified: float = VERIFIED
) -> bool:
    """Whether ``passage`` states ``figure`` for what the answer (or the question) says it measures
    (its :func:`attribution` is at least ``verified``)."""
    score = attribution(answer, figure, passage, ignore, question)
    return score is not None and score >= verified


def unsupported_figures(answer: str, passages: Sequence[str]) -> list[Figure]:
    return [f for f in figures(answer) if not supported(f, passages)]
