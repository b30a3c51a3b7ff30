"""A cache of final answers: the same standalone question, index generation and answer settings
give back the stored answer object without retrieval or generation.

Two layers behind one lock: an in-memory LRU (checked first) and an SQLite file under the cache
directory (checked second, survives restarts, promotes hits into memory). Entries are keyed by
:meth:`AnswerCache.key` — sha256 of the normalised question (:func:`normalize_question`), the
index generation and a fingerprint of the answer settings (:func:`settings_fingerprint`) — and
remember their generation, so :meth:`AnswerCache.drop_other_generations` can drop everything
answered against an older index. Follow-ups are cached by their rewritten standalone question:
the caller passes that question; this module keys on whatever it is given.

The cache never fails an answer: every ``sqlite3.Error`` is logged and treated as a miss or a
no-op, and a file that cannot be opened, is corrupt or is not writable leaves the cache working
in memory only, with one warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import string
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

#: Bump when the table layout or the meaning of a stored value changes.
SCHEMA_VERSION = 1
#: Rows kept in SQLite by default (the newest win).
DEFAULT_MAX_ROWS = 20_000
#: How long a writer waits for another process's write lock before the put is skipped.
BUSY_TIMEOUT_MS = 1_000
#: SQLite result codes that mean "try again later", not "this file is unusable".
_TRANSIENT = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_TIMEOUT"})

# After NFKC: ？→?, ！→!, ，→, and so on; 。、… are listed in both forms to be safe.
_TRAILING = frozenset("?？。.!！,，;；:：、~～…·")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalize_question(text: str) -> str:
    """Canonical form of a question for cache keys.

    NFKC (full-width → half-width), ASCII lower-cased, zero-width characters removed, trailing
    punctuation (？?。.!！ …) and whitespace stripped, runs of whitespace removed — except that a
    single space is kept between two ASCII words (``"GDP 增长"`` → ``"gdp增长"``, ``"per capita"``
    stays).
    """
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_ASCII_LOWER)
    end = len(text)
    while end and (text[end - 1] in _TRAILING or text[end - 1].isspace()):
        end -= 1
    parts = text[:end].split()
    if not parts:
        return ""
    out = [parts[0]]
    for part in parts[1:]:
        if _ascii_word_char(out[-1][-1]) and _ascii_word_char(part[0]):
            out.append(" ")
        out.append(part)
    return "".join(out)


def _ascii_word_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def settings_fingerprint(values: Mapping[str, Any]) -> str:
    """A short stable hash (16 hex digits) of the answer settings that change answers.

    Key order does not matter; paths, sets and other non-JSON values are hashed by their text.
    """
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    if isinstance(value, PurePath):
        return value.as_posix()
    return str(value)


def _connect(path: Path) -> sqlite3.Connection:
    """The one place the SQLite file is opened (tests substitute a read-only connection here)."""
    return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)


def close_quietly(db: sqlite3.Connection | None) -> None:
    """Close a connection that failed to open or set up; a second failure changes nothing."""
    if db is not None:
        try:
            db.close()
        except sqlite3.Error:  # pragma: no cover
            pass


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write transaction on ``db`` (opened with ``isolation_level=None``): BEGIN IMMEDIATE …
    COMMIT, rolled back on any error. Also the question log's (service/questionlog.py)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:  # the original error is the one worth reporting
                pass
        raise


class AnswerCache:
    """Answer objects (JSON-serialisable dicts) in a memory LRU backed by an optional SQLite file.

    ``path=None`` keeps everything in memory. ``capacity`` bounds the memory LRU (0: no memory
    layer), ``max_rows`` the SQLite table (pruned to the newest rows every few puts). Safe to share
    between threads.
    """

    def __init__(self, path: Path | None, *, capacity: int = 1024, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self.path = path
        self.capacity = capacity
        self.max_rows = max_rows
        self._prune_every = max(1, min(256, max_rows // 16))
        self._puts_since_prune = 0
        self._lock = threading.Lock()
        #: key → (generation, the value as JSON text): callers get a fresh dict on every hit.
        self._memory: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = self._open(path)

    # -- public API -------------------------------------------------------------------------

    @staticmethod
    def key(question: str, generation: str, fingerprint: str) -> str:
        """sha256 of the normalised question, the index generation and the settings fingerprint."""
        text = "\x00".join((normalize_question(question), generation, fingerprint))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def persistent(self) -> bool:
        """Whether entries currently go to the SQLite file (False: memory only)."""
        return self._db is not None

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key`` (a fresh dict), or None on a miss or any cache failure."""
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
                return self._decode(key, entry[1])
            if self._db is None:
                return None
            try:
                row = self._db.execute("SELECT generation, value FROM answers WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._failed("read", exc)
                return None
            if row is None:
                return None
            generation, text = row
            value = self._decode(key, text)
            if value is not None:
                self._remember(key, generation, text)
            return value

    def put(self, key: str, value: dict[str, Any], generation: str) -> None:
        """Store ``value`` under ``key`` (memory, then one SQLite transaction); never raises."""
        if not isinstance(value, dict):
            logger.warning("answer cache: not storing a %s (answers are dicts)", type(value).__name__)
            return
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            logger.warning("answer cache: answer is not JSON-serialisable, not stored (%s)", exc)
            return
        with self._lock:
            self._remember(key, generation, text)
            if self._db is None:
                return
            try:
                with self._write() as db:
                    db.execute(
                        "INSERT OR REPLACE INTO answers (key, generation, value, stored_at) VALUES (?, ?, ?, ?)",
                        (key, generation, text, time.time()),
                    )
                    self._puts_since_prune += 1
                    if self._puts_since_prune >= self._prune_every:
                        self._prune(db)
            except sqlite3.Error as exc:
                self._failed("write", exc)

    def drop_other_generations(self, generation: str) -> int:
        """Delete every entry of another index generation; returns how many distinct keys went."""
        with self._lock:
            dropped = {k for k, (gen, _) in self._memory.items() if gen != generation}
            for k in dropped:
                del self._memory[k]
            if self._db is not None:
                try:
                    with self._write() as db:
                        rows = db.execute("SELECT key FROM answers WHERE generation != ?", (generation,))
                        dropped.update(k for (k,) in rows)
                        db.execute("DELETE FROM answers WHERE generation != ?", (generation,))
                except sqlite3.Error as exc:
                    self._failed("drop", exc)
            if dropped:
                logger.info("answer cache: dropped %d answers of other index generations", len(dropped))
            return len(dropped)

    def close(self) -> None:
        """Close the SQLite file; the cache keeps working in memory. Idempotent."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                try:
                    db.close()
                except sqlite3.Error as exc:  # pragma: no cover - closing hardly ever fails
                    logger.warning("answer cache: closing %s failed (%s)", self.path, exc)

    def __len__(self) -> int:
        """Entries in the memory layer."""
        with self._lock:
            return len(self._memory)

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- internals (callers hold self._lock) -----------------------------------------------------

    def _open(self, path: Path) -> sqlite3.Connection | None:
        """Open and prepare the file, proving it writable; None (memory only, one warning) if not."""
        db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = _connect(path)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            with self._write(db):
                db.execute(
                    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, generation TEXT NOT NULL,"
                    " value TEXT NOT NULL, stored_at REAL NOT NULL)"
                )
                db.execute("CREATE INDEX IF NOT EXISTS answers_generation ON answers (generation)")
                db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
                # Also the write probe: a read-only file fails here rather than on every put.
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                self._prune(db)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("answer cache: %s is unusable (%s); caching answers in memory only", path, exc)
            close_quietly(db)
            return None
        return db

    def _write(self, db: sqlite3.Connection | None = None) -> AbstractContextManager[sqlite3.Connection]:
        db = db if db is not None else self._db
        assert db is not None
        return write_transaction(db)

    def _prune(self, db: sqlite3.Connection) -> None:
        """Keep the newest ``max_rows`` rows (REPLACE gives a re-stored key a new, higher rowid)."""
        self._puts_since_prune = 0
        db.execute(
            "DELETE FROM answers WHERE rowid <= (SELECT rowid FROM answers ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
            (self.max_rows,),
        )

    def _remember(self, key: str, generation: str, text: str) -> None:
        if self.capacity == 0:
            return
        self._memory[key] = (generation, text)
        self._memory.move_to_end(key)
        while len(self._memory) > self.capacity:
            self._memory.popitem(last=False)

    def _decode(self, key: str, text: str) -> dict[str, Any] | None:
        try:
            value = json.loads(text)
        except ValueError as exc:
            logger.warning("answer cache: stored answer %s… is not valid JSON (%s); treated as a miss", key[:12], exc)
            value = None
        if not isinstance(value, dict):
            self._memory.pop(key, None)
            return None
        return value

    def _failed(self, action: str, exc: sqlite3.Error) -> None:
        """Log a failed SQLite call; anything but a busy/locked file switches to memory only."""
        name = getattr(exc, "sqlite_errorname", None)
        if name in _TRANSIENT:
            logger.warning("answer cache: %s skipped, %s is busy (%s)", action, self.path, exc)
            return
        logger.warning("answer cache: %s failed on %s (%s); caching answers in memory only from now on", action, self.path, exc)
        db, self._db = self._db, None
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:  # pragma: no cover
                pass
