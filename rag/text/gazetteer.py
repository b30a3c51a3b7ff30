"""The gazetteer's data: names of China's administrative divisions and their suffixes, read from the data
files of the ``cpca`` package (its code, which needs pandas and pkg_resources, is never imported).

A leaf: it imports nothing of the project but the lexicon (its suffixes: rag/text/lexicon/gazetteer.toml)
and nothing heavy, so reading (:mod:`rag.reading.headings`: is a
name a chain of divisions?) and answering (:mod:`rag.answering.coverage`: which place does a question
name?) share it without importing each other.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rag.text.lexicon import lexicon

_RULES = lexicon().gazetteer
#: Suffixes of division names, longest first; a name without one is its short form (「杭州市」 → 「杭州」).
ADMIN_SUFFIXES = _RULES.admin_suffixes
#: Suffixes of a division's name, longest first (a town-level name is never in the gazetteer).
DIVISION_SUFFIXES = _RULES.division_suffixes
TOWN_SUFFIXES = _RULES.town_suffixes


def cpca_file(name: str) -> Path:
    """A data file of cpca, found without running its ``__init__``."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cpca package (gazetteer data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / name


@cache
def division_names() -> frozenset[str]:
    """Names of China's provinces, prefectures and counties from the cpca package's data (see
    :func:`cpca_file`), without its 「市辖区」 placeholders; empty when the data is not installed."""
    try:
        with cpca_file("adcodes.csv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (RuntimeError, OSError):
        return frozenset()
    return frozenset(name for row in rows if (name := row["name"].strip()) and row.get("longitude"))


#: cpca's stand-ins for a level a division skips (a municipality's districts, Hainan's counties …): no place.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
#: A province-level 「…市」 is a municipality; a prefecture- or county-level one says which it is.
_CITY_LEVEL = {1: "直辖市", 2: "地级市", 3: "县级市"}


@dataclass(frozen=True)
class Division:
    """Where a place stands: its ``level`` (省, 直辖市, 自治区, 地级市, 自治州, 县级市, 区, 县, 旗, 镇, 乡, 街道 …)
    and the division it lies in (``parent``; ``None`` for a province, or when the name is ambiguous)."""

    name: str
    level: str
    parent: str | None = None


@cache
def _adcodes() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Name → adcodes (a few names, 「鼓楼区」, have several), adcode → name; without placeholders."""
    try:
        with cpca_file("adcodes.csv").open(encoding="utf-8") as f:
            rows = [(row["adcode"], row["name"].strip()) for row in csv.DictReader(f) if row.get("longitude")]
    except (RuntimeError, OSError):
        return {}, {}
    codes: dict[str, list[str]] = {}
    for adcode, name in rows:
        if name and name not in _PLACEHOLDERS:
            codes.setdefault(name, []).append(adcode)
    return codes, {adcode: name for name, found in codes.items() for adcode in found}


def division_codes() -> dict[str, list[str]]:
    """Every division's name (no placeholders) and its adcodes (a few names, 「鼓楼区」, have several)."""
    return _adcodes()[0]


def parent_name(adcode: str) -> str | None:
    """The name of the division that the one of ``adcode`` lies in (a county's prefecture, a prefecture's
    province); ``None`` for a province or a code the gazetteer lacks."""
    names = _adcodes()[1]
    parent = _parent_code(adcode, names)
    return names.get(parent) if parent else None


def adcode_level(adcode: str) -> int:
    """1 province, 2 prefecture, 3 county level (the 12-digit code's zero tail)."""
    return 1 if not adcode[2:].strip("0") else 2 if not adcode[4:].strip("0") else 3


def _parent_code(adcode: str, names: dict[str, str]) -> str | None:
    level = adcode_level(adcode)
    prefecture, province = adcode[:4].ljust(12, "0"), adcode[:2].ljust(12, "0")
    if level == 3 and prefecture in names:
        return prefecture
    return province if level > 1 and province in names else None


def division(name: str | None, parent: str | None = None) -> Division | None:
    """The level of the place ``name`` and the division above it, from the gazetteer's adcodes (a town,
    「玉山镇」, by its suffix, with the ``parent`` a report names); ``None`` for a name it does not know.
    A ``parent`` given picks among divisions of the same name and is kept as it is."""
    if not name:
        return None
    codes, names = _adcodes()
    found = codes.get(name, [])
    if not found:
        town = next((s for s in TOWN_SUFFIXES if name.endswith(s)), None)
        return Division(name, town, parent) if town else None
    parents = {code: names.get(_parent_code(code, names) or "") for code in found}
    if parent and len(found) > 1:
        found = [code for code in found if parents[code] == parent] or found
    levels = set()
    for code in found:
        suffix = next((s for s in ADMIN_SUFFIXES if name.endswith(s)), "")
        level = adcode_level(code)
        levels.add(_CITY_LEVEL[level] if suffix == "市" else suffix or ("省" if level == 1 else "县级"))
    above = {parents[code] for code in found}
    return Division(
        name,
        levels.pop() if len(levels) == 1 else "/".join(sorted(levels)),
        parent or (above.pop() if len(above) == 1 else None),
    )


#: Suffixes of a county-level division's name (县, 区, 县级市, 旗 …): what a renaming changes.
COUNTY_SUFFIXES = _RULES.county_suffixes


def _county_stem(name: str) -> str | None:
    """A county-level name's stem (「清苑县」 → 「清苑」), ``None`` for a name of another level's suffix."""
    suffix = next((s for s in ADMIN_SUFFIXES if name.endswith(s)), None)
    return name[: -len(suffix)] if suffix in COUNTY_SUFFIXES and len(name) > len(suffix) else None


@cache
def same_place(a: str | None, b: str | None, parent_a: str | None = None, parent_b: str | None = None) -> bool:
    """Whether two names are one place: the same name, or the old and today's name of one county-level
    division — a county renamed a district or a county-level city (徐水县 → 徐水区, 2015).

    The rule, not a list of renamings: the same stem with a county-level suffix each (:data:`COUNTY_SUFFIXES`),
    and the gazetteer (today's divisions) lists exactly one of the two names, at county level — both listed
    are two places of today (抚顺县 and the prefecture 抚顺市), neither listed is nothing known. The parents given (a report's prefecture)
    must be that division's: a renamed county keeps its prefecture.
    """
    if not a or not b:
        return False
    if a == b:
        return True
    stem = _county_stem(a)
    if stem is None or stem != _county_stem(b):
        return False
    codes = division_codes()
    today_a, today_b = codes.get(a, []), codes.get(b, [])
    if bool(today_a) == bool(today_b) or any(adcode_level(code) != 3 for code in today_a or today_b):
        return False  # both today's (抚顺县 and the city 抚顺市 it lies in), or neither known
    parents = {parent_name(code) for code in today_a or today_b}
    for given in (parent_a, parent_b):
        if given:
            parents &= {given}
    return bool(parents)
