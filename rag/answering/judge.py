"""The model as judge of answerability, for questions in everyday words.

The small local model refuses a question whose words are not the report's (「花在老百姓身上」 for
「民生支出」) even when the passage that answers it ranks first, and as a writer it then has nothing
to say. As a judge of one sentence at a time it does better: asked 「句子里有没有问题所问的那个数字？」,
its probability of 「是」 is high for the sentence that answers and lower for sentences about another
metric. So after the model refused, :func:`judged_quote` takes the sentences of the asked place and
time with a figure of the asked unit kind, ranks them by meaning (the embedder, as for retrieval),
asks the judge about the best ``answer_judge_candidates``, and quotes the one it is surest of when
that clears the :class:`Bar`: sure in itself (``answer_judge_threshold``), or fairly sure and clearly
surer than of the other candidate (``answer_judge_floor``, ``answer_judge_margin``) — the judge's
probabilities run high for any sentence of a figure (0.6–0.8), so how far the best stands out says
more than its level (「农村老百姓一年平均到手多少钱」: 0.82 for the income row, 0.67 for the next).

The same judge settles an answer whose lead figure the wording check left doubtful (the passage
states the number, but its clause names the metric only in part: 「居民消费价格涨幅5.9%」 from the row
「社会消费品零售总额 | 1462.7亿元 | 增长5.9%」): :func:`judge_figure` asks it about the sentence that
states the figure, and a judge sure it is *not* the asked figure (P(是) below
``answer_judge_reject``) turns the answer into a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering.prompts import build_judge_messages, sentences
from rag.answering.quote import candidate_sentences
from rag.answering.terms import NAMES_ENOUGH, asked_terms, asked_unit_kind, asks_for_figure
from rag.core.config import SCORE_DECIMALS, Settings
from rag.indexing.embedding import Embedder
from rag.llm.clients import LLMClient
from rag.reading.chunking import Chunk
from rag.retrieval.everyday import with_report_terms
from rag.retrieval.query import QueryIntent
from rag.text.numbers import Figure, comparable, states

logger = logging.getLogger(__name__)

#: How many of the sentences closest in meaning the judge is asked about, by default: the setting
#: ``answer_judge_candidates`` (rag/core/config.py, where its choice is explained) gives it.
JUDGED_CANDIDATES: int = Settings.model_fields["answer_judge_candidates"].default


def closest(
    question: str, candidates: Sequence[tuple[int, str]], embedder: Embedder, n: int, decimals: int = SCORE_DECIMALS
) -> list[tuple[int, str]]:
    """The ``n`` candidates closest in meaning to the question, closest first; similarities equal at
    ``decimals`` places keep the candidates' order (the same choice on every CPU)."""
    if len(candidates) <= 1:
        return list(candidates)
    query = embedder.embed_query(question)
    vectors = embedder.embed([sentence for _, sentence in candidates], "passage")
    order = np.argsort(-np.round(vectors @ query, decimals), kind="stable")[:n]
    return [candidates[int(i)] for i in order]


@dataclass(frozen=True)
class Bar:
    """When the judge's P(是) for the best candidate sentence is enough to quote it: at least ``sure``,
    or — ``by_margin``, when the candidates are of the unit kind asked — at least ``floor`` and
    ``margin`` above the runner-up's (0 when there is none). ``candidates``: how many sentences the judge
    is asked about."""

    sure: float
    floor: float
    margin: float
    candidates: int = JUDGED_CANDIDATES

    def cleared(self, best: float, runner_up: float, *, by_margin: bool = True) -> bool:
        return best >= self.sure or (by_margin and best >= self.floor and best - runner_up >= self.margin)


def judged_quote(
    question: str,
    chunks: Sequence[Chunk],
    side: QueryIntent,
    embedder: Embedder,
    llm: LLMClient,
    bar: Bar,
    rival: float = 0.0,
    ignore: Collection[str] = (),
    *,
    enough: float = NAMES_ENOUGH,
) -> str | None:
    """The sentence the judge is surest states what was asked, cited (``…[n]``), when it clears
    ``bar`` and is surer by ``bar.margin`` than ``rival`` (the judge's P for the sentence a model
    answer came from, when there is one); else ``None``. A sentence stating only a sibling of the asked
    metric (``ignore``: place names; ``enough``: see :func:`rag.answering.verify.states_sibling`) is not
    asked about: the judge cannot tell siblings apart."""
    if not asks_for_figure(question):  # the judge is asked about figures; 「在哪个框架下」 is no figure
        return None
    kind = asked_unit_kind(question)
    first: dict[str, int] = {}  # a table row may come in two passages: one candidate, the first cited
    for n, sentence in candidate_sentences(chunks, side, kind, asked_terms(question, ignore), ignore, enough=enough):
        first.setdefault(sentence, n)
    # closest in meaning to the question with the report's terms for its everyday words (rag/retrieval/everyday.py)
    wording = with_report_terms(question)
    candidates = closest(wording, [(n, s) for s, n in first.items()], embedder, bar.candidates)
    ranked = sorted(
        ((p, i) for i, p in enumerate(judgements(question, [s for _, s in candidates], llm)) if p is not None),
        reverse=True,
    )
    # standing out counts only among sentences of the unit kind asked: a question that names none
    # (「户籍人口是多少」) has every sentence with a figure as a candidate, and one stands out by chance
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if not ranked or not bar.cleared(ranked[0][0], runner_up, by_margin=kind is not None):
        return None
    if rival and ranked[0][0] - rival < bar.margin:
        return None
    p, i = ranked[0]
    n, sentence = candidates[i]
    logger.info("judge P(是)=%.2f: quoting [%d]", p, n)
    return f"{sentence}[{n}]"


def judge_figure(
    question: str, figure: Figure, chunks: Sequence[Chunk], llm: LLMClient, candidates: int = JUDGED_CANDIDATES
) -> float | None:
    """The judge's P(是) that a report sentence of ``chunks`` stating ``figure`` states what was asked
    (the best over the first ``candidates`` such sentences); ``None`` when none states it or
    the judge gave no probability."""
    stating = [s for chunk in chunks for s in sentences(chunk.text) if states(figure, comparable(s))]
    judged = judgements(question, list(dict.fromkeys(stating))[:candidates], llm)
    best = max((p for p in judged if p is not None), default=None)
    logger.info("judge P(是)=%s for the unsure figure %s", best, figure.text)
    return best


def judgements(question: str, candidates: Sequence[str], llm: LLMClient) -> list[float | None]:
    """The judge's P(是) that each of the ``candidates`` sentences states what ``question`` asks
    (``None`` where it gave no probability), one short call each (~90 prompt tokens).

    Two ways to fewer prompt tokens were measured on the 13 gold dev questions that reach the judge and
    not taken (docs/benchmarks.md, issue #28): one call for all candidates (the numbered sentences in
    one prompt, each label's probability as the first token) spreads its probability over the labels
    and 「0」 (none) even for a single right sentence (0.42–0.74, the first 5 questions), so :class:`Bar` would need a new
    calibration; the question first (the server reuses the last prompt's opening) saves ~17 of a
    further candidate's ~88 tokens but moves P(是) (sentences of another metric up to 0.83, right ones
    from 0.82: three right/wrong pairs inverted of 102, against one). Both are small beside the answer
    prompt (~500 tokens), where the model path's time goes."""
    found: list[float | None] = []
    for sentence in candidates:
        found.append(llm.yes_probability(build_judge_messages(question, sentence)))
        logger.debug("judge P(是)=%s for %s", found[-1], sentence[:40])
    return found
