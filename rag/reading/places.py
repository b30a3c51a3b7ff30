"""The place a report is about when neither its title nor its opening names it (「我代表区政府」, or a
text that starts at 「一、2019年工作回顾」): the division its text names most often, at the level the
report speaks for.

The level comes from the speaker's words (「我代表区政府」 → 区, 「县人民政府」 → 县, 「市政府」 → 市), else
from the text's own 「全县」/「全区」/「全市」/「全旗」 (or 州, 盟), the most frequent. The names counted are the
gazetteer's, each in its full form (「清苑区」) and its short form (「清苑」), found as words by a private
jieba tokenizer so that a name inside a longer word does not count; a short form that is a common word
(jieba's main dictionary lists it ``COMMON_WORD_FREQ`` times or more with a tag that is not a proper
noun's: 「开发」, 「和平」) is not counted, the rule :mod:`rag.answering.coverage` uses for questions.

The gazetteer holds today's names. A division renamed since (清苑县, a district 清苑区 since 2015) is
read as the text writes it: when the text writes the short form with the level's suffix (「清苑县」) that
name is the region, else today's name. Its parent is the gazetteer's (a prefecture is not renamed with its
counties); where several divisions share the name, the one whose parent the text names, else none.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

import jieba

from rag.core.config import Settings
from rag.text.gazetteer import ADMIN_SUFFIXES, adcode_level, cpca_file, division_codes, parent_name
from rag.text.lexicon import lexicon

_RULES = lexicon().headings
_SWORN_LEVEL_RE = re.compile(_RULES.sworn_level)
_WHOLE_LEVEL_RE = re.compile(_RULES.whole_level)
_PROPER_NOUN_TAGS = frozenset(lexicon().coverage.proper_noun_tags)
#: A word jieba's main dictionary lists this often or more, with a tag that is not a proper noun's, is a
#: common word, never a short form of a place (the default of ``Settings.coverage_common_word_freq``).
COMMON_WORD_FREQ: int = Settings.model_fields["coverage_common_word_freq"].default
#: The most-named division counts when it is named at least this often ...
MIN_MENTIONS = 3
#: ... and more than this many times as often as the next one of the level.
LEAD = 2


@dataclass(frozen=True)
class _Names:
    tokenizer: jieba.Tokenizer
    #: A name or short form as written → the adcodes of the divisions it names.
    forms: dict[str, frozenset[str]]
    #: adcode → (gazetteer name, short form)
    names: dict[str, tuple[str, str]]


def _stem(name: str) -> str:
    """The short form: the name without its suffix and the peoples an autonomous division names
    (「长阳土家族自治县」 → 「长阳」, 「湘西土家族苗族自治州」 → 「湘西」)."""
    suffix = next((s for s in ADMIN_SUFFIXES if name.endswith(s)), "")
    stem = name[: -len(suffix)] if suffix else name
    while tail := next((n for n in _nations() if stem.endswith(n) and len(stem) - len(n) >= 2), None):
        stem = stem[: -len(tail)]
    return stem


@cache
def _nations() -> tuple[str, ...]:
    """The 56 peoples' names, with and without 「族」, longest first (from cpca's data)."""
    try:
        listed = cpca_file("56_nations.csv").read_text(encoding="utf-8").split()
    except (RuntimeError, OSError):
        return ()
    names = {n for nation in listed for n in (nation, nation.removesuffix("族")) if len(n) >= 2}
    return tuple(sorted(names, key=len, reverse=True))


@cache
def _gazetteer() -> _Names:
    """Prefecture- and county-level names with their short forms, and a tokenizer that knows them."""
    tokenizer = jieba.Tokenizer()
    with tokenizer.get_dict_file() as raw:
        entries = (line.split() for line in io.TextIOWrapper(raw, encoding="utf-8"))
        dictionary = {e[0]: (int(e[1]), e[2]) for e in entries if len(e) == 3}

    def common(word: str) -> bool:
        freq, tag = dictionary.get(word, (0, "ns"))
        return tag not in _PROPER_NOUN_TAGS and freq >= COMMON_WORD_FREQ

    forms: dict[str, set[str]] = {}
    names: dict[str, tuple[str, str]] = {}
    for name, codes in division_codes().items():
        stem = _stem(name)
        for code in codes:
            if adcode_level(code) == 1 or common(name):
                continue
            names[code] = (name, stem)
            forms.setdefault(name, set()).add(code)
            if len(stem) >= 2 and not common(stem):
                forms.setdefault(stem, set()).add(code)
    for form in sorted(forms):
        tokenizer.add_word(form, tag="ns")
    return _Names(tokenizer, {form: frozenset(codes) for form, codes in forms.items()}, names)


def sworn_level(text: str) -> str | None:
    """The suffix of the government the speaker speaks for: 「我代表区政府」 → 区 (县, 区, 市, 旗, 州, 盟, 镇, 乡)."""
    sworn = _SWORN_LEVEL_RE.search(text)
    return sworn.group(1) if sworn else None


def report_level(text: str) -> str | None:
    """The suffix of the report's own place: :func:`sworn_level`, else the most frequent of 「全省」「全县」「全区」
    「全市」「全旗」「全州」「全盟」「全镇」「全乡」; ``None`` when the text has neither."""
    if sworn := sworn_level(text):
        return sworn
    counts = Counter(_WHOLE_LEVEL_RE.findall(text)).most_common(1)
    return counts[0][0] if counts else None


#: Levels whose divisions the gazetteer lists at county level only.
_COUNTY_LEVELS = ("县", "区", "旗")
#: Levels the gazetteer does not list at all: a town's report names no division of its own level.
_TOWN_LEVELS = ("镇", "乡")


def most_named_division(text: str) -> tuple[str, str | None] | None:
    """(region, parent) for the prefecture- or county-level division the text names most often, full
    and short forms together, of the level the speaker names (「我代表区政府」: a district); ``None``
    unless the text vouches for it (:func:`_vouched`) and names it ``MIN_MENTIONS`` times and more than ``LEAD`` times as often as the next one
    (not counting the division it lies in or those in it: a county's report names its prefecture too).
    Without the speaker's words every level counts, the county on a tie; a report whose text speaks of
    「全镇」 is a town's, which the gazetteer does not list. A name the text writes with its level's
    suffix (:func:`report_level`) though the gazetteer has it under another (「清苑县」 for today's
    清苑区) is the region as written."""
    gazetteer = _gazetteer()
    sworn, level = sworn_level(text), report_level(text)
    if level in _TOWN_LEVELS:
        return None
    counts: Counter[str] = Counter()
    for word in gazetteer.tokenizer.cut(text, HMM=False):
        counts.update(gazetteer.forms.get(word, ()))
    by_name: dict[str, list[str]] = {}
    for code in counts:
        name, stem = gazetteer.names[code]
        county = adcode_level(code) == 3
        renamed = level in _COUNTY_LEVELS and county and name[-1] != level and f"{stem}{level}" in text
        if sworn in _COUNTY_LEVELS and not (county and (name.endswith(sworn) or renamed)):
            continue
        if sworn and sworn not in _COUNTY_LEVELS and not name.endswith(sworn):  # 市, 州, 盟: either level
            continue
        by_name.setdefault(f"{stem}{level}" if renamed else name, []).append(code)
    ranked = sorted(
        ((counts[codes[0]], adcode_level(codes[0]), name) for name, codes in by_name.items() if _vouched(name, codes, text)),
        reverse=True,
    )
    if not ranked or ranked[0][0] < MIN_MENTIONS:
        return None
    top = ranked[0][2]
    around = {parent_name(code) for code in by_name[top]} | {n for n, codes in by_name.items() if _lies_in(codes, top)}
    second = next((count for count, _, name in ranked[1:] if name not in around), 0)
    if ranked[0][0] <= LEAD * second:
        return None
    parents = {parent_name(code) for code in by_name[top]}
    if len(parents) > 1:
        parents = {p for p in parents if _named(p, text)}
    return top, parents.pop() if len(parents) == 1 else None


def _named(name: str | None, text: str) -> bool:
    """Whether the text names ``name`` in full or by its short form."""
    if not name:
        return False
    stem = _stem(name)
    return name in text or (len(stem) >= 2 and stem in text)


def _vouched(name: str, codes: list[str], text: str) -> bool:
    """Whether the text vouches for a division it names by a short form that may be an ordinary word
    (「惠民」 of 惠民县 in 「惠民工程」): it writes the full name as well, or names the division it lies in."""
    return name in text or any(_named(parent_name(code), text) for code in codes)


def _lies_in(codes: list[str], name: str) -> bool:
    return any(parent_name(code) == name for code in codes)
