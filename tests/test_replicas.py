"""Two `rag serve` processes on one Milvus server (Milvus Lite's server on loopback): the same answers,
and a report uploaded through either is answered by both once its job is done, without a restart.

Each replica has its own uploads folder (its scratch space); the corpus of record is the shared store.
The reports are the made-up fixtures of tests/test_upload.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.core.child import spawn, stop
from rag.indexing.ingest import ingest
from rag.llm.clients import free_port
from tests.conftest import ROOT, start_milvus_server, wait_until
from tests.test_upload import ADMIN, ADMIN_KEY, API, API_KEY, FIGURE, QUESTION, SEED, SEED_QUESTION, UPLOAD

# TEST FIXTURE: a third made-up report (real city name, invented figures), uploaded through replica B.
THIRD = UPLOAD.replace("宜兴市", "常熟市").replace("143.6亿元", "166.2亿元").replace("紫砂文化创意产业", "古城文旅产业")
THIRD_FIGURE, THIRD_QUESTION = "166.2亿元", "2023年常熟市一般公共预算收入是多少？"


@pytest.fixture
def cluster(make_settings, embedder, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A Milvus server holding the seed report, and two replicas serving it: their base URLs."""
    process, uri = start_milvus_server(tmp_path / "milvus", tmp_path / "milvus.log")
    replicas: list[subprocess.Popen[bytes]] = []
    try:
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "jiangyin_2024.txt").write_text(SEED, encoding="utf-8")
        settings = make_settings(store="milvus", milvus_uri=uri, milvus_collection="replicas", seeds_dir=seeds)
        ingest(None, settings, embedder=embedder)  # what `rag ingest` on one machine does before the replicas start
        urls = []
        for name in ("a", "b"):
            port = free_port()
            env = {**os.environ, "RAG_STORE": "milvus", "RAG_MILVUS_URI": uri, "RAG_MILVUS_COLLECTION": "replicas",
                   "RAG_SEEDS_DIR": str(seeds), "RAG_INDEX_DIR": str(tmp_path / f"index-{name}"),
                   "RAG_UPLOADS_DIR": str(tmp_path / f"uploads-{name}"), "RAG_LOG_PATH": str(tmp_path / f"log-{name}.sqlite"),
                   "RAG_CACHE_DIR": str(settings.cache_dir), "RAG_EMBEDDING_CACHE": str(settings.embedding_cache_path),
                   "RAG_LLM_BACKEND": "none", "RAG_ANSWER_CACHE": "0", "RAG_RATE_LIMIT": "", "RAG_STORE_REFRESH_SECONDS": "0.2",
                   "RAG_API_KEYS": API_KEY, "RAG_ADMIN_KEYS": ADMIN_KEY, "HF_HUB_OFFLINE": "1"}  # fmt: skip
            with open(tmp_path / f"serve-{name}.log", "ab") as log:
                replicas.append(spawn([sys.executable, "-m", "service", "serve", "--port", str(port)], log, env=env))
            urls.append(f"http://127.0.0.1:{port}")
        for url, replica, name in zip(urls, replicas, "ab", strict=True):

            def ready(url: str = url, replica: subprocess.Popen[bytes] = replica, name: str = name) -> bool:
                assert replica.poll() is None, (tmp_path / f"serve-{name}.log").read_text(errors="replace")[-3000:]
                try:
                    return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(ready, timeout=300, what=f"replica {name} to be ready")
        yield urls[0], urls[1]
    finally:
        for replica in replicas:
            stop(replica, grace=10)
        stop(process)


def ask(url: str, question: str) -> dict:
    response = httpx.post(f"{url}/api/ask", json={"question": question}, headers=API, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def upload_and_wait(url: str, name: str, text: str) -> dict:
    accepted = httpx.post(f"{url}/api/documents", files=[("files", (name, text.encode()))], headers=ADMIN, timeout=60)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()["job"]
    state: dict = {}

    def finished() -> bool:
        state.update(httpx.get(f"{url}/api/jobs/{job}", headers=ADMIN, timeout=10).json())
        return state["status"] in ("done", "failed")

    wait_until(finished, timeout=300, what=f"the upload job {job}")
    assert state["status"] == "done", state
    return state


def test_two_replicas_answer_alike_and_see_each_others_uploads(cluster):
    a, b = cluster
    first = ask(a, SEED_QUESTION)
    assert "271.5亿元" in first["answer"]
    assert {k: ask(b, SEED_QUESTION)[k] for k in ("answer", "citations")} == {k: first[k] for k in ("answer", "citations")}
    assert ask(b, QUESTION)["refused"]

    upload_and_wait(a, "宜兴市2024年政府工作报告.txt", UPLOAD)  # through replica A …
    assert FIGURE in ask(a, QUESTION)["answer"]
    wait_until(lambda: FIGURE in ask(b, QUESTION)["answer"], timeout=60, what="replica B to answer from A's upload")
    listed = httpx.get(f"{b}/api/documents", headers=API, timeout=10).json()["documents"]
    assert {d["region"] for d in listed} == {"江阴市", "宜兴市"}

    upload_and_wait(b, "常熟市2024年政府工作报告.txt", THIRD)  # … and through replica B
    wait_until(lambda: THIRD_FIGURE in ask(a, THIRD_QUESTION)["answer"], timeout=60, what="replica A to answer from B's upload")
    assert FIGURE in ask(a, QUESTION)["answer"] and FIGURE in ask(b, QUESTION)["answer"]  # nobody's upload is lost
    ready_a = httpx.get(f"{a}/readyz", timeout=10).json()["index"]
    ready_b = httpx.get(f"{b}/readyz", timeout=10).json()["index"]
    assert ready_a["generation"] == ready_b["generation"] and ready_a["reports"] == ready_b["reports"] == 3
