"""The HTTP service through FastAPI's TestClient: every endpoint and every error it promises.

Answers that need the model replay one cassette recorded against the real bundled model (the same
question, so the same model request, behind /api/ask, its stream and /v1 in both forms).
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from rag.answering.answer import BUSY_REASON, BUSY_REFUSAL_REASON, EXTRACTIVE_PREFIX, Answer, Citation
from rag.answering.figures import StatedFigure
from rag.answering.series import Row
from rag.llm.clients import OpenAIClient, free_port
from service.app import create_app
from service.engine import Engine
from service.throttle import Busy, GenerationGate
from tests.conftest import wait_until

QUESTION = "2023年太仓市一般公共预算收入是多少？"
KEY = "sk-local-test-key"
ANSWER_CASSETTE = pytest.mark.vcr  # plus default_cassette below
SHARED = pytest.mark.default_cassette("taicang_revenue.yaml")


def make_client(retriever, llm=None, **overrides: object) -> TestClient:
    """A service over the real index; the model answers every question (``answer_mode=model``)
    unless a test asks for quote-first answering."""
    values: dict[str, object] = {"rate_limit": "", "warm_up": False, "answer_mode": "model"}
    values.update(overrides)
    settings = retriever.settings.model_copy(update=values)
    return TestClient(create_app(settings, engine=Engine(settings, retriever, llm)))


def model(url: str, **options: object) -> OpenAIClient:
    values: dict[str, object] = dict(base_url=url, api_key="sk-test-secret", model="local", timeout=120, max_retries=0)
    values.update(options)
    return OpenAIClient(**values)  # type: ignore[arg-type]


def sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body."""
    events, name, data = [], "message", []
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line.strip() and data:
            events.append((name, "\n".join(data)))
            name, data = "message", []
    if data:
        events.append((name, "\n".join(data)))
    return events


@pytest.fixture
def client(retriever) -> TestClient:
    return make_client(retriever)


# --- open endpoints -----------------------------------------------------------------------------


def test_healthz_is_liveness_and_readyz_reports_index_and_model(client):
    for method in ("GET", "HEAD"):
        live = client.request(method, "/healthz")
        assert live.status_code == 200 and live.headers["x-request-id"]
        assert client.request(method, "/readyz").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["index"]["reports"] == 5 and ready["index"]["chunks"] > 300
    assert ready["llm"] == {"backend": "none", "reachable": False}  # no model: extractive answers, ready


def test_a_model_that_never_answers_makes_readyz_503_within_seconds_and_healthz_stays_instant(retriever, silent_server):
    import time

    client = make_client(retriever, model(silent_server, timeout=120))
    started = time.monotonic()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert time.monotonic() - started < 10
    assert ready.status_code == 503 and ready.json()["error"]["type"] == "not_ready"
    assert ready.json()["error"]["llm"]["reachable"] is False


def metric(text: str, name: str, **labels: str) -> float | None:
    """A sample's value from Prometheus' text format."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_metrics_count_requests_answers_by_mode_queue_model_and_index(retriever):
    client = make_client(retriever, answer_mode="quote-first", queue_size=0, llm_concurrency=1)
    assert client.post("/api/ask", json={"question": QUESTION}).json()["mode"] == "quote"
    client.post("/api/ask", json={"question": "2023年南京市一般公共预算收入是多少？"})  # refused: no report covers it
    client.post("/api/search", json={"query": "收入", "k": "x"})  # 422
    text = client.get("/metrics").text
    assert all(line.startswith(("#", "rag_")) for line in text.splitlines() if line.strip())
    assert metric(text, "rag_answers_total", mode="quote") == 1 and metric(text, "rag_answers_total", mode="refused") == 1
    assert metric(text, "rag_http_requests_total", handler="/api/ask", status="200") == 2
    assert metric(text, "rag_http_requests_total", handler="/api/search", status="422") == 1
    assert metric(text, "rag_retrieval_seconds_count") == 2
    assert metric(text, "rag_queue_depth") == 0 and metric(text, "rag_queue_rejections_total") == 0
    assert metric(text, "rag_model_up") == 0  # no model in this service
    assert metric(text, "rag_index_chunks") == len(retriever.index.chunks) and metric(text, "rag_index_reports") == 5


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/search", "/api/documents", "/v1/chat/completions", "/v1/models", "/healthz", "/readyz"} <= set(paths)


# --- /api/search and /api/documents ---------------------------------------------------------------


def test_search_returns_hits_with_their_fields(client):
    response = client.post("/api/search", json={"query": QUESTION, "k": 3})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert len(hits) == 3 and "189.4亿元" in hits[0]["text"] and hits[0]["source"].startswith("001_")
    assert {"chunk_id", "source", "region", "year", "section", "text", "score"} <= set(hits[0])


def test_search_filters_by_region_and_year(client):
    hits = client.post("/api/search", json={"query": "高标准农田", "region": "相城区", "year": 2023}).json()["hits"]
    assert hits and all(h["region"] == "相城区" for h in hits)


def test_documents_lists_the_reports(client):
    docs = client.get("/api/documents").json()["documents"]
    assert len(docs) == 5 and sum(d["chunks"] for d in docs) > 300
    assert {d["region"] for d in docs} >= {"太仓市", "苏州市", "相城区", "玉山镇"}
    assert all("path" not in d and "sha256" not in d for d in docs)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"query": ""}, "query"),
        ({"query": "   "}, "empty"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "收入", "k": 0}, "k"),
        ({"query": "收入", "year": "last"}, "year"),
        ({"query": "收入", "colour": "red"}, "colour"),
        ({}, "query"),
    ],
)
def test_bad_search_input_is_422_with_a_json_error(client, body, fragment):
    response = client.post("/api/search", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and fragment in error["message"]


@pytest.mark.parametrize("content", [b'{"query": ', b"\xff\xfe", b""])
def test_malformed_json_is_400(client, content):
    response = client.post("/api/search", content=content, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422) and response.json()["error"]["type"] == "invalid_request_error"
    if content:
        assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [{"query": "收入", "k": "3"}, {"query": "收入", "year": "2023"}, {"query": "收入", "k": 3.5}, {"query": "收入", "k": True}],
)
def test_numbers_given_as_strings_are_refused_not_coerced(client, body):
    assert client.post("/api/search", json=body).status_code == 422


def test_an_empty_region_means_no_filter(client):
    everywhere = client.post("/api/search", json={"query": "一般公共预算收入", "region": "", "k": 10}).json()
    assert len({hit["region"] for hit in everywhere["hits"]}) > 1


def test_the_length_limit_applies_to_what_the_user_typed_not_the_rewritten_question(client):
    long_turn = "2023年太仓市一般公共预算收入是多少？" + "请详细说明。" * 330  # ~2000 characters
    body = {"question": "那税收呢？", "history": [{"role": "user", "content": long_turn}, {"role": "assistant", "content": "189.4亿元"}]}
    response = client.post("/api/ask", json=body)
    assert response.status_code == 200 and response.json()["citations"]


def test_options_and_head_are_answered(client):
    options = client.options("/api/ask")
    assert options.status_code == 204 and "POST" in options.headers["allow"]
    assert client.head("/healthz").status_code == 200


def test_openapi_documents_the_error_envelope_every_status_and_the_event_stream(client):
    spec = client.get("/openapi.json").json()
    ask = spec["paths"]["/api/ask"]["post"]["responses"]
    assert {"200", "400", "401", "413", "422", "429", "503"} <= set(ask)
    assert set(ask["200"]["content"]) == {"application/json", "text/event-stream"}
    assert ask["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert "text/event-stream" in chat["200"]["content"] and "429" in chat


def series_answer() -> Answer:
    """A series answer as the engine composes it (「清苑区历年地区生产总值」): 2022 is a gap."""
    citations = [
        Citation(n, f"qingyuan-{year}#3", f"qingyuan_{year + 1}.txt", "清苑区", year, "一、回顾", text, f"清苑区{year + 1}年政府工作报告")
        for n, year, text in [(1, 2020, "全区地区生产总值150.1亿元。"), (2, 2021, "全区地区生产总值160.5亿元。"),
                              (3, 2023, "全区地区生产总值176.6亿元。")]
    ]  # fmt: skip
    figures = [
        StatedFigure(value, "亿元", "地区生产总值", "清苑区", "区", year, "actual", n, citations[n - 1].text, citations[n - 1].source)
        for n, year, value in [(1, 2020, "150.1"), (2, 2021, "160.5"), (3, 2023, "176.6")]
    ]  # fmt: skip
    rows = [Row(2020, figures[0]), Row(2021, figures[1]), Row(2022, None), Row(2023, figures[2])]
    text = "清苑区地区生产总值：2020年150.1亿元[1]；2021年160.5亿元[2]；2022年（报告未载）；2023年176.6亿元[3]。"
    return Answer("清苑区历年地区生产总值", text, False, citations, [], "none", mode="quote",
                  figures=[f.to_dict() for f in figures], table=[row.to_dict() for row in rows])  # fmt: skip


def test_openapi_documents_the_answer_its_figures_and_series_table(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    answer = schemas[body["$ref"].rsplit("/", 1)[1]]
    assert answer["additionalProperties"] is True  # fields added later stay valid
    assert {"answer", "refused", "mode", "citations", "figures", "table"} <= set(answer["required"])
    assert set(answer["properties"]["mode"]["enum"]) >= {"quote", "model", "refused", "degraded"}
    figure = schemas[answer["properties"]["figures"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(figure["properties"]) >= {"value", "unit", "text", "measures", "place", "level", "year", "kind",
                                          "qualifier", "span", "citation", "sentence", "source"}  # fmt: skip
    assert figure["properties"]["kind"]["enum"] == ["actual", "target", "estimate"]
    table = answer["properties"]["table"]["anyOf"]
    assert {"type": "null"} in table  # null for an answer that is no series
    row = schemas[next(t for t in table if t.get("type") == "array")["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(row["required"]) >= {"year", "value", "unit", "text", "measures", "kind", "citation", "source"}
    assert {"type": "null"} in row["properties"]["value"]["anyOf"]  # a gap
    # the chat completions keep their own (OpenAI) shape
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]["application/json"]
    assert "$ref" not in chat["schema"]


def test_a_series_answer_matches_the_documented_schema():
    from service.schemas import AskAnswer

    data = series_answer().to_dict()
    parsed = AskAnswer.model_validate(data)
    assert parsed.table and [r.value for r in parsed.table] == ["150.1", "160.5", None, "176.6"]
    assert [f.text for f in parsed.figures] == ["150.1亿元", "160.5亿元", "176.6亿元"]
    assert parsed.model_dump(exclude_unset=True).keys() == data.keys()


def test_every_answer_has_a_confidence_in_the_json_the_stream_and_the_openapi_schema(client):
    from rag.answering.confidence import SIGNALS

    answered = client.post("/api/ask", json={"question": QUESTION}).json()
    refused = client.post("/api/ask", json={"question": "2023年南京市一般公共预算收入是多少？"}).json()
    for body in (answered, refused):
        assert 0.0 <= body["confidence"] <= 1.0 and list(body["signals"]) == list(SIGNALS)
        assert isinstance(body["low_confidence"], bool)
    assert refused["refused"] and refused["signals"]["refused_coverage"] == 1.0 and not refused["low_confidence"]
    with client.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as response:
        done = json.loads(sse(response.read().decode())[-1][1])
    assert done["confidence"] == pytest.approx(answered["confidence"])
    spec = client.get("/openapi.json").json()["components"]["schemas"]["AskAnswer"]["properties"]
    assert {"confidence", "low_confidence", "signals"} <= set(spec)
    assert "calibrated" in spec["confidence"]["description"]


def test_oversized_body_is_413(retriever):
    client = make_client(retriever, max_body_bytes=1024)
    response = client.post("/api/search", json={"query": "收入" * 1000})
    assert response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"


def test_unknown_route_is_a_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == 404


# --- /api/ask ------------------------------------------------------------------------------------


@ANSWER_CASSETTE
@SHARED
def test_ask_answers_with_citations(retriever, llm_url):
    response = make_client(retriever, model(llm_url)).post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert "189.4亿元" in body["answer"] and not body["refused"] and body["backend"] == "openai"
    assert any(c["source"].startswith("001_") for c in body["citations"]) and body["unsupported_numbers"] == []
    assert set(body["timings"]) >= {"retrieve_ms", "first_token_ms", "total_ms"}


@ANSWER_CASSETTE
@SHARED
def test_ask_streams_sources_deltas_and_the_answer(retriever, llm_url):
    client = make_client(retriever, model(llm_url))
    with client.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.read().decode())
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "delta" in names and "replace" not in names
    assert json.loads(events[0][1])[0]["n"] == 1
    streamed = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    done = json.loads(events[-1][1])
    assert "189.4亿元" in streamed and done["answer"] == streamed and done["citations"]


def test_ask_without_a_model_is_extractive(client):
    body = client.post("/api/ask", json={"question": QUESTION}).json()
    assert body["backend"] == "none" and body["answer"].startswith(EXTRACTIVE_PREFIX) and "189.4亿元" in body["answer"]


def test_ask_with_the_model_down_degrades_with_200(retriever):
    client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"))
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert body["degraded"] is True and body["answer"].startswith(EXTRACTIVE_PREFIX) and body["citations"]


def test_a_model_that_dies_while_answering_still_gives_a_degraded_answer_on_every_route(retriever, dying_server):
    client = make_client(retriever, model(dying_server))
    plain = client.post("/api/ask", json={"question": QUESTION})
    assert plain.status_code == 200 and plain.json()["degraded"] is True and "189.4亿元" in plain.json()["answer"]
    with client.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as response:
        events = sse(response.read().decode())
    assert events[0][0] == "sources" and events[-1][0] == "done" and json.loads(events[-1][1])["degraded"] is True
    chat = {"model": "govrag", "messages": [{"role": "user", "content": QUESTION}]}
    body = client.post("/v1/chat/completions", json=chat).json()
    assert body["degraded"] is True and "189.4亿元" in body["choices"][0]["message"]["content"]
    with client.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}) as response:
        chunks = [data for _, data in sse(response.read().decode())]
    assert chunks[-1] == "[DONE]" and json.loads(chunks[-2])["degraded"] is True
    assert json.loads(chunks[-2])["choices"][0]["finish_reason"] == "stop"


def test_ask_about_an_uncovered_place_is_refused_without_the_model(retriever):
    client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"))
    body = client.post("/api/ask", json={"question": "2023年南京市一般公共预算收入是多少？"}).json()
    assert body["refused"] is True and body["degraded"] is False and body["citations"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "x" * 2001},
        {"question": QUESTION, "history": [{"role": "user", "content": "q"}] * 21},
        {"question": QUESTION, "history": [{"role": "system", "content": "q"}]},
        {"question": QUESTION, "history": [{"role": "user"}]},
        {"question": QUESTION, "stream": "maybe"},
        {"question": QUESTION, "stream": "yes"},
        {"question": QUESTION, "stream": 1},
        {"q": QUESTION},
    ],
)
def test_bad_ask_input_is_422(client, body):
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422 and response.json()["error"]["message"]


def test_full_queue_is_503_with_retry_after(retriever):
    engine_client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"), queue_size=0, busy_answer="503")
    gate = engine_client.app.state.engine.gate
    held = gate.admit()  # one generation running, no waiting room
    try:
        response = engine_client.post("/api/ask", json={"question": QUESTION})
        assert response.status_code == 503 and response.headers["retry-after"] == "30"
        assert response.json()["error"]["type"] == "overloaded_error"
        assert engine_client.post("/api/search", json={"query": QUESTION}).status_code == 200  # search never queues
    finally:
        held.close()
    assert gate.admitted == 0
    assert engine_client.post("/api/ask", json={"question": QUESTION}).status_code == 200


def test_queued_requests_run_one_at_a_time(retriever):
    """Two concurrent asks with one slot: the second waits for the first instead of running alongside."""
    client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"), queue_size=2, busy_answer="503")
    gate = client.app.state.engine.gate
    held = gate.admit()
    results: list[int] = []

    def ask() -> None:
        results.append(client.post("/api/ask", json={"question": QUESTION}).status_code)

    with held.running():
        worker = threading.Thread(target=ask)
        worker.start()
        wait_until(lambda: gate.admitted == 2)  # admitted, and waiting behind the held slot
        assert results == []
    worker.join(timeout=60)
    assert results == [200] and gate.admitted == 0


def test_quotes_never_wait_in_the_model_queue(retriever):
    """A full model queue answers 503 only to questions that need the model; a quote goes out at once."""
    client = make_client(
        retriever, model(f"http://127.0.0.1:{free_port()}/v1"), queue_size=0, answer_mode="quote-first", busy_answer="503"
    )
    gate = client.app.state.engine.gate
    held = gate.admit()
    try:
        body = client.post("/api/ask", json={"question": QUESTION}).json()
        assert body["mode"] == "quote" and "189.4亿元" in body["answer"] and body["cached"] is False
        with client.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as response:
            events = sse(response.read().decode())
        assert [name for name, _ in events] == ["sources", "delta", "done"]
        assert json.loads(events[-1][1])["mode"] == "quote"
        needs_model = client.post("/api/ask", json={"question": "太仓2023年在科技创新方面做了哪些工作？"})
        assert needs_model.status_code == 503 and needs_model.headers["retry-after"]
    finally:
        held.close()
    assert gate.admitted == 0


NEEDS_MODEL = "太仓2023年在科技创新方面做了哪些工作？"


def test_a_question_the_busy_model_cannot_take_soon_is_answered_from_the_report(retriever, tmp_path):
    """``RAG_BUSY_ANSWER=excerpt`` (the default): with the model busy for longer than
    ``model_wait_seconds``, a question that needs it is answered at once from the report — the
    extractive answer, marked degraded with the reason, not cached — on every route; no 503."""
    client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"), model_wait_seconds=5.0,
                         answer_cache=True, answer_cache_path=tmp_path / "a.sqlite")  # fmt: skip
    engine = client.app.state.engine
    held = engine.gate.admit()  # one answer running; at the assumed 10 s a newcomer would wait longer than 5 s
    try:
        body = client.post("/api/ask", json={"question": NEEDS_MODEL}).json()
        assert body["mode"] == "degraded" and body["degraded"] and body["reason"] == BUSY_REASON
        assert body["answer"].startswith(EXTRACTIVE_PREFIX) and body["citations"]
        with client.stream("POST", "/api/ask", json={"question": NEEDS_MODEL, "stream": True}) as response:
            events = sse(response.read().decode())
        assert response.status_code == 200 and json.loads(events[-1][1])["reason"] == BUSY_REASON
        # answer_mode=model would have the model word a sure quote: busy, the quote is the answer
        quoted = client.post("/api/ask", json={"question": QUESTION}).json()
        assert quoted["mode"] == "quote" and "189.4亿元" in quoted["answer"] and not quoted["degraded"]
        chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": NEEDS_MODEL}]})
        assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"].startswith(EXTRACTIVE_PREFIX)
        assert engine.gate.shed == 4 and engine.gate.admitted == 1
        cache = engine.answerer.cache
        for asked in (NEEDS_MODEL, QUESTION):
            assert cache.get(cache.key(asked, engine.answerer.generation, engine.answerer.fingerprint)) is None
        # ... never cached: the next time, the model answers
    finally:
        held.close()
    assert engine.gate.admitted == 0
    metrics = client.get("/metrics").text
    assert "rag_answers_shed_total 4.0" in metrics


def test_a_busy_model_does_not_turn_an_unanswerable_question_into_an_answer(retriever):
    """Answered from the report because the model is busy, a question no passage answers is still
    refused (the extractive answer would quote a sentence about another metric), and one a sentence
    of the asked unit kind answers gets that sentence, as the model's fall-back would."""
    client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"), model_wait_seconds=5.0)
    engine = client.app.state.engine
    held = engine.gate.admit()  # one answer running; at the assumed 10 s a newcomer would wait longer than 5 s
    try:
        unanswerable = client.post("/api/ask", json={"question": "相城区2023年城镇居民人均可支配收入是多少？"}).json()
        assert unanswerable["refused"] and unanswerable["degraded"] and unanswerable["reason"] == BUSY_REFUSAL_REASON
        unit = client.post("/api/ask", json={"question": "玉山镇景村村的示范水稻亩产创了多少斤的新高？"}).json()
        assert not unit["refused"] and "1690斤" in unit["answer"] and unit["reason"] == BUSY_REASON
        assert engine.gate.shed == 2
    finally:
        held.close()


def test_a_question_whose_wait_runs_long_is_answered_from_the_report(retriever):
    """Admitted because the model looked nearly free, but the running answer took longer: after
    twice ``model_wait_seconds`` in line the question is answered from the report instead."""
    client = make_client(retriever, model(f"http://127.0.0.1:{free_port()}/v1"), model_wait_seconds=1.0, queue_size=2)
    gate = client.app.state.engine.gate
    gate.answer_seconds = 0.5  # recent answers were quick: a newcomer expects to wait about a second
    held = gate.admit()
    with held.running():  # ... but this one does not finish while the question waits
        body = client.post("/api/ask", json={"question": NEEDS_MODEL}).json()
        assert body["mode"] == "degraded" and body["reason"] == BUSY_REASON and body["citations"]
        assert gate.shed == 1 and gate.admitted == 1
    assert gate.admitted == 0


def test_the_gate_expects_the_wait_from_the_recent_answers_pace():
    gate = GenerationGate(concurrency=1, queue_size=4)
    assert gate.expected_wait() == 0.0
    first = gate.admit()
    assert gate.expected_wait() == gate.assumed_answer_seconds  # one admitted, not started: a whole answer
    with first.running():
        second = gate.admit()
        assert gate.assumed_answer_seconds < gate.expected_wait() <= 2 * gate.assumed_answer_seconds
        with pytest.raises(Busy):
            gate.admit(max_wait=gate.assumed_answer_seconds)
        second.close()
    assert gate.answer_seconds < gate.assumed_answer_seconds  # that answer took no time: the pace moved
    assert gate.admitted == 0 and gate.expected_wait() == 0.0


def test_a_cached_answer_says_so(retriever, tmp_path):
    client = make_client(retriever, None, answer_mode="quote-first", answer_cache=True, answer_cache_path=tmp_path / "a.sqlite")
    first = client.post("/api/ask", json={"question": QUESTION}).json()
    second = client.post("/api/ask", json={"question": QUESTION + " "}).json()
    assert not first["cached"] and second["cached"] and second["answer"] == first["answer"]


# --- keys, CORS, rate limit ----------------------------------------------------------------------


def test_api_keys_protect_api_and_v1_but_not_health(retriever):
    client = make_client(retriever, api_keys=[SecretStr(KEY), SecretStr("another")])
    for method, path, body in [("post", "/api/search", {"query": QUESTION}), ("get", "/v1/models", None), ("get", "/api/documents", None)]:
        missing = client.request(method, path, json=body)
        wrong = client.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
        right = client.request(method, path, json=body, headers={"Authorization": f"Bearer {KEY}"})
        assert missing.status_code == wrong.status_code == 401, path
        assert missing.json()["error"]["type"] == "authentication_error"
        assert right.status_code == 200, path
    assert client.get("/healthz").status_code == 200


def test_cors_allows_listed_origins_only(retriever):
    client = make_client(retriever, cors_origins=["https://portal.example.gov.cn"])
    preflight = client.options(
        "/api/ask",
        headers={"Origin": "https://portal.example.gov.cn", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://portal.example.gov.cn"
    other = client.get("/healthz", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_rate_limit_is_429_with_retry_after(retriever):
    client = make_client(retriever, rate_limit="2/minute")
    codes = [client.post("/api/search", json={"query": "收入"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = client.post("/api/search", json={"query": "收入"})
    assert 1 <= int(limited.headers["retry-after"]) <= 60 and limited.json()["error"]["type"] == "rate_limit_error"
    # without keys configured, a made-up bearer token is no new budget: the address is
    made_up = [{"Authorization": f"Bearer invented-{i}"} for i in range(3)]
    assert [client.post("/api/search", json={"query": "收入"}, headers=h).status_code for h in made_up] == [429] * 3


def test_with_keys_each_valid_key_has_its_own_budget_and_wrong_keys_none(retriever):
    client = make_client(retriever, rate_limit="2/minute", api_keys=[SecretStr(KEY), SecretStr("another")])
    ask = lambda key: client.post("/api/search", json={"query": "收入"}, headers={"Authorization": f"Bearer {key}"}).status_code  # noqa: E731
    assert [ask(KEY) for _ in range(3)] == [200, 200, 429]
    assert ask("another") == 200  # a valid key: its own bucket


def test_failed_authentications_are_limited_per_address(retriever):
    client = make_client(retriever, api_keys=[SecretStr(KEY)], auth_failure_limit="5/minute")
    codes = [client.get("/v1/models", headers={"Authorization": f"Bearer guess-{i}"}).status_code for i in range(60)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    limited = client.get("/v1/models", headers={"Authorization": "Bearer guess-again"})
    assert limited.json()["error"]["type"] == "rate_limit_error" and int(limited.headers["retry-after"]) >= 1
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200  # the key still works


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(retriever):
    # TestClient's peer address is "testclient": not an address, so never a trusted proxy
    client = make_client(retriever, rate_limit="1/minute", trusted_proxies=["10.0.0.0/8"])
    spoofed = [client.post("/api/search", json={"query": "收入"}, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
               for i in range(2)]  # fmt: skip
    assert spoofed == [200, 429]  # an untrusted peer cannot pick its own bucket


def test_client_address_takes_the_first_untrusted_hop_behind_trusted_proxies(make_settings):
    from starlette.requests import Request

    from service.security import client_address

    settings = make_settings(trusted_proxies="10.0.0.0/8,192.168.1.5")
    def request(peer: str, forwarded: str) -> Request:  # noqa: E306
        return Request({"type": "http", "client": (peer, 1234), "headers": [(b"x-forwarded-for", forwarded.encode())]})
    assert client_address(request("10.1.2.3", "198.51.100.7, 192.168.1.5"), settings) == "198.51.100.7"
    assert client_address(request("10.1.2.3", "6.6.6.6, 198.51.100.7"), settings) == "198.51.100.7"  # spoofed left hop ignored
    assert client_address(request("198.51.100.9", "1.2.3.4"), settings) == "198.51.100.9"  # not via a trusted proxy


# --- OpenAI-compatible /v1 -----------------------------------------------------------------------


def test_v1_models_lists_the_engine(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "govrag"


@ANSWER_CASSETTE
@SHARED
def test_v1_chat_completion(retriever, llm_url):
    client = make_client(retriever, model(llm_url))
    messages = [{"role": "system", "content": "你是助手"}, {"role": "user", "content": QUESTION}]
    body = client.post("/v1/chat/completions", json={"model": "govrag", "messages": messages}).json()
    content = body["choices"][0]["message"]["content"]
    assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "stop"
    assert "189.4亿元" in content and "来源：" in content and body["sources"][0]["source"].startswith("001_")


@ANSWER_CASSETTE
@SHARED
def test_v1_chat_completion_stream(retriever, llm_url):
    client = make_client(retriever, model(llm_url))
    with client.stream("POST", "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}], "stream": True}) as response:
        events = sse(response.read().decode())
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "189.4亿元" in text and chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["sources"]


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "assistant", "content": "hi"}], [{"role": "user", "content": ""}], [{"role": "wizard", "content": "x"}]],
)
def test_v1_bad_messages_are_422(client, messages):
    response = client.post("/v1/chat/completions", json={"messages": messages})
    assert response.status_code == 422 and response.json()["error"]["message"]


# --- a real server, the official client ------------------------------------------------------------


@pytest.fixture
def live_server(retriever, serve_app) -> str:
    """uvicorn on a free loopback port, with the extractive engine (no model traffic to replay)."""
    settings = retriever.settings.model_copy(update={"rate_limit": "", "warm_up": False, "api_keys": [SecretStr(KEY)]})
    return serve_app(create_app(settings, engine=Engine(settings, retriever, None)))


def test_official_openai_client_against_the_real_server(live_server):
    import openai

    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list()] == ["govrag"]
    reply = client.chat.completions.create(model="govrag", messages=[{"role": "user", "content": QUESTION}])
    assert "189.4亿元" in reply.choices[0].message.content
    assert reply.model_extra and reply.model_extra["sources"]
    pieces = [
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model="govrag", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        if chunk.choices
    ]
    assert len(pieces) >= 2 and "189.4亿元" in "".join(pieces)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live_server}/v1", api_key="wrong", max_retries=0).models.list()
    assert httpx.get(f"{live_server}/healthz").status_code == 200


def test_twenty_streams_closed_mid_answer_leave_the_queue_empty_and_the_model_free(retriever, serve_app, trickling_server):
    url, finish = trickling_server
    settings = retriever.settings.model_copy(
        update={"rate_limit": "", "warm_up": False, "answer_mode": "model", "llm_concurrency": 1, "queue_size": 30}
    )
    engine = Engine(settings, retriever, model(url, timeout=30))
    base = serve_app(create_app(settings, engine=engine))

    def ask_and_leave() -> None:
        with httpx.stream("POST", f"{base}/api/ask", json={"question": QUESTION, "stream": True}, timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("event: sources"):
                    return  # gone mid-answer: the model is trickling (or the question waits for it)

    clients = [threading.Thread(target=ask_and_leave) for _ in range(20)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=120)
    wait_until(lambda: engine.gate.admitted == 0, timeout=60, what="every queue place to be given back")
    wait_until(engine.gate.idle, timeout=60, what="the abandoned generations to stop")
    finish.set()
    answer = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60).json()
    assert answer["mode"] == "model" and not answer["degraded"] and "189.4亿元" in answer["answer"]
