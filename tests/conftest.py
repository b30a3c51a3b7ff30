"""Shared fixtures: the repo's seed reports, settings pointing at temporary index dirs, a built index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.config import Settings, default_cache_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def cache_dir() -> Path:
    """The real cache (converted model, GGUF) is shared; tests never write indexes there."""
    return Path(os.environ.get("RAG_CACHE_DIR") or default_cache_dir())


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
    )


@pytest.fixture(scope="session")
def embedder(session_settings: Settings):
    from rag.embedding import load_embedder

    return load_embedder(session_settings)


@pytest.fixture(scope="session")
def retriever(session_settings: Settings, embedder):
    """The five seed reports, indexed once per test session with the real embedding model."""
    from rag.ingest import ingest
    from rag.retrieve import Retriever

    result = ingest(None, session_settings, embedder=embedder)
    return Retriever(result.index, embedder, session_settings)
