"""kill -9 of ``rag ingest`` at several points never harms the index being served: the previous
generation still loads and answers, the next ingest succeeds, and no temporary folder is left.
Real processes against a copy of the session's index (embeddings come from the shared cache)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.retrieval.retrieve import open_retriever
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]

#: When to kill: at once (loading models), once the new generation is being written, once it is
#: complete but maybe not yet the current one.
MOMENTS = {
    "start": lambda index: True,
    "writing": lambda index: any(index.glob(".tmp-gen-*")),
    "written": lambda index: len(list(index.glob("gen-*"))) > 1,
}


def ingest(settings, index: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_EMBEDDING_CACHE": str(settings.embedding_cache_path),
           "RAG_CACHE_DIR": str(settings.cache_dir), "RAG_LLM_BACKEND": "none"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "service", "ingest", str(settings.seeds_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_9_during_ingest_keeps_the_served_index(retriever, tmp_path, moment):
    settings = retriever.settings
    index = tmp_path / "index"
    shutil.copytree(settings.index_dir, index)
    before = len(retriever.index.chunks)
    process = ingest(settings, index)
    try:
        wait_until(lambda: process.poll() is not None or MOMENTS[moment](index), timeout=300, what=f"the {moment} point")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        served = open_retriever(settings.model_copy(update={"index_dir": index}))
        assert len(served.index.chunks) == before
        assert served.search("2023年太仓市一般公共预算收入是多少？", k=3).hits
        again = ingest(settings, index)
        assert again.wait(timeout=300) == 0
        assert not list(index.glob(".tmp-*")) and not list(index.glob(".*.tmp"))
        assert len(open_retriever(settings.model_copy(update={"index_dir": index})).index.chunks) == before
    finally:
        if process.poll() is None:
            process.kill()
