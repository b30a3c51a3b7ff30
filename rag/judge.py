"""The model as judge of answerability, for questions in everyday words.

The small local model refuses a question whose words are not the report's (「花在老百姓身上」 for
「民生支出」) even when the passage that answers it ranks first, and as a writer it then has nothing
to say. As a judge of one sentence at a time it does better: asked 「句子里有没有问题所问的那个数字？」,
its probability of 「是」 is high for the sentence that answers and lower for sentences about another
metric. So after the model refused, :func:`judged_quote` takes the sentences of the asked place and
time with a figure of the asked unit kind, ranks them by meaning (the embedder, as for retrieval),
asks the judge about the best :data:`JUDGED_CANDIDATES`, and quotes the one it is surest of when
that is at least ``threshold`` (``answer_judge_threshold``, chosen on the dev split).

The same judge settles an answer whose lead figure the wording check left doubtful (the passage
states the number, but its clause names the metric only in part: 「居民消费价格涨幅5.9%」 from the row
「社会消费品零售总额 | 1462.7亿元 | 增长5.9%」): :func:`judge_figure` asks it about the sentence that
states the figure, and a judge sure it is *not* the asked figure (P(是) below
``answer_judge_reject``) turns the answer into a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from rag.chunking import Chunk
from rag.embedding import Embedder
from rag.llm import LLMClient
from rag.numbers import Figure, comparable, states
from rag.prompts import build_judge_messages, sentences
from rag.query import QueryIntent
from rag.quote import candidate_sentences
from rag.terms import asked_unit_kind, asks_for_figure

logger = logging.getLogger(__name__)

#: How many of the sentences closest in meaning the judge is asked about (each ~1 s on 2 cores).
JUDGED_CANDIDATES = 2


def closest(question: str, candidates: Sequence[tuple[int, str]], embedder: Embedder, n: int) -> list[tuple[int, str]]:
    """The ``n`` candidates closest in meaning to the question, closest first."""
    if len(candidates) <= 1:
        return list(candidates)
    query = embedder.embed_query(question)
    vectors = embedder.embed([sentence for _, sentence in candidates], "passage")
    order = np.argsort(-(vectors @ query), kind="stable")[:n]
    return [candidates[int(i)] for i in order]


def judged_quote(
    question: str,
    chunks: Sequence[Chunk],
    side: QueryIntent,
    embedder: Embedder,
    llm: LLMClient,
    threshold: float,
) -> str | None:
    """The sentence the judge is surest states what was asked, cited (``…[n]``), or ``None``."""
    if not asks_for_figure(question):  # the judge is asked about figures; 「在哪个框架下」 is no figure
        return None
    kind = asked_unit_kind(question)
    candidates = closest(question, candidate_sentences(chunks, side, kind), embedder, JUDGED_CANDIDATES)
    best = surest(question, [sentence for _, sentence in candidates], llm)
    if best is None or best[0] < threshold:
        return None
    n, sentence = candidates[best[1]]
    logger.info("judge P(是)=%.2f: quoting [%d]", best[0], n)
    return f"{sentence}[{n}]"


def judge_figure(question: str, figure: Figure, chunks: Sequence[Chunk], llm: LLMClient) -> float | None:
    """The judge's P(是) that a report sentence of ``chunks`` stating ``figure`` states what was asked
    (the best over the first :data:`JUDGED_CANDIDATES` such sentences); ``None`` when none states it or
    the judge gave no probability."""
    stating = [s for chunk in chunks for s in sentences(chunk.text) if states(figure, comparable(s))]
    best = surest(question, list(dict.fromkeys(stating))[:JUDGED_CANDIDATES], llm)
    logger.info("judge P(是)=%s for the unsure figure %s", best and best[0], figure.text)
    return best[0] if best else None


def surest(question: str, candidates: Sequence[str], llm: LLMClient) -> tuple[float, int] | None:
    """The judge's highest P(是) over the ``candidates`` sentences and where that one is; ``None`` when
    it gave no judgement for any."""
    best: tuple[float, int] | None = None
    for i, sentence in enumerate(candidates):
        p = llm.yes_probability(build_judge_messages(question, sentence))
        logger.debug("judge P(是)=%s for %s", p, sentence[:40])
        if p is not None and (best is None or p > best[0]):
            best = (p, i)
    return best
