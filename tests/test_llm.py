"""LLM clients without a model: backend choice, and the failures a real network produces
(a server that never answers, a closed port, a missing model file)."""

from __future__ import annotations

import time

import pytest

from rag.answering.answer import EXTRACTIVE_PREFIX, Answerer
from rag.core.errors import LLMError
from rag.llm.clients import LocalClient, LocalServer, OpenAIClient, free_port, make_llm
from tests.conftest import model_mode

MESSAGES = [{"role": "user", "content": "你好"}]


def test_backend_is_chosen_by_settings(make_settings):
    assert make_llm(make_settings(llm_backend="none")) is None
    local = make_llm(make_settings(llm_backend="local"))
    assert isinstance(local, LocalClient) and local.backend == "local"
    remote = make_llm(
        make_settings(llm_backend="openai", llm_base_url="http://127.0.0.1:1/v1", llm_model="qwen-plus",
                      llm_extra_body={"enable_thinking": False})
    )
    assert isinstance(remote, OpenAIClient) and remote.model == "qwen-plus"
    assert remote.extra_body == {"enable_thinking": False}


def test_timeout_becomes_llm_error(silent_server):
    llm = OpenAIClient(base_url=silent_server, api_key=None, model="m", timeout=0.5, max_retries=0)
    with pytest.raises(LLMError, match="timed out"):
        llm.complete(MESSAGES)
    with pytest.raises(LLMError, match="timed out"):
        list(llm.stream(MESSAGES))


def test_unreachable_server_becomes_llm_error():
    llm = OpenAIClient(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=None, model="m", max_retries=0)
    with pytest.raises(LLMError, match="unreachable"):
        llm.complete(MESSAGES)
    assert llm.reachable() is False


def test_slow_model_degrades_to_extractive_answer_in_bounded_time(retriever, silent_server):
    llm = OpenAIClient(base_url=silent_server, api_key=None, model="m", timeout=1.0, max_retries=0)
    answer = Answerer(retriever, llm, model_mode(retriever)).ask("2023年太仓市一般公共预算收入是多少？")
    assert answer.degraded and answer.answer.startswith(EXTRACTIVE_PREFIX) and "189.4亿元" in answer.answer
    assert answer.timings["total_ms"] < 10_000


def test_local_server_without_model_file_says_how_to_fix(make_settings, tmp_path):
    server = LocalServer(make_settings(local_model_path=tmp_path / "missing.gguf"))
    with pytest.raises(LLMError, match="make setup"):
        server.ensure()


def test_local_client_attaches_to_a_running_server_without_starting_one(make_settings):
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = LocalClient(make_settings(local_url=url))
    assert llm.server.ensure() == url and llm.server._process is None
    assert llm.reachable() is False  # nothing listens there


def _logprobs_reply(*tokens: tuple[str, float]) -> dict:
    top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in tokens]
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": tokens[0][0]},
                     "logprobs": {"content": [{**top[0], "top_logprobs": top}]}}],
    }  # fmt: skip


def _served(reply: dict, status: int = 200) -> tuple[OpenAIClient, list[dict]]:
    """A client whose HTTP requests get ``reply`` (what a real server sends), and the bodies it sent."""
    import json

    import httpx
    import openai

    sent: list[dict] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(status, json=reply)

    llm = OpenAIClient(base_url="http://model.test/v1", api_key=None, model="m", max_retries=0)
    llm._client = openai.OpenAI(base_url="http://model.test/v1", api_key="x", max_retries=0,
                                http_client=httpx.Client(transport=httpx.MockTransport(handle)))  # fmt: skip
    return llm, sent


def test_yes_probability_weighs_yes_against_no_among_the_likeliest_first_tokens():
    import math

    llm, sent = _served(_logprobs_reply(("是", math.log(0.6)), (" 是", math.log(0.1)), ("否", math.log(0.2)), ("不", math.log(0.1))))
    assert llm.yes_probability(MESSAGES) == pytest.approx(0.7 / 0.9)
    assert sent[0]["logprobs"] is True and sent[0]["max_tokens"] == 1 and sent[0]["top_logprobs"] >= 2
    neither, _ = _served(_logprobs_reply(("好", 0.0)))
    assert neither.yes_probability(MESSAGES) is None


def test_a_server_without_log_probabilities_gives_no_judgement_instead_of_an_error():
    # what llama_cpp.server answers when started with --logits_all false
    error = {"error": {"message": "logprobs is not supported for models created with logits_all=False",
                       "type": "internal_server_error", "param": None, "code": None}}  # fmt: skip
    llm, _ = _served(error, status=500)
    assert llm.yes_probability(MESSAGES) is None


def test_a_model_that_dies_while_answering_gives_a_degraded_answer_in_bounded_time(retriever, dying_server):
    llm = OpenAIClient(base_url=dying_server, api_key=None, model="m", timeout=30, max_retries=0)
    with pytest.raises(LLMError):
        list(llm.stream(MESSAGES))
    started = time.monotonic()
    events = list(Answerer(retriever, llm, model_mode(retriever)).stream("2023年太仓市一般公共预算收入是多少？"))
    assert time.monotonic() - started < 10
    assert [e.kind for e in events][0] == "sources" and events[-1].kind == "done"
    answer = events[-1].data
    assert answer.degraded and answer.mode == "degraded" and answer.answer.startswith(EXTRACTIVE_PREFIX)
    assert "189.4亿元" in answer.answer and answer.citations
