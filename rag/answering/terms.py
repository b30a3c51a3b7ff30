"""What a figure measures: the metric words of questions, answers and report clauses, and how well two
sets of them agree.

Reports and readers name one metric in several ways. Three general rules cover most of it:
- an abbreviation keeps characters of the full term in order, starting with its first one
  (「规上」 ⊂ 「规模以上」, 「社零」 ⊂ 「社会消费品零售总额」, 「固投」 ⊂ 「固定资产投资」);
- a word contains, or is contained in, the other (「进出口」 / 「进出口总额」);
- a small documented table of government-report synonyms (:data:`SYNONYMS`) for what neither rule sees
  (「GDP」 = 「地区生产总值」);
and one against it: metrics that differ in one word of an opposed pair (:data:`OPPOSITES`:
「一般公共预算收入」/「一般公共预算支出」) never agree, however many words they share.
Everything that says how a figure changed (增长, 同比, 目标…) or how a question asks (多少, 是什么…) is
no metric word.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import jieba

from rag.core.config import Settings
from rag.indexing.lexical import STOPWORDS
from rag.text.lexicon import lexicon
from rag.text.numbers import ASKED_MEASURE_RE, is_unit, unit_kind

#: The module's words and patterns (rag/text/lexicon/terms.toml, where each is explained).
_RULES = lexicon().terms

#: Same metric, different words: the left side (a regular expression) is rewritten to the right
#: before comparing, in this order. R&D intensity is the statistics bureau's name for R&D spending as a
#: share of GDP (「研究与试验发展(R&D)经费投入强度」), which reports also write out in full.
SYNONYMS: tuple[tuple[str, str], ...] = tuple((s.pattern, s.name) for s in _RULES.synonyms)

#: Pairs of words that make two otherwise alike metrics opposites in government reports: income and
#: spending, exports and imports, town and country, deposits and loans.
OPPOSITES: tuple[tuple[str, str], ...] = _RULES.opposites
#: Words that name the sum of an opposed pair: neither part is the whole (「其中出口318.4亿元」 is not
#: 「进出口总额」, nor is the total an answer for the exports).
TOTALS: tuple[tuple[str, tuple[str, str]], ...] = _RULES.totals

#: Words that say how a figure changed, whether it is a target, or qualify it: not what it measures.
GENERIC = frozenset(_RULES.generic)

#: Words that make a question a question, not what it asks about.
ASKING = frozenset(_RULES.asking)

#: 「几家」「几位」「多少万人」: how a question asks for a count, whatever it counts.
_ASKING_COUNT_RE = re.compile(_RULES.asking_count)
#: A one-character word of :data:`GENERIC` that jieba glued to the end of a word it guessed
#: (「有效高企达1175家」 → 「高企达」): the word is what comes before it.
_GLUED_GENERIC_RE = re.compile("(?:" + "|".join(w for w in _RULES.generic if len(w) == 1) + ")$")

_SYNONYM_RES = tuple((re.compile(old), new) for old, new in SYNONYMS)
_DIGIT_RE = re.compile(r"\d")
_YEAR_RE = re.compile(_RULES.year)


def metric_words(context: str, ignore: Collection[str] = ()) -> list[str]:
    """The words of ``context`` that can name what a figure measures, in order (places in ``ignore``
    and any word inside one of them left out)."""
    text = _YEAR_RE.sub("，", context.lower())
    # places and years are cut out before segmenting: 「2019年玉山镇高新…」 must not yield 「年玉」
    for name in sorted(ignore, key=len, reverse=True):
        text = text.replace(name.lower(), "，")
    for pattern, new in _SYNONYM_RES:  # spaced: 「地区生产总值880亿元」 must not become the one token 「gdp880」
        text = pattern.sub(f" {new} ", text)
    return [
        t for t in _words(text)
        if len(t) >= 2 and t not in GENERIC and not _DIGIT_RE.search(t) and not is_unit(t)
        and not any(t in name for name in ignore)
    ]  # fmt: skip


def _words(text: str) -> list[str]:
    """Search-mode words, lower-case, with jieba's guesses for words it does not know (「社零」, but also
    junk such as 「比要」 from 「占比要提高」: :func:`agreement` does not insist on those)."""
    words = (w.strip().lower() for w in jieba.lcut_for_search(text))
    return [_unglued(w) for w in words if w and w not in STOPWORDS]


def _unglued(word: str) -> str:
    return word if len(word) < 3 or known(word) else _GLUED_GENERIC_RE.sub("", word)


def known(word: str) -> bool:
    """A word of jieba's dictionary (or one of ours), not a guess."""
    return bool(jieba.dt.FREQ.get(word)) or word in _OURS


_OURS = frozenset(new for _, new in SYNONYMS)


def asked_terms(question: str, ignore: Collection[str] = ()) -> list[str]:
    """What a question asks about, in order: 「2023年太仓城镇新增就业多少人？」 → 城镇, 新增, 就业."""
    return [w for w in dict.fromkeys(metric_words(question, ignore)) if w not in ASKING and not _ASKING_COUNT_RE.match(w)]


#: How far an abbreviation's characters may spread in the full term (「社会消费品零售总额」 is 9).
_ABBREVIATION_SPAN = 10


def abbreviates(short: str, full: str) -> bool:
    """「社零」 abbreviates 「社会消费品零售总额」: same first character, the rest in order, nearby."""
    if len(short) < 2 or len(short) >= len(full) or short[0] != full[0]:
        return False
    rest = iter(full[1:_ABBREVIATION_SPAN])
    return all(c in rest for c in short[1:])


def abbreviated_in(short: str, phrase: str) -> bool:
    """Whether ``short`` abbreviates a term that starts somewhere in ``phrase`` (「固投」 in 「全社会固定资产投资」)."""
    return any(phrase[k] == short[0] and abbreviates(short, phrase[k:]) for k in range(len(phrase) - 1))


def same_term(a: str, b: str) -> bool:
    """Whether two metric words name the same thing by one of the module's rules."""
    return a == b or a in b or b in a or abbreviates(a, b) or abbreviates(b, a)


def _abbreviated_by(found: Iterable[str], wanted: list[str]) -> set[str]:
    """The ``wanted`` words (in order) that a found abbreviation spells out: 「高企」 in a passage
    stands for the question's 「高新技术企业」, which jieba's search mode gives as 高新, 技术, 企业."""
    whole = [w for w in wanted if not any(w != v and w in v for v in wanted)]  # the words, not their parts
    phrase = "".join(whole)
    starts = [sum(map(len, whole[:i])) for i in range(len(whole))]
    spelled: set[str] = set()
    for short in {f for f in found if len(f) >= 2}:
        for k in starts:  # an abbreviation starts where a word does…
            if phrase[k] != short[0] or not abbreviates(short, phrase[k:]):
                continue
            end, rest = k, iter(range(k + 1, len(phrase)))
            for c in short[1:]:
                end = next(i for i in rest if phrase[i] == c)
            touched = [w for w, at in zip(whole, starts, strict=True) if at <= end and at + len(w) > k]
            if len(touched) >= 2:  # …and runs words together (「质量」 is only part of 「空气质量」)
                spelled |= {w for w in wanted if any(w in t for t in touched)}
    return spelled


def names_asked(word: str, wanted: list[str]) -> bool:
    """Whether ``word`` names one of the asked words, or abbreviates them run together (「高企」)."""
    return any(same_term(word, w) for w in wanted) or bool(_abbreviated_by([word], wanted))


def opposed(wanted: Collection[str], found: Collection[str]) -> bool:
    """Whether one side names a word of an :data:`OPPOSITES` pair that only the other side's opposite
    word answers (「支出」 wanted, 「收入」 found, and neither side names both), or one side a total
    (:data:`TOTALS`) and the other only a part of it."""

    def names(words: Collection[str], part: str) -> bool:
        return any(part in w for w in words)

    def part_only(words: Collection[str], whole: str, parts: tuple[str, str]) -> bool:
        return any(p in w and whole not in w for w in words for p in parts) and not names(words, whole)

    return any(
        names(wanted, a) and not names(wanted, b) and names(found, b) and not names(found, a)
        for pair in OPPOSITES
        for a, b in (pair, pair[::-1])
    ) or any(
        (names(wanted, whole) and part_only(found, whole, parts)) or (names(found, whole) and part_only(wanted, whole, parts))
        for whole, parts in TOTALS
    )


def agreement(wanted: Iterable[str], found: Iterable[str], *, lenient: bool = False) -> float:
    """The share of ``wanted`` metric words that some ``found`` word names too, or that abbreviate a
    term of the found words run together (1.0 when nothing is wanted; 0.0 when the two are
    :func:`opposed`). ``lenient`` (for a question's
    words): a word jieba only guessed counts when it matches, and is not held against the rest when
    it does not."""
    wanted, found = list(dict.fromkeys(wanted)), list(found)
    if opposed(wanted, found):
        return 0.0
    phrase = "".join(dict.fromkeys(found))
    matched = {w for w in wanted if any(same_term(w, f) for f in found) or abbreviated_in(w, phrase)}
    matched |= _abbreviated_by(found, wanted)
    counted = [w for w in wanted if w in matched or known(w) or not lenient]
    return len(matched) / len(counted) if counted else 1.0


#: The share of the question's metric words that must be named where a figure is stated: by its own
#: clause for a sure quote (what the sentence names elsewhere does not count), by a sentence whose
#: unit alone is not enough for an everyday-words question. The default of the functions that take it
#: (``enough``); the answer stage passes ``Settings.answer_names_enough``, where it is explained.
NAMES_ENOUGH: float = Settings.model_fields["answer_names_enough"].default

#: Question cues for the kind of unit an answer needs (see :data:`rag.text.numbers.UNIT_KINDS`).
UNIT_CUES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(c.pattern), c.kind) for c in _RULES.unit_cues)


#: A question that asks for a figure (how many, how much, how long, what share…), not for a name or a list.
ASKS_FIGURE_RE = re.compile(_RULES.asks_figure)


def asks_for_figure(question: str) -> bool:
    return ASKS_FIGURE_RE.search(question) is not None


#: Words that state a change: 「增长6.8%」「下降0.3个百分点」 measure how a figure moved, not its level.
CHANGE_WORDS = _RULES.change_words
#: A question for a change, or for a target (a target is mostly one: 「增长6%左右」).
ASKS_CHANGE_RE = re.compile("|".join((*CHANGE_WORDS, *_RULES.asks_change_words)))
#: A figure stated as a change: one of :data:`CHANGE_WORDS` right before it (「增长了」「比上年下降」).
STATED_AS_CHANGE_RE = re.compile(f"(?:{'|'.join(CHANGE_WORDS)})了?$")


def asks_for_level(question: str) -> bool:
    """Whether the question asks for a figure's level (「社会消费品零售总额是多少」), not how it changed."""
    return ASKS_CHANGE_RE.search(question) is None


#: A population (「常住人口」, not its 城镇化率, share or density, nor 「每千人口…」) is counted in people.
_POPULATION_RE = re.compile(_RULES.population)


def level_kind(question: str) -> str | None:
    """The unit kind a figure answering the question must have: :func:`asked_unit_kind`, or people for
    a population. Only for checking a figure given: the population cue does not choose candidate
    sentences (many of people kind in any passage, none of them a population)."""
    return asked_unit_kind(question) or ("people" if _POPULATION_RE.search(question) else None)


def asked_unit_kind(question: str) -> str | None:
    """The kind of unit the question's answer carries: 「多少件」 → 件, 「一年平均能拿到手的钱」 → money."""
    measure = ASKED_MEASURE_RE.search(question)
    if measure and measure.group(1) != "个":  # 「几个冠军」: 个 counts anything, the cues say what
        return unit_kind(measure.group(1))
    cued = next((kind for pattern, kind in UNIT_CUES if pattern.search(question)), None)
    return cued or (unit_kind(measure.group(1)) if measure else None)
