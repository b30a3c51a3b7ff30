"""The rule vocabulary as data (rag/text/lexicon): every entry explained, every pattern valid, read once, versioned."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from rag.text.lexicon import FOLDER, entries, files, lexicon, lexicon_version, value_of


def _all_entries() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, entry) for path in files() for name, entry in entries(path).items()]


def _patterns(value: Any, key: str | None = None) -> list[str]:
    """Every string under a ``pattern`` key, at any depth."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _patterns(v, k)]
    if isinstance(value, list):
        return [p for v in value for p in _patterns(v, key)]
    return [value] if key == "pattern" and isinstance(value, str) else []


def test_files_are_there() -> None:
    assert {p.stem for p in files()} == {
        "terms", "everyday", "coverage", "verify", "query", "headings", "numbers", "gazetteer", "quote", "answer", "about",
        "figures",
    }  # fmt: skip


def test_units_and_suffixes_keep_their_order() -> None:
    """The first that fits wins: longest multiplier and suffix first, and 「个百分点」 before 「个」."""
    from rag.text.numbers import unit_kind

    assert lexicon().numbers.multipliers == ("万亿", "亿", "万", "千", "百")
    assert lexicon().gazetteer.admin_suffixes[:2] == ("特别行政区", "自治区")
    assert lexicon().gazetteer.town_suffixes == ("街道", "镇", "乡")
    assert list(lexicon().numbers.unit_kinds)[:2] == ["money", "share"]
    assert (unit_kind("万亿元"), unit_kind("个百分点"), unit_kind("万件")) == ("money", "share", "件")


@pytest.mark.parametrize(("file", "name", "entry"), _all_entries(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_entry_has_a_note_and_one_value(file: str, name: str, entry: dict[str, Any]) -> None:
    assert isinstance(entry.get("note"), str) and entry["note"].strip(), f"{file}: {name} has no note"
    value_of(name, entry)


def test_every_pattern_compiles() -> None:
    patterns = [p for _, _, entry in _all_entries() for p in _patterns(entry)]
    assert len(patterns) > 100
    for pattern in patterns:
        re.compile(pattern)


def test_loaded_once() -> None:
    assert lexicon() is lexicon()
    assert lexicon().terms.generic[0] == "完成"
    assert lexicon().verify.clause_marks == "。！？；\n，,：:"


def test_version_follows_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "lexicon"
    shutil.copytree(FOLDER, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert lexicon_version(folder) == lexicon_version()
    assert lexicon(folder) == lexicon()
    terms = folder / "terms.toml"
    terms.write_text(terms.read_text(encoding="utf-8").replace('"政府"', '"政府", "人民政府"'), encoding="utf-8")
    lexicon_version.cache_clear()
    lexicon.cache_clear()
    assert lexicon_version(folder) != lexicon_version()
    assert "人民政府" in lexicon(folder).terms.generic
    assert "人民政府" not in lexicon().terms.generic


def test_a_bad_entry_is_refused(tmp_path: Path) -> None:
    shutil.copytree(FOLDER, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (tmp_path / "query.toml").write_text('[year]\npattern = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError):
        lexicon(tmp_path)
