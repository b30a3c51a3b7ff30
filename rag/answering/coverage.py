"""Refusing before generation, and only when sure: a place no indexed report covers, or a year none covers.

Places come from a gazetteer of China's provinces, cities and districts (the data files of the
``cpca`` package; its code, which needs pandas and pkg_resources, is never imported), matched on
word boundaries by a private jieba tokenizer: 「新增市场」 names no 「新增市」 and 「上市公司」 no place.
Only the place a question asks about counts — not its objects (「与上海的合作」「赴深圳招商」), and
not any other place when the question names an indexed region.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import jieba

from rag.answering.terms import asks_for_figure
from rag.core.config import Settings
from rag.retrieval.query import QueryIntent, RegionName
from rag.text.gazetteer import ADMIN_SUFFIXES, adcode_level, cpca_file
from rag.text.lexicon import lexicon

logger = logging.getLogger(__name__)

#: The module's words and patterns (rag/text/lexicon/coverage.toml, where each is explained).
_RULES = lexicon().coverage

#: jieba part-of-speech tags of proper nouns (place, person, organisation and other names).
PROPER_NOUN_TAGS = frozenset(_RULES.proper_noun_tags)
#: From this frequency on, a word jieba's main dictionary tags as anything but a proper noun is a
#: common word (合作, 东方, 日照, 老城) and never read as a place: the default of the functions that take
#: it (``common_freq``); the answer stage passes ``Settings.coverage_common_word_freq``.
COMMON_WORD_FREQ: int = Settings.model_fields["coverage_common_word_freq"].default
#: Words right before a place that make it an object of the question, not the region it asks about.
OBJECT_BEFORE = frozenset(_RULES.object_before)
#: 「与/同/跟/和」 before a place make it a partner when one of PARTNER_WORDS follows (「与上海的合作」).
PARTNER_BEFORE = frozenset(_RULES.partner_before)
PARTNER_WORDS = _RULES.partner_words
#: Words right after a place, or after its 「的」, that make it an object (「上海的合作」「深圳企业」).
OBJECT_AFTER = frozenset(_RULES.object_after)


@dataclass(frozen=True)
class _Word:
    freq: int
    tag: str


@dataclass(frozen=True)
class Mention:
    """A place named in a text: as written, where, the divisions it may be (adcodes) and, for an indexed
    region, that region."""

    text: str
    start: int
    end: int
    codes: frozenset[str] = frozenset()
    region: RegionName | None = None
    #: Token positions (first, last) for a gazetteer mention; ``None`` for an indexed region's alias.
    tokens: tuple[int, int] | None = None


def _contains(outer: str, inner: str) -> bool:
    return outer != inner and inner.startswith(outer[: 2 * adcode_level(outer)])


class Gazetteer:
    """Names of China's administrative divisions with the short forms people type.

    A full name (「昆山市」) is kept when its stem (the name without its suffix) has two or more
    characters and neither it nor, for a district or county, its stem is a common word (城区, 市辖区,
    老城区). Short forms exist only for provinces, prefecture-level divisions and county-level cities
    (「杭州」「宁夏」「湘西」「昆山」), never for districts or counties, whose short forms are mostly ordinary
    words or names of lakes, streets and parks (新建, 滨海, 路桥, 江南); a short form that is a common
    word is dropped too (合作市 → 合作, 日照市 → 日照). A common word is one jieba's main dictionary
    lists with a frequency of ``common_freq`` or more and a tag that is not a proper noun's.
    """

    def __init__(self, divisions: Iterable[tuple[str, str]], nations: Iterable[str], common_freq: int = COMMON_WORD_FREQ) -> None:
        started = time.perf_counter()
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        dictionary = self._dictionary()
        # ethnic names after a suffix-less stem: 「宁夏回族」「新疆维吾尔」「湘西土家族苗族」
        names = {n for nation in nations for n in (nation, nation.removesuffix("族")) if len(n) >= 2}
        ethnic = sorted(names, key=len, reverse=True)

        def common(word: str) -> bool:
            entry = dictionary.get(word)
            return entry is not None and entry.tag not in PROPER_NOUN_TAGS and entry.freq >= common_freq

        forms: dict[str, set[str]] = {}
        full: set[str] = set()
        for adcode, name in divisions:
            suffix = next((s for s in ADMIN_SUFFIXES if name.endswith(s)), None)
            stem = name[: -len(suffix)] if suffix else ""
            has_short = adcode_level(adcode) < 3 or suffix == "市"
            if len(stem) < 2 or common(name) or (not has_short and common(stem)):
                continue
            full.add(name)
            forms.setdefault(name, set()).add(adcode)
            if has_short:
                while tail := next((e for e in ethnic if stem.endswith(e) and len(stem) - len(e) >= 2), None):
                    stem = stem[: -len(tail)]
                if not common(stem):
                    forms.setdefault(stem, set()).add(adcode)
        self.forms: dict[str, frozenset[str]] = {form: frozenset(codes) for form, codes in forms.items()}
        self.full_names = frozenset(full)
        for form in sorted(self.forms):
            self._tokenizer.add_word(form, tag="ns")
        logger.info("gazetteer: %d names and short forms in %.2fs", len(self.forms), time.perf_counter() - started)

    @classmethod
    def from_cpca(cls, common_freq: int = COMMON_WORD_FREQ) -> Gazetteer:
        with cpca_file("adcodes.csv").open(encoding="utf-8") as f:
            divisions = [(row["adcode"], row["name"].strip()) for row in csv.DictReader(f)]
        nations = cpca_file("56_nations.csv").read_text(encoding="utf-8").split()
        return cls(divisions, nations, common_freq)

    def _dictionary(self) -> dict[str, _Word]:
        with self._tokenizer.get_dict_file() as raw:
            lines = io.TextIOWrapper(raw, encoding="utf-8")
            words = (line.split() for line in lines)
            return {w[0]: _Word(int(w[1]), w[2]) for w in words if len(w) == 3}

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) of the text's words, without jieba's guesses at unknown words."""
        return list(self._tokenizer.tokenize(text, HMM=False))

    def mentions(self, text: str, tokens: list[tuple[str, int, int]] | None = None) -> list[Mention]:
        """Places the text names, each a word or a run of words (「吴江/区」) equal to a name or short
        form; never part of a longer word (市场, 城市, 上市)."""
        tokens = self.tokens(text) if tokens is None else tokens
        found: list[Mention] = []
        i = 0
        while i < len(tokens):
            for j in range(min(i + 3, len(tokens) - 1), i - 1, -1):
                joined = "".join(t[0] for t in tokens[i : j + 1])
                # a run of words only for a full name starting with a real word: 「新/市」 is no 「新市」
                if joined in self.forms and (j == i or (joined in self.full_names and len(tokens[i][0]) >= 2)):
                    found.append(Mention(joined, tokens[i][1], tokens[j][2], self.forms[joined], tokens=(i, j)))
                    i = j
                    break
            i += 1
        return found

    def places(self, text: str) -> list[str]:
        return [m.text for m in self.mentions(text)]

    def contains(self, outer: Mention, inner: Mention) -> bool:
        """Whether ``outer`` is a division that ``inner`` lies in (「昆山市」 and 「玉山镇」 when 玉山镇's parent
        is 昆山市; 「江苏省」 and 「苏州市」)."""
        parent = inner.region.parent if inner.region else None
        if parent and (outer.text in RegionName(parent).aliases or (outer.region and outer.region.name == parent)):
            return True
        return any(_contains(o, i) for o in outer.codes for i in inner.codes)


@cache
def gazetteer(common_freq: int = COMMON_WORD_FREQ) -> Gazetteer:
    """The gazetteer, loaded once (per ``common_freq``)."""
    return Gazetteer.from_cpca(common_freq)


def _indexed(text: str, regions: list[RegionName], places: Gazetteer) -> list[Mention]:
    """Where the text names an indexed region by one of its aliases, longest alias first."""
    spans: list[Mention] = []
    aliases = sorted(((a, r) for r in regions for a in r.aliases), key=lambda ar: -len(ar[0]))
    for alias, region in aliases:
        for match in re.finditer(re.escape(alias), text):
            if not any(m.start < match.end() and match.start() < m.end for m in spans):
                codes = places.forms.get(region.name, frozenset())
                spans.append(Mention(alias, match.start(), match.end(), codes, region))
    return spans


def _is_object(place: Mention, tokens: list[tuple[str, int, int]], text: str) -> bool:
    """Whether the words around a place make it an object of the question (「与上海的合作」)."""
    assert place.tokens is not None
    first, last = place.tokens
    words = [t[0] for t in tokens]
    before = next((w for w in reversed(words[:first]) if w.strip()), "")
    after = [w for w in words[last + 1 :] if w.strip()]
    if after[:1] == ["的"]:
        after = after[1:]
    if before in OBJECT_BEFORE or (after and after[0] in OBJECT_AFTER):
        return True
    return before in PARTNER_BEFORE and any(word in text[place.end :] for word in PARTNER_WORDS)


#: A city or county named as the question's subject, at its start or right after its year
#: (「2024年凤鸣市一般公共预算收入…」, 「凤鸣县2024年…」): a place even where no gazetteer knows it (a new or
#: renamed division) — not a word that merely starts with one (「农贸市场」「县城」 are not followed by a
#: place's suffix, and 「市民」「市区」… continue it).
#: A one-character county name (「容县」「滑县」) counts too, unless its character says which county
#: rather than naming one (「全县」「本县」「该县」「各县」…).
_SUBJECT_PLACE_RE = re.compile(_RULES.subject_place)


def foreign_place(
    text: str, regions: Iterable[RegionName], places: Gazetteer | None = None, *, common_freq: int = COMMON_WORD_FREQ
) -> str | None:
    """The place a question asks about when no indexed report covers it (「杭州市2023年GDP」 → 杭州市),
    as written; ``None`` when not sure.

    Not sure, so ``None``: the question names an indexed region (other places are then its objects),
    or the place is an object (「对接上海」「与上海的合作」). A division right before one it contains only
    qualifies it: 「昆山市玉山镇」 asks about 玉山镇, while 「昆山市」 alone asks about a city. Words
    jieba counts ``common_freq`` times or more are no places (:class:`Gazetteer`).
    """
    places = places or gazetteer(common_freq)
    regions = list(regions)
    tokens = places.tokens(text)
    indexed = _indexed(text, regions, places)
    named = [m for m in places.mentions(text, tokens) if not any(i.start < m.end and m.start < i.end for i in indexed)]
    mentions = sorted(indexed + named, key=lambda m: m.start)
    asked = [
        m
        for m, nxt in zip(mentions, [*mentions[1:], None], strict=False)  # one None too many when there are none
        if not (nxt is not None and not text[m.end : nxt.start].strip() and places.contains(m, nxt))
    ]
    if any(m.region is not None for m in asked):
        return None
    subject = _SUBJECT_PLACE_RE.match(text)
    name = subject and (subject.group(1) or subject.group(2))
    if not mentions and name and not _generic(name, common_freq):
        return name  # no gazetteer knows it, and no indexed region is named
    return next((m.text for m in asked if not _is_object(m, tokens, text)), None)


def _generic(name: str, common_freq: int) -> bool:
    """「各县市」「有多少新市」-like words: their stem holds a suffix or a question word, or jieba knows
    the whole as a common word."""
    stem = name[:-1]
    return (
        any(c in _RULES.generic_place_chars for c in stem) or asks_for_figure(stem) or jieba.dt.FREQ.get(name, 0) >= common_freq
    )


def coverage_gap(
    intent: QueryIntent,
    regions: Iterable[RegionName],
    years_by_region: Mapping[str, set[int]],
    *,
    common_freq: int = COMMON_WORD_FREQ,
) -> str | None:
    """The reason to refuse before generation, or ``None``: the question asks about a place no indexed
    report covers, or about a year (or a whole span of years) that none of the asked region's reports —
    or, when it names no region, none at all — covers.

    A year after every covered one is no gap when targets are asked (「2035年远景目标」: the newest report
    states them); nothing is refused for a region whose years are unknown.
    """
    place = foreign_place(intent.text, regions, common_freq=common_freq)
    if place is not None:
        return f"no indexed report covers {place}"
    asked = intent.years or ((intent.year, intent.year) if intent.year is not None else None)
    if asked is None:
        return None
    region = intent.region
    covered = set(years_by_region.get(region, ())) if region else set().union(*years_by_region.values())
    first, last = asked
    if not covered or any(first <= y <= last for y in covered):
        return None
    if first > max(covered) and intent.period == "plan":
        return None
    span = str(first) if first == last else f"{first}—{last}"
    listed = "、".join(str(y) for y in sorted(covered))
    reports = f"the {region} reports" if region else "the indexed reports"
    return f"{reports} cover {listed}, not {span}"
