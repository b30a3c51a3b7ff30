"""The library of real county reports (``reports/``) and its hand-written questions (``questions.jsonl``).

See ``README.md`` here for the provenance, the kinds of question and the frozen split by place.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORTS = HERE / "reports"
QUESTIONS = HERE / "questions.jsonl"
FROZEN = HERE / "FROZEN"
KINDS = ("year", "level", "compare", "series", "unanswerable")
WORDINGS = ("report", "everyday")
SPLIT_SALT = "library-v1:"


def load_questions(path: Path = QUESTIONS, split: str | None = None) -> list[dict]:
    """The questions (one split, or all when ``split`` is ``None`` or ``"all"``)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows if split in (None, "all") else [r for r in rows if r["split"] == split]


def is_test_place(place: str) -> bool:
    """The split rule: a place is test when its salted sha256 is 0 or 1 modulo 5 (about 40% of places)."""
    return int(hashlib.sha256((SPLIT_SALT + place).encode()).hexdigest(), 16) % 5 < 2


def places(row: dict) -> list[str]:
    """Every place a question names: its own and each compared side's."""
    return [row["place"], *(side["place"] for side in row.get("sides") or [])]


def frozen_hash(rows: list[dict]) -> str:
    """sha256 of the test rows: canonical JSON lines (sorted keys), sorted by id, joined with newlines."""
    lines = [
        json.dumps(r, ensure_ascii=False, sort_keys=True) for r in sorted(rows, key=lambda r: r["id"]) if r["split"] == "test"
    ]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
