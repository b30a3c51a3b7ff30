"""BM25 over jieba tokens (bm25s): the exact-term half of hybrid retrieval (numbers, names, jargon)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import bm25s
import jieba
import numpy as np

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

#: Question words and particles that carry no content for matching report text.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 等 有 为 对 将 把 被 年 中 上 下 个 多少 什么 哪些 哪个 怎么 怎样 如何 是否 "
    "有没有 吗 呢 吧 啊 请问 请 一下 告诉 我 你 他们 我们 其 该 这 那 之 以 于 达到 情况 多 少".split()
)
_PUNCT_ONLY = re.compile(r"^[\W_]+$")


def punctuation_tokens() -> frozenset[str]:
    """Punctuation as jieba gives it (ASCII, CJK symbols, full-width forms, doubled dashes and
    ellipses): for analyzers that drop tokens by a stop list rather than by :data:`_PUNCT_ONLY`."""
    import string

    marks = set(string.punctuation)
    marks |= {chr(c) for c in range(0x3000, 0x3040) if _PUNCT_ONLY.match(chr(c))}
    marks |= {chr(c) for c in range(0xFF00, 0xFF66) if _PUNCT_ONLY.match(chr(c))}
    marks |= set("“”‘’—…·•")
    return frozenset(marks | {"……", "——", "--", "..."})


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, lower-cased, without punctuation and stopwords."""
    tokens = []
    for token in jieba.lcut_for_search(text):
        token = token.strip().lower()
        if token and token not in STOPWORDS and not _PUNCT_ONLY.match(token):
            tokens.append(token)
    return tokens


class LexicalIndex:
    """A bm25s index; ``scores`` gives every document's BM25 score for a query."""

    def __init__(self, bm25: bm25s.BM25, size: int) -> None:
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        bm25 = bm25s.BM25()
        # create_empty_token keeps a document with no tokens indexable instead of failing.
        bm25.index([tokenize(t) for t in texts], show_progress=False)
        return cls(bm25, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 scores of all documents (float32, length ``size``); zeros when nothing matches."""
        tokens = tokenize(query)
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        return cls(bm25, size)
