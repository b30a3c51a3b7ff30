"""The pipeline people usually start with, as a baseline: the raw report text split into fixed
500-character chunks (langchain's RecursiveCharacterTextSplitter, overlap 50), the same embedder,
FAISS top-4, a plain prompt and no checks afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import faiss
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.answering.verify import has_refusal
from rag.core.errors import LLMError
from rag.indexing.embedding import Embedder
from rag.llm.clients import LLMClient
from rag.reading.documents import discover, read_text

PROMPT = "请根据以下资料回答问题，并用[编号]注明出处。如果资料中没有答案，就说不知道。\n\n资料：\n{context}\n\n问题：{question}"


class NaivePipeline:
    def __init__(self, paths: list[Path], embedder: Embedder, *, chunk_size: int = 500, overlap: int = 50, k: int = 4) -> None:
        splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=overlap)
        self.passages: list[tuple[str, str]] = [
            (path.name, piece) for path in discover(paths) for piece in splitter.split_text(read_text(path))
        ]
        self.embedder = embedder
        self.k = k
        vectors = embedder.embed([text for _, text in self.passages], "passage")
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def search(self, question: str, k: int | None = None) -> list[tuple[str, str]]:
        _, found = self.index.search(self.embedder.embed_query(question)[None, :], k or self.k)
        return [self.passages[i] for i in found[0] if i >= 0]

    def answer(self, question: str, llm: LLMClient) -> dict:
        started = time.perf_counter()
        passages = self.search(question)
        retrieved = time.perf_counter()
        context = "\n\n".join(f"[{n}] {text}" for n, (_, text) in enumerate(passages, 1))
        try:
            text = llm.complete([{"role": "user", "content": PROMPT.format(context=context, question=question)}]).text
        except LLMError as exc:
            text = f"（出错：{exc}）"
        return {
            "answer": text,
            "refused": has_refusal(text) or "不知道" in text,
            "passages": [{"n": n, "source": s, "text": t} for n, (s, t) in enumerate(passages, 1)],
            "timings": {"retrieve_ms": (retrieved - started) * 1000, "total_ms": (time.perf_counter() - started) * 1000},
        }
