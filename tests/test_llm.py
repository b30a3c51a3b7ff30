"""LLM clients without a model: backend choice, and the failures a real network produces
(a server that never answers, a closed port, a missing model file)."""

from __future__ import annotations

import pytest

from tests.conftest import model_mode
from rag.answer import EXTRACTIVE_PREFIX, Answerer
from rag.errors import LLMError
from rag.llm import LocalClient, LocalServer, OpenAIClient, free_port, make_llm

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
