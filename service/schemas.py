"""Request and response bodies of the JSON API and the OpenAI-compatible API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from rag.answering.answer import MAX_HISTORY_TURNS, Citation, Mode
from rag.answering.figures import Kind
from rag.retrieval.query import MAX_QUERY_CHARS


def _json_integer(value: object) -> object:
    """For integer fields, before validation: no coercion from strings (``"k": "3"`` is refused), a
    JSON integer (``3``, also ``3.0`` as JSON Schema counts it), never a string or a boolean."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer, not a string or boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_QUERY_CHARS * 4)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_json_integer)] | None = None
    #: A region name or alias; empty or absent: every region.
    region: str | None = Field(None, max_length=50)
    year: Annotated[int, Field(ge=1949, le=2100), BeforeValidator(_json_integer)] | None = None

    @field_validator("region")
    @classmethod
    def _empty_is_no_filter(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    stream: StrictBool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    #: A string, or OpenAI content parts (only their text is used).
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI chat completions; sampling options are accepted and ignored (answers are grounded)."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_HISTORY_TURNS * 2 + 2)
    stream: StrictBool = False


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: int


class ErrorBody(BaseModel):
    """Every error the service sends: ``{"error": {"message", "type", "code"}}`` (OpenAI's shape)."""

    error: ErrorDetail


def documented_error(description: str) -> dict[str, Any]:
    """One error status in an OpenAPI ``responses`` table: the envelope and what causes it."""
    return {"model": ErrorBody, "description": description}


#: The errors every /api and /v1 route can send (the OpenAPI document lists them all).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: documented_error("The body is not valid JSON."),
    401: documented_error("`RAG_API_KEYS` is set and the request has no valid `Authorization: Bearer` key."),
    413: documented_error("The body is larger than `RAG_MAX_BODY_BYTES`."),
    422: documented_error("The request does not match its schema, or the question is empty or too long."),
    429: documented_error("Rate limit (per API key, else per address) or too many failed authentications; see `Retry-After`."),
    503: documented_error("The model's queue is full, or no index is loaded; see `Retry-After`."),
}


class AnswerFigure(BaseModel):
    """A figure a cited report sentence states (:class:`rag.answering.figures.StatedFigure`)."""

    model_config = ConfigDict(extra="allow")

    value: str = Field(description="The number as written: 「176.6」.")
    unit: str = Field(description="「亿元」, 「%」 … (empty for a bare count).")
    text: str = Field(description="The figure as written, value and unit: 「176.6亿元」.")
    measures: str = Field(description="What it measures, as the report names it: 「地区生产总值」.")
    place: str | None = Field(description="The place it is of, when the sentence or report names one.")
    level: str | None = Field(description="That place's administrative level (县级市, 区 …).")
    year: int | None = Field(description="The year it describes (a 2024 report reviews 2023).")
    kind: Kind = Field(description="actual, target (a plan) or estimate.")
    qualifier: str = Field("", description="「以上」「左右」「以内」 after it: a bound, not an exact value.")
    span: bool = Field(False, description="It describes several years (「年均」「累计」), not `year` alone.")
    citation: int | None = Field(description="The number of the passage (`citations[].n`) that states it.")
    sentence: str = Field(description="The report sentence that states it.")
    source: str | None = Field(None, description="The report file it is from.")


class SeriesRow(BaseModel):
    """One year of a series answer; ``value`` ``null`` (and the other fields too) for a gap."""

    model_config = ConfigDict(extra="allow")

    year: int
    value: str | None = Field(description="The number as written; null: the library states none for this year.")
    unit: str | None
    text: str | None = Field(description="The figure as written with its bound: 「6%以上」.")
    measures: str | None
    kind: Kind | None
    citation: int | None = Field(description="The passage (`citations[].n`) that states it.")
    source: str | None


class AskAnswer(BaseModel):
    """``/api/ask``'s answer (and the stream's ``done`` event): the object ``rag ask --json`` prints."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="`POST /api/feedback` rates the answer by it.")
    question: str
    answer: str = Field(description="The answer text with `[n]` citation markers.")
    refused: bool = Field(description="The reports do not contain it (the text says so).")
    mode: Mode = Field(
        description="How it was answered: a quoted or composed report sentence (`quote`), the model's "
        "checked wording, a refusal, extractive because the model was unavailable, or about the service."
    )
    citations: list[Citation] = Field(description="The numbered passages the `[n]` markers cite.")
    unsupported_numbers: list[str] = Field(description="Figures the answer states that no cited passage does.")
    doubtful_numbers: list[str] = Field(default_factory=list)
    backend: str
    degraded: bool
    cached: bool = False
    standalone_question: str | None = None
    reason: str | None = None
    figures: list[AnswerFigure] = Field(
        description="The report figures an answer composed from them states (comparisons, series); empty otherwise."
    )
    table: list[SeriesRow] | None = Field(
        description="A series question (「历年」「近五年」): one row per year, in order, a year the library "
        "does not state a gap (`value` null); null for any other answer."
    )
    confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="How sure the engine is that the answer is right (a refusal: that refusing is right), "
        "calibrated on the dev questions: of answers stated at 0.8, about 8 in 10 were right "
        "(reliability diagram in docs/benchmarks.md).",
    )
    low_confidence: bool = Field(
        False,
        description="An answer (not a refusal) whose confidence is below `answer_confidence_low`: the widget "
        "shows its cited passages as 「可能相关的原文」 rather than as an answer.",
    )
    signals: dict[str, float] = Field(
        default_factory=dict, description="The signals the confidence rests on (rag/answering/confidence.py), each 0–1."
    )
    timings: dict[str, Any] = Field(
        default_factory=dict, description="Milliseconds per stage; `step_<name>_ms` for each answer step that ran."
    )
    usage: dict[str, Any] = Field(default_factory=dict, description="The model's token counts, when it was asked.")
    steps: list[dict[str, Any]] = Field(
        default_factory=list,
        description="What each answer step after the model decided (`name`, `changed`, `reason`, `off`); "
        "empty when the model was not asked.",
    )


_EVENT_STREAM = {"text/event-stream": {"schema": {"description": "events sources, delta, replace, done (JSON data)"}}}

#: ``/api/ask``: the answer object, or with ``"stream": true`` server-sent events (``done`` carries it).
ASK_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "model": AskAnswer,
        "description": 'The answer; with `"stream": true` a `text/event-stream` whose `done` event carries it.',
        "content": dict(_EVENT_STREAM),
    }
}

#: ``/v1/chat/completions``: JSON, or with ``"stream": true`` server-sent events.
STREAMING_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'The answer; with `"stream": true` a `text/event-stream`.',
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "`/api/ask`: the answer (answer, refused, citations, mode, timings…); "
                    "`steps` lists what each answer step after the model decided "
                    "(`name`, `changed`, `reason`, `off`; empty when the model was not asked), "
                    "and `timings` has `step_<name>_ms` for each step that ran.",
                }
            },
            "text/event-stream": {"schema": {"description": "events sources, delta, replace, done (JSON data)"}},
        },
    }
}
