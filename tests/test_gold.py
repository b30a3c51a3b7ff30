"""Validate the hand-written gold QA set ``eval/gold.jsonl`` against the seed reports.

Stdlib + pytest only: evidence is matched against the raw seed text after removing all whitespace
from both sides (the seeds put spaces inside numbers, e.g. ``820 亿元``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold.jsonl"
SEEDS = ROOT / "seeds"

REQUIRED_KEYS = {
    "id",
    "question",
    "answer",
    "answer_aliases",
    "must_contain",
    "source",
    "evidence",
    "type",
    "region",
    "year",
    "history",
    "split",
}
OPTIONAL_KEYS = {"sources"}
TYPES = {"fact", "cross_year", "target", "glossary", "comparison", "paraphrase", "followup", "unanswerable"}
MIN_QUESTIONS = 80
MIN_UNANSWERABLE = 10


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def load_rows() -> list[dict]:
    rows = []
    for lineno, line in enumerate(GOLD.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - reported as a failure
            pytest.fail(f"line {lineno}: not valid JSON: {exc}")
        assert isinstance(row, dict), f"line {lineno}: not a JSON object"
        rows.append(row)
    return rows


ROWS = load_rows()
SEED_TEXT = {p.name: squash(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))}


def ids(rows: list[dict]) -> list[str]:
    return [str(r.get("id")) for r in rows]


ANSWERABLE = [r for r in ROWS if r.get("type") != "unanswerable"]
UNANSWERABLE = [r for r in ROWS if r.get("type") == "unanswerable"]


def row_sources(row: dict) -> list[str]:
    if row.get("sources"):
        return list(row["sources"])
    return [row["source"]] if row.get("source") else []


# --- file-level checks ----------------------------------------------------------------------


def test_file_exists_and_is_big_enough():
    assert GOLD.is_file()
    assert len(ROWS) >= MIN_QUESTIONS


def test_every_line_is_json_without_blank_lines():
    lines = GOLD.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), "blank line in gold.jsonl"
    for line in lines:
        json.loads(line)


def test_ids_unique():
    dup = [k for k, n in Counter(ids(ROWS)).items() if n > 1]
    assert not dup, f"duplicate ids: {dup}"


def test_questions_unique():
    # the same question text is allowed only when the history differs (follow-ups)
    keys = Counter((r["question"], json.dumps(r["history"], ensure_ascii=False)) for r in ROWS)
    dup = [k[0] for k, n in keys.items() if n > 1]
    assert not dup, f"duplicate questions: {dup}"


def test_type_counts():
    counts = Counter(r["type"] for r in ROWS)
    missing = TYPES - set(counts)
    assert not missing, f"no question of type {missing}"
    assert counts["unanswerable"] >= MIN_UNANSWERABLE


def test_seeds_present():
    assert len(SEED_TEXT) == 5


# --- per-row checks -------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_keys_and_types(row: dict):
    keys = set(row)
    assert REQUIRED_KEYS <= keys, f"missing keys: {REQUIRED_KEYS - keys}"
    assert keys <= REQUIRED_KEYS | OPTIONAL_KEYS, f"unexpected keys: {keys - REQUIRED_KEYS - OPTIONAL_KEYS}"

    assert isinstance(row["id"], str) and re.fullmatch(r"q\d{3,}", row["id"])
    assert isinstance(row["question"], str) and row["question"].strip()
    assert isinstance(row["answer"], str)
    for field in ("answer_aliases", "must_contain", "evidence"):
        assert isinstance(row[field], list), field
        assert all(isinstance(x, str) and x.strip() for x in row[field]), field
    assert row["source"] is None or (isinstance(row["source"], str) and row["source"] in SEED_TEXT)
    assert row["type"] in TYPES
    assert isinstance(row["region"], str) and row["region"].strip()
    assert row["year"] is None or (type(row["year"]) is int and 2000 <= row["year"] <= 2030)
    assert isinstance(row["history"], list)
    for turn in row["history"]:
        assert isinstance(turn, dict) and set(turn) == {"role", "content"}
        assert turn["role"] in {"user", "assistant"}
        assert isinstance(turn["content"], str) and turn["content"].strip()
    if "sources" in row:
        assert isinstance(row["sources"], list) and len(row["sources"]) >= 2
        assert all(s in SEED_TEXT for s in row["sources"])
        assert row["source"] in row["sources"]


@pytest.mark.parametrize("row", ANSWERABLE, ids=ids(ANSWERABLE))
def test_answerable_rows_are_grounded(row: dict):
    assert row["answer"].strip()
    assert row["source"] in SEED_TEXT
    assert row["evidence"], "answerable question without evidence"
    assert row["must_contain"], "answerable question without must_contain"
    sources = row_sources(row)
    for ev in row["evidence"]:
        assert 10 <= len(ev) <= 80, f"evidence length {len(ev)}: {ev}"
        assert "\n" not in ev and "#" not in ev and "**" not in ev, ev
        assert any(squash(ev) in SEED_TEXT[s] for s in sources), f"evidence not in {sources}: {ev}"
    if row["type"] == "comparison":
        assert len(row["evidence"]) >= 2, "comparison needs two evidence passages"
    if len(sources) > 1:
        # each listed source must actually be used by some evidence string
        for s in sources:
            assert any(squash(ev) in SEED_TEXT[s] for ev in row["evidence"]), f"{s} unused"


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_must_contain_is_supported(row: dict):
    haystacks = [squash(e) for e in row["evidence"]] + [squash(row["answer"])]
    for key in row["must_contain"]:
        assert not re.search(r"\s", key), f"must_contain with whitespace: {key!r}"
        assert any(squash(key) in h for h in haystacks), f"{key} in neither evidence nor answer"


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_history_only_for_followups(row: dict):
    if row["type"] == "followup":
        assert row["history"], "follow-up without history"
        assert row["history"][0]["role"] == "user"
        assert row["history"][-1]["role"] == "assistant"
    else:
        assert row["history"] == []


@pytest.mark.parametrize("row", UNANSWERABLE, ids=ids(UNANSWERABLE))
def test_unanswerable_rows_are_empty(row: dict):
    assert row["answer"] == ""
    assert row["evidence"] == []
    assert row["must_contain"] == []
    assert row["answer_aliases"] == []
    assert row["source"] is None
    assert row["year"] is None
    assert "sources" not in row


#: The frozen test split: its question ids, hashed. Tuning happens on dev; changing the test split
#: (or answers tuned on it) must be a deliberate, visible change of this value.
FROZEN_TEST_IDS = "8a9db0b99ba085f0"


def test_the_test_split_is_frozen():
    import hashlib

    test_ids = ",".join(row["id"] for row in ROWS if row["split"] == "test")
    assert hashlib.sha256(test_ids.encode()).hexdigest()[:16] == FROZEN_TEST_IDS


def test_splits_are_by_report_and_cover_every_type():
    from eval.gold import SPLITS

    assert {row["split"] for row in ROWS} == set(SPLITS)
    test_reports = {row["source"] for row in ROWS if row["split"] == "test" and row["type"] not in ("unanswerable", "glossary")}
    dev_reports = {row["source"] for row in ROWS if row["split"] == "dev" and row["type"] not in ("unanswerable", "glossary")}
    assert test_reports and not test_reports & dev_reports  # whole reports are held out
    for split in SPLITS:
        assert {row["type"] for row in ROWS if row["split"] == split} == TYPES, split
