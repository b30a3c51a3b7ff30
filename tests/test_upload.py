"""Reports added while the service runs: POST /api/documents, GET /api/jobs/{id}, DELETE /api/documents/{id}.

Each test serves a corpus of one tiny made-up seed report (江阴市) from its own index, uploads another
tiny made-up report (宜兴市) and waits for the ingest job by polling its status. Both reports are
TEST FIXTURES: real place names (so the gazetteer knows them), invented speakers and figures.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.indexing.ingest import index_is_current, ingest
from rag.retrieval.retrieve import Retriever
from service.app import create_app
from service.engine import Engine, ServedAnswerer
from service.uploads import corpus_files
from tests.conftest import wait_until

ADMIN_KEY = "sk-admin-test-key"
API_KEY = "sk-api-test-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
API = {"Authorization": f"Bearer {API_KEY}"}

# TEST FIXTURE: a made-up report of a real county-level city; every figure is invented.
SEED = """政府工作报告

——2024年1月8日在江阴市第十八届人民代表大会第四次会议上

市长  王明

各位代表：
现在，我代表江阴市人民政府，向大会报告工作，请予审议，并请市政协委员和其他列席人员提出意见。

2023年政府工作回顾

过去一年，全市地区生产总值增长6.1%；完成一般公共预算收入271.5亿元，同比增长5.2%。新增高标准农田1.2万亩，城镇新增就业2.3万人。

2024年主要任务

今年经济社会发展的主要预期目标是：地区生产总值增长5.5%左右，一般公共预算收入增长4%。

（测试数据：本报告为测试用虚构文本，人名和数字均为虚构。）
"""

# TEST FIXTURE: another made-up report; 143.6亿元 is what the tests look for once it is uploaded.
UPLOAD = """政府工作报告

——2024年1月10日在宜兴市第十八届人民代表大会第三次会议上

市长  李华

各位代表：
现在，我代表宜兴市人民政府，向大会报告工作，请予审议，并请市政协委员和其他列席人员提出意见。

2023年政府工作回顾

过去一年，全市地区生产总值增长5.8%；完成一般公共预算收入143.6亿元，同比增长4.9%，其中税收收入118.2亿元。紫砂文化创意产业产值突破100亿元。

2024年主要任务

今年的主要预期目标是：地区生产总值增长5%以上，一般公共预算收入增长3%。

（测试数据：本报告为测试用虚构文本，人名和数字均为虚构。）
"""
FIGURE = "143.6亿元"
QUESTION = "2023年宜兴市一般公共预算收入是多少？"
SEED_QUESTION = "2023年江阴市一般公共预算收入是多少？"


@pytest.fixture
def settings(make_settings, tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "jiangyin_2024.txt").write_text(SEED, encoding="utf-8")
    return make_settings(
        seeds_dir=seeds,
        uploads_dir=tmp_path / "uploads",
        admin_keys=[ADMIN_KEY],
        api_keys=[API_KEY],
        rate_limit="",
        warm_up=False,
        llm_backend="none",
        answer_mode="quote-first",
    )


@pytest.fixture
def engine(settings, embedder) -> Engine:
    result = ingest(None, settings, embedder=embedder)
    return Engine(settings, Retriever(result.index, embedder, settings), None)


def serve(engine: Engine, **overrides: object) -> TestClient:
    settings = engine.settings.model_copy(update=overrides)
    return TestClient(create_app(settings, engine=engine))


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with serve(engine) as client:
        yield client


def upload(client: TestClient, *files: tuple[str, bytes], replace: bool | None = None, headers: dict[str, str] = ADMIN):
    data = {} if replace is None else {"replace": "true" if replace else "false"}
    return client.post("/api/documents", files=[("files", f) for f in files], data=data, headers=headers)


def finished(client: TestClient, job: str, timeout: float = 180.0) -> dict:
    """Poll the job until it is done or failed (short waits between polls; a generous deadline)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        body = client.get(f"/api/jobs/{job}", headers=ADMIN).json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, f"job {job} still {body['status']} after {timeout:.0f}s"
        pause.wait(0.05)


def documents(client: TestClient) -> list[dict]:
    return client.get("/api/documents", headers=API).json()["documents"]


# --- the whole way: upload, job, served --------------------------------------------------------------


def test_an_uploaded_report_is_answered_without_a_restart_and_the_same_bytes_again_are_a_no_op(client, engine, settings):
    before = engine.generation
    refused = client.post("/api/ask", json={"question": QUESTION}, headers=API).json()
    assert refused["refused"] and FIGURE not in refused["answer"]

    response = upload(client, ("宜兴市2024年政府工作报告.txt", UPLOAD.encode()))
    assert response.status_code == 202
    accepted = response.json()
    [doc] = accepted["documents"]
    assert doc["format"] == "text" and doc["name"] == "宜兴市2024年政府工作报告.txt" and len(doc["sha256"]) == 64
    assert doc["id"] == doc["sha256"] and accepted["status"] in ("queued", "parsing", "embedding", "done")

    job = finished(client, accepted["job"])
    assert job["status"] == "done" and job["progress"] == 1.0 and job["reason"] is None
    assert job["generation"] == engine.generation != before
    assert job["documents"][0]["region"] == "宜兴市" and job["documents"][0]["year"] == 2024

    hits = client.post("/api/search", json={"query": "一般公共预算收入", "region": "宜兴市"}, headers=API).json()["hits"]
    assert hits and FIGURE in hits[0]["text"]
    answer = client.post("/api/ask", json={"question": QUESTION}, headers=API).json()
    assert not answer["refused"] and FIGURE in answer["answer"]
    assert "271.5亿元" in client.post("/api/ask", json={"question": SEED_QUESTION}, headers=API).json()["answer"]

    listed = {d["id"]: d for d in documents(client)}
    new = listed[doc["id"]]
    assert {"id", "region", "year", "title", "format", "chunks"} <= set(new) and "path" not in new and "sha256" not in new
    assert new["region"] == "宜兴市" and new["year"] == 2024 and new["chunks"] >= 1 and new["format"] == "text"
    assert new["name"] == "宜兴市2024年政府工作报告.txt" and new["origin"] == "upload"
    assert listed["jiangyin_2024"]["origin"] == "seed" and listed["jiangyin_2024"]["format"] == "text"

    stored = settings.uploads_dir / f"{doc['sha256']}.txt"
    assert stored.read_bytes() == UPLOAD.encode()
    assert json.loads((settings.uploads_dir / f"{doc['sha256']}.json").read_text(encoding="utf-8"))["name"] == doc["name"]

    # `rag ingest --if-needed` (make run) takes the same corpus: the served index is current for it
    assert index_is_current(corpus_files(settings), settings)

    generation = engine.generation
    again = upload(client, ("another-name.txt", UPLOAD.encode()))
    assert again.status_code == 202
    same = again.json()
    assert same["status"] == "done" and same["unchanged"] and same["documents"][0]["unchanged"]
    assert finished(client, same["job"])["generation"] == generation == engine.generation
    assert len(documents(client)) == 2


def test_replace_removes_the_older_report_of_the_region_and_year_and_delete_removes_a_document(client, engine, settings):
    first = finished(client, upload(client, ("a.txt", UPLOAD.encode())).json()["job"])
    assert first["status"] == "done"
    second_text = UPLOAD.replace("143.6亿元", "150.2亿元")
    second = finished(client, upload(client, ("b.txt", second_text.encode())).json()["job"])
    assert second["status"] == "done" and second["removed"] == []
    yixing = [d for d in documents(client) if d["region"] == "宜兴市"]
    assert len(yixing) == 2  # kept beside the first without replace

    third_text = UPLOAD.replace("143.6亿元", "160.0亿元")
    third = finished(client, upload(client, ("c.md", third_text.encode()), replace=True).json()["job"])
    assert third["status"] == "done" and sorted(third["removed"]) == sorted(d["id"] for d in yixing)
    [kept] = [d for d in documents(client) if d["region"] == "宜兴市"]
    assert kept["name"] == "c.md" and kept["id"] == third["documents"][0]["id"]
    assert sorted(p.name for p in settings.uploads_dir.glob("*.md")) == [f"{kept['id']}.md"]
    assert not list(settings.uploads_dir.glob("*.txt"))  # the replaced uploads' files are gone

    # a seed can be taken out too (its file stays; the corpus leaves it out)
    seed = finished(client, client.delete("/api/documents/jiangyin_2024", headers=ADMIN).json()["job"])
    assert seed["status"] == "done" and seed["removed"] == ["jiangyin_2024"]
    assert [d["id"] for d in documents(client)] == [kept["id"]]
    assert (settings.seeds_dir / "jiangyin_2024.txt").is_file()

    conflict = client.delete(f"/api/documents/{kept['id']}", headers=ADMIN)
    assert conflict.status_code == 409 and conflict.json()["error"]["type"] == "conflict_error"
    missing = client.delete("/api/documents/no-such-report", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404

    # after a restart (the engine loaded from disk) the corpus is the same
    restarted = Engine.load(settings)
    assert [s["source"] for s in restarted.retriever.index.sources] == [f"{kept['id']}.md"]
    assert restarted.generation == engine.generation


# --- who may upload ------------------------------------------------------------------------------


def test_uploads_need_an_admin_key(client, engine):
    body = ("x.txt", UPLOAD.encode())
    missing = upload(client, body, headers={})
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert upload(client, body, headers={"Authorization": "Bearer made-up"}).status_code == 401
    api_key = upload(client, body, headers=API)
    assert api_key.status_code == 403 and api_key.json()["error"]["type"] == "permission_error"
    assert client.get("/api/jobs/" + "0" * 32, headers=API).status_code == 403
    assert client.delete("/api/documents/jiangyin_2024", headers={}).status_code == 401
    assert client.get("/api/jobs/" + "0" * 32, headers=ADMIN).status_code == 404
    # an admin key also reads and asks like an API key
    assert client.get("/api/documents", headers=ADMIN).status_code == 200
    assert client.post("/api/search", json={"query": "一般公共预算收入"}, headers=ADMIN).status_code == 200

    with serve(engine, admin_keys=[]) as closed:
        disabled = upload(closed, body)
        assert disabled.status_code == 403 and "RAG_ADMIN_KEYS" in disabled.json()["error"]["message"]
    assert not any(engine.settings.uploads_dir.glob("*.txt"))


# --- what is refused -----------------------------------------------------------------------------


def test_too_big_unreadable_types_and_empty_files_are_refused_and_nothing_is_stored(engine, settings):
    with serve(engine, max_upload_bytes=4096, max_body_bytes=1024) as client:
        big = upload(client, ("big.txt", ("收入" * 2000).encode()))
        assert big.status_code == 413 and big.json()["error"]["type"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no content-length: the cap applies while it streams in
            yield b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="s.txt"\r\n\r\n'
            for _ in range(20):
                yield "收入".encode() * 100

        streamed = client.post(
            "/api/documents", content=chunks(), headers={**ADMIN, "content-type": "multipart/form-data; boundary=xyz"}
        )
        assert streamed.status_code == 413

        # under the upload cap but over the JSON body cap: the upload route has its own cap
        small = upload(client, ("g.bin", bytes(range(256)) * 8))
        assert small.status_code == 415 and "g.bin" in small.json()["error"]["message"]
        assert small.json()["error"]["type"] == "unsupported_media_type"
        empty = upload(client, ("empty.txt", b""))
        assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
        assert upload(client, ("blank.txt", b" \n\n  ")).status_code == 422
        mixed = upload(client, ("ok.txt", UPLOAD.encode()), ("bad.bin", b"\x00\x01\x02\xff" * 50))
        assert mixed.status_code == 415  # the whole request is refused: nothing stored
        not_form = client.post("/api/documents", json={"files": []}, headers=ADMIN)
        assert not_form.status_code == 415
        only_replace = b'--xyz\r\nContent-Disposition: form-data; name="replace"\r\n\r\ntrue\r\n--xyz--\r\n'
        no_file = client.post(
            "/api/documents", content=only_replace, headers={**ADMIN, "content-type": "multipart/form-data; boundary=xyz"}
        )
        assert no_file.status_code == 422 and "files" in no_file.json()["error"]["message"]
        bad_flag = upload(client, ("ok.txt", UPLOAD.encode()))  # (a valid one, for contrast below)
        assert bad_flag.status_code == 202
        assert finished(client, bad_flag.json()["job"])["status"] == "done"
        maybe = client.post("/api/documents", files=[("files", ("z.txt", b"x"))], data={"replace": "perhaps"}, headers=ADMIN)
        assert maybe.status_code == 422 and "replace" in maybe.json()["error"]["message"]
    stored = [p.name for p in settings.uploads_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
    assert sorted(stored) == sorted(["corpus.json", *(f"{sha}{ext}" for sha in _accepted(settings) for ext in (".txt", ".json"))])
    assert not any((settings.uploads_dir / ".incoming").iterdir())


def _accepted(settings) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        name.split(".")[0] for name in json.loads((settings.uploads_dir / "corpus.json").read_text(encoding="utf-8"))["uploads"]
    ]


def test_a_name_with_a_path_is_sanitised(client, settings, tmp_path):
    # raw, since clients percent-encode control characters themselves
    head = 'Content-Disposition: form-data; name="files"; filename="../../escape\x07\u202e.txt"'.encode()
    body = b"--xyz\r\n" + head + b"\r\n\r\n" + UPLOAD.encode() + b"\r\n--xyz--\r\n"
    response = client.post("/api/documents", content=body, headers={**ADMIN, "content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 202
    [doc] = response.json()["documents"]
    assert doc["name"] == "escape.txt"
    assert finished(client, response.json()["job"])["status"] == "done"
    assert not list(tmp_path.parent.glob("escape*")) and not list(tmp_path.glob("escape*"))
    assert (settings.uploads_dir / f"{doc['sha256']}.txt").is_file()
    windows = upload(client, ("C:\\Users\\x\\..\\report.md", UPLOAD.replace("5.8%", "5.9%").encode()))
    assert windows.json()["documents"][0]["name"] == "report.md"
    finished(client, windows.json()["job"])


def test_a_file_accepted_and_then_unreadable_fails_its_job_and_the_index_stays(client, engine, settings):
    generation, before = engine.generation, documents(client)
    watermark_only = "更多数据尽在某某数据网\n更多数据尽在某某数据网\n".encode()  # text, but nothing left once cleaned
    response = upload(client, ("水印.txt", watermark_only))
    assert response.status_code == 202
    job = finished(client, response.json()["job"])
    assert job["status"] == "failed" and job["reason"] and "水印.txt" in job["reason"]
    assert str(settings.uploads_dir) not in job["reason"] and job["generation"] is None
    assert engine.generation == generation and documents(client) == before
    assert not list(settings.uploads_dir.glob("*.txt"))  # its stored file is removed again


# --- swapping generations under load -------------------------------------------------------------


def test_questions_asked_during_a_swap_all_succeed_each_from_one_generation(client, engine, monkeypatch):
    before = engine.generation
    made_by: dict[int, str] = {}
    mixed: list[tuple[str, str]] = []
    held = threading.Event()
    draft, events = ServedAnswerer.draft, ServedAnswerer.events

    def spy_draft(self, question, history=None):  # type: ignore[no-untyped-def]
        made = draft(self, question, history)
        made_by[id(made)] = self.generation
        if self.generation == before and not held.is_set():  # one question drafted before the swap
            held.set()  # finishes after it
            wait_until(lambda: engine.generation != before, timeout=180, what="the swap")
        return made

    def spy_events(self, made):  # type: ignore[no-untyped-def]
        if made_by.get(id(made)) != self.generation:
            mixed.append((made_by.get(id(made), "?"), self.generation))
        yield from events(self, made)

    monkeypatch.setattr(ServedAnswerer, "draft", spy_draft)
    monkeypatch.setattr(ServedAnswerer, "events", spy_events)
    stop = threading.Event()
    results: list[tuple[int, str]] = []

    def ask() -> None:
        while not stop.is_set():
            for body in ({"question": SEED_QUESTION}, {"question": SEED_QUESTION, "stream": True}):
                response = client.post("/api/ask", json=body, headers=API)
                results.append((response.status_code, response.text))
            stop.wait(0.005)

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for asker in askers:
        asker.start()
    try:
        wait_until(held.is_set, what="a question drafted before the upload")
        job = finished(client, upload(client, ("y.txt", UPLOAD.encode())).json()["job"])
        served_after = len(results)
        wait_until(lambda: len(results) >= served_after + 4, what="questions after the swap")
    finally:
        stop.set()
        for asker in askers:
            asker.join(timeout=60)
    assert job["status"] == "done" and engine.generation != before
    assert results and all(status == 200 for status, _ in results)
    assert all("271.5亿元" in text for _, text in results)
    assert set(made_by.values()) == {before, engine.generation}  # drafted before and after the swap
    assert mixed == []  # each finished by the generation that drafted it


def test_a_swap_starts_a_fresh_answer_cache(settings, embedder, tmp_path):
    cached = settings.model_copy(update={"answer_cache": True, "answer_cache_path": tmp_path / "answers.sqlite"})
    result = ingest(None, cached, embedder=embedder)
    engine = Engine(cached, Retriever(result.index, embedder, cached), None)
    with serve(engine) as client:
        ask = lambda: client.post("/api/ask", json={"question": SEED_QUESTION}, headers=API).json()  # noqa: E731
        assert not ask()["cached"] and ask()["cached"]
        assert finished(client, upload(client, ("y.txt", UPLOAD.encode())).json()["job"])["status"] == "done"
        fresh = ask()
        assert not fresh["cached"] and "271.5亿元" in fresh["answer"] and ask()["cached"]


def test_a_draft_is_finished_by_the_generation_that_made_it(engine, embedder, settings):
    old = engine.answerer
    draft = old.draft(SEED_QUESTION)
    result = ingest(None, settings, embedder=embedder)
    engine.swap(Retriever(result.index, embedder, settings))
    assert engine.answerer is not old and engine.generation == result.index.path.name  # type: ignore[union-attr]
    answer = [e for e in engine.events(draft) if e.kind == "done"][0].data
    assert "271.5亿元" in answer.answer  # type: ignore[attr-defined]
    assert engine._drafts.owner(draft) is old


# --- restarts --------------------------------------------------------------------------------------


def test_after_a_restart_a_job_that_was_running_reads_failed_and_its_files_go(engine, settings):
    with serve(engine) as client:  # a first life of the service, ended with nothing running
        assert client.get("/api/jobs/" + "a" * 32, headers=ADMIN).status_code == 404
    jobs = settings.uploads_dir / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    stray = settings.uploads_dir / ("b" * 64 + ".txt")
    stray.write_text(UPLOAD, encoding="utf-8")
    job = {"id": "c" * 32, "kind": "upload", "status": "embedding", "progress": 0.4, "files": [stray.name],
           "documents": [{"id": "b" * 64, "name": "y.txt", "sha256": "b" * 64, "format": "text"}]}  # fmt: skip
    (jobs / f"{job['id']}.json").write_text(json.dumps(job), encoding="utf-8")

    with serve(engine) as client:  # the next start
        after = client.get(f"/api/jobs/{job['id']}", headers=ADMIN).json()
    assert after["status"] == "failed" and after["reason"] == "interrupted by a restart"
    assert after["documents"][0]["name"] == "y.txt"
    assert not stray.exists()  # stored but never committed: removed
    assert json.loads((jobs / f"{job['id']}.json").read_text(encoding="utf-8"))["status"] == "failed"


# --- the OpenAPI document --------------------------------------------------------------------------


def test_openapi_documents_the_upload_routes_with_the_error_envelope(client):
    paths = client.get("/openapi.json").json()["paths"]
    post = paths["/api/documents"]["post"]
    assert {"202", "401", "403", "413", "415", "422", "429"} <= set(post["responses"])
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert post["responses"]["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert {"200", "401", "403", "404"} <= set(paths["/api/jobs/{job_id}"]["get"]["responses"])
    assert {"202", "401", "403", "404", "409"} <= set(paths["/api/documents/{doc_id}"]["delete"]["responses"])
    assert {"202", "401", "403", "404", "422"} <= set(paths["/api/documents/{doc_id}/reindex"]["post"]["responses"])
    assert {"202", "401", "403"} <= set(paths["/api/reindex"]["post"]["responses"])
    assert {"200", "401", "403", "422"} <= set(paths["/api/jobs"]["get"]["responses"])
    assert "get" in paths["/api/documents"]  # the listing stays where it was


def test_fuzzed_requests_to_the_upload_routes_get_documented_answers(engine):
    """schemathesis over the upload routes with an admin key (tests/test_schema_fuzz.py fuzzes every
    route, where uploads are disabled): random multipart bodies, ids and flags."""
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    app = create_app(engine.settings, engine=engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.headers = ADMIN
    schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "404", "409", "413", "415", "422"]
    changes = ("/api/jobs", "/api/documents/", "/api/reindex", "/api/admin/reports")  # and the library's routes
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith(changes)]
    operations += [r.ok() for r in schema.get_all_operations() if r.ok().path == "/api/documents" and r.ok().method == "post"]
    assert len(operations) == 7
    for operation in operations:

        @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=ADMIN)

        check()
    assert app.state.jobs.wait_idle(180)
    app.state.jobs.close()
