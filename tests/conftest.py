"""Shared fixtures: the repo's seed reports, settings pointing at temporary index dirs, a built index."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.core.config import Settings, default_cache_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def cache_dir() -> Path:
    """The real cache (converted model, GGUF) is shared; tests never write indexes there."""
    return Path(os.environ.get("RAG_CACHE_DIR") or default_cache_dir())


def model_mode(retriever) -> Settings:  # type: ignore[no-untyped-def]
    """The session settings with the model answering every question (no quote-first shortcut), for
    tests of the model path."""
    return retriever.settings.model_copy(update={"answer_mode": "model"})


def wait_until(condition, timeout: float = 60.0, what: str = "the condition") -> None:  # type: ignore[no-untyped-def]
    """Wait for ``condition()`` to hold (checked every 10 ms), failing after a generous ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        pause.wait(0.01)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings with a private index dir and embedding cache; keyword overrides as needed."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "cache_dir": cache_dir(),
            "seeds_dir": SEEDS,
            "index_dir": tmp_path / "index",
            "embedding_cache": tmp_path / "embeddings.sqlite",
            # tests that ask the same question twice expect two answers; tests/test_cache.py turns it on
            "answer_cache": False,
            # the question log is on (as in production), in the test's tmp dir, never the real cache
            "log_path": tmp_path / "questions.sqlite",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("session-index")
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        cache_dir=cache_dir(),
        seeds_dir=SEEDS,
        index_dir=tmp / "index",
        embedding_cache=tmp / "embeddings.sqlite",
        answer_cache=False,
        log_path=tmp / "questions.sqlite",
    )


@pytest.fixture(scope="session")
def embedder(session_settings: Settings):
    from rag.indexing.embedding import load_embedder

    return load_embedder(session_settings)


@pytest.fixture(scope="session")
def retriever(session_settings: Settings, embedder):
    """The five seed reports, indexed once per test session with the real embedding model."""
    from rag.indexing.ingest import ingest
    from rag.retrieval.retrieve import Retriever

    result = ingest(None, session_settings, embedder=embedder)
    return jittered(Retriever(result.index, embedder, session_settings))


#: ``RAG_TEST_SCORE_NOISE=1e-6`` (relative) jitters every dense and BM25 score the session's retriever
#: sees, as another CPU's float rounding would; ``RAG_TEST_SCORE_SEED`` picks the jitter. The whole suite,
#: cassettes included, must pass under it (README: "Tests on any machine").
SCORE_NOISE = float(os.environ.get("RAG_TEST_SCORE_NOISE") or 0.0)


def jittered(retriever, noise: float = SCORE_NOISE, seed: int | None = None):  # type: ignore[no-untyped-def]
    """``retriever`` with every store score jittered by up to ``noise`` (eval/bench_noise.py)."""
    from eval.bench_noise import jittered as jitter

    return jitter(retriever, noise, int(os.environ.get("RAG_TEST_SCORE_SEED") or 0) if seed is None else seed)


def pytest_recording_configure(config: pytest.Config, vcr) -> None:  # type: ignore[no-untyped-def]
    """The cassettes' own matcher: a request body matches on its meaning (tests/cassette_match.py)."""
    from tests.cassette_match import same_meaning

    vcr.register_matcher("same_meaning", same_meaning)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    """Cassettes never hold credentials; requests match on method, path and the body's meaning (the
    passages of an answer prompt as a set: tests/cassette_match.py), not host or port, so a cassette
    recorded against a local server on any port, on any CPU, replays anywhere."""
    return {
        "filter_headers": [("authorization", "REDACTED"), ("api-key", "REDACTED"), ("x-api-key", "REDACTED")],
        "match_on": ("method", "path", "same_meaning"),
        "decode_compressed_response": True,
    }


#: Replayed requests never leave the process; this address only has to be well-formed.
REPLAY_URL = "http://127.0.0.1:8080/v1"


@pytest.fixture(scope="session")
def llm_url(record_mode: str, session_settings: Settings) -> Iterator[str]:
    """Where cassette tests send model requests: a replay stand-in (a replay never starts a model
    server), or when recording (``make record``) a freshly started bundled model server, or the one
    ``RAG_LOCAL_URL`` names. ``record_mode`` is pytest-recording's own session fixture: ``--record-mode``
    not given (``None`` in current releases) is ``"none"``, a replay."""
    if record_mode == "none":
        yield REPLAY_URL
        return
    from rag.llm.clients import LocalServer

    server = LocalServer(session_settings.model_copy(update={"local_url": os.environ.get("RAG_LOCAL_URL")}))
    try:
        yield server.ensure()
    finally:
        server.stop()


@pytest.fixture
def serve_app():
    """Start apps with uvicorn on free loopback ports (in threads); returns ``start(app) -> base URL``.
    Everything started is stopped after the test."""
    import uvicorn

    from rag.llm.clients import free_port

    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app) -> str:  # type: ignore[no-untyped-def]
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        wait_until(lambda: server.started, what="uvicorn to start")
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
    for server, thread in running:
        thread.join(timeout=10)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never replies: a real timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


#: How a model server can die while answering: before replying (the connection reset during prompt
#: processing), or mid-stream (after one token, the chunked body cut off).
DEATHS = ("before-reply", "mid-stream")


@pytest.fixture(params=DEATHS)
def dying_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback model server that dies at one point of every answer (a real broken connection)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    token = b'data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"2023"},"finish_reason":null}]}\n\n'

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)  # the request (small enough for one read on loopback)
                    if request.param == "mid-stream":
                        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                        conn.sendall(head + f"{len(token):x}\r\n".encode() + token + b"\r\n")
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass  # closed with a reset (linger 0): what a killed process leaves

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def trickling_server() -> Iterator[tuple[str, threading.Event]]:
    """A loopback model server that streams one token every 20 ms and never finishes on its own;
    once the returned event is set, each answer (also one under way) ends with a checked sentence."""
    import http.server
    import json as _json

    finish = threading.Event()
    answer = "2023年太仓市一般公共预算收入为189.4亿元[1]。"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, text: str) -> None:
            body = {"id": "t", "object": "chat.completion.chunk", "created": 0, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}  # fmt: skip
            data = f"data: {_json.dumps(body, ensure_ascii=False)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                while not finish.wait(0.02):
                    self._send("嗯")
                self._send(answer)
                done = b"data: [DONE]\n\n"
                self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
            except OSError:
                pass  # the client went away

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # clients leave on purpose
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", finish
    finish.set()
    server.shutdown()
    server.server_close()


# --- the Milvus store (rag/indexing/stores/milvus.py) -----------------------------------------


def start_milvus_server(data_dir: Path, log_path: Path):  # type: ignore[no-untyped-def]
    """``milvus-lite server`` on a free loopback port, as a child of this process; returns
    ``(process, uri)`` once it accepts connections. Stop it with :func:`rag.core.child.stop`."""
    import sys

    from rag.core.child import spawn, stop
    from rag.llm.clients import free_port

    port = free_port()
    command = [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(data_dir),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with open(log_path, "ab") as log:
        process = spawn(command, log)

    def accepts() -> bool:
        assert process.poll() is None, f"milvus-lite server exited: {log_path.read_text(errors='replace')[-2000:]}"
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_until(accepts, timeout=120, what="milvus-lite server to listen")
    except BaseException:
        stop(process)
        raise
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Milvus Lite server on loopback for the session (the network path of the Milvus store)."""
    from rag.core.child import stop

    tmp = tmp_path_factory.mktemp("milvus-server")
    process, uri = start_milvus_server(tmp / "data", tmp / "server.log")
    try:
        yield uri
    finally:
        stop(process)


def _milvus_retriever(settings: Settings, embedder):  # type: ignore[no-untyped-def]
    from rag.indexing.ingest import ingest
    from rag.retrieval.retrieve import Retriever

    result = ingest(None, settings, embedder=embedder)
    return Retriever(result.store, embedder, settings)


@pytest.fixture(scope="session")
def milvus_lite_retriever(session_settings: Settings, embedder, tmp_path_factory: pytest.TempPathFactory):
    """The seed reports in a Milvus Lite file (in this process); vectors from the session's cache."""
    path = tmp_path_factory.mktemp("milvus-lite") / "milvus.db"
    retriever = _milvus_retriever(session_settings.model_copy(update={"store": "milvus", "milvus_uri": str(path)}), embedder)
    yield retriever
    retriever.store.close()


@pytest.fixture(scope="session")
def milvus_server_retriever(session_settings: Settings, embedder, milvus_server: str):
    """The seed reports in the session's Milvus Lite server, reached over gRPC on loopback."""
    settings = session_settings.model_copy(update={"store": "milvus", "milvus_uri": milvus_server, "milvus_collection": "seeds"})
    retriever = _milvus_retriever(settings, embedder)
    yield retriever
    retriever.store.close()


#: The stores retrieval tests run against: in-process files, a Milvus Lite file, a Milvus server.
STORES = ("local", "milvus-lite", "milvus-server")


@pytest.fixture(scope="session", params=STORES)
def any_retriever(request: pytest.FixtureRequest):
    """The seed index in each store (parametrised): results must not depend on where it lives."""
    name = {"local": "retriever", "milvus-lite": "milvus_lite_retriever", "milvus-server": "milvus_server_retriever"}
    return request.getfixturevalue(name[request.param])
