"""Reports added while the service runs: where their files live, what the corpus is, and how an
upload body reaches the disk.

Layout of ``uploads_dir``::

    corpus.json              {"uploads": [<sha256>.<ext>, …], "removed_seeds": [<file name>, …]}
    <sha256>.<ext>           an uploaded report, named by the sha256 of its bytes
    <sha256>.json            its sidecar: {"name" (the sanitised name it was uploaded as), "sha256", "format", "size"}
    jobs/<id>.json           upload, delete and re-index jobs (:mod:`service.jobs`)
    .incoming/               upload bodies while they stream in (temporary)
    .lock                    held by the one process that manages this folder

The corpus is ``seeds_dir`` (less ``removed_seeds``) plus the uploads ``corpus.json`` lists. A stored
file that ``corpus.json`` does not list is not part of the corpus yet (its job is still running) or
was left by a job that failed or was interrupted; such files are removed at start-up. ``corpus.json``
is only rewritten (atomically) after the index built from the new corpus was written, so a crash at
any point leaves a corpus and an index that agree or that :meth:`service.engine.Engine.load` makes agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rag.core.config import Settings
from rag.core.errors import DocumentError
from rag.reading.documents import MANIFEST_NAME, discover, file_sha256

logger = logging.getLogger(__name__)

CORPUS_FILE = "corpus.json"
#: How many leading bytes of each upload are kept to tell its format.
HEAD_BYTES = 8192
#: Files per upload request, and the size of the other form fields (``replace``).
MAX_FILES = 20
MAX_FIELD_BYTES = 1024
#: The file suffix each readable format is stored under (the loader reads it by that suffix).
FORMAT_SUFFIX = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt"}
_SUFFIX_FORMAT = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
}
_STORED = re.compile(r"^[0-9a-f]{64}\.[a-z]{2,8}$")
_MAX_NAME_CHARS = 160


class UploadError(Exception):
    """A refused upload or document change: ``status`` is the HTTP status, ``kind`` the error type of
    the error envelope."""

    KINDS = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        409: "conflict_error",
        413: "request_too_large",
        415: "unsupported_media_type",
        422: "invalid_request_error",
        503: "uploads_unavailable",
    }

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = self.KINDS.get(status, "error")
        self.headers = headers


# --- names and formats ---------------------------------------------------------------------


def sanitize_name(raw: str | None, default: str = "upload") -> str:
    """A safe display name for an uploaded file: its last path component (``/`` and ``\\`` both
    separate), without control or format characters, not ``.``/``..`` nor hidden, at most 160 characters."""
    text = unicodedata.normalize("NFC", raw or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    text = text.strip(" .")
    if not text:
        return default
    if len(text) > _MAX_NAME_CHARS:
        stem, dot, suffix = text.rpartition(".")
        text = stem[: _MAX_NAME_CHARS - len(suffix) - 1] + dot + suffix if dot and len(suffix) <= 10 else text[:_MAX_NAME_CHARS]
    return text


def format_of(file_name: str) -> str | None:
    """The format a stored or seed file is read as, from its suffix."""
    return _SUFFIX_FORMAT.get(Path(file_name).suffix.lower())


def _fallback_sniff(head: bytes, name: str) -> str | None:
    """Without :mod:`rag.reading.loaders`: only UTF-8 text (what :func:`rag.reading.documents.load_report` reads)."""
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data" or exc.start < len(head) - 3:
            return None  # not cut off mid-character at the end of the head: not UTF-8
    return "text"


def _library_sniffer() -> Callable[[bytes, str], str | None]:
    try:
        loaders = importlib.import_module("rag.reading.loaders")
    except ImportError:
        return _fallback_sniff
    sniffer = getattr(loaders, "sniff_format", None)
    return sniffer if callable(sniffer) else _fallback_sniff


#: ``sniff_format(head, name) -> "pdf" | "docx" | "html" | "text" | None``: by content, the name only breaks ties.
sniff_format: Callable[[bytes, str], str | None] = _library_sniffer()


def stored_name(sha256: str, fmt: str, display_name: str) -> str:
    """``<sha256>.<ext>``; Markdown keeps ``.md`` (its marks are read as headings and emphasis)."""
    suffix = FORMAT_SUFFIX[fmt]
    if fmt == "text" and Path(display_name).suffix.lower() in (".md", ".markdown"):
        suffix = ".md"
    return sha256 + suffix


# --- files ---------------------------------------------------------------------------------


def write_json_atomic(path: Path, data: object) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path``, fsync it and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path``; ``None`` when it is missing or unreadable (logged)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("cannot read %s: %s", path, exc)
        return None


@dataclass(frozen=True)
class CorpusState:
    """What ``corpus.json`` says: the uploads in the corpus and the seeds taken out of it."""

    uploads: tuple[str, ...] = ()
    removed_seeds: tuple[str, ...] = ()

    def changed(self, *, add: Iterable[str] = (), remove: Iterable[str] = (), seeds: Iterable[str] = ()) -> CorpusState:
        """This state with uploads ``add``ed, uploads or seeds ``remove``d (``seeds``: the seed file names)."""
        gone, seed_names = set(remove), set(seeds)
        uploads = [name for name in self.uploads if name not in gone]
        uploads += [name for name in dict.fromkeys(add) if name not in uploads]
        removed = set(self.removed_seeds) | (gone & seed_names)
        return CorpusState(tuple(uploads), tuple(sorted(removed)))

    def to_dict(self) -> dict[str, list[str]]:
        return {"uploads": list(self.uploads), "removed_seeds": list(self.removed_seeds)}


@dataclass
class StoredDocument:
    """An accepted upload, stored under its sha256."""

    sha256: str
    name: str
    format: str
    file: str
    size: int
    #: Its bytes are already in the corpus (seed or upload): nothing to do.
    unchanged: bool = False

    @property
    def id(self) -> str:
        return Path(self.file).stem

    def public(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "name": self.name, "sha256": self.sha256, "format": self.format}
        if self.unchanged:
            out["unchanged"] = True
        return out


class UploadStore:
    """The files under ``uploads_dir`` (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.uploads_dir
        self.incoming = self.root / ".incoming"
        self.jobs_dir = self.root / "jobs"
        self._lock_file: IO[str] | None = None

    # -- the folder's lock --------------------------------------------------------------------

    def acquire(self) -> bool:
        """Take this folder for this process (created if need be); ``False`` when another process has it."""
        if self._lock_file is not None:
            return True
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".lock", "a+", encoding="utf-8")  # held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def acquire_if_present(self) -> bool:
        """:meth:`acquire` only when the folder exists already (nothing is created for a service that
        never receives an upload)."""
        return self.root.is_dir() and self.acquire()

    def release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    # -- the corpus ---------------------------------------------------------------------------

    def state(self) -> CorpusState:
        data = read_json(self.root / CORPUS_FILE)
        if not isinstance(data, dict):
            return CorpusState()
        uploads = tuple(n for n in data.get("uploads", []) if isinstance(n, str) and _STORED.match(n))
        removed = tuple(n for n in data.get("removed_seeds", []) if isinstance(n, str))
        return CorpusState(uploads, removed)

    def commit(self, state: CorpusState) -> None:
        write_json_atomic(self.root / CORPUS_FILE, state.to_dict())

    def seed_files(self) -> list[Path]:
        seeds = self.settings.seeds_dir
        if not seeds.is_dir():
            return []
        try:
            return [p for p in discover([seeds]) if p.name != MANIFEST_NAME]
        except DocumentError:  # no report files in it: an empty seeds folder is a corpus of uploads only
            return []

    def files(self, state: CorpusState) -> list[Path]:
        """The corpus ``state`` describes: seed files not removed, then the listed uploads."""
        removed = set(state.removed_seeds)
        return [p for p in self.seed_files() if p.name not in removed] + [self.root / name for name in state.uploads]

    def path(self, name: str) -> Path:
        return self.root / name

    def sidecar(self, name: str) -> dict[str, Any]:
        data = read_json(self.root / (Path(name).stem + ".json"))
        return data if isinstance(data, dict) else {}

    # -- storing ------------------------------------------------------------------------------

    def receiver(self, content_type: str) -> MultipartReceiver:
        self.incoming.mkdir(parents=True, exist_ok=True)
        return MultipartReceiver(content_type, self.incoming, self.settings.max_upload_bytes)

    def keep(self, received: Received, fmt: str, known_hashes: set[str]) -> StoredDocument:
        """Move a received file to ``<sha256>.<ext>`` with its sidecar (both atomically); bytes the
        corpus has already are not stored again."""
        sha = received.digest
        name = stored_name(sha, fmt, received.name)
        doc = StoredDocument(sha, received.name, fmt, name, received.size)
        if sha in known_hashes:
            doc.unchanged = True
            return doc
        target = self.root / name
        if not target.exists():
            os.replace(received.path, target)
        write_json_atomic(self.root / f"{sha}.json", {"name": received.name, "sha256": sha, "format": fmt, "size": received.size})
        return doc

    def listed_hashes(self, state: CorpusState) -> set[str]:
        return {Path(name).stem for name in state.uploads}

    def remove_files(self, names: Iterable[str]) -> None:
        """Delete stored uploads and their sidecars (never anything outside this folder)."""
        for name in names:
            if not _STORED.match(name):
                continue
            for path in (self.root / name, self.root / (Path(name).stem + ".json")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def collect_garbage(self, keep: set[str]) -> list[str]:
        """Remove stored files the corpus does not list (and not in ``keep``) and stale partial bodies."""
        listed = set(self.state().uploads) | keep
        dropped = sorted(
            p.name for p in self.root.glob("*.*") if _STORED.match(p.name) and p.suffix != ".json" and p.name not in listed
        )
        self.remove_files(dropped)
        listed_stems = {Path(n).stem for n in listed}
        for sidecar in self.root.glob("*.json"):
            if re.fullmatch(r"[0-9a-f]{64}", sidecar.stem) and sidecar.stem not in listed_stems:
                sidecar.unlink(missing_ok=True)
        if self.incoming.is_dir():
            for partial in self.incoming.iterdir():
                partial.unlink(missing_ok=True)
        if dropped:
            logger.info("removed %d stored uploads no corpus lists: %s", len(dropped), ", ".join(dropped))
        return dropped


def corpus_files(settings: Settings) -> list[Path] | None:
    """The corpus to index when uploads changed it, else ``None`` (the seeds folder as before)."""
    store = UploadStore(settings)
    if not (store.root / CORPUS_FILE).is_file():
        return None
    return store.files(store.state())


def corpus_matches(sources: list[dict[str, object]], files: list[Path]) -> bool:
    """Whether an index's sources are exactly ``files`` (by file name and content hash)."""
    have = {str(s.get("source")): s.get("sha256") for s in sources}
    return have == {f.name: file_sha256(f) for f in files}


# --- receiving a multipart body --------------------------------------------------------------


@dataclass
class Received:
    """One file part of an upload, streamed to a temporary file."""

    name: str
    path: Path
    handle: IO[bytes] | None
    size: int = 0
    complete: bool = False
    head: bytearray = field(default_factory=bytearray)
    _hash: Any = field(default_factory=hashlib.sha256)

    @property
    def digest(self) -> str:
        return str(self._hash.hexdigest())

    def write(self, data: bytes) -> None:
        assert self.handle is not None
        self.handle.write(data)
        self._hash.update(data)
        self.size += len(data)
        if len(self.head) < HEAD_BYTES:
            self.head.extend(data[: HEAD_BYTES - len(self.head)])

    def close(self, *, sync: bool = False) -> None:
        if self.handle is not None:
            if sync:  # on disk before it is renamed into the corpus
                self.handle.flush()
                os.fsync(self.handle.fileno())
            self.handle.close()
            self.handle = None


class MultipartReceiver:
    """Parses a ``multipart/form-data`` body as it arrives: parts named ``files`` go to temporary files
    (hashed on the way), other fields are kept as short strings. At most ``max_bytes`` of body."""

    def __init__(self, content_type: str, tmp_dir: Path, max_bytes: int) -> None:
        from python_multipart.multipart import MultipartParser, parse_options_header

        kind, params = parse_options_header(content_type)
        if kind != b"multipart/form-data":
            raise UploadError(415, "send the reports as multipart/form-data, in the field `files`")
        boundary = params.get(b"boundary")
        if not boundary:
            raise UploadError(422, "the multipart body has no boundary")
        self.tmp_dir = tmp_dir
        self.max_bytes = max_bytes
        self.received = 0
        self.files: list[Received] = []
        self.fields: dict[str, str] = {}
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._file: Received | None = None
        self._field: tuple[str, bytearray] | None = None
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_part,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise UploadError(413, f"upload larger than {self.max_bytes} bytes (RAG_MAX_UPLOAD_BYTES)")
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise UploadError(422, f"malformed multipart body: {exc}") from None

    def finish(self) -> None:
        self._parser.finalize()
        if any(not f.complete for f in self.files) or self._file is not None:
            raise UploadError(422, "the multipart body ended before its last file did")

    def discard(self) -> None:
        """Close and delete every temporary file (those already stored are gone from here)."""
        for received in self.files:
            received.close()
            received.path.unlink(missing_ok=True)

    # -- parser callbacks ---------------------------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > 4096:
            raise UploadError(422, "a multipart header is too long")

    def _header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        field_name = options.get(b"name", b"").decode("utf-8", "replace")
        if field_name != "files":
            if len(self.fields) >= 10:
                raise UploadError(422, "too many form fields")
            self._field = (field_name, bytearray())
            return
        if len(self.files) >= MAX_FILES:
            raise UploadError(422, f"at most {MAX_FILES} files per upload")
        raw_name = options.get(b"filename")
        name = sanitize_name(raw_name.decode("utf-8", "replace") if raw_name is not None else None)
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="part-")
        self._file = Received(name, Path(tmp), os.fdopen(fd, "wb"))
        self.files.append(self._file)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(data[start:end])
        elif self._field is not None:
            value = self._field[1]
            value.extend(data[start:end])
            if len(value) > MAX_FIELD_BYTES:
                raise UploadError(422, f"form field {self._field[0]!r} is longer than {MAX_FIELD_BYTES} bytes")

    def _part_end(self) -> None:
        if self._file is not None:
            self._file.close(sync=True)
            self._file.complete = True
            self._file = None
        elif self._field is not None:
            name, value = self._field
            self.fields[name] = value.decode("utf-8", "replace")
            self._field = None
