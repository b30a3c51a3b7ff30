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
