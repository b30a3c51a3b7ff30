"""Language-model clients behind one small interface, chosen by ``settings.llm_backend``.

- ``openai``: any OpenAI-compatible server (OpenAI, DeepSeek, DashScope, vLLM, Ollama, llama.cpp).
- ``local``: the bundled Qwen2.5 GGUF served by ``llama_cpp.server`` on a loopback port, started on
  first use (or attached to when ``RAG_LOCAL_URL`` names one already running) and stopped on exit;
  it is then spoken to through the same OpenAI-compatible path.
- ``none``: no model; :func:`make_llm` returns ``None`` and answers are extractive.
"""

from __future__ import annotations

import atexit
import logging
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from rag.core import child
from rag.core.config import Settings
from rag.core.errors import LLMError

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]

#: The words of a 是/否 judgement, and how many of the likeliest first tokens are looked at for them.
YES, NO = "是", "否"
YES_NO_TOP = 10


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LLMClient(Protocol):
    """What the answerer needs from a model."""

    backend: str
    model: str

    def complete(self, messages: Messages, *, max_tokens: int | None = None) -> Completion: ...

    def stream(self, messages: Messages, *, max_tokens: int | None = None) -> Iterator[str]: ...

    def yes_probability(self, messages: Messages) -> float | None: ...

    def reachable(self, timeout: float | None = None) -> bool: ...


class OpenAIClient:
    """Chat completions through the ``openai`` package against any compatible base URL."""

    backend = "openai"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str,
        timeout: float = 60.0,
        max_retries: int = 1,
        max_tokens: int = 256,
        temperature: float = 0.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise LLMError("the openai package is not installed: pip install openai") from exc
        self._openai = openai
        self.model = model
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=max_retries)
        #: What a request can fail with: the client's errors, and httpx's or the SSE parser's when a
        #: streamed body breaks off (those are not OpenAIError).
        self._failures = (openai.OpenAIError, httpx.HTTPError, ValueError)

    def _error(self, exc: Exception) -> LLMError:
        openai = self._openai
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"the language model timed out ({self.base_url})")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"the language model is unreachable ({self.base_url})")
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"the language model answered HTTP {exc.status_code}")
        if isinstance(exc, httpx.HTTPError | ValueError):  # the body broke off (a killed server) or is no SSE
            return LLMError(f"the language model's answer broke off ({type(exc).__name__}: {exc})")
        return LLMError(f"language model error: {exc}")

    def complete(self, messages: Messages, *, max_tokens: int | None = None) -> Completion:
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens or self.max_tokens,
                temperature=self.temperature,
                extra_body=self.extra_body or None,
            )
        except self._failures as exc:
            raise self._error(exc) from None
        if not response.choices:
            raise LLMError("the language model returned no choices")
        usage = response.usage
        return Completion(
            response.choices[0].message.content or "",
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
        )

    def stream(self, messages: Messages, *, max_tokens: int | None = None) -> Iterator[str]:
        try:
            events = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens or self.max_tokens,
                temperature=self.temperature,
                extra_body=self.extra_body or None,
                stream=True,
            )
            for event in events:
                if event.choices and event.choices[0].delta.content:  # type: ignore[union-attr]
                    yield event.choices[0].delta.content  # type: ignore[union-attr]
        except self._failures as exc:
            raise self._error(exc) from None

    def yes_probability(self, messages: Messages) -> float | None:
        """How sure the model is that the answer to a 是/否 question is 是: P(是) / (P(是) + P(否)) of its
        first token, from the server's log-probabilities; ``None`` when the server gives none or
        neither word is among its likeliest tokens."""
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=YES_NO_TOP,
                extra_body=self.extra_body or None,
            )
        except self._openai.APIStatusError as exc:  # e.g. a server started without log-probabilities
            logger.warning("no 是/否 judgement from the language model (HTTP %s)", exc.status_code)
            return None
        except self._failures as exc:
            raise self._error(exc) from None
        choice = response.choices[0] if response.choices else None
        if choice is None or choice.logprobs is None or not choice.logprobs.content:
            return None
        yes = no = 0.0
        for candidate in choice.logprobs.content[0].top_logprobs:
            word = candidate.token.strip()
            if word.startswith(YES):
                yes += math.exp(candidate.logprob)
            elif word.startswith(NO):
                no += math.exp(candidate.logprob)
        return yes / (yes + no) if yes + no > 0 else None

    def reachable(self, timeout: float | None = None) -> bool:
        """Whether the server lists its models (within ``timeout`` seconds, else the client's)."""
        client = self._client if timeout is None else self._client.with_options(timeout=timeout, max_retries=0)
        try:
            client.models.list()
            return True
        except (self._openai.OpenAIError, httpx.HTTPError):
            return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A ``llama_cpp.server`` child process on loopback: started on first use (blocking: there is
    nothing to answer with yet), restarted in the background when it dies (answers meanwhile fall
    back at once instead of waiting for it), stopped at exit — and with us, even on kill -9."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model_path = settings.local_model_path or _default_gguf(settings.cache_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._restarting = threading.Event()
        self.url: str | None = settings.local_url

    def ensure(self) -> str:
        """The server's ``/v1`` base URL, starting the server if it was never started;
        :class:`LLMError` at once while a server that died is being restarted."""
        if self._restarting.is_set():
            raise LLMError("the local model server is restarting")
        with self._lock:
            if self.running:
                assert self.url is not None
                return self.url
            if self.died():
                self.revive()
                raise LLMError("the local model server died; it is being restarted")
            self._start()
            assert self.url is not None
            return self.url

    def revive(self) -> None:
        """When our server died: reap it and start a new one in a background thread (once)."""
        if not self.died() or self._restarting.is_set():
            return
        self._restarting.set()
        logger.warning("the local model server died; restarting it in the background")

        def restart() -> None:
            try:
                with self._lock:
                    if self.died():
                        self._start()
            except LLMError as exc:
                logger.error("the local model server could not be restarted: %s", exc)
            finally:
                self._restarting.clear()

        threading.Thread(target=restart, name="model-restart", daemon=True).start()

    def _start(self) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise LLMError("llama-cpp-python is not installed; run `make setup`") from None
        if not Path(self.model_path).is_file():
            raise LLMError(f"local model {self.model_path} is missing; run `make setup`")
        s = self.settings
        port = s.local_port or free_port()
        log_path = s.cache_dir / "logs" / "llama-server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", "local",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(s.local_ctx),
            "--n_threads", str(s.local_threads),
            "--n_threads_batch", str(s.local_threads),
            "--n_batch", "512",
            # log-probabilities for the answerability judge (LLMClient.yes_probability) need every
            # logit kept: +1.2 GB and about 10% slower prompt reading (docs/benchmarks.md)
            "--logits_all", "true",
        ]  # fmt: skip
        logger.info("starting local model server on port %d (log: %s)", port, log_path)
        with open(log_path, "ab") as log:
            self._process = child.spawn(command, log)  # dies with us, even on kill -9
        atexit.register(self.stop)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + s.local_startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LLMError(f"the local model server exited with code {self._process.returncode}; see {log_path}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    self.url = url
                    logger.info("local model server ready at %s", url)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise LLMError(f"the local model server did not start within {s.local_startup_timeout:.0f}s; see {log_path}")

    def died(self) -> bool:
        """We started a server and it has exited (``poll`` also reaps it: no zombie is left)."""
        process = self._process
        return process is not None and process.poll() is not None

    @property
    def running(self) -> bool:
        """Started by us and alive, or attached to through ``local_url``."""
        return self.url is not None and (self._process is None or self._process.poll() is None)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            child.stop(process)
            self.url = self.settings.local_url


class LocalClient(OpenAIClient):
    """The bundled model: an :class:`OpenAIClient` pointed at a :class:`LocalServer` started on demand."""

    backend = "local"

    def __init__(self, settings: Settings) -> None:
        self.server = LocalServer(settings)
        super().__init__(
            base_url=settings.local_url or "http://127.0.0.1:9/v1",
            api_key=None,
            model="local",
            timeout=settings.llm_timeout,
            max_retries=0,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            extra_body=settings.llm_extra_body,
        )

    def _connect(self) -> None:
        url = self.server.ensure()
        if str(self._client.base_url).rstrip("/") != url.rstrip("/"):
            self._client = self._client.with_options(base_url=url)
            self.base_url = url

    def complete(self, messages: Messages, *, max_tokens: int | None = None) -> Completion:
        self._connect()
        try:
            return super().complete(messages, max_tokens=max_tokens)
        except LLMError:
            self._revive()
            raise

    def stream(self, messages: Messages, *, max_tokens: int | None = None) -> Iterator[str]:
        self._connect()
        try:
            yield from super().stream(messages, max_tokens=max_tokens)
        except LLMError:
            self._revive()
            raise

    def yes_probability(self, messages: Messages) -> float | None:
        self._connect()
        try:
            return super().yes_probability(messages)
        except LLMError:
            self._revive()
            raise

    def _revive(self) -> None:
        """After a failure: a dead server of ours is restarted in the background (this answer is
        already falling back; a later one finds the model up again)."""
        self.server.revive()

    def reachable(self, timeout: float | None = None) -> bool:
        """Whether the server answers now; never starts one (health checks must stay cheap)."""
        if not self.server.running:
            return False
        try:
            self._connect()
        except LLMError:
            return False
        return super().reachable(timeout)

    def close(self) -> None:
        self.server.stop()


def _default_gguf(cache_dir: Path) -> Path:
    from rag.llm.assets import gguf_path

    return gguf_path(cache_dir)


def make_llm(settings: Settings) -> LLMClient | None:
    """The client ``settings.llm_backend`` asks for (``None`` for ``none``)."""
    if settings.llm_backend == "none":
        return None
    if settings.llm_backend == "local":
        return LocalClient(settings)
    return OpenAIClient(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        model=settings.llm_model,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        extra_body=settings.llm_extra_body,
    )
