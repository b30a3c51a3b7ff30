"""Ingest and the on-disk index: contents, cache reuse, atomic writes, mismatch detection."""

from __future__ import annotations

import shutil
from pathlib import Path

import faiss
import pytest

from rag.core.errors import DocumentError, IndexMismatchError, IndexNotFoundError
from rag.indexing.embedding import EmbeddingCache
from rag.indexing.index import CURRENT, check_compatible, load_index
from rag.indexing.ingest import index_is_current, ingest
from rag.reading.documents import READING_VERSION


class Counting:
    """Wraps an embedder's encoder to count how many texts really get embedded."""

    def __init__(self, embedder, monkeypatch) -> None:
        self.texts = 0
        original = embedder._encode

        def encode(texts, prompt, show_progress):
            self.texts += len(texts)
            return original(texts, prompt, show_progress)

        monkeypatch.setattr(embedder, "_encode", encode)


@pytest.fixture
def fresh(embedder, tmp_path: Path):
    """The session's loaded model with an empty private vector cache."""
    return embedder.with_cache(EmbeddingCache(tmp_path / "vectors.sqlite"))


@pytest.fixture
def warm(embedder, retriever):
    """The session's model and its vector cache, already filled with every seed chunk."""
    return embedder


@pytest.fixture
def corpus(tmp_path: Path, seeds_dir: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in ("001_b45d8ecc868d26b7.txt", "004_f99c609a9d7be82b.txt"):
        shutil.copy(seeds_dir / name, folder / name)
    return folder


def test_ingest_writes_a_complete_index(make_settings, warm, corpus: Path):
    settings = make_settings()
    result = ingest([corpus], settings, embedder=warm)
    index = load_index(settings.index_dir)
    manifest = index.manifest
    assert manifest["model"] == settings.embedding_identity
    assert manifest["dimension"] == 384
    assert manifest["chunking"] == {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap, "reading": READING_VERSION}
    assert [s["source"] for s in manifest["sources"]] == ["001_b45d8ecc868d26b7.txt", "004_f99c609a9d7be82b.txt"]
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"])
    assert sum(s["chunks"] for s in manifest["sources"]) == len(index.chunks) == result.chunks
    assert index.dense.ntotal == index.lexical.size == len(index.chunks)
    assert (settings.index_dir / CURRENT).read_text().strip() == index.path.name


def test_reingest_reuses_cached_embeddings_and_append_embeds_only_new_chunks(
    make_settings, fresh, corpus: Path, seeds_dir: Path, monkeypatch
):
    settings = make_settings()
    counter = Counting(fresh, monkeypatch)
    first = ingest([corpus], settings, embedder=fresh)
    assert counter.texts == first.chunks

    ingest([corpus], settings, embedder=fresh)
    assert counter.texts == first.chunks  # nothing re-embedded

    extra = corpus.parent / "more"
    extra.mkdir()
    shutil.copy(seeds_dir / "003_55331ebdb0be2b0e.txt", extra)
    result = ingest([extra], settings, embedder=fresh, append=True)
    added = result.chunks - first.chunks
    assert added > 0 and counter.texts == first.chunks + added
    assert {s["source"] for s in result.index.sources} == {
        "001_b45d8ecc868d26b7.txt",
        "003_55331ebdb0be2b0e.txt",
        "004_f99c609a9d7be82b.txt",
    }


def test_bad_file_leaves_the_old_index_untouched(make_settings, warm, corpus: Path):
    settings = make_settings()
    ingest([corpus], settings, embedder=warm)
    before = (settings.index_dir / CURRENT).read_text()
    (corpus / "bin.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(DocumentError, match="bin.txt"):
        ingest([corpus], settings, embedder=warm)
    assert (settings.index_dir / CURRENT).read_text() == before
    assert len(load_index(settings.index_dir).sources) == 2


def test_crash_while_writing_leaves_the_old_index_loadable(make_settings, warm, corpus: Path, monkeypatch):
    settings = make_settings()
    good = ingest([corpus], settings, embedder=warm)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with pytest.raises(OSError):
        ingest([corpus / "001_b45d8ecc868d26b7.txt"], settings, embedder=warm)
    index = load_index(settings.index_dir)
    assert index.path == good.index.path and len(index.chunks) == good.chunks
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_missing_index_is_reported(make_settings):
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        load_index(make_settings().index_dir)


def test_mismatches_are_detected(make_settings, warm, corpus: Path):
    settings = make_settings()
    ingest([corpus], settings, embedder=warm)
    manifest = load_index(settings.index_dir).manifest
    check_compatible(manifest, settings)
    assert index_is_current([corpus], settings)

    with pytest.raises(IndexMismatchError, match="embedding model"):
        check_compatible(manifest, make_settings(embedding_model="BAAI/bge-small-zh-v1.5"))
    with pytest.raises(IndexMismatchError, match="chunking"):
        check_compatible(manifest, make_settings(chunk_size=500))

    report = corpus / "004_f99c609a9d7be82b.txt"
    report.write_text(report.read_text(encoding="utf-8") + "\n补充一段。", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="changed"):
        check_compatible(manifest, settings)
    assert not index_is_current([corpus], settings)


def test_old_generations_are_pruned(make_settings, warm, corpus: Path):
    settings = make_settings()
    for _ in range(4):
        ingest([corpus], settings, embedder=warm)
    assert len(list(settings.index_dir.glob("gen-*"))) == 2
