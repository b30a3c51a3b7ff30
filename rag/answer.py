"""Retrieved passages → a grounded answer with verified citations (or an honest refusal).

:meth:`Answerer.stream` yields events for the HTTP layer — ``sources`` first, then ``delta`` text
pieces, then ``done`` with the final :class:`Answer`; :meth:`Answerer.ask` returns that final answer.
When there is no model, or the model fails or times out, the answer is extractive (the best-matching
report sentences, cited) and, for a failure, marked ``degraded``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from rag.chunking import Chunk
from rag.config import Settings
from rag.errors import LLMError, QueryError
from rag.lexical import tokenize
from rag.llm import LLMClient
from rag.prompts import REFUSAL, build_messages, build_rewrite_messages, sentences
from rag.query import QueryIntent, RegionName, foreign_region, validate_query
from rag.retrieve import Retriever
from rag.verify import (
    attributed,
    cite_figure,
    citations_in,
    figures,
    has_refusal,
    is_refusal,
    states_asked_figure,
    strip_refusal,
    tidy_citations,
)

logger = logging.getLogger(__name__)

EXTRACTIVE_PREFIX = "（未经大模型生成，以下为报告原文摘录）"
MAX_HISTORY_TURNS = 20
_FOLLOWUP_RE = re.compile(r"^(?:那|那么|还有|另外|同样|而|再问|呢)|呢[？?]?$")
_YEAR_RE = re.compile(r"(?:19|20)\d{2}\s*年?")
_NOTE_NUMBER_RE = re.compile(r"^\s*\d+\s*[.．、]\s*(?:P\d+)?")


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    source: str
    region: str | None
    year: int | None
    section: str
    text: str
    report_title: str | None = None

    @classmethod
    def of(cls, n: int, chunk: Chunk) -> Citation:
        return cls(n, chunk.chunk_id, chunk.source, chunk.region, chunk.year, chunk.section, chunk.text, chunk.report_title)


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    unsupported_numbers: list[str]
    backend: str
    degraded: bool = False
    standalone_question: str | None = None
    #: Why the engine refused without asking the model (a region or year no report covers).
    reason: str | None = None
    timings: dict[str, float | None] = field(default_factory=dict)
    usage: dict[str, int | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Event:
    """One streaming event: ``sources`` (list of citation dicts), ``delta`` (str) or ``done`` (Answer)."""

    kind: Literal["sources", "delta", "done"]
    data: object


def validate_history(history: Sequence[dict[str, str]] | None) -> list[dict[str, str]]:
    turns = list(history or [])
    if len(turns) > MAX_HISTORY_TURNS:
        raise QueryError(f"history has {len(turns)} turns; the limit is {MAX_HISTORY_TURNS}")
    for turn in turns:
        if turn.get("role") not in ("user", "assistant") or not isinstance(turn.get("content"), str):
            raise QueryError("each history turn needs role 'user' or 'assistant' and a string content")
    return turns


def rewrite_followup(question: str, history: Sequence[dict[str, str]], llm: LLMClient | None) -> str:
    """Make 「那2024年呢？」 standalone using the previous user question; the model only if rules cannot."""
    previous = next((t["content"] for t in reversed(history) if t["role"] == "user"), None)
    if not previous or not (_FOLLOWUP_RE.search(question) or len(question) <= 8):
        return question
    year = _YEAR_RE.search(question)
    rest = _FOLLOWUP_RE.sub("", _YEAR_RE.sub("", question)).strip("，,？? ")
    if year and not rest and _YEAR_RE.search(previous):
        return _YEAR_RE.sub(year.group(0).strip().rstrip("年") + "年", previous, count=1)
    if llm is not None:
        try:
            text = llm.complete(build_rewrite_messages(question, history), max_tokens=60).text.strip()
            if 2 <= len(text) <= 200:
                return text.splitlines()[0]
        except LLMError as exc:
            logger.warning("follow-up rewrite failed: %s", exc)
    return f"{previous} {question}"


def extractive_answer(question: str, chunks: Sequence[Chunk], max_sentences: int = 2) -> tuple[str, list[int]]:
    """The report sentences that best match the question, each cited; ``("", [])`` if nothing matches."""
    wanted = set(tokenize(question))
    scored: list[tuple[float, int, int, str]] = []  # (score, passage n, sentence i, sentence)
    for n, chunk in enumerate(chunks, start=1):
        for i, sentence in enumerate(sentences(chunk.text)):
            overlap = len(wanted & set(tokenize(sentence)))
            if overlap:  # a sentence that states a figure beats a preamble with the same words
                scored.append((overlap + (1.0 if figures(sentence) else 0.0) - 0.01 * n, n, i, sentence))
    ranked = sorted(scored, key=lambda s: -s[0])
    if not ranked or ranked[0][0] < min(2, len(wanted)) - 0.5:
        return "", []
    best = [s for s in ranked[:max_sentences] if s[0] >= ranked[0][0] - 1.5]  # only close runners-up
    best.sort(key=lambda s: (s[1], s[2]))
    return "".join(f"{sentence}[{n}]" for _, n, _, sentence in best), sorted({n for _, n, _, _ in best})


class Answerer:
    """Retrieves, prompts the model, then checks and repairs what it says."""

    def __init__(self, retriever: Retriever, llm: LLMClient | None, settings: Settings) -> None:
        self.retriever = retriever
        self.llm = llm
        self.settings = settings

    @property
    def backend(self) -> str:
        return self.llm.backend if self.llm else "none"

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        answer: Answer | None = None
        for event in self.stream(question, history):
            if event.kind == "done":
                answer = event.data  # type: ignore[assignment]
        assert answer is not None
        return answer

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Iterator[Event]:
        started = time.perf_counter()
        question = validate_query(question)
        turns = validate_history(history)
        standalone = rewrite_followup(question, turns, self.llm) if turns else question
        result = self.retriever.search(standalone, k=self.settings.answer_passages)
        chunks = [hit.chunk for hit in result.hits]
        retrieved = time.perf_counter()
        yield Event("sources", [asdict(Citation.of(n, c)) for n, c in enumerate(chunks, start=1)])

        timings: dict[str, float | None] = {"retrieve_ms": _ms(started, retrieved), "first_token_ms": None}
        usage: dict[str, int | None] = {}
        degraded = False
        text = ""
        reason = self.coverage_gap(result.intent)
        if reason is not None:
            answer = Answer(question, REFUSAL, True, [], [], self.backend, False, _if_changed(standalone, question), reason)
            answer.timings = {**timings, "total_ms": _ms(started, time.perf_counter())}
            yield Event("delta", REFUSAL)
            yield Event("done", answer)
            return
        if chunks and self.llm is not None:
            messages = build_messages(standalone, chunks, self.settings.answer_context_chars)
            deadline = started + self.settings.answer_timeout
            generation = self.llm.stream(messages)
            try:
                for delta in generation:
                    if timings["first_token_ms"] is None:
                        timings["first_token_ms"] = _ms(started, time.perf_counter())
                    text += delta
                    yield Event("delta", delta)
                    if time.perf_counter() > deadline:
                        raise LLMError(f"generation exceeded {self.settings.answer_timeout:.0f}s")
                if not text.strip():  # e.g. llama_cpp.server failing after it sent 200: an empty stream
                    raise LLMError("the language model returned an empty answer")
            except LLMError as exc:
                logger.warning("falling back to an extractive answer: %s", exc)
                degraded, text = True, ""
            finally:
                close = getattr(generation, "close", None)
                if close:
                    close()
            usage = {"prompt_chars": sum(len(m["content"]) for m in messages)}
        if self.llm is None or degraded or not chunks:
            text = self._extractive(standalone, chunks)
            if text != REFUSAL:
                text = EXTRACTIVE_PREFIX + text
            yield Event("delta", text)
        answer = self._finish(question, standalone, text, chunks, degraded)
        if answer.refused and text and not degraded:
            # a small model sometimes refuses, or gives a figure for another metric, with the answer in
            # front of it: quote the report sentence that states it instead
            quoted = self._quoted(standalone, chunks, result.sides or [result.intent])
            if quoted:
                logger.info("model refused (%s); quoting the passage instead", answer.reason or "said so")
                answer = self._finish(question, standalone, EXTRACTIVE_PREFIX + quoted, chunks, degraded)
        answer.timings = {**timings, "total_ms": _ms(started, time.perf_counter())}
        answer.usage = usage
        yield Event("done", answer)

    def coverage_gap(self, intent: QueryIntent) -> str | None:
        """A reason to refuse before generation: the question is about a place or year no report covers."""
        place = foreign_region(intent.text, self.retriever.regions)
        if place is not None:
            return f"no indexed report covers {place}"
        if intent.year is not None and intent.region is not None:
            years = {
                y
                for c in self.retriever.index.chunks
                if c.region == intent.region
                for y in (c.year, c.report_year)
                if y is not None
            }
            if intent.year not in years:
                covered = "、".join(str(y) for y in sorted(years))
                return f"the {intent.region} reports cover {covered}, not {intent.year}"
        return None

    # -- internals --------------------------------------------------------------------------

    def _place_names(self) -> set[str]:
        """Region names and aliases, ignored when comparing what an answer and a passage measure."""
        names = {alias for r in self.retriever.regions for alias in r.aliases}
        return names | {a for r in self.retriever.regions if r.parent for a in RegionName(r.parent).aliases}

    def _quoted(self, question: str, chunks: Sequence[Chunk], sides: Sequence[QueryIntent]) -> str | None:
        """What the report says, quoted and cited, when the model would not: the glossary entry a
        question names (「“六个不发生”具体是哪六个？」), or for each side of the question (one, or both
        regions or years of a comparison) the first sentence of a passage of that region, year and
        period (targets only when targets are asked for) that states a figure and names everything
        asked. ``None`` unless every side is found."""
        for n, chunk in enumerate(chunks, start=1):
            term = chunk.section.rsplit(" > ", 1)[-1].strip("“”\"「」 ")
            if chunk.period == "glossary" and len(term) >= 2 and term in question:
                return f"{_NOTE_NUMBER_RE.sub('', chunk.text)}[{n}]"  # without its 「13.P22」 note/page number
        places = self._place_names()
        quotes: list[str] = []
        for side in sides:
            quote = next(
                (
                    f"{sentence}[{n}]"
                    for n, chunk in enumerate(chunks, start=1)
                    if not (side.region and chunk.region != side.region)
                    and not (side.year and chunk.year != side.year)
                    and (side.period == "plan") == (chunk.period == "plan")  # a target answers only for targets
                    for sentence in sentences(chunk.text)
                    if states_asked_figure(sentence, question, places)
                ),
                None,
            )
            if quote is None:
                return None
            if quote not in quotes:
                quotes.append(quote)
        return "".join(quotes) or None

    def _extractive(self, question: str, chunks: Sequence[Chunk]) -> str:
        text, _ = extractive_answer(question, chunks)
        return text or REFUSAL

    def _finish(self, question: str, standalone: str, text: str, chunks: Sequence[Chunk], degraded: bool) -> Answer:
        text = text.strip()
        # the extractive marker is not part of any sentence: its words must not count as metric words
        prefix = EXTRACTIVE_PREFIX if text.startswith(EXTRACTIVE_PREFIX) else ""
        text = text.removeprefix(prefix)
        backend = self.backend
        if not text or is_refusal(text):
            return Answer(question, REFUSAL, True, [], [], backend, degraded, _if_changed(standalone, question))
        if has_refusal(text):  # answered and refused at once: keep the answer, checked below
            text = strip_refusal(text)
        text = tidy_citations(text)
        cited = [n for n in citations_in(text) if 1 <= n <= len(chunks)]
        unsupported: list[str] = []
        places = self._place_names()
        for figure in figures(text):
            if any(attributed(text, figure, chunks[n - 1].text, places, standalone) for n in cited):
                continue
            # repair: cite the retrieved passage that does state the figure, for the same metric
            source = next((n for n, c in enumerate(chunks, 1) if attributed(text, figure, c.text, places, standalone)), None)
            if source is not None:
                cited.append(source)
                text = cite_figure(text, figure, source)
            else:
                unsupported.append(figure.text)
        if unsupported and len(unsupported) == len(figures(text)):
            # every figure it states is invented: nothing of the answer is left to trust
            return Answer(question, REFUSAL, True, [], unsupported, backend, degraded, _if_changed(standalone, question),
                          reason="no passage states the figures the model gave")
        if unsupported:
            text += f"\n（注意：{'、'.join(unsupported)} 未在报告原文中找到，请勿采信。）"
        citations = [Citation.of(n, chunks[n - 1]) for n in sorted(set(cited))]
        return Answer(question, prefix + text, False, citations, unsupported, backend, degraded, _if_changed(standalone, question))


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)


def _if_changed(standalone: str, question: str) -> str | None:
    return standalone if standalone != question else None
