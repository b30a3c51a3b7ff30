"""The question log (service/questionlog.py), answer ids, ``POST /api/feedback`` and ``rag log``.

Service tests run over the real index without a model (quote-first answers in milliseconds); each
test has its own log file. The writer is a background thread: tests wait for it with ``flush()`` or
``wait_until``, never by sleeping.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from service import cli, questionlog
from service.app import create_app
from service.engine import Engine
from service.questionlog import LoggedAnswer, QuestionLog, parse_since
from tests.conftest import wait_until

QUESTION = "2023年太仓市一般公共预算收入是多少？"
KEY = "sk-feedback-test-key"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
DAY = 86400.0


def make_client(retriever, tmp_path: Path, **overrides: object) -> TestClient:
    values: dict[str, object] = {
        "rate_limit": "", "warm_up": False, "answer_mode": "quote-first", "log_path": tmp_path / "questions.sqlite",
    }  # fmt: skip
    values.update(overrides)
    settings = retriever.settings.model_copy(update=values)
    return TestClient(create_app(settings, engine=Engine(settings, retriever, None)))


def the_log(client: TestClient) -> QuestionLog:
    log = client.app.state.question_log  # type: ignore[attr-defined]
    assert log is not None
    return log


def logged(client: TestClient, answer_id: str) -> dict:
    log = the_log(client)
    assert log.flush(), "the writer did not catch up"
    return log.get([answer_id])[answer_id]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry(answer_id: str, question: str = QUESTION, **fields: object) -> LoggedAnswer:
    values: dict[str, object] = {"answer": "189.4亿元[1]", "mode": "quote", "timings": {"total_ms": 12.0}}
    values.update(fields)
    return LoggedAnswer(id=answer_id, question=question, **values)  # type: ignore[arg-type]


# --- answer ids and what is logged --------------------------------------------------------------------


def sse_done(text: str) -> dict:
    blocks = [b for b in text.split("\r\n\r\n") if "event: done" in b] or [b for b in text.split("\n\n") if "event: done" in b]
    data = next(line for line in blocks[0].splitlines() if line.startswith("data:"))
    return json.loads(data[5:])


def test_every_answer_has_an_id_and_is_logged_with_its_route_mode_citations_and_timings(retriever, tmp_path):
    client = make_client(retriever, tmp_path)
    first = client.post("/api/ask", json={"question": QUESTION}).json()
    again = client.post("/api/ask", json={"question": QUESTION}).json()
    assert HEX32.match(first["id"]) and HEX32.match(again["id"]) and first["id"] != again["id"]
    streamed = sse_done(client.post("/api/ask", json={"question": QUESTION, "stream": True}).text)
    assert HEX32.match(streamed["id"])
    v1 = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    assert v1["id"].startswith("chatcmpl-") and HEX32.match(v1["id"].removeprefix("chatcmpl-"))
    with client.stream(
        "POST", "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    ) as response:
        chunk_ids = {json.loads(line[5:])["id"] for line in response.iter_lines() if line.startswith("data: {")}
    assert len(chunk_ids) == 1 and HEX32.match(chunk_ids.pop().removeprefix("chatcmpl-"))

    row = logged(client, first["id"])
    assert row["question"] == QUESTION and row["answer"] == first["answer"] and row["mode"] == "quote"
    assert row["citations"] == [c["chunk_id"] for c in first["citations"]] and row["citations"]
    assert row["timings"]["total_ms"] == first["timings"]["total_ms"] == row["total_ms"]
    assert row["generation"] == retriever.index.path.name and row["route"] == "api" and not row["cached"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", row["asked_at"]) and row["rating"] is None
    assert "client" not in row and "key_id" not in row  # no address, no key fingerprint by default
    assert logged(client, streamed["id"])["route"] == "api"
    assert logged(client, v1["id"].removeprefix("chatcmpl-"))["route"] == "v1"
    assert len(the_log(client).questions("all")) == 5


def test_a_refusal_and_a_followup_are_logged_with_their_mode_and_standalone_question(retriever, tmp_path):
    client = make_client(retriever, tmp_path)
    refused = client.post("/api/ask", json={"question": "2023年南京市一般公共预算收入是多少？"}).json()
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "189.4亿元"}]
    followup = client.post("/api/ask", json={"question": "那2024年呢？", "history": history}).json()
    assert logged(client, refused["id"])["mode"] == "refused" and logged(client, refused["id"])["refused"]
    row = logged(client, followup["id"])
    assert row["question"] == "那2024年呢？" and row["standalone_question"] == followup["standalone_question"]
    assert "2024" in row["standalone_question"]
    assert [r["id"] for r in the_log(client).questions("refused")] == [refused["id"]]


def test_clients_are_logged_only_when_asked_and_keys_never(retriever, tmp_path):
    client = make_client(retriever, tmp_path, log_clients=True, api_keys=[SecretStr(KEY)])
    answer = client.post("/api/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {KEY}"}).json()
    row = logged(client, answer["id"])
    assert row["client"] == "testclient" and re.match(r"^[0-9a-f]{16}$", row["key_id"]) and KEY not in row["key_id"]
    the_log(client).close()
    for path in tmp_path.glob("questions.sqlite*"):
        assert KEY.encode() not in path.read_bytes()


def test_with_the_log_off_nothing_is_kept_and_feedback_says_so(retriever, tmp_path):
    client = make_client(retriever, tmp_path, log_questions=False)
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    assert HEX32.match(answer["id"])
    off = client.post("/api/feedback", json={"answer_id": answer["id"], "rating": "up"})
    assert off.status_code == 503 and "RAG_LOG_QUESTIONS" in off.json()["error"]["message"]
    assert not (tmp_path / "questions.sqlite").exists()


# --- feedback -----------------------------------------------------------------------------------------


def test_feedback_rates_an_answer_and_the_latest_rating_wins(retriever, tmp_path):
    client = make_client(retriever, tmp_path)
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    up = client.post("/api/feedback", json={"answer_id": answer["id"], "rating": "up"})
    assert up.status_code == 200 and up.json() == {"answer_id": answer["id"], "rating": "up", "comment": None}
    assert logged(client, answer["id"])["rating"] == "up"
    down = client.post("/api/feedback", json={"answer_id": answer["id"], "rating": "down", "comment": "  年份不对  "})
    assert down.status_code == 200 and down.json()["comment"] == "年份不对"
    row = logged(client, answer["id"])
    assert (row["rating"], row["comment"]) == ("down", "年份不对") and row["rated_at"]
    assert [r["id"] for r in the_log(client).questions("down")] == [answer["id"]]
    # a /v1 completion's id is accepted as it is
    v1 = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    assert client.post("/api/feedback", json={"answer_id": v1["id"], "rating": "up"}).status_code == 200
    assert logged(client, v1["id"].removeprefix("chatcmpl-"))["rating"] == "up"


def test_feedback_on_an_answer_of_an_earlier_run_is_found_in_the_file(retriever, tmp_path):
    earlier = make_client(retriever, tmp_path)
    answer = earlier.post("/api/ask", json={"question": QUESTION}).json()
    the_log(earlier).close()
    later = make_client(retriever, tmp_path)  # a restart: nothing in memory, the file knows it
    assert later.post("/api/feedback", json={"answer_id": answer["id"], "rating": "down"}).status_code == 200
    assert logged(later, answer["id"])["rating"] == "down"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"answer_id": "0" * 32, "rating": "up"}, 404, "no answer"),
        ({"answer_id": "not-an-answer", "rating": "down"}, 404, "no answer"),
        ({"answer_id": "ID", "rating": "meh"}, 422, "rating"),
        ({"answer_id": "ID", "rating": "UP"}, 422, "rating"),
        ({"answer_id": "ID", "rating": "down", "comment": "太长" * 501}, 422, "comment"),
        ({"answer_id": "ID"}, 422, "rating"),
        ({"rating": "up"}, 422, "answer_id"),
        ({"answer_id": "", "rating": "up"}, 422, "answer_id"),
        ({"answer_id": "ID", "rating": "up", "stars": 5}, 422, "stars"),
    ],
)
def test_bad_feedback_is_refused_with_a_json_error(retriever, tmp_path, body, status, fragment):
    client = make_client(retriever, tmp_path)
    answer_id = client.post("/api/ask", json={"question": QUESTION}).json()["id"]
    body = {k: (answer_id if v == "ID" else v) for k, v in body.items()}
    response = client.post("/api/feedback", json=body)
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    assert response.json()["error"]["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    assert logged(client, answer_id)["rating"] is None


def test_feedback_needs_a_key_like_asking_and_a_flood_is_rate_limited(retriever, tmp_path):
    client = make_client(retriever, tmp_path, api_keys=[SecretStr(KEY)], rate_limit="3/minute")
    auth = {"Authorization": f"Bearer {KEY}"}
    answer_id = client.post("/api/ask", json={"question": QUESTION}, headers=auth).json()["id"]
    missing = client.post("/api/feedback", json={"answer_id": answer_id, "rating": "up"})
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    statuses = [client.post("/api/feedback", json={"answer_id": answer_id, "rating": "up"}, headers=auth).status_code
                for _ in range(4)]  # fmt: skip
    assert statuses == [200, 200, 200, 429]
    limited = client.post("/api/feedback", json={"answer_id": answer_id, "rating": "up"}, headers=auth)
    assert limited.json()["error"]["type"] == "rate_limit_error" and int(limited.headers["retry-after"]) >= 1
    # ratings have a budget of their own: the key may still ask (its 2nd question of 3 this minute)
    assert client.post("/api/ask", json={"question": QUESTION}, headers=auth).status_code == 200


# --- the log never fails an answer ------------------------------------------------------------------------


def errors_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "service.questionlog" and r.levelno >= logging.ERROR]


def test_a_locked_log_database_still_lets_the_answer_out(retriever, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(questionlog, "BUSY_TIMEOUT_MS", 50)
    client = make_client(retriever, tmp_path)
    the_log(client).start()
    assert the_log(client).flush()  # the file exists, with its tables
    blocker = sqlite3.connect(tmp_path / "questions.sqlite", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        response = client.post("/api/ask", json={"question": QUESTION})
        assert response.status_code == 200 and "189.4亿元" in response.json()["answer"]
        streamed = client.post("/api/ask", json={"question": QUESTION, "stream": True})
        assert streamed.status_code == 200 and "189.4亿元" in sse_done(streamed.text)["answer"]
        wait_until(lambda: any("locked" in m for m in errors_of(caplog)), what="the log's error")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    after = client.post("/api/ask", json={"question": QUESTION}).json()  # the lock gone: logged again
    assert logged(client, after["id"])["answer"] == after["answer"]


def test_an_unwritable_log_still_lets_the_answer_out(retriever, tmp_path, caplog):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    client = make_client(retriever, tmp_path, log_path=folder)  # a folder where the file should be
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200 and response.json()["citations"]
    assert the_log(client).flush()
    assert any("cannot be opened" in m for m in errors_of(caplog))


def test_a_full_disk_still_lets_the_answer_out(retriever, tmp_path, caplog, monkeypatch):
    connect = questionlog._connect

    def full(path: Path) -> sqlite3.Connection:  # the file may not grow past its current size
        db = connect(path)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {max(pages, 8)}")
        return db

    monkeypatch.setattr(questionlog, "_connect", full)
    client = make_client(retriever, tmp_path)
    ids = [client.post("/api/ask", json={"question": QUESTION + "一" * n}).json()["id"] for n in range(30)]
    assert all(HEX32.match(answer_id) for answer_id in ids)
    assert the_log(client).flush()
    assert any("full" in m for m in errors_of(caplog)), errors_of(caplog)


# --- retention ----------------------------------------------------------------------------------------------


def test_retention_deletes_old_entries_by_itself(tmp_path):
    clock = Clock()
    log = QuestionLog(tmp_path / "q.sqlite", retention_days=90, clock=clock)
    log.record(entry("a" * 32))
    log.record(entry("b" * 32))
    assert log.rate("b" * 32, "down", "错了")
    assert log.flush() and len(log.questions()) == 2

    clock.now += 60 * DAY
    log.record(entry("c" * 32))  # within the retention period: nothing goes
    assert log.flush() and len(log.questions()) == 3 and log.pruned == 0

    clock.now += 31 * DAY  # a and b are 91 days old, c is 31
    log.record(entry("d" * 32))
    assert log.flush()
    assert sorted(e["id"][0] for e in log.questions()) == ["c", "d"] and log.pruned == 2
    assert log.questions("down") == []  # their ratings went with them

    clock.now += 60 * DAY  # c is 91 days old now, d 60: c goes with the next write
    log.record(entry("e" * 32))
    assert log.flush() and sorted(e["id"][0] for e in log.questions()) == ["d", "e"] and log.pruned == 3
    log.close()

    clock.now += 31 * DAY  # d is 91 days old, e 31
    # at start: a log opened later (here keeping 30 days) deletes what aged meanwhile, before any write
    reopened = QuestionLog(tmp_path / "q.sqlite", retention_days=30, clock=clock)
    reopened.start()
    assert reopened.flush() and reopened.questions() == [] and reopened.pruned == 2
    reopened.close()


def test_retention_runs_at_most_once_an_hour_while_writing(tmp_path):
    clock = Clock()
    log = QuestionLog(tmp_path / "q.sqlite", retention_days=1, clock=clock)
    log.start()
    assert log.flush()  # retention ran at start
    log.record(entry("a" * 32))
    clock.now += DAY + 60  # a is a day and a minute old; the last run was a day ago
    log.record(entry("b" * 32))
    assert log.flush() and [e["id"][0] for e in log.questions()] == ["b"]
    log.record(entry("c" * 32, asked_at=clock.now - 2 * DAY))  # (stamped long ago)
    clock.now += 1800  # half an hour later: retention does not run again yet
    log.record(entry("d" * 32))
    assert log.flush() and sorted(e["id"][0] for e in log.questions()) == ["b", "c", "d"]
    clock.now += 1800  # an hour since the last run: it runs
    log.record(entry("e" * 32))
    assert log.flush() and sorted(e["id"][0] for e in log.questions()) == ["b", "d", "e"]
    log.close()


# --- reading: kinds, since, most asked -----------------------------------------------------------------------


def test_kinds_since_and_the_most_asked_questions(tmp_path):
    clock = Clock()
    log = QuestionLog(tmp_path / "q.sqlite", clock=clock)
    log.record(entry("1" * 32, "2023年太仓市一般公共预算收入是多少？", timings={"total_ms": 30.0}))
    clock.now += 10
    log.record(entry("2" * 32, "2023年太仓市一般公共预算收入是多少", timings={"total_ms": 9000.0}))
    log.record(entry("3" * 32, "那2024年呢？", standalone_question="2024年太仓市一般公共预算收入是多少？", mode="model"))
    clock.now += 10
    log.record(entry("4" * 32, "南京的GDP？", mode="refused", refused=True, answer="提供的报告中没有找到相关信息。"))
    log.rate("2" * 32, "down", "太慢")
    log.rate("3" * 32, "up")
    assert log.flush()
    top = log.top()
    assert top[0]["count"] == 2 and top[0]["question"].startswith("2023年太仓市") and top[0]["down"] == 1
    assert {t["question"] for t in top[1:]} == {"2024年太仓市一般公共预算收入是多少？", "南京的GDP？"}
    assert [e["id"][0] for e in log.questions("slow")][:2] == ["2", "1"]
    assert [e["id"][0] for e in log.questions("refused")] == ["4"]
    assert [(e["id"][0], e["comment"]) for e in log.questions("down")] == [("2", "太慢")]
    assert [e["id"][0] for e in log.questions("up")] == ["3"]
    assert [e["id"][0] for e in log.questions("all", since=clock.now - 5)] == ["4"]
    assert [e["id"][0] for e in log.entries()] == ["1", "2", "3", "4"]
    log.close()


def test_since_takes_dates_times_unix_times_and_durations():
    now = 1_800_000_000.0
    assert parse_since(None, now) is None and parse_since(" ", now) is None
    assert parse_since("7d", now) == now - 7 * DAY and parse_since("24h", now) == now - DAY
    assert parse_since("90m", now) == now - 5400 and parse_since("2w", now) == now - 14 * DAY
    assert parse_since("1700000000", now) == 1_700_000_000.0
    assert parse_since("2026-01-31", now) == parse_since("2026-01-31T00:00:00Z", now) == 1_769_817_600.0
    assert parse_since("2026-01-31T08:00+08:00", now) == 1_769_817_600.0
    for bad in ("yesterday", "7x", "2026-13-01", "-5d"):
        with pytest.raises(ValueError, match="since"):
            parse_since(bad, now)


# --- rag log -------------------------------------------------------------------------------------------------


@pytest.fixture
def logged_cli(make_settings, monkeypatch, tmp_path: Path):
    settings = make_settings()
    log = QuestionLog.from_settings(settings)
    log.record(entry("a" * 32, asked_at=1_700_000_000.0, citations=["001_b45d8ecc868d26b7#3"]))
    log.record(entry("b" * 32, "那2024年呢？", standalone_question="2024年太仓市一般公共预算收入是多少？", mode="refused",
                     refused=True, asked_at=1_800_000_000.0))  # fmt: skip
    assert log.rate("b" * 32, "down", "报告里有，答错了")
    log.close()
    monkeypatch.setattr(cli, "settings", lambda: settings)
    return CliRunner()


def test_log_export_as_jsonl_and_csv(logged_cli, tmp_path):
    result = logged_cli.invoke(cli.app, ["log", "export"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"][0] for r in rows] == ["a", "b"] and rows[1]["comment"] == "报告里有，答错了"
    since = logged_cli.invoke(cli.app, ["log", "export", "--since", "2025-01-01"])
    assert [json.loads(line)["id"][0] for line in since.stdout.splitlines()] == ["b"]
    out = tmp_path / "down.csv"
    result = logged_cli.invoke(cli.app, ["log", "export", "--format", "csv", "--kind", "down", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(table) == 1 and table[0]["rating"] == "down" and table[0]["question"] == "那2024年呢？"
    top = logged_cli.invoke(cli.app, ["log", "export", "--format", "csv", "--kind", "top"])
    assert top.stdout.splitlines()[0] == "question,count,last_asked_at,refused,up,down"
    for bad in (["--format", "xml"], ["--kind", "best"], ["--since", "someday"]):
        failed = logged_cli.invoke(cli.app, ["log", "export", *bad])
        assert failed.exit_code == 1 and failed.stderr.startswith("error:")


def test_log_to_gold_writes_stubs_to_complete(logged_cli, tmp_path):
    from eval.gold import REQUIRED, load_gold

    out = tmp_path / "stubs.jsonl"
    result = logged_cli.invoke(cli.app, ["log", "to-gold", "--ids", f"{'a' * 32},chatcmpl-{'b' * 32}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    stubs = load_gold(out)  # the gold reader takes them (every required field is there)
    assert len(stubs) == 2 and all(set(REQUIRED) <= set(s) for s in stubs)
    first, second = stubs
    assert first["question"] == QUESTION and first["source"] == "001_b45d8ecc868d26b7.txt"
    assert first["evidence"] == [] and first["answer"] == "" and first["split"] == "dev" and "todo" in first
    assert second["question"] == "2024年太仓市一般公共预算收入是多少？"  # standalone: it needs no history
    assert second["from_log"]["asked"] == "那2024年呢？" and second["from_log"]["comment"] == "报告里有，答错了"
    missing = logged_cli.invoke(cli.app, ["log", "to-gold", "--ids", "f" * 32])
    assert missing.exit_code == 1 and "f" * 32 in missing.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2  # nothing appended for a failed call


# --- what each answer step decided ---------------------------------------------------------------------

STEPS = [
    {"name": "verify", "changed": True, "reason": "1 figure not found in the passages", "off": False},
    {"name": "judge_doubt", "changed": False, "reason": "switched off", "off": True},
]


def test_each_answer_step_s_decision_is_kept_next_to_the_timings(tmp_path):
    from rag.answering.answer import Answer

    answer = Answer(QUESTION, "189.4亿元[1]", False, [], [], "none", timings={"step_verify_ms": 1.5}, steps=STEPS)
    log = QuestionLog(tmp_path / "q.sqlite")
    log.record(LoggedAnswer.of(answer, generation="gen-1", route="api"))
    log.record(entry("b" * 32))  # no model, no steps
    assert log.flush()
    found = log.get([answer.id, "b" * 32])
    assert found[answer.id]["steps"] == STEPS and found[answer.id]["timings"] == {"step_verify_ms": 1.5}
    assert found["b" * 32]["steps"] == []
    log.close()


def test_what_each_figure_measures_is_logged(tmp_path):
    from rag.answering.answer import Answer

    figure = {"value": "189.4", "unit": "亿元", "text": "189.4亿元", "measures": "一般公共预算收入", "place": "太仓市",
              "level": "市", "year": 2023, "kind": "actual", "citation": 1}  # fmt: skip
    answer = Answer(QUESTION, "189.4亿元[1]", False, [], [], "none", figures=[figure])
    log = QuestionLog(tmp_path / "q.sqlite")
    log.record(LoggedAnswer.of(answer, generation="gen-1", route="api"))
    assert log.flush()
    assert log.get([answer.id])[answer.id]["figures"] == [figure]
    log.close()


def test_the_answers_confidence_is_logged(tmp_path):
    from rag.answering.answer import Answer

    answer = Answer(QUESTION, "189.4亿元[1]", False, [], [], "none", confidence=0.875)
    log = QuestionLog(tmp_path / "q.sqlite")
    log.record(LoggedAnswer.of(answer, generation="gen-1", route="api"))
    assert log.flush()
    assert log.get([answer.id])[answer.id]["confidence"] == pytest.approx(0.875)
    assert next(log.entries())["confidence"] == pytest.approx(0.875)  # and the export gives it
    log.close()


def old_log(path, more_columns: str = "", schema: int | None = None) -> None:
    """A log file of an older layout — the columns of schema 1 and ``more_columns`` — recording its
    ``schema`` in ``meta`` when given (schema 1 had no meta table), with one entry (id ``"a" * 32``)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE questions (id TEXT PRIMARY KEY, asked_at REAL NOT NULL, question TEXT NOT NULL,"
            " standalone_question TEXT, answer TEXT NOT NULL, mode TEXT NOT NULL, cached INTEGER NOT NULL,"
            " refused INTEGER NOT NULL, degraded INTEGER NOT NULL, reason TEXT, citations TEXT NOT NULL,"
            " timings TEXT NOT NULL, total_ms REAL, generation TEXT, route TEXT, client TEXT, key_id TEXT,"
            f" rating TEXT, comment TEXT, rated_at REAL{more_columns})"
        )
        if schema is not None:
            db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT INTO meta (name, value) VALUES ('schema', ?)", (str(schema),))
        db.execute(
            "INSERT INTO questions (id, asked_at, question, answer, mode, cached, refused, degraded, citations, timings)"
            " VALUES (?, ?, ?, '189.4亿元', 'quote', 0, 0, 0, '[]', '{}')",
            ("a" * 32, 1.0e9, QUESTION),
        )
    db.close()


def test_a_log_file_of_schema_3_gets_the_confidence_column_and_keeps_its_entries(tmp_path):
    path = tmp_path / "q.sqlite"
    # the layout of schema 3, before ``confidence``
    old_log(path, ", steps TEXT NOT NULL DEFAULT '[]', figures TEXT NOT NULL DEFAULT '[]'", schema=3)
    log = QuestionLog(path, retention_days=36500, clock=Clock(1.0e9 + 10))
    log.record(entry("b" * 32))
    assert log.flush()
    found = log.get(["a" * 32, "b" * 32])
    assert found["a" * 32]["confidence"] is None and found["a" * 32]["answer"] == "189.4亿元"
    assert "b" * 32 in found
    log.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone() == ("4",)
    db.close()


def test_a_log_file_of_schema_1_gets_the_steps_column_and_keeps_its_entries(tmp_path):
    path = tmp_path / "q.sqlite"
    old_log(path)  # the layout before ``steps``
    log = QuestionLog(path, retention_days=36500, clock=Clock(1.0e9 + 10))
    log.record(entry("b" * 32, steps=STEPS))
    assert log.flush()
    found = log.get(["a" * 32, "b" * 32])
    assert found["a" * 32]["steps"] == [] and found["b" * 32]["steps"] == STEPS
    assert found["a" * 32]["figures"] == []  # and the figures column of schema 3, empty for old entries
    log.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone() == (str(questionlog.SCHEMA_VERSION),)
    db.close()


def test_the_admin_questions_endpoint_shows_the_steps(retriever, tmp_path):
    client = make_client(retriever, tmp_path, admin_keys=[SecretStr("admin-key")])
    the_log(client).record(entry("c" * 32, steps=STEPS))
    shown = client.get("/api/admin/questions", headers={"Authorization": "Bearer admin-key"}).json()["questions"]
    assert [e["steps"] for e in shown if e["id"] == "c" * 32] == [STEPS]
