"""int8 embeddings (RAG_EMBEDDING_QUANTIZE): close to fp32, and never mixed with fp32 vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.core.config import BUILTIN_E5, Settings, model_identity
from rag.core.errors import IndexMismatchError
from rag.indexing.embedding import Embedder, EmbeddingCache, load_embedder
from rag.indexing.index import check_compatible, make_manifest

SENTENCES = [
    "2023年太仓市一般公共预算收入是多少？",
    "全年完成一般公共预算收入189.4亿元，其中税收收入160.3亿元。",
    "新建和改造提升高标准农田2.5万亩。",
    "加快建设具有国际竞争力的先进制造业基地",
]


def test_quantised_model_is_its_own_identity():
    assert model_identity(BUILTIN_E5, "none") == BUILTIN_E5
    assert model_identity(BUILTIN_E5, "int8") == f"{BUILTIN_E5}#int8"
    int8 = Settings(_env_file=None, embedding_quantize="int8")  # type: ignore[call-arg]
    fp32 = Settings(_env_file=None, embedding_quantize="none")  # type: ignore[call-arg]
    assert int8.embedding_identity != fp32.embedding_identity == fp32.embedding_model
    assert Embedder(BUILTIN_E5, "unused", quantize="int8").model_name == int8.embedding_identity
    assert Embedder(BUILTIN_E5, "unused", quantize="none").model_name == fp32.embedding_identity


def test_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_EMBEDDING_QUANTIZE", "none")
    assert Settings(_env_file=None).embedding_quantize == "none"  # type: ignore[call-arg]
    monkeypatch.setenv("RAG_EMBEDDING_QUANTIZE", "int4")
    with pytest.raises(ValueError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_an_index_of_one_precision_is_refused_by_the_other(make_settings):
    int8, fp32 = make_settings(embedding_quantize="int8"), make_settings(embedding_quantize="none")
    for built, other in ((int8, fp32), (fp32, int8)):
        manifest = make_manifest(
            model=Embedder(built.embedding_model, "unused", quantize=built.embedding_quantize).model_name,
            dimension=384, settings=built, sources=[], chunks=0,
        )  # fmt: skip
        check_compatible(manifest, built, check_files=False)
        with pytest.raises(IndexMismatchError, match="#int8"):
            check_compatible(manifest, other, check_files=False)


class Fake(Embedder):
    """An embedder whose 'model' is a constant per precision: shows which vectors the cache returns."""

    def __init__(self, quantize: str, cache: EmbeddingCache) -> None:
        super().__init__(BUILTIN_E5, "unused", cache=cache, quantize=quantize)  # type: ignore[arg-type]
        self.encoded = 0

    def prompt(self, role):  # type: ignore[no-untyped-def]
        return "passage: "

    def _encode(self, texts, prompt, show_progress):  # type: ignore[no-untyped-def]
        self.encoded += len(texts)
        value = 1.0 if self.quantize == "int8" else 2.0
        return np.full((len(texts), 4), value, dtype=np.float32)


def test_int8_and_fp32_never_share_cached_vectors(tmp_path: Path):
    cache = EmbeddingCache(tmp_path / "vectors.sqlite")
    fp32, int8 = Fake("none", cache), Fake("int8", cache)
    assert (fp32.embed(SENTENCES, "passage") == 2.0).all()
    assert (int8.embed(SENTENCES, "passage") == 1.0).all() and int8.encoded == len(SENTENCES)  # none reused
    assert (fp32.embed(SENTENCES, "passage") == 2.0).all() and fp32.encoded == len(SENTENCES)  # its own, cached
    assert (int8.embed(SENTENCES, "passage") == 1.0).all() and int8.encoded == len(SENTENCES)
    twin = int8.with_cache(cache)
    assert twin.quantize == "int8" and twin.model_name == int8.model_name


# --- with the real model ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def both(session_settings: Settings) -> tuple[Embedder, Embedder]:
    """fp32 and int8 embedders of the real builtin model, without a vector cache."""
    fp32 = load_embedder(session_settings.model_copy(update={"embedding_quantize": "none"}), use_cache=False)
    int8 = load_embedder(session_settings.model_copy(update={"embedding_quantize": "int8"}), use_cache=False)
    return fp32, int8


@pytest.mark.slow
@pytest.mark.parametrize("role", ["query", "passage"])
def test_int8_vectors_are_close_to_fp32(both, role):
    fp32, int8 = both
    a, b = fp32.embed(SENTENCES, role), int8.embed(SENTENCES, role)
    assert a.shape == b.shape == (len(SENTENCES), fp32.dimension) == (len(SENTENCES), int8.dimension)
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.95, cosine
    assert not np.array_equal(a, b)  # really a different model: hence its own cache identity


@pytest.mark.slow
def test_int8_model_has_quantised_linear_layers(both):
    import torch

    fp32, int8 = both
    kinds = {type(m).__module__ for m in int8.model.modules()}
    assert any(k.startswith("torch.ao.nn.quantized") for k in kinds)
    assert not any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in fp32.model.modules())
    # the feed-forward down-projections (wider input than output) stay float32 on purpose
    kept = [m for m in int8.model.modules() if type(m) is torch.nn.Linear]
    assert kept and all(m.in_features > m.out_features for m in kept)
