"""Retrieved passages → a grounded answer with verified citations (or an honest refusal).

The answer stage runs in named steps, each a method a reader can follow:

1. :meth:`Answerer.draft` — validate, make a follow-up standalone, look in the answer cache, answer
   questions about the reports themselves from their metadata, retrieve, refuse early what no report
   covers, and quote the report when a sentence surely states what was asked (``mode="quote"``).
   Everything here is fast and needs no model; a draft without an answer needs the model.
2. :meth:`Answerer.events` — the streaming events of a draft: ``sources`` first, then ``delta`` text
   pieces (a ``replace`` when the checked text differs from what was streamed), then ``done`` with the
   final :class:`Answer`. For a draft that needs it: :meth:`_generate` (the model), then the
   :data:`ANSWER_STEPS`, a list run in order — ``verify`` (every figure against the cited passages),
   ``judge_doubt`` (the model as judge of a lead figure the wording check is unsure of) and
   ``fall_back`` (quote the report when the model refused although a passage states the answer). Each
   is timed (``timings["step_<name>_ms"]``), says what it decided (``Answer.steps``), and can be
   switched off by name (``RAG_ANSWER_STEPS_OFF``).

When there is no model the answer is extractive (the best-matching report sentences, cited); when
the model fails or times out, that extractive answer is marked ``degraded``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, Protocol

from rag.answering.about import answer_about_reports, is_about_reports
from rag.answering.compare import Comparison, asks_to_compare, claims_against, compare
from rag.answering.compose import EVIDENCE_LABEL, evidence, lead_figures, lead_line
from rag.answering.confidence import assess
from rag.answering.coverage import coverage_gap, gazetteer
from rag.answering.figures import StatedFigure, figures_of_answer
from rag.answering.judge import Bar, judge_figure, judged_quote
from rag.answering.prompts import REFUSAL, build_messages, build_rewrite_messages
from rag.answering.quote import extractive_answer, sure_quote, unit_quote
from rag.answering.series import asks_for_series, build_series, series_years
from rag.answering.terms import agreement, asked_terms, asks_for_figure, asks_for_level, level_kind, metric_words
from rag.answering.verify import (
    attribution,
    citations_in,
    cite_figure,
    figures,
    has_refusal,
    is_refusal,
    measured_in_answer,
    states_asked_figure,
    strip_citations,
    strip_refusal,
    supported,
    tidy_citations,
)
from rag.core.cache import AnswerCache, settings_fingerprint
from rag.core.config import Settings
from rag.core.errors import LLMError, QueryError
from rag.core.version import answer_version
from rag.llm.clients import LLMClient
from rag.reading.chunking import Chunk
from rag.retrieval.everyday import with_report_terms
from rag.retrieval.query import MAX_QUERY_CHARS, YEAR_RE, QueryIntent, RegionName, asks_plan_vs_actual, validate_query
from rag.retrieval.retrieve import Retriever
from rag.text.lexicon import lexicon
from rag.text.numbers import Figure, fits_kind

logger = logging.getLogger(__name__)

#: Marks report text given verbatim (a quote, or the extractive answer): no model wrote it.
EXTRACTIVE_PREFIX = "（未经大模型生成，以下为报告原文摘录）"
#: Why an answer came from the report without the model although it needed one (the widget shows it).
BUSY_REASON = "the language model is busy; answered from the reports without it"
#: Why a question the busy model could not take was refused: no report sentence surely states it.
MODEL_FAILED_REFUSAL_REASON = "the language model failed and no report sentence surely states what was asked"
BUSY_REFUSAL_REASON = "the language model is busy and no report sentence surely states what was asked; ask again shortly"
MAX_HISTORY_TURNS = 20
#: Words that make a question a follow-up (rag/text/lexicon/answer.toml).
_FOLLOWUP_RE = re.compile(lexicon().answer.follow_up)

#: How an answer was made: the report quoted, the model's checked wording, a refusal, the extractive
#: answer without a model (``extractive``) or after a model failure (``degraded``), or report metadata.
Mode = Literal["quote", "model", "refused", "degraded", "extractive", "about"]


def new_answer_id() -> str:
    """A fresh answer id (32 hex digits): what feedback and the question log refer to."""
    return uuid.uuid4().hex


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
    #: Why the engine refused (a region or year no report covers; figures no passage states).
    reason: str | None = None
    timings: dict[str, float | None] = field(default_factory=dict)
    usage: dict[str, int | None] = field(default_factory=dict)
    mode: Mode = "model"
    cached: bool = False
    #: Figures a cited passage states, but for a metric worded unlike the answer's (kept, marked).
    doubtful_numbers: list[str] = field(default_factory=list)
    #: This answer's id (a cached answer given again gets a new one): feedback names it.
    id: str = field(default_factory=new_answer_id)
    #: What each answer step after the model decided, in order (:data:`ANSWER_STEPS`): ``name``,
    #: ``changed`` (whether it changed the answer), ``reason`` (a short why) and ``off`` (switched off by
    #: ``answer_steps_off``). Empty when the model was not asked; a cached answer keeps its own.
    steps: list[dict[str, object]] = field(default_factory=list)
    #: The figures the answer states (:class:`rag.answering.figures.StatedFigure` as dicts): value,
    #: unit, what it measures as the report names it, place, level, year, kind (actual/target/estimate),
    #: citation. Empty when the answer states none, or was worded by the model without them.
    figures: list[dict[str, object]] = field(default_factory=list)
    #: A series answer (:mod:`rag.answering.series`): one row per year (year, value, unit, text, measures,
    #: kind, citation, source; ``value`` ``None`` for a year the library does not state). ``None`` otherwise.
    table: list[dict[str, object]] | None = None
    #: How sure the engine is that this answer is right (a refusal: that refusing is right), 0–1,
    #: calibrated on the dev questions (:mod:`rag.answering.confidence`), and the signals it rests on.
    confidence: float | None = None
    signals: dict[str, float] = field(default_factory=dict)
    #: Answered (not refused) with a confidence below ``answer_confidence_low``: shown as passages.
    low_confidence: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Answer:
        values = dict(data)
        values["citations"] = [Citation(**c) for c in values.get("citations", [])]  # type: ignore[attr-defined]
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Event:
    """One streaming event: ``sources`` (list of citation dicts), ``delta`` (str), ``replace`` (the
    whole text so far, when the checked answer differs from what was streamed) or ``done`` (Answer)."""

    kind: Literal["sources", "delta", "replace", "done"]
    data: object


@dataclass
class Draft:
    """What the engine knows before any model call; ``answer`` is set unless the model is needed."""

    question: str
    standalone: str
    started: float
    chunks: list[Chunk] = field(default_factory=list)
    sides: list[QueryIntent] = field(default_factory=list)
    answer: Answer | None = None
    #: A sure quote kept for ``quote-then-model`` (shown first) and as the fallback of a refusal.
    quote: str | None = None
    cache_key: str | None = None
    timings: dict[str, float | None] = field(default_factory=dict)
    #: The numbered passages as the ``sources`` event gives them (a cached answer brings its own).
    sources: list[dict[str, object]] = field(default_factory=list)
    #: Set when whoever asked went away: the generation stops at the model's next token.
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: The id the final answer will carry, known from the start (the OpenAI stream's first chunk has it).
    id: str = field(default_factory=new_answer_id)
    #: Answered without the model because it was busy (:meth:`Answerer.answer_busy`): not cached.
    busy: bool = False
    #: The decisions of the answer steps that ran (:attr:`Answer.steps`).
    steps: list[dict[str, object]] = field(default_factory=list)

    @property
    def needs_model(self) -> bool:
        return self.answer is None

    def use(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self.sources = [asdict(Citation.of(n, c)) for n, c in enumerate(self.chunks, start=1)]


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
    # the length limit is for what the user typed: the earlier turn is cut to leave room for it
    previous = previous.strip()[: MAX_QUERY_CHARS - len(question) - 1]
    year = YEAR_RE.search(question)
    rest = _FOLLOWUP_RE.sub("", YEAR_RE.sub("", question)).strip("，,？? ")
    if year and not rest and YEAR_RE.search(previous):
        return YEAR_RE.sub(year.group(0).strip().rstrip("年") + "年", previous, count=1)
    if llm is not None:
        try:
            text = llm.complete(build_rewrite_messages(question, history), max_tokens=60).text.strip()
            if text and _faithful_rewrite(text.splitlines()[0], question, previous):
                return text.splitlines()[0]
        except LLMError as exc:
            logger.warning("follow-up rewrite failed: %s", exc)
    return f"{previous} {question}"


_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def _faithful_rewrite(text: str, question: str, previous: str) -> bool:
    """Whether the model's rewrite is a question made of what the user asked: of a sane length, still
    naming what the follow-up names, and with no number the user did not type (the small model
    sometimes copies the earlier *answer*: 「货物吞吐量呢？」 → 「货物吞吐量为803.9万标箱。」)."""
    typed = set(_NUMBER_RE.findall(question + previous))
    return (
        2 <= len(text) <= 200
        and all(number in typed for number in _NUMBER_RE.findall(text))
        and agreement(asked_terms(question), metric_words(text), lenient=True) == 1
    )


def final(events: Iterator[Event]) -> Answer:
    """The answer a stream of events ends with."""
    answer: Answer | None = None
    for event in events:
        if event.kind == "done":
            answer = event.data  # type: ignore[assignment]
    assert answer is not None, "an answer stream ends with a done event"
    return answer


class Answerer:
    """Drafts an answer without the model where the report states it, else asks the model and checks it."""

    def __init__(self, retriever: Retriever, llm: LLMClient | None, settings: Settings) -> None:
        self.retriever = retriever
        self.llm = llm
        self.settings = settings
        self.cache = AnswerCache(settings.answer_cache_file) if settings.answer_cache else None
        self.generation = retriever.store.generation
        # the rules' version too: after an upgrade the same question, index and settings is a miss
        self.fingerprint = settings_fingerprint(
            {**settings.answer_fingerprint(), "backend": self.backend, "rules": answer_version()}
        )
        if self.cache is not None:
            self.cache.drop_other_generations(self.generation)
        self.years_by_region = retriever.covered_years()  # a renamed place's years under both names
        gazetteer(settings.coverage_common_word_freq)  # loaded now (about a second), not on the first question
        self.places = self._place_names()
        self.judge_bar = Bar(
            settings.answer_judge_threshold,
            settings.answer_judge_floor,
            settings.answer_judge_margin,
            settings.answer_judge_candidates,
        )

    @property
    def backend(self) -> str:
        return self.llm.backend if self.llm else "none"

    # -- entry points ---------------------------------------------------------------------------

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        return final(self.stream(question, history))

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Iterator[Event]:
        yield from self.events(self.draft(question, history))

    # -- step 1: everything that needs no model ------------------------------------------------------

    def draft(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Draft:
        """Validate, rewrite, then the first of: cached answer, metadata answer, early refusal, quote."""
        started = time.perf_counter()
        question = validate_query(question)
        turns = validate_history(history)
        standalone = rewrite_followup(question, turns, self.llm) if turns else question
        draft = Draft(question, standalone, started)
        if self._cached(draft) or self._about_reports(draft):
            return draft
        result = self.retriever.search(standalone, k=self.settings.answer_passages)
        draft.use([hit.chunk for hit in result.hits])
        draft.sides = result.sides or [result.intent]
        draft.timings["retrieve_ms"] = _ms(started, time.perf_counter())
        if self._refuse_early(draft, result.intent):
            return draft
        if self._series(draft, result.intent) or self._compared(draft):
            return draft
        draft.quote = (
            sure_quote(
                standalone,
                draft.chunks,
                draft.sides,
                self.places,
                enough=self.settings.answer_names_enough,
                max_named=self.settings.everyday_max_named,
            )
            if draft.chunks
            else None
        )
        if draft.quote and not self._own_level(draft, draft.quote):
            draft.quote = None  # 「全市地区生产总值增长6.1%」 quoted for a county: the city's figure
        if draft.quote and self.settings.answer_mode == "quote-first":
            draft.answer = self._quoted(draft, draft.quote)
        elif self.llm is None or not draft.chunks:
            draft.answer = self._extractive(draft, degraded=False)
        return draft

    def _cached(self, draft: Draft) -> bool:
        if self.cache is None:
            return False
        draft.cache_key = self.cache.key(draft.standalone, self.generation, self.fingerprint)
        stored = self.cache.get(draft.cache_key)
        if stored is None:
            return False
        draft.answer = Answer.from_dict(stored["answer"])
        draft.answer.question, draft.answer.cached, draft.answer.timings = draft.question, True, {}
        draft.sources = stored["sources"]
        return True

    def _about_reports(self, draft: Draft) -> bool:
        """Questions about the collection itself (which reports, their dates and speakers)."""
        if not is_about_reports(draft.standalone, self.settings.about_max_chars):
            return False
        found = answer_about_reports(
            draft.standalone,
            self.retriever.store.sources,
            self.retriever.store.first_chunks(),
            self.retriever.regions,
            common_freq=self.settings.coverage_common_word_freq,
            max_chars=self.settings.about_max_chars,
        )
        if found is None:
            return False
        text, chunks = found
        draft.use(chunks)
        citations = [Citation.of(n, c) for n, c in enumerate(chunks, start=1)]
        draft.answer = Answer(draft.question, text, False, citations, [], self.backend, mode="about",
                              standalone_question=_if_changed(draft))  # fmt: skip
        return True

    def _refuse_early(self, draft: Draft, intent: QueryIntent) -> bool:
        """Refuse before generation when the question is about a place or year no report covers."""
        reason = coverage_gap(
            intent, self.retriever.regions, self.years_by_region, common_freq=self.settings.coverage_common_word_freq
        )
        if reason is None:
            return False
        draft.answer = self._refusal(draft, reason=reason)
        return True

    def _series(self, draft: Draft, intent: QueryIntent) -> bool:
        """A figure over the years (「历年」「近五年」): per year of the place the library covers, that
        year's passages and the figure of what is asked there; answered by a table and a composed line
        (:mod:`rag.answering.series`), no model. Not a series when fewer than two years state one."""
        region = intent.region or self._only_region()
        if region is None or not asks_for_series(draft.standalone, intent):
            return False
        years = series_years(intent, self.years_by_region.get(region, set()))
        if len(years) < 2:
            return False
        sides = [QueryIntent(draft.standalone, region, year, None) for year in years]
        # each year's own passages, and the place's best of any year (a five-year review names its years)
        k = self.settings.series_passages
        per_year = self.retriever.search_sides(draft.standalone, sides, k=k, exact_year=True)
        (anywhen,) = self.retriever.search_sides(draft.standalone, [QueryIntent(draft.standalone, region)], k=2 * k)
        chunks: list[Chunk] = []
        by_year = []
        for year, found in zip(years, per_year, strict=True):
            by_year.append((year, found, len(chunks) + 1))
            chunks.extend(found)
        other = [c for c in anywhen if c not in chunks]
        chunks.extend(other)
        series = build_series(draft.standalone, replace(intent, region=region), by_year, self.places, other=other)
        if series is None or sum(row.figure is not None for row in series.rows) < 2:
            return False
        draft.use(chunks)
        stated = [row.figure for row in series.rows if row.figure is not None]
        draft.answer = self._composed(draft, series.text, stated)
        draft.answer.table = series.table()
        return True

    def _compared(self, draft: Draft) -> bool:
        """Two sides (two years, two places, a target and a result): each side's figure from its own
        passages, the comparison computed and worded by a template (:mod:`rag.answering.compare`), no
        model. A side no passage states is named as missing, without a verdict."""
        if len(draft.sides) != 2:
            return False
        comparison = compare(draft.standalone, draft.sides, draft.chunks, self.places)
        if comparison is None or not comparison.complete:
            # each side's own passages (retrieval took turns between the sides, k in all)
            more = self.retriever.search_sides(draft.standalone, draft.sides, k=self.settings.compare_passages)
            chunks = list(dict.fromkeys([*draft.chunks, *(c for found in more for c in found)]))
            again = compare(draft.standalone, draft.sides, chunks, self.places)
            if again is not None and (comparison is None or sum(map(bool, again.figures)) > sum(map(bool, comparison.figures))):
                comparison = again
                draft.use(chunks)
        if comparison is None:
            return False
        text = comparison.text
        if not (asks_to_compare(draft.standalone) or asks_plan_vs_actual(draft.standalone)) and comparison.complete:
            text = _without_verdict(comparison)
        draft.answer = self._composed(draft, text, [f for f in comparison.figures if f is not None])
        return True

    def _own_level(self, draft: Draft, text: str) -> bool:
        """Whether a quote states a figure of the asked place itself, not only of a level above or below
        it (「全市」「全省」 in a county's report): a question about a county never takes its city's figure."""
        asked = {name for side in draft.sides if side.region for name in self.retriever.same_place(side.region)}
        stated = figures_of_answer(text, draft.chunks, citations_in(text))
        return not asked or not stated or any(f.place in asked for f in stated)

    def _composed(self, draft: Draft, text: str, stated: Sequence[StatedFigure]) -> Answer:
        """An answer composed from report figures by a template: cited as its figures are, no model."""
        numbers = sorted({f.citation for f in stated if f.citation})
        citations = [Citation.of(n, draft.chunks[n - 1]) for n in numbers if 1 <= n <= len(draft.chunks)]
        return Answer(draft.question, text, False, citations, [], self.backend, False, _if_changed(draft),
                      mode="quote", figures=[f.to_dict() for f in stated])  # fmt: skip

    def _only_region(self) -> str | None:
        regions = self.retriever.regions
        return regions[0].name if len(regions) == 1 else None

    # -- step 2: the events, with the model where the draft needs it ---------------------------------

    def events(self, draft: Draft) -> Iterator[Event]:
        """``sources``, the answer text (``delta``/``replace``), ``done``; timings: ``first_text_ms``
        (when the first answer text left), ``first_token_ms`` (the model's first token), ``total_ms``."""
        yield Event("sources", draft.sources)
        answer = yield from self._text(draft)
        answer.timings = {"first_token_ms": None, **draft.timings, "total_ms": _ms(draft.started, time.perf_counter())}
        answer.id = draft.id
        if not answer.cached:
            answer.steps = list(draft.steps)
            if not answer.figures and not answer.refused:  # what each stated figure measures, and whose
                cited = [c.n for c in answer.citations]
                answer.figures = [f.to_dict() for f in figures_of_answer(answer.answer, draft.chunks, cited)]
        assess(answer, self.places, self.settings.answer_confidence_low)
        if self.cache is not None and draft.cache_key and not (answer.cached or answer.degraded or draft.busy):
            self.cache.put(draft.cache_key, {"sources": draft.sources, "answer": answer.to_dict()}, self.generation)
        yield Event("done", answer)

    def _text(self, draft: Draft) -> Generator[Event, None, Answer]:
        """The answer's text events (the draft's answer, or the model's), stamping the first one."""
        if draft.answer is not None:
            draft.timings["first_text_ms"] = _ms(draft.started, time.perf_counter())
            yield Event("delta", draft.answer.answer)
            return draft.answer
        stream = self._with_model(draft)
        try:
            while True:
                try:
                    event = next(stream)
                except StopIteration as done:
                    return done.value
                draft.timings.setdefault("first_text_ms", _ms(draft.started, time.perf_counter()))
                yield event
        finally:
            stream.close()  # a client that went away stops the generation too

    def _with_model(self, draft: Draft) -> Generator[Event, None, Answer]:
        """Generate, streaming the model's text a sentence at a time once the checks passed it (or
        silently behind a quote already shown); then check the whole answer, fall back."""
        behind_quote = bool(draft.quote) and self.settings.answer_mode == "quote-then-model"
        shown = self._quoted(draft, draft.quote).answer if behind_quote and draft.quote else ""
        if shown:
            yield Event("delta", shown)
        messages = build_messages(draft.standalone, draft.chunks, self.settings.answer_context_chars)
        text = ""
        released = _Released()
        # with the check switched off the model's text is shown as it comes
        checking = "verify" not in self.settings.answer_steps_off
        try:
            for delta in self._generate(draft, messages):
                text += delta
                if behind_quote:
                    continue
                if more := (self._checked_sentences(draft, text, released) if checking else delta):
                    shown += more
                    yield Event("delta", more)
        except LLMError as exc:
            logger.warning("falling back to an extractive answer: %s", exc)
            answer = self._checked_extractive(draft, MODEL_FAILED_REFUSAL_REASON)
        else:
            answer = self._run_steps(draft, text)
        if behind_quote and draft.quote and not _clean(answer):
            # the model's wording replaces the quote shown only when it passes every check
            answer = self._quoted(draft, draft.quote)
        answer.usage = {"prompt_chars": sum(len(m["content"]) for m in messages)}
        if answer.answer == shown:
            pass
        elif not behind_quote and answer.answer.startswith(shown):
            yield Event("delta", answer.answer[len(shown) :])  # the rest, checked
        else:  # the checked answer is not what was shown (a quote replaced, a model answer refused)
            yield Event("replace" if shown else "delta", answer.answer)
        return answer

    def _run_steps(self, draft: Draft, text: str) -> Answer:
        """The model's ``text`` through :data:`ANSWER_STEPS` in order, but those ``answer_steps_off``
        names: each timed (``draft.timings["step_<name>_ms"]``), its decision kept in ``draft.steps``."""
        answer = Answer(draft.question, text.strip(), False, [], [], self.backend, False, _if_changed(draft), mode="model")
        for step in ANSWER_STEPS:
            if step.name in self.settings.answer_steps_off:
                draft.steps.append({"name": step.name, "changed": False, "reason": "switched off", "off": True})
                continue
            started = time.perf_counter()
            after, reason = step.run(self, draft, answer)
            draft.timings[f"step_{step.name}_ms"] = _ms(started, time.perf_counter())
            draft.steps.append({"name": step.name, "changed": _shown(after) != _shown(answer), "reason": reason, "off": False})
            answer = after
        return answer

    def _checked_sentences(self, draft: Draft, text: str, released: _Released) -> str:
        """The checked text of the model's complete sentences not shown yet, when every figure in
        them passed the checks; ``""`` while a sentence is incomplete, and from a sentence that
        failed on (it is shown, marked, only in the final answer)."""
        end = _complete_sentences_end(text)
        if released.stopped or end <= released.upto:
            return ""
        checked = self._verify(draft, text[:end], mode="model")
        passed = not (checked.refused or checked.unsupported_numbers or checked.doubtful_numbers)
        if not passed or not checked.answer.startswith(released.text):
            released.stopped = True
            return ""
        more = checked.answer[len(released.text) :]
        released.text, released.upto = checked.answer, end
        return more

    def _generate(self, draft: Draft, messages: list[dict[str, str]]) -> Iterator[str]:
        """The model's text, piece by piece; :class:`LLMError` on failure, timeout or an empty answer."""
        assert self.llm is not None
        if draft.cancelled.is_set():  # it waited for the model and whoever asked is gone: no prompt to read
            raise LLMError("the question was cancelled (the client went away)")
        deadline = draft.started + self.settings.answer_timeout
        generation = self.llm.stream(messages)
        got = False
        try:
            for delta in generation:
                if draft.timings.get("first_token_ms") is None:
                    draft.timings["first_token_ms"] = _ms(draft.started, time.perf_counter())
                got = got or bool(delta.strip())
                yield delta
                if draft.cancelled.is_set():
                    raise LLMError("the question was cancelled (the client went away)")
                if time.perf_counter() > deadline:
                    raise LLMError(f"generation exceeded {self.settings.answer_timeout:.0f}s")
            if not got:  # e.g. llama_cpp.server failing after it sent 200: an empty stream
                raise LLMError("the language model returned an empty answer")
        finally:
            close = getattr(generation, "close", None)
            if close:
                close()

    def _judge_doubt(self, draft: Draft, answer: Answer) -> Answer:
        """The model's answer, or a refusal when the judge is sure the sentence stating its lead figure
        does not state what was asked — asked only when the figure is unsure (:meth:`_unsure`)."""
        lead = figures(answer.answer)[:1]
        if not (lead and self.settings.answer_judge and self.llm and self._unsure(draft, answer, lead[0])):
            return answer
        cited = [draft.chunks[c.n - 1] for c in answer.citations if 1 <= c.n <= len(draft.chunks)]
        try:
            p = judge_figure(draft.standalone, lead[0], cited or draft.chunks, self.llm, self.judge_bar.candidates)
        except LLMError as exc:
            logger.warning("no judgement of the unsure figure: %s", exc)
            return answer
        if p is None:
            return answer
        # a figure whose passage names the asked metric only in part, or of another kind than the level
        # asked (「常住人口达到58.4%」 from 「常住人口城镇化率达到58.4%」), must be one the judge is sure of
        doubtful = lead[0].text in answer.doubtful_numbers or self._other_kind(draft, lead[0])
        reject = self.settings.answer_judge_threshold if doubtful else self.settings.answer_judge_reject
        if p < reject:
            return self._refusal(draft, reason=f"the judge found {lead[0].text} is not what was asked (P={p:.2f})")
        # the judge's P runs high for any sentence with a figure: another sentence it is clearly surer
        # of is the answer (「城里人一年能挣多少钱」: 0.71 for the CPI sentence the model used, 0.89 for
        # the income one)
        rival = self._judged_quote(draft, rival=p)
        return self._quoted(draft, rival) if rival else answer

    def _unsure(self, draft: Draft, answer: Answer, lead: Figure) -> bool:
        """Whether the answer's lead figure needs the judge: a passage states it, but its wording names
        the asked metric only in part (doubtful), its unit is not of the kind a question for a level
        asks (「城里人一年能挣多少钱」 answered with 「居民消费价格上涨0.4%」), or the answer says it
        measures nothing the question asks about (「发了多少个包裹」 answered with 「中欧班列开行2486列」)."""
        if lead.text in answer.doubtful_numbers or self._other_kind(draft, lead):
            return True
        asked = asked_terms(draft.standalone, self.places)
        return bool(asked) and agreement(asked, measured_in_answer(answer.answer, lead, self.places), lenient=True) == 0

    @staticmethod
    def _other_kind(draft: Draft, lead: Figure) -> bool:
        """Whether the question asks for a level of a unit kind the answer's lead figure is not of."""
        kind = level_kind(draft.standalone)
        return bool(kind) and asks_for_level(draft.standalone) and not fits_kind(lead.unit, kind)

    def _fall_back(self, draft: Draft, answer: Answer) -> Answer:
        """When the model refused (or every figure it gave failed the checks) although a passage of the
        asked place and time states the answer, quote that passage: a sure quote, or for a question in
        everyday words a sentence whose figure has the unit kind asked for."""
        if not answer.refused:
            return answer
        quote = draft.quote or self._unit_quote(draft) or self._judged_quote(draft)
        if not quote:
            return answer
        logger.info("model refused (%s); quoting the passage instead", answer.reason or "said so")
        return self._quoted(draft, quote)

    def answer_busy(self, draft: Draft) -> None:
        """The model is too busy to answer ``draft`` soon: answer it now from the report — its sure
        quote where there is one (``quote-then-model``), else the sentence whose figure has the unit
        kind asked (as the model's fall-back quotes it), else the extractive answer, marked
        ``degraded`` with the reason (never cached: the next time, the model answers).

        The questions that reach the model are largely the ones no passage answers (the model refuses
        them): the extractive answer, which never refuses, would answer them with a sentence about
        something else. So for a question that asks for a figure it is given only when one of its
        sentences states a figure *of* what was asked (:func:`rag.answering.verify.states_asked_figure`, with the report's terms for everyday
        words); else the answer is a refusal, marked degraded with :data:`BUSY_REFUSAL_REASON`."""
        draft.busy = True
        quote = draft.quote or self._unit_quote(draft)
        if quote:
            draft.answer = self._quoted(draft, quote)
            if draft.quote is None:  # the model would have been asked first: say why it was not
                draft.answer.degraded = True
                draft.answer.reason = draft.answer.reason or BUSY_REASON
            return
        answer = self._checked_extractive(draft, BUSY_REFUSAL_REASON)
        answer.reason = answer.reason or BUSY_REASON
        draft.answer = answer

    def _checked_extractive(self, draft: Draft, refusal_reason: str) -> Answer:
        """The extractive answer (``degraded``) for a question the model did not answer — busy or failed —
        but for a question that asks for a figure only when one of its sentences states a figure of
        what was asked; else a refusal, ``degraded``, with ``refusal_reason``."""
        answer = self._extractive(draft, degraded=True)
        if not answer.refused and asks_for_figure(draft.standalone) and not self._states_asked(draft, answer.answer):
            answer = self._refusal(draft, reason=refusal_reason)
            answer.degraded = True
        return answer

    def _states_asked(self, draft: Draft, text: str) -> bool:
        """Whether a sentence of report ``text`` states a figure of what the question asks (in its
        words or with the report's terms for its everyday words)."""
        enough = self.settings.answer_names_enough
        questions = dict.fromkeys((draft.standalone, with_report_terms(draft.standalone)))
        return any(
            states_asked_figure(sentence, question, self.places, enough=enough)
            for sentence in sentence_pieces(strip_citations(text.removeprefix(EXTRACTIVE_PREFIX)))
            for question in questions
        )

    def _unit_quote(self, draft: Draft) -> str | None:
        if len(draft.sides) != 1:
            return None
        return unit_quote(draft.standalone, draft.chunks, draft.sides[0], self.places, enough=self.settings.answer_names_enough)

    def _judged_quote(self, draft: Draft, rival: float = 0.0) -> str | None:
        """The sentence the model, as a judge, is sure states what was asked (rag/answering/judge.py) — and
        surer by the margin than of the ``rival`` sentence the model answered from, when given."""
        if not self.settings.answer_judge or self.llm is None or len(draft.sides) != 1:
            return None
        try:
            return judged_quote(
                draft.standalone, draft.chunks, draft.sides[0], self.retriever.embedder, self.llm, self.judge_bar, rival,
                self.places, enough=self.settings.answer_names_enough,
            )  # fmt: skip
        except LLMError as exc:
            logger.warning("no answerability judgement: %s", exc)
            return None

    # -- checks ---------------------------------------------------------------------------------

    def _quoted(self, draft: Draft, quote: str) -> Answer:
        """A quote of the report (``sentence[n]…``) as an answer: first one line composed from the
        figure each quoted sentence states of what was asked (「2024年保定市快递业务量22.3亿件[1]。」,
        :func:`lead_line`), then the sentences themselves as its evidence after :data:`EVIDENCE_LABEL`;
        the figures checked verbatim. The answer's ``figures`` are the lead figures. Where no sentence
        states a figure of what was asked (a glossary entry, a policy), the quote alone."""
        typed = [draft.question] if draft.question != draft.standalone else []  # a follow-up's own words first
        leads = lead_figures(draft.standalone, quote, draft.chunks, draft.sides, self.places, asks=typed)
        line = lead_line(leads, draft.sides)
        answer = self._verify(draft, f"{line}\n{EVIDENCE_LABEL}{quote}" if line else EVIDENCE_LABEL + quote, mode="quote")
        if line and not answer.refused:
            answer.figures = [f.to_dict() for f in leads]
        return answer

    def _verify(self, draft: Draft, text: str, *, mode: Mode) -> Answer:
        """The answer ``text`` with every figure checked against the passages: one no passage states is
        marked, and so is one stated for a clearly other metric (when that is the lead figure, the
        answer itself: a refusal); one whose metric is worded differently is kept and marked doubtful.
        Citations are repaired."""
        chunks = draft.chunks
        text = text.strip()
        # the extractive marker is not part of any sentence: its words must not count as metric words
        prefix = EXTRACTIVE_PREFIX if text.startswith(EXTRACTIVE_PREFIX) else ""
        text = text.removeprefix(prefix)
        if not text or is_refusal(text):
            return self._refusal(draft)
        if has_refusal(text):  # answered and refused at once: keep the answer, checked below
            text = strip_refusal(text)
        text = tidy_citations(text)
        cited = [n for n in citations_in(text) if 1 <= n <= len(chunks)]
        unsupported: list[str] = []
        doubtful: list[str] = []
        # report text given verbatim measures what the report says it measures: only its figures are checked
        verbatim = mode != "model"
        for figure in figures(text):
            score = self._best(text, figure, [chunks[n - 1] for n in cited], draft.standalone, verbatim)
            if score is None or score < self.settings.answer_verified:
                # repair: cite the retrieved passage that does state the figure, for the same metric
                scores = [(self._best(text, figure, [c], draft.standalone, verbatim), n) for n, c in enumerate(chunks, 1)]
                found = max(((s, n) for s, n in scores if s is not None), default=None)
                if found is not None and (score is None or found[0] > score):
                    score = found[0]
                    if found[1] not in cited:
                        cited.append(found[1])
                        text = cite_figure(text, figure, found[1])
            if score is None or score < self.settings.answer_misattributed:
                unsupported.append(figure.text)
            elif score < self.settings.answer_verified:
                doubtful.append(figure.text)
        stated = figures(text)
        if stated and stated[0].text in unsupported:
            # the lead figure (the answer itself) is invented or another metric's: the rest is context
            # that cannot stand alone
            return self._refusal(draft, unsupported, reason="no passage states the figures the model gave")
        if unsupported:
            text += f"\n（注意：{'、'.join(unsupported)} 未在报告原文中找到，请勿采信。）"
        citations = [Citation.of(n, chunks[n - 1]) for n in sorted(set(cited))]
        return Answer(draft.question, prefix + text, False, citations, unsupported, self.backend, False,
                      _if_changed(draft), mode=mode, doubtful_numbers=doubtful)  # fmt: skip

    def _best(self, text: str, figure: Figure, chunks: Sequence[Chunk], question: str, verbatim: bool) -> float | None:
        """The best attribution of ``figure`` to one of ``chunks`` (1.0 for verbatim text stating it)."""
        if verbatim:
            return 1.0 if supported(figure, [c.text for c in chunks]) else None
        enough, misattributed = self.settings.answer_names_enough, self.settings.answer_misattributed
        scores = [
            s
            for c in chunks
            if (s := attribution(text, figure, c.text, self.places, question, enough=enough, misattributed=misattributed))
            is not None
        ]
        return max(scores, default=None)

    def _refusal(self, draft: Draft, unsupported: list[str] | None = None, *, reason: str | None = None) -> Answer:
        return Answer(draft.question, REFUSAL, True, [], unsupported or [], self.backend, False, _if_changed(draft),
                      reason, mode="refused")  # fmt: skip

    def _extractive(self, draft: Draft, *, degraded: bool) -> Answer:
        text, _ = extractive_answer(draft.standalone, draft.chunks)
        if not text:
            answer = self._refusal(draft)
        elif asks_for_figure(draft.standalone) and not any(f.unit for f in figures(text)):
            # 「社会消费品零售总额是多少」 is not answered by 「蝉联全国综合实力千强镇第一」
            answer = self._refusal(draft, reason="the closest passages state no figure of what was asked")
        elif not self._own_level(draft, text):
            answer = self._refusal(draft, reason="the passages state the figure only for another level (全市/全省)")
        else:
            answer = self._verify(draft, EXTRACTIVE_PREFIX + text, mode="degraded" if degraded else "extractive")
            answer, _ = TargetCheck().run(self, draft, answer)  # a year's result is not answered by its targets
        answer.degraded = degraded
        return answer

    # -- what the index covers ------------------------------------------------------------------

    def _place_names(self) -> set[str]:
        """Region names and aliases, ignored when comparing what an answer and a passage measure."""
        regions = self.retriever.regions
        names = {alias for r in regions for alias in r.aliases}
        return names | {a for r in regions if r.parent for a in RegionName(r.parent).aliases}


# -- the answer steps after the model ---------------------------------------------------------------


class AnswerStep(Protocol):
    """One step after the model (like a node post-processor): the answer so far in, the answer after
    the step out, with a short reason for what it decided. Every step has this one signature, so the
    :class:`Answerer` runs them as a list (:data:`ANSWER_STEPS`) and each can be switched off by its
    ``name`` (``answer_steps_off``) and timed alone."""

    name: str

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]: ...


class Verify:
    """``verify``: every figure of the model's answer checked against the passages
    (:meth:`Answerer._verify`) — one no passage states is marked (the answer is a refusal when that is
    its lead figure), one stated for a metric worded otherwise is kept and marked doubtful; citations
    are repaired. Settings: none of its own (it checks against the ``answer_passages`` passages).
    Switched off, the model's text is the answer as it came: unchecked, without citations."""

    name = "verify"

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]:
        checked = answerer._verify(draft, answer.answer, mode=answer.mode)
        if checked.refused:
            return checked, checked.reason or "the model refused"
        if checked.unsupported_numbers:
            return checked, "marked unsupported: " + "、".join(checked.unsupported_numbers)
        if checked.doubtful_numbers:
            return checked, "marked doubtful: " + "、".join(checked.doubtful_numbers)
        return checked, "every figure stated by a cited passage"


class CompareCheck:
    """``compare_check``: for a question that compares (two sides, or 「相比」「哪个高」), every sentence of
    the model's answer claiming one figure is above or below another (「高于」「更快」「是高」) must rest
    on two figures the answer states that agree with it (:func:`rag.answering.compare.claims_against`);
    a sentence that does not is dropped, and an answer left with no figure is a refusal. Settings: none.
    A comparison the engine found both sides of never reaches the model: it is computed
    (:mod:`rag.answering.compare`)."""

    name = "compare_check"

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]:
        if answer.refused or not (len(draft.sides) == 2 or asks_to_compare(draft.standalone)):
            return answer, "no comparison asked"
        stated = [_bare(f) for f in figures(answer.answer)]
        kept: list[str] = []
        dropped: list[str] = []
        for sentence in sentence_pieces(answer.answer):
            (dropped if claims_against(sentence, stated) else kept).append(sentence)
        if not dropped:
            return answer, "every comparative claim backed by two stated figures that agree"
        text = "".join(kept).strip()
        why = claims_against("".join(dropped), stated) or "unbacked comparison"
        if not figures(text):
            return answerer._refusal(draft, reason=why), why
        checked = replace(answer, answer=text)
        return checked, f"dropped {len(dropped)} sentence(s): {why}"


class TargetCheck:
    """``target_check``: a question for what a year achieved (not for its targets) is not answered by a
    target: when every figure of the model's answer is, in the cited sentence that states it, a target
    (:attr:`rag.answering.figures.StatedFigure.kind`: a plan section, 「预期」「力争」…), the answer is a
    refusal — 「苏州市2023年全年GDP最终完成了多少？」 answered with the year's target 「5%左右」. Settings:
    none. Comparisons and questions for targets are not checked."""

    name = "target_check"

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]:
        side = draft.sides[0] if len(draft.sides) == 1 else None
        if answer.refused or side is None or side.period == "plan" or side.year is None:
            return answer, "not a question for one year's result"
        stated = figures_of_answer(answer.answer, draft.chunks, [c.n for c in answer.citations])
        if not stated or any(f.kind != "target" for f in stated):
            return answer, "a result, not only targets"
        why = f"the answer gives only targets ({'、'.join(f.stated for f in stated)}) for a question about a result"
        return answerer._refusal(draft, reason=why), why


class JudgeDoubt:
    """``judge_doubt``: when the answer's lead figure is unsure (doubtful, of another unit kind than the
    level asked, or measuring nothing asked), the model as judge decides on the sentence stating it
    (:meth:`Answerer._judge_doubt`): a refusal below ``answer_judge_reject`` (``answer_judge_threshold``
    for a doubtful figure), or the quote of a sentence it is surer of by ``answer_judge_margin`` (above
    ``answer_judge_floor``/``answer_judge_threshold``). Settings: ``answer_judge`` (false: never asked)
    and those thresholds. Needs the model; does nothing without one."""

    name = "judge_doubt"

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]:
        judged = answerer._judge_doubt(draft, answer)
        if judged is answer:
            return answer, "kept (no unsure lead figure, or the judge did not reject it)"
        if judged.refused:
            return judged, judged.reason or "the judge rejected the lead figure"
        return judged, "the judge was surer of another report sentence: quoted"


class FallBack:
    """``fall_back``: when the answer is a refusal although a passage of the asked place and time states
    the answer, quote it (:meth:`Answerer._fall_back`): the draft's sure quote, a sentence whose figure
    has the unit kind asked, or the sentence the judge is sure of. Settings: ``answer_judge``,
    ``answer_judge_threshold``, ``answer_judge_floor``, ``answer_judge_margin`` (the judged quote)."""

    name = "fall_back"

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]:
        if not answer.refused:
            return answer, "not a refusal"
        quoted = answerer._fall_back(draft, answer)
        if quoted is answer:
            return answer, "no passage to quote"
        return quoted, "the refusal replaced by a quote of the report"


class Compose:
    """``compose``: a model answer that states figures is worded from them, as a quote is — one line
    composed from what each figure measures as the cited sentence stating it names it (its year, place,
    kind and bound: :func:`rag.answering.compose.lead_line`), then those sentences as its evidence. The
    model chose the figures; its wording (fragments such as 「6.6%[1]。依据[2]」) does not reach the
    user. Kept as the model worded it: an answer with no figure (a policy, a list), one marked
    unsupported or doubtful, or one with a figure no cited sentence describes for one year. Settings:
    none."""

    name = "compose"

    def run(self, answerer: Answerer, draft: Draft, answer: Answer) -> tuple[Answer, str]:
        if answer.refused or answer.mode != "model" or answer.unsupported_numbers or answer.doubtful_numbers:
            return answer, "not a checked model answer"
        given = [f for f in figures(answer.answer) if f.unit]
        stated = figures_of_answer(answer.answer, draft.chunks, [c.n for c in answer.citations])
        if not given:
            return answer, "kept the model's wording: it states no figure"
        if len(stated) < len(given) or any(f.span or not f.measures for f in stated):
            return answer, "kept the model's wording: a figure no cited sentence describes for one year"
        text = f"{lead_line(stated, draft.sides)}\n{EVIDENCE_LABEL}{evidence(stated)}"
        return replace(answer, answer=text, figures=[f.to_dict() for f in stated]), "worded from its figures"


#: The steps after the model, in the order they run (their names: ``config.ANSWER_STEP_NAMES``).
ANSWER_STEPS: tuple[AnswerStep, ...] = (Verify(), CompareCheck(), TargetCheck(), JudgeDoubt(), FallBack(), Compose())


def _shown(answer: Answer) -> tuple[object, ...]:
    """What a reader sees of an answer: a step that changes any of it changed the answer."""
    return (answer.answer, answer.refused, answer.mode, answer.unsupported_numbers, answer.doubtful_numbers)


@dataclass
class _Released:
    """How much of the model's text was checked and shown: ``upto`` characters of the raw text,
    shown as ``text``; ``stopped`` after a sentence failed."""

    text: str = ""
    upto: int = 0
    stopped: bool = False


#: The end of a sentence (or clause ending in ；) once the next character is seen and is not a
#: citation that belongs to it (「…亿元。[1]」).
_SENTENCE_END_RE = re.compile(r"[。！？；!?\n](?=[^\[\s])")


def _complete_sentences_end(text: str) -> int:
    """Where the model's complete sentences end in ``text`` (0 when none is complete yet)."""
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(text)]
    return ends[-1] if ends else 0


def _clean(answer: Answer) -> bool:
    """An answer of the model that passed every check: nothing refused, marked or degraded."""
    return answer.mode == "model" and not (
        answer.refused or answer.degraded or answer.unsupported_numbers or answer.doubtful_numbers
    )


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)


def _if_changed(draft: Draft) -> str | None:
    return draft.standalone if draft.standalone != draft.question else None


def _without_verdict(comparison: Comparison) -> str:
    """Both sides' figures without the computed verdict (the question asked for both, not which is more)."""
    return comparison.text.split("；", 1)[0].rstrip("。") + "。"


def _bare(figure: Figure) -> StatedFigure:
    """A figure of the model's text as the figure model holds it (what it measures is not read here)."""
    return StatedFigure(figure.number, figure.unit, "", None, None, None, "actual", None, "")


#: A sentence with its end mark and the citations right after it.
_PIECE_RE = re.compile(r"[^。！？!?\n]+[。！？!?\n]*(?:\[\d+(?:[,，]\s*\d+)*\])*")


def sentence_pieces(text: str) -> list[str]:
    """``text`` in sentences, each with its end mark and citations (joined, they are ``text``)."""
    return _PIECE_RE.findall(text) or [text]
