"""The answer cache: question normalisation, keys, memory LRU + SQLite, generations, failures, threads."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

import pytest

import rag.core.cache as cache_module
from rag.core.cache import AnswerCache, normalize_question, settings_fingerprint

GEN = "gen-1"
FP = "fp-1"


def answer(text: str = "189.4亿元[1]", **extra: object) -> dict[str, object]:
    value: dict[str, object] = {
        "question": "2023年太仓市一般公共预算收入是多少？",
        "answer": text,
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "c1", "region": "太仓市", "year": 2023, "text": "……"}],
        "timings": {"retrieve_ms": 12.5, "first_token_ms": None, "total_ms": 800.0},
    }
    value.update(extra)
    return value


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "rag.core.cache" and r.levelno >= logging.WARNING]


# -- normalisation and keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2023年太仓 一般公共预算收入是多少？", "２０２３年太仓一般公共预算收入是多少?"),
        ("  2023年 太仓市　GDP 增长多少。 ", "2023年太仓市gdp增长多少"),
        ("太仓市GDP是多少?!  ", "太仓市ＧＤＰ是多少！"),
        ("那2024年呢？", "那2024年呢"),
        ("相城区\t高标准农田\n建设了多少亩……", "相城区高标准农田建设了多少亩"),
        ("太仓\u200b市财政收入", "太仓市财政收入"),
    ],
)
def test_normalize_equivalent(a: str, b: str) -> None:
    assert normalize_question(a) == normalize_question(b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023年太仓 一般公共预算收入是多少？", "2023年太仓一般公共预算收入是多少"),
        ("What  is Taicang's   GDP?", "what is taicang's gdp"),
        ("GDP 增长 5.5 %", "gdp增长5.5%"),
        ("增长率为3.5。", "增长率为3.5"),
        ("？？ ", ""),
        ("", ""),
    ],
)
def test_normalize_exact(text: str, expected: str) -> None:
    assert normalize_question(text) == expected


def test_normalize_keeps_distinct_questions_apart() -> None:
    assert normalize_question("2023年太仓市GDP") != normalize_question("2024年太仓市GDP")
    assert normalize_question("太仓市财政收入") != normalize_question("昆山市财政收入")


def test_key_uses_normalised_question_generation_and_fingerprint() -> None:
    k = AnswerCache.key("2023年太仓 一般公共预算收入是多少？", GEN, FP)
    assert k == AnswerCache.key("２０２３年太仓一般公共预算收入是多少?", GEN, FP)
    assert len(k) == 64 and int(k, 16) >= 0
    assert k != AnswerCache.key("2023年太仓一般公共预算收入是多少", "gen-2", FP)
    assert k != AnswerCache.key("2023年太仓一般公共预算收入是多少", GEN, "fp-2")
    # the separator keeps field boundaries: moving text between fields changes the key
    assert AnswerCache.key("ab", "c", FP) != AnswerCache.key("a", "bc", FP)


def test_settings_fingerprint_is_short_and_stable() -> None:
    base = {"llm_backend": "llama", "temperature": 0.1, "top_k": 6, "model": Path("/m/q.gguf")}
    fp = settings_fingerprint(base)
    assert len(fp) == 16
    assert fp == settings_fingerprint(dict(reversed(list(base.items()))))
    assert fp != settings_fingerprint({**base, "top_k": 8})
    assert fp != settings_fingerprint({**base, "llm_backend": "none"})
    assert settings_fingerprint({"s": {"b", "a"}}) == settings_fingerprint({"s": {"a", "b"}})


# -- storage ---------------------------------------------------------------------------------


def test_round_trip_memory_only() -> None:
    cache = AnswerCache(None)
    key = AnswerCache.key("问题", GEN, FP)
    assert cache.get(key) is None
    cache.put(key, answer(), GEN)
    assert cache.get(key) == answer()
    assert not cache.persistent


def test_round_trip_and_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "answers.sqlite"
    key = AnswerCache.key("2023年太仓市一般公共预算收入是多少？", GEN, FP)
    with AnswerCache(path) as cache:
        assert cache.persistent
        cache.put(key, answer(), GEN)
        assert cache.get(key) == answer()
    assert path.is_file()

    reopened = AnswerCache(path)
    assert len(reopened) == 0
    assert reopened.get(AnswerCache.key("２０２３年太仓市一般公共预算收入是多少?", GEN, FP)) == answer()
    assert len(reopened) == 1  # promoted into memory
    reopened.close()


def test_returned_dict_is_a_copy(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "a.sqlite")
    key = AnswerCache.key("q", GEN, FP)
    value = answer()
    cache.put(key, value, GEN)
    value["answer"] = "changed after put"
    got = cache.get(key)
    assert got is not None and got["answer"] == "189.4亿元[1]"
    got["citations"].clear()  # type: ignore[union-attr]
    assert cache.get(key) == answer()
    cache.close()


def test_other_generation_or_fingerprint_is_a_miss(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "a.sqlite")
    cache.put(AnswerCache.key("q", GEN, FP), answer(), GEN)
    assert cache.get(AnswerCache.key("q", "gen-2", FP)) is None
    assert cache.get(AnswerCache.key("q", GEN, "fp-2")) is None
    assert cache.get(AnswerCache.key("another question", GEN, FP)) is None
    cache.close()


def test_drop_other_generations(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    cache = AnswerCache(path, capacity=2)
    old = [AnswerCache.key(f"old {i}", "g1", FP) for i in range(3)]
    new = [AnswerCache.key(f"new {i}", "g2", FP) for i in range(2)]
    for k in old:
        cache.put(k, answer(k), "g1")
    for k in new:
        cache.put(k, answer(k), "g2")
    cache.get(old[0])  # one old entry back in memory as well as on disk

    assert cache.drop_other_generations("g2") == 3
    assert all(cache.get(k) is None for k in old)
    assert [cache.get(k) for k in new] == [answer(k) for k in new]
    assert cache.drop_other_generations("g2") == 0
    cache.close()

    reopened = AnswerCache(path)
    assert all(reopened.get(k) is None for k in old)
    assert all(reopened.get(k) == answer(k) for k in new)
    assert reopened.drop_other_generations("g3") == 2
    reopened.close()


def test_drop_other_generations_memory_only() -> None:
    cache = AnswerCache(None)
    cache.put("a", answer(), "g1")
    cache.put("b", answer(), "g2")
    assert cache.drop_other_generations("g2") == 1
    assert cache.get("a") is None and cache.get("b") == answer()


def test_lru_eviction_at_capacity() -> None:
    cache = AnswerCache(None, capacity=2)
    cache.put("a", answer("A"), GEN)
    cache.put("b", answer("B"), GEN)
    assert cache.get("a") == answer("A")  # "a" is now the most recently used
    cache.put("c", answer("C"), GEN)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == answer("A")
    assert cache.get("c") == answer("C")


def test_evicted_entries_come_back_from_sqlite(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "a.sqlite", capacity=1)
    cache.put("a", answer("A"), GEN)
    cache.put("b", answer("B"), GEN)
    assert len(cache) == 1
    assert cache.get("a") == answer("A")
    assert cache.get("b") == answer("B")
    cache.close()


def test_zero_capacity_is_sqlite_only(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "a.sqlite", capacity=0)
    cache.put("a", answer(), GEN)
    assert len(cache) == 0
    assert cache.get("a") == answer()
    cache.close()


def test_sqlite_table_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    cache = AnswerCache(path, capacity=0, max_rows=8)
    keys = [f"k{i}" for i in range(20)]
    for k in keys:
        cache.put(k, answer(k), GEN)
    cache.put(keys[5], answer("again"), GEN)  # re-storing makes an old key the newest
    cache.close()

    with sqlite3.connect(path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM answers").fetchone()
    assert count == 8
    reopened = AnswerCache(path, capacity=0)
    assert reopened.get(keys[5]) == answer("again")
    assert [k for k in keys if reopened.get(k) is not None] == [keys[5], *keys[13:]]
    reopened.close()


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        AnswerCache(None, capacity=-1)
    with pytest.raises(ValueError):
        AnswerCache(None, max_rows=0)


# -- failures never fail an answer -----------------------------------------------------------


def test_directory_path_falls_back_to_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    cache = AnswerCache(tmp_path)  # a directory, not a file
    assert not cache.persistent
    cache.put("a", answer(), GEN)
    assert cache.get("a") == answer()
    assert cache.get("missing") is None
    assert cache.drop_other_generations("g2") == 1
    assert len(cache_warnings(caplog)) == 1
    cache.close()


def test_corrupt_file_falls_back_to_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    path = tmp_path / "a.sqlite"
    path.write_bytes(b"this is not an sqlite database" * 100)
    cache = AnswerCache(path)
    assert not cache.persistent
    cache.put("a", answer(), GEN)
    cache.put("b", answer(), GEN)
    assert cache.get("a") == answer()
    assert len(cache_warnings(caplog)) == 1
    assert path.read_bytes().startswith(b"this is not")  # left alone
    cache.close()


def test_unwritable_parent_falls_back_to_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    cache = AnswerCache(blocker / "sub" / "a.sqlite")
    assert not cache.persistent
    cache.put("a", answer(), GEN)
    assert cache.get("a") == answer()
    assert len(cache_warnings(caplog)) == 1


def test_read_only_file_falls_back_to_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.sqlite"
    AnswerCache(path).close()  # a valid cache file
    # Opened read-only the way a 0444 file is for a non-root user (root ignores file modes).
    monkeypatch.setattr(
        cache_module,
        "_connect",
        lambda p: sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False, isolation_level=None),
    )
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    cache = AnswerCache(path)
    assert not cache.persistent
    cache.put("a", answer(), GEN)
    assert cache.get("a") == answer()
    assert len(cache_warnings(caplog)) == 1
    cache.close()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only files")
def test_chmod_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    AnswerCache(path).close()
    path.chmod(0o444)
    try:
        cache = AnswerCache(path)
        cache.put("a", answer(), GEN)
        assert cache.get("a") == answer()
        assert not cache.persistent
        cache.close()
    finally:
        path.chmod(0o644)


def test_file_turning_read_only_mid_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "a.sqlite"
    cache = AnswerCache(path)
    cache.put("a", answer("A"), GEN)
    # Swap in a read-only connection: the next write fails with a real SQLITE_READONLY.
    cache._db.close()  # type: ignore[union-attr]
    cache._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    cache.put("b", answer("B"), GEN)
    cache.put("c", answer("C"), GEN)
    assert not cache.persistent
    assert [cache.get(k) for k in "abc"] == [answer("A"), answer("B"), answer("C")]
    assert len(cache_warnings(caplog)) == 1
    cache.close()


def test_invalid_stored_row_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    cache = AnswerCache(path)
    cache.put("good", answer(), GEN)
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO answers VALUES ('bad', ?, '{not json', 0)", (GEN,))
        db.execute("INSERT INTO answers VALUES ('list', ?, '[1, 2]', 0)", (GEN,))
    reopened = AnswerCache(path)
    assert reopened.get("bad") is None
    assert reopened.get("list") is None
    assert reopened.get("good") == answer()
    reopened.close()


def test_unserialisable_value_is_not_stored(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    cache = AnswerCache(None)
    cache.put("a", {"answer": object()}, GEN)
    cache.put("b", ["not", "a", "dict"], GEN)  # type: ignore[arg-type]
    assert cache.get("a") is None and cache.get("b") is None
    assert len(cache_warnings(caplog)) == 2


def test_use_after_close_is_memory_only(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "a.sqlite")
    cache.close()
    cache.close()
    cache.put("a", answer(), GEN)
    assert cache.get("a") == answer()


# -- threads ---------------------------------------------------------------------------------


def _hammer(caches: list[AnswerCache], threads: int, per_thread: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        try:
            cache = caches[t % len(caches)]
            barrier.wait()
            for i in range(per_thread):
                key = AnswerCache.key(f"线程{t} 问题{i}", GEN, FP)
                cache.put(key, answer(f"{t}-{i}"), GEN)
                assert cache.get(key) == answer(f"{t}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def test_concurrent_puts_from_eight_threads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    path = tmp_path / "a.sqlite"
    cache = AnswerCache(path, capacity=64)
    assert _hammer([cache], threads=8, per_thread=40) == []
    assert cache.persistent
    assert cache_warnings(caplog) == []
    for t in range(8):
        for i in range(40):
            assert cache.get(AnswerCache.key(f"线程{t} 问题{i}", GEN, FP)) == answer(f"{t}-{i}")
    cache.close()

    reopened = AnswerCache(path, capacity=0)
    assert all(
        reopened.get(AnswerCache.key(f"线程{t}问题{i}", GEN, FP)) == answer(f"{t}-{i}")
        for t in range(8)
        for i in range(40)
    )
    reopened.close()


def test_two_instances_share_one_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rag.core.cache")
    path = tmp_path / "a.sqlite"
    caches = [AnswerCache(path), AnswerCache(path)]
    assert _hammer(caches, threads=8, per_thread=15) == []
    assert cache_warnings(caplog) == []
    for c in caches:
        c.close()
    with sqlite3.connect(path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM answers").fetchone()
    assert count == 8 * 15
