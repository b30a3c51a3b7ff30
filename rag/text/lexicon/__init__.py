"""The engine's rule vocabulary as data: the words, tables and regular expressions the rules of reading,
retrieval and answering match, one TOML file per concern in this folder.

Every entry of a file is a table with a ``note`` (what it means and why it exists) and one value:
``words`` (a list), ``pattern`` (a regular expression, written as a TOML literal string so backslashes
stay as they are), ``chars`` (a string of characters), ``rows`` (a list of small tables or arrays) or
``table`` (a mapping). :func:`lexicon` reads them all once into one typed, frozen object
(``lexicon().terms.generic``); :func:`lexicon_version` is the hash of the files. The modules that use an
entry compile its patterns once, at import.

In the ``rag.text`` layer: it imports only ``rag.core`` (the files' hash), so every stage may use it.
"""

from __future__ import annotations

import tomllib
import typing
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.core.version import tree_hash

#: The folder of the shipped files.
FOLDER = Path(__file__).resolve().parent
#: The keys an entry's value may have (besides its ``note``).
VALUE_KEYS = ("words", "pattern", "chars", "rows", "table")


@dataclass(frozen=True)
class Synonym:
    pattern: str
    name: str


@dataclass(frozen=True)
class UnitCue:
    pattern: str
    kind: str


@dataclass(frozen=True)
class EverydayRow:
    pattern: str
    names: tuple[str, ...]
    sure: bool = True


@dataclass(frozen=True)
class RankedPattern:
    rank: int
    pattern: str


@dataclass(frozen=True)
class Terms:
    """rag/answering/terms.py: metric words, how a question asks, what a figure measures."""

    synonyms: tuple[Synonym, ...]
    opposites: tuple[tuple[str, str], ...]
    totals: tuple[tuple[str, tuple[str, str]], ...]
    generic: tuple[str, ...]
    asking: tuple[str, ...]
    asking_count: str
    year: str
    unit_cues: tuple[UnitCue, ...]
    asks_figure: str
    change_words: tuple[str, ...]
    asks_change_words: tuple[str, ...]
    population: str


@dataclass(frozen=True)
class Everyday:
    """rag/retrieval/everyday.py: everyday wordings and the report's names for them."""

    everyday: tuple[EverydayRow, ...]


@dataclass(frozen=True)
class Coverage:
    """rag/answering/coverage.py: which place a question asks about."""

    proper_noun_tags: tuple[str, ...]
    object_before: tuple[str, ...]
    partner_before: tuple[str, ...]
    partner_words: tuple[str, ...]
    object_after: tuple[str, ...]
    subject_place: str
    generic_place_chars: str


@dataclass(frozen=True)
class Verify:
    """rag/answering/verify.py: citations, refusals, clauses."""

    citation: str
    citation_separator: str
    refusal: str
    refusal_clause: str
    refusal_sentence: str
    lead_in: str
    sentence_end: str
    clause_marks: str


@dataclass(frozen=True)
class Query:
    """rag/retrieval/query.py: years, spans of years, plans and region suffixes in a question."""

    year: str
    year_mark: str
    relative_years: dict[str, int]
    plan_words: str
    year_range: str
    recent_years: str
    plan_period: str
    region_suffixes: tuple[str, ...]
    baseline_year: str
    plan_vs_actual: str


@dataclass(frozen=True)
class Headings:
    """rag/reading/headings.py: the structure vocabulary of government work reports."""

    ranked: tuple[RankedPattern, ...]
    clause_ends: tuple[str, ...]
    glossary: str
    glossary_term: str
    title: str
    part_number: str
    inner_punct: str
    when: str
    before_when: str
    review_words: str
    plan_words: str
    part_end: str
    bare_work: str
    part_words_only: str
    this_year_opening: str
    year_opening: str
    targets_opening: str
    requirement_opening: str
    last_year_opening: str
    sworn_level: str
    whole_level: str
    speaker_line: str
    date_line: str
    term_since: str


@dataclass(frozen=True)
class Numbers:
    """rag/text/numbers.py: multipliers, measure words and units, and the kinds of units."""

    multipliers: tuple[str, ...]
    measures: tuple[str, ...]
    unit_kinds: dict[str, tuple[str, ...]]
    amount_kinds: tuple[str, ...]


@dataclass(frozen=True)
class Gazetteer:
    """rag/text/gazetteer.py: the suffixes of division and town names."""

    admin_suffixes: tuple[str, ...]
    division_suffixes: tuple[str, ...]
    town_suffixes: tuple[str, ...]
    county_suffixes: tuple[str, ...]


@dataclass(frozen=True)
class Quote:
    """rag/answering/quote.py: when a report sentence is quoted."""

    common_kinds: tuple[str, ...]


@dataclass(frozen=True)
class About:
    """rag/answering/about.py: questions about the reports themselves, by kind, and what makes one a content question."""

    speaker: str
    date: str
    title: str
    year: str
    count: str
    list: str
    content: str
    topic: str
    exists: str
    interrogative: str


@dataclass(frozen=True)
class AnswerWords:
    """rag/answering/answer.py: how a question continues a conversation."""

    follow_up: str


@dataclass(frozen=True)
class Figures:
    """rag/answering/figures.py, compare.py, series.py: what a stated figure measures; comparisons, series."""

    target: str
    estimate: str
    levels: dict[str, str]
    figure_year: str
    from_year: str
    lead_words: str
    asks_compare: str
    asks_series: str
    asks_span_figure: str
    several_years: str
    comparative_claim: str
    rate_words: str
    span: str
    fall: str
    qualifier: str
    pairs: dict[str, tuple[str, ...]]
    respectively: str
    plan_actual_words: str
    since: str
    target_lead: str
    flow: str
    asks_stock: str
    share_of: str
    asks_share_of: str
    part: str
    asks_part: str
    asks_change_of: str
    change_in: str


@dataclass(frozen=True)
class Lexicon:
    """All of it: one attribute per file."""

    terms: Terms
    everyday: Everyday
    coverage: Coverage
    verify: Verify
    query: Query
    headings: Headings
    numbers: Numbers
    gazetteer: Gazetteer
    quote: Quote
    answer: AnswerWords
    about: About
    figures: Figures


def _convert(value: Any, kind: Any) -> Any:
    """A TOML value as the type ``kind`` says: lists as tuples, tables as dataclasses or dicts."""
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{k: _convert(v, hints[k]) for k, v in value.items()})
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0]) for v in value)
        if len(value) != len(args):
            raise ValueError(f"{value!r} is no {kind}")
        return tuple(_convert(v, a) for v, a in zip(value, args, strict=True))
    if origin is dict:
        key, item = typing.get_args(kind)
        return {_convert(k, key): _convert(v, item) for k, v in value.items()}
    if kind in (str, int, bool) and not isinstance(value, kind):
        raise ValueError(f"{value!r} is no {kind.__name__}")
    return value


def entries(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of one file, by name, as TOML reads them."""
    with path.open("rb") as f:
        return tomllib.load(f)


def value_of(name: str, entry: dict[str, Any]) -> Any:
    """An entry's one value (its ``words``, ``pattern``, ``chars``, ``rows`` or ``table``)."""
    keys = [k for k in entry if k != "note"]
    if len(keys) != 1 or keys[0] not in VALUE_KEYS:
        raise ValueError(f"entry {name!r} must have a note and one of {VALUE_KEYS}, not {sorted(entry)}")
    return entry[keys[0]]


def files(folder: Path = FOLDER) -> list[Path]:
    return sorted(folder.glob("*.toml"))


@lru_cache
def lexicon(folder: Path = FOLDER) -> Lexicon:
    """The rules' vocabulary read from ``folder`` (the shipped files by default), once per folder."""
    parts = {}
    kinds = typing.get_type_hints(Lexicon)
    for part in fields(Lexicon):
        kind = kinds[part.name]
        raw = entries(folder / f"{part.name}.toml")
        expected = {f.name for f in fields(kind)}
        if set(raw) != expected:
            raise ValueError(f"{part.name}.toml: entries {sorted(set(raw) ^ expected)} missing or unknown")
        parts[part.name] = _convert({name: value_of(name, entry) for name, entry in raw.items()}, kind)
    return Lexicon(**parts)


@lru_cache
def lexicon_version(folder: Path = FOLDER) -> str:
    """sha256 of the files (names and contents), in name order: the rule data's part of
    :func:`rag.core.version.answer_version`, which hashes them with the code."""
    return tree_hash(folder, ("*.toml",))


__all__ = ["FOLDER", "Lexicon", "entries", "files", "lexicon", "lexicon_version", "value_of"]
