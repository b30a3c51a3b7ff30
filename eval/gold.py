"""Reading the gold Q&A set (``eval/gold.jsonl``) and judging text against a gold item."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rag.core.errors import RagError
from rag.text.normalize import squash
from rag.text.numbers import comparable

GOLD = Path(__file__).with_name("gold.jsonl")
REQUIRED = (
    "id", "question", "answer", "answer_aliases", "must_contain", "source", "evidence", "type", "region", "year", "history",
    "split",
)  # fmt: skip


#: ``dev``: thresholds, word lists and prompts are tuned on these; ``test``: frozen, only reported
#: (the questions of two reports, 000 and 004, a third of the glossary and every other unanswerable one).
SPLITS = ("dev", "test")


def load_gold(
    path: Path = GOLD, *, types: list[str] | None = None, limit: int | None = None, split: str | None = None
) -> list[dict]:
    """The gold items (optionally one split, only some types, and the first ``limit`` of each type)."""
    if not path.is_file():
        raise RagError(f"gold file {path} does not exist")
    rows: list[dict] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        missing = [key for key in REQUIRED if key not in row]
        if missing:
            raise RagError(f"{path}:{lineno}: missing {', '.join(missing)}")
        rows.append(row)
    if split is not None:
        if split not in SPLITS:
            raise RagError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        rows = [r for r in rows if r.get("split") == split]
    if types:
        rows = [r for r in rows if r["type"] in types]
    if limit is not None:
        per_type: dict[str, list[dict]] = {}
        for row in rows:
            per_type.setdefault(row["type"], []).append(row)
        rows = [row for group in per_type.values() for row in group[:limit]]
    return rows


def answerable(item: dict) -> bool:
    return item["type"] != "unanswerable"


def sources(item: dict) -> set[str]:
    return set(item.get("sources") or ([item["source"]] if item.get("source") else []))


def from_its_report(item: dict, source: str | None) -> bool:
    """Whether a passage of ``source`` may hold the item's evidence: an unknown report may, a known
    one must be the item's (when the item names its reports)."""
    return source is None or not sources(item) or source in sources(item)


def is_relevant(item: dict, source: str | None, text: str) -> bool:
    """A passage is relevant when it holds one of the item's evidence strings (whitespace ignored);
    when the passage's report is known, it must also be the item's report."""
    if not from_its_report(item, source):
        return False
    body = squash(text)
    return any(squash(e) in body for e in item["evidence"])


def evidence_recall(item: dict, passages: Sequence[tuple[str | None, str]]) -> float:
    """The share of the item's evidence strings that some passage holds (a comparison needs both sides)."""
    bodies = [squash(text) for source, text in passages if from_its_report(item, source)]
    found = sum(any(squash(e) in body for body in bodies) for e in item["evidence"])
    return found / len(item["evidence"]) if item["evidence"] else 0.0


def answer_is_correct(item: dict, answer: str) -> bool:
    """Contains every ``must_contain`` string, or one of the ``answer_aliases`` (whitespace ignored; a
    number as digits or in Chinese numerals, with or without thousands separators, is the same number:
    「三座」 is 「3座」, 「54,170元」 is 「54170元」 — an answer composed from a figure writes it in digits)."""
    body = squash(answer)
    plain = squash(comparable(answer))
    must = [squash(m) for m in item["must_contain"]]
    aliases = [squash(a) for a in item["answer_aliases"]]

    def has(wanted: str) -> bool:
        return wanted in body or squash(comparable(wanted)) in plain

    return (bool(must) and all(map(has, must))) or any(map(has, aliases))
