"""The question log: every answer the service gives and what its readers thought of it (👍/👎), in
an SQLite file under the cache directory (``RAG_LOG_PATH``, default ``<cache_dir>/questions.sqlite``).

An entry holds the question, the standalone question (a follow-up rewritten), the answer, how it was
made (``mode``: quote, model, refused, degraded, extractive, about; ``cached`` besides), the cited
chunk ids, the timings and what each answer step after the model decided (``steps``: name, changed,
reason, off — :attr:`rag.answering.answer.Answer.steps`), the index generation, the time and, once a reader rated it, the rating and an
optional comment. The client's address and a fingerprint of its API key (a sha256 prefix, never the
key) are kept only with ``RAG_LOG_CLIENTS=1``.

Writing never fails or slows an answer: :meth:`QuestionLog.record` puts the entry on a bounded queue
(when it is full the entry is dropped, with a warning) and one background thread writes what is
queued in one transaction at a time (WAL). Any ``sqlite3.Error`` or ``OSError`` there — a locked
database, a full disk, a file that cannot be written — is logged as an error and that batch is
dropped; the answers went out long before.

Retention runs by itself: when the writer opens the file (at start) and then at most once an hour
while it writes, entries asked more than ``RAG_LOG_RETENTION_DAYS`` ago are deleted. The clock is
injectable, so tests move time instead of waiting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rag.core.cache import close_quietly, normalize_question, write_transaction
from rag.core.config import Settings
from rag.core.errors import RagError

if TYPE_CHECKING:
    from rag.answering.answer import Answer

logger = logging.getLogger(__name__)

#: Bump when the table layout or the meaning of a column changes. 2: the ``steps`` column (a file of
#: version 1 gets it when opened, ``[]`` for its entries: :data:`MIGRATIONS`). 3: the ``figures`` column
#: (what each figure the answer states measures: :attr:`rag.answering.answer.Answer.figures`). 4: the
#: ``confidence`` column (:attr:`rag.answering.answer.Answer.confidence`; ``NULL`` for older entries).
SCHEMA_VERSION = 4
#: How long the writer waits for another process's write lock before the batch fails (and is dropped).
BUSY_TIMEOUT_MS = 2_000
#: Entries waiting for the writer; beyond this new ones are dropped (answers never wait for the log).
QUEUE_SIZE = 10_000
#: At most this many queued items per transaction.
BATCH = 500
#: Retention runs at most this often while writing (and once when the file is opened).
PRUNE_EVERY_SECONDS = 3600.0
#: Answer ids remembered in memory, so feedback on an answer still queued for writing is accepted.
RECENT_IDS = 50_000
#: The most a comment on an answer may say.
MAX_COMMENT_CHARS = 1000

Kind = Literal["all", "refused", "down", "up", "slow", "top"]
KINDS: tuple[str, ...] = ("all", "refused", "down", "up", "slow", "top")
Rating = Literal["up", "down"]

_COLUMNS = (
    "id", "asked_at", "question", "standalone_question", "answer", "mode", "cached", "refused", "degraded", "reason",
    "citations", "timings", "steps", "figures", "confidence", "total_ms", "generation", "route", "client", "key_id", "rating", "comment",
    "rated_at",
)  # fmt: skip
#: Columns added after the table's first layout, with their definition: a file that lacks one gets it
#: (``ALTER TABLE … ADD COLUMN``) when it is opened; its older entries have the default.
MIGRATIONS = {"steps": "TEXT NOT NULL DEFAULT '[]'", "figures": "TEXT NOT NULL DEFAULT '[]'", "confidence": "REAL"}


class LogUnavailable(RagError):
    """The question log cannot be read (locked, corrupt, unreadable); the message says why."""


@dataclass
class LoggedAnswer:
    """One answer as the log keeps it."""

    id: str
    question: str
    answer: str
    mode: str
    cached: bool = False
    refused: bool = False
    degraded: bool = False
    standalone_question: str | None = None
    reason: str | None = None
    #: The cited chunk ids, in citation order.
    citations: list[str] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)
    #: What each answer step after the model decided (name, changed, reason, off), in the order they ran.
    steps: list[dict[str, object]] = field(default_factory=list)
    #: What each figure the answer states measures (value, unit, measures, place, level, year, kind, citation…).
    figures: list[dict[str, object]] = field(default_factory=list)
    #: How sure the engine was that the answer is right (0–1; ``None`` for entries logged before schema 4).
    confidence: float | None = None
    generation: str | None = None
    #: ``api`` (``/api/ask``) or ``v1`` (``/v1/chat/completions``).
    route: str = "api"
    client: str | None = None
    key_id: str | None = None
    #: Unix time; stamped with the log's clock when the entry is recorded.
    asked_at: float | None = None

    @classmethod
    def of(cls, answer: Answer, *, generation: str | None, route: str, client: str | None = None,
           key_id: str | None = None) -> LoggedAnswer:  # fmt: skip
        return cls(
            id=answer.id, question=answer.question, answer=answer.answer, mode=answer.mode, cached=answer.cached,
            refused=answer.refused, degraded=answer.degraded, standalone_question=answer.standalone_question,
            reason=answer.reason, citations=[c.chunk_id for c in answer.citations], timings=dict(answer.timings),
            steps=[dict(step) for step in answer.steps], figures=[dict(f) for f in answer.figures], confidence=answer.confidence, generation=generation, route=route, client=client, key_id=key_id,
        )  # fmt: skip


def key_fingerprint(token: str) -> str:
    """What the log may keep of an API key: 16 hex digits of its sha256 (the rate limiter's bucket name)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def iso(seconds: float | None) -> str | None:
    """Unix time as ISO 8601 in UTC (``2026-01-02T03:04:05Z``)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(value: str | None, now: float) -> float | None:
    """``since`` as unix time: an ISO 8601 date or time (UTC unless it names its offset), unix seconds,
    or a duration back from ``now`` (``90m``, ``24h``, ``7d``, ``2w``); empty: no bound."""
    text = (value or "").strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,}(?:\.\d+)?", text):
        return float(text)
    if match := _DURATION_RE.match(text.lower()):
        return now - float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since: {value!r} is no date (2026-01-31, 2026-01-31T08:00), unix time or duration (7d, 24h)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class QuestionLog:
    """The log file and its writer thread. Thread-safe; :meth:`record` and :meth:`rate` never block on
    the file, reads open a connection of their own."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: int = 90,
        clock: Callable[[], float] = time.time,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.path = path
        self.retention_days = retention_days
        self.clock = clock
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._db: sqlite3.Connection | None = None
        self._last_prune: float | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()
        #: Entries deleted by retention so far (tests and logs).
        self.pruned = 0

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> QuestionLog:
        return cls(settings.question_log_file, retention_days=settings.log_retention_days, **options)

    # -- writing (any thread; never raises, never waits for the file) ----------------------------------

    def start(self) -> None:
        """Start the writer now (it opens the file and applies retention); otherwise the first write does."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="question-log", daemon=True)
                self._thread.start()

    def record(self, entry: LoggedAnswer) -> None:
        """Queue ``entry`` for writing; a full queue or a closed log drops it with a warning."""
        if entry.asked_at is None:
            entry.asked_at = self.clock()
        if self._put(("answer", entry)):
            with self._lock:
                self._recent[entry.id] = None
                while len(self._recent) > RECENT_IDS:
                    self._recent.popitem(last=False)

    def rate(self, answer_id: str, rating: Rating, comment: str | None = None) -> bool:
        """Queue a reader's rating of the answer ``answer_id`` (the latest rating and comment win);
        ``False`` when the log knows no such answer. :class:`LogUnavailable` when it cannot tell."""
        if not self.knows(answer_id):
            return False
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS] or None
        if not self._put(("rate", answer_id, rating, comment, self.clock())):
            raise LogUnavailable("the question log is not accepting entries now")
        return True

    def knows(self, answer_id: str) -> bool:
        with self._lock:
            if answer_id in self._recent:
                return True
        return bool(self._read("SELECT 1 FROM questions WHERE id = ?", (answer_id,)))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued before this call is written (or failed); ``False`` on timeout."""
        done = threading.Event()
        if not self._put(("flush", done)):
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop the writer. Idempotent; later records are dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            try:
                self._queue.put(("stop",), timeout=timeout)
            except queue.Full:
                logger.error("question log: the writer is stuck; %d entries not written", self._queue.qsize())
                return
            thread.join(timeout)

    def _put(self, item: tuple[Any, ...]) -> bool:
        if self._closed:
            logger.warning("question log: closed; %s not logged", item[0])
            return False
        self.start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            logger.warning("question log: %d entries wait for the writer; %s dropped", self._queue.qsize(), item[0])
            return False
        return True

    # -- the writer thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        self._open()
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item[0] == "stop" for item in batch)
            self._write([item for item in batch if item[0] in ("answer", "rate")])
            for item in batch:
                if item[0] == "flush":
                    item[1].set()
            if stop:
                if self._db is not None:
                    try:
                        self._db.close()
                    except sqlite3.Error:  # pragma: no cover - closing hardly ever fails
                        pass
                    self._db = None
                return

    def _open(self) -> bool:
        """Open (or create) the file and apply retention; on failure log an error and retry next write."""
        if self._db is not None:
            return True
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = _connect(self.path)
            db.execute("PRAGMA journal_mode = WAL")
            with write_transaction(db):
                db.execute(
                    "CREATE TABLE IF NOT EXISTS questions (id TEXT PRIMARY KEY, asked_at REAL NOT NULL,"
                    " question TEXT NOT NULL, standalone_question TEXT, answer TEXT NOT NULL, mode TEXT NOT NULL,"
                    " cached INTEGER NOT NULL, refused INTEGER NOT NULL, degraded INTEGER NOT NULL, reason TEXT,"
                    " citations TEXT NOT NULL, timings TEXT NOT NULL, total_ms REAL, generation TEXT, route TEXT,"
                    f" client TEXT, key_id TEXT, rating TEXT, comment TEXT, rated_at REAL, steps {MIGRATIONS['steps']},"
                    f" figures {MIGRATIONS['figures']}, confidence {MIGRATIONS['confidence']})"
                )
                present = {row[1] for row in db.execute("PRAGMA table_info(questions)")}
                for column, definition in MIGRATIONS.items():
                    if column not in present:
                        db.execute(f"ALTER TABLE questions ADD COLUMN {column} {definition}")
                db.execute("CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at)")
                db.execute("CREATE INDEX IF NOT EXISTS questions_rated ON questions (rating, rated_at)")
                db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            self._db = db
            self._prune()
            return True
        except (sqlite3.Error, OSError) as exc:
            logger.error("question log: %s cannot be opened (%s); answers are not logged until it can", self.path, exc)
            close_quietly(db)
            return False

    def _write(self, items: list[tuple[Any, ...]]) -> None:
        if not items:
            return
        answers = sum(1 for item in items if item[0] == "answer")
        if not self._open():
            logger.error("question log: %d answers and %d ratings not logged", answers, len(items) - answers)
            return
        assert self._db is not None
        try:
            with write_transaction(self._db) as db:
                for item in items:
                    if item[0] == "answer":
                        db.execute(
                            f"INSERT OR REPLACE INTO questions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                            _row(item[1]),
                        )
                    else:
                        _, answer_id, rating, comment, at = item
                        db.execute(
                            "UPDATE questions SET rating = ?, comment = ?, rated_at = ? WHERE id = ?",
                            (rating, comment, at, answer_id),
                        )
        except (sqlite3.Error, OSError) as exc:
            logger.error(
                "question log: writing to %s failed (%s); %d answers and %d ratings not logged",
                self.path, exc, answers, len(items) - answers,
            )  # fmt: skip
            return
        if self._last_prune is None or self.clock() - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._prune()

    def _prune(self) -> None:
        """Delete entries asked before the retention period (runs in the writer thread)."""
        assert self._db is not None
        now = self.clock()
        self._last_prune = now
        try:
            with write_transaction(self._db) as db:
                deleted = db.execute("DELETE FROM questions WHERE asked_at < ?", (now - self.retention_days * 86400,)).rowcount
        except (sqlite3.Error, OSError) as exc:
            logger.error("question log: retention failed on %s (%s)", self.path, exc)
            return
        self.pruned += deleted
        if deleted:
            logger.info("question log: deleted %d entries older than %d days", deleted, self.retention_days)

    # -- reading (admin API, CLI) ------------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        if not self.path.exists():
            return []
        try:
            with closing(_connect(self.path)) as db:
                db.row_factory = sqlite3.Row
                db.create_function("normq", 1, normalize_question, deterministic=True)
                return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise LogUnavailable(f"the question log cannot be read ({exc})") from exc
        except (sqlite3.Error, OSError) as exc:
            raise LogUnavailable(f"the question log cannot be read ({exc})") from exc

    def questions(self, kind: str = "all", since: float | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Entries (newest first) of one kind: ``all``, ``refused``, ``down`` / ``up`` (rated so, newest
        rating first), ``slow`` (slowest first); ``top`` is :meth:`top`."""
        if kind == "top":
            return self.top(since, limit)
        where, order = {
            "all": ("1", "asked_at DESC"),
            "refused": ("mode = 'refused'", "asked_at DESC"),
            "down": ("rating = 'down'", "rated_at DESC"),
            "up": ("rating = 'up'", "rated_at DESC"),
            "slow": ("total_ms IS NOT NULL", "total_ms DESC"),
        }[kind]
        rows = self._read(
            f"SELECT * FROM questions WHERE {where} AND asked_at >= ? ORDER BY {order}, id LIMIT ?",
            (since if since is not None else float("-inf"), limit),
        )
        return [_entry(row) for row in rows]

    def top(self, since: float | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The most asked questions (the same standalone question however it was typed), most first:
        ``question`` (its latest wording), ``count``, ``last_asked_at``, ``refused``, ``up``, ``down``."""
        rows = self._read(
            "SELECT COALESCE(standalone_question, question) AS question, MAX(asked_at) AS last_asked_at,"
            " COUNT(*) AS count, SUM(mode = 'refused') AS refused, SUM(rating = 'up') AS up,"
            " SUM(rating = 'down') AS down FROM questions WHERE asked_at >= ?"
            " GROUP BY normq(COALESCE(standalone_question, question)) ORDER BY count DESC, last_asked_at DESC LIMIT ?",
            (since if since is not None else float("-inf"), limit),
        )
        return [
            {"question": row["question"], "count": row["count"], "last_asked_at": iso(row["last_asked_at"]),
             "refused": row["refused"] or 0, "up": row["up"] or 0, "down": row["down"] or 0}
            for row in rows
        ]  # fmt: skip

    def entries(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        """Every entry since ``since``, oldest first (``rag log export``)."""
        rows = self._read(
            "SELECT * FROM questions WHERE asked_at >= ? ORDER BY asked_at, id",
            (since if since is not None else float("-inf"),),
        )
        return (_entry(row) for row in rows)

    def get(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The entries of these answer ids (unknown ids are absent)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = self._read(f"SELECT * FROM questions WHERE id IN ({', '.join('?' * len(part))})", tuple(part))
            found.update((row["id"], _entry(row)) for row in rows)
        return found


def _connect(path: Path) -> sqlite3.Connection:
    """The one place the file is opened (tests substitute a failing connection here)."""
    db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return db


def _row(entry: LoggedAnswer) -> tuple[Any, ...]:
    values = asdict(entry)
    values["citations"] = json.dumps(entry.citations, ensure_ascii=False)
    values["timings"] = json.dumps(entry.timings)
    values["steps"] = json.dumps(entry.steps, ensure_ascii=False)
    values["figures"] = json.dumps(entry.figures, ensure_ascii=False)
    values["total_ms"] = entry.timings.get("total_ms")
    values.update(cached=int(entry.cached), refused=int(entry.refused), degraded=int(entry.degraded))
    values.update(rating=None, comment=None, rated_at=None)
    return tuple(values[column] for column in _COLUMNS)


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    """A stored entry as the admin API and ``rag log export`` give it (times in ISO 8601, UTC)."""
    entry = {column: row[column] for column in _COLUMNS}
    entry["citations"] = json.loads(entry["citations"] or "[]")
    entry["timings"] = json.loads(entry["timings"] or "{}")
    entry["steps"] = json.loads(entry["steps"] or "[]")
    entry["figures"] = json.loads(entry["figures"] or "[]")
    for flag in ("cached", "refused", "degraded"):
        entry[flag] = bool(entry[flag])
    entry["asked_at"], entry["rated_at"] = iso(entry["asked_at"]), iso(entry["rated_at"])
    for private in ("client", "key_id"):
        if entry[private] is None:
            del entry[private]
    return entry
