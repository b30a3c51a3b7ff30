"""The real bundled model, end to end: `make setup` joined the GGUF and built llama-cpp-python; this
starts ``llama_cpp.server`` on a free loopback port, answers one question and stops the server.

Slow (about a minute on 2 cores); deselect with ``-m "not live"``.
"""

from __future__ import annotations

import pytest

from rag.answering.answer import Answerer
from rag.llm.clients import LocalClient

pytestmark = pytest.mark.live


def test_local_model_answers_with_a_valid_citation(retriever):
    # the model writes this answer (quote-first would quote the report without asking it)
    settings = retriever.settings.model_copy(update={"llm_backend": "local", "local_url": None, "answer_mode": "model"})
    llm = LocalClient(settings)
    try:
        answer = Answerer(retriever, llm, settings).ask("2023年太仓市一般公共预算收入是多少？")
        assert llm.server._process is not None, "the test must start its own server"
    finally:
        llm.close()
    assert not answer.refused and not answer.degraded and answer.backend == "local"
    assert "189.4亿元" in answer.answer and answer.unsupported_numbers == []
    cited = [c for c in answer.citations if f"[{c.n}]" in answer.answer]
    assert cited and all(c.source.startswith("001_") for c in cited)
    assert any("189.4亿元" in c.text and c.region == "太仓市" and c.year == 2023 for c in cited)
    assert llm.server._process is None  # stopped


def test_a_killed_model_server_gives_a_degraded_answer_and_is_restarted_in_the_background(retriever):
    import os
    import signal

    from tests.conftest import wait_until

    settings = retriever.settings.model_copy(update={"llm_backend": "local", "local_url": None, "answer_mode": "model"})
    llm = LocalClient(settings)
    answerer = Answerer(retriever, llm, settings)
    try:
        llm.server.ensure()
        first = llm.server._process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        wait_until(lambda: first.poll() is not None, timeout=30, what="the model server to die")
        degraded = answerer.ask("2023年太仓市一般公共预算收入是多少？")
        assert degraded.degraded and "189.4亿元" in degraded.answer and degraded.citations
        wait_until(lambda: llm.server._process not in (None, first) and llm.server.running and llm.reachable(),
                   timeout=180, what="a new model server")  # fmt: skip
        again = answerer.ask("2023年太仓市一般公共预算收入是多少？")
        assert not again.degraded and "189.4亿元" in again.answer
    finally:
        llm.close()
    assert first.returncode is not None and llm.server._process is None


def _children(pid: int) -> list[int]:
    from pathlib import Path

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_stopping_rag_serve_leaves_no_model_server(retriever, sig):
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from rag.llm.clients import free_port
    from tests.conftest import wait_until
    from tests.test_child import alive

    settings, port = retriever.settings, free_port()
    env = {**os.environ, "RAG_INDEX_DIR": str(settings.index_dir), "RAG_EMBEDDING_CACHE": str(settings.embedding_cache_path),
           "RAG_CACHE_DIR": str(settings.cache_dir), "RAG_LLM_BACKEND": "local", "RAG_WARM_UP": "1", "RAG_ANSWER_CACHE": "0"}  # fmt: skip
    env.pop("RAG_LOCAL_URL", None)
    serve = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:

        def ready() -> bool:
            assert serve.poll() is None, "rag serve exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=300, what="rag serve with its model server")
        models = [pid for pid in _children(serve.pid) if b"llama_cpp.server" in open(f"/proc/{pid}/cmdline", "rb").read()]
        assert len(models) == 1
        started = time.monotonic()
        serve.send_signal(getattr(signal, sig))
        serve.wait(timeout=30)
        if sig == "SIGTERM":
            assert time.monotonic() - started < 10
        wait_until(lambda: not alive(models[0]), timeout=10, what=f"the model server to stop after {sig}")
    finally:
        if serve.poll() is None:
            serve.kill()
