"""The Milvus store against the local one: same results on the gold set, reports added and removed in
place, other processes' changes followed, and a Milvus server that is down or dies reported at once."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from eval.gold import GOLD, load_gold
from eval.retrieval_evaluator import RetrievalEvaluator
from eval.runner import standalone
from rag.core.errors import IndexNotFoundError, StoreError
from rag.indexing.ingest import index_is_current, ingest
from rag.indexing.stores.base import Where
from rag.indexing.stores.milvus import MilvusStore, expression
from rag.retrieval.retrieve import Retriever, open_retriever
from tests.conftest import SEEDS, start_milvus_server

TAICANG_2024, YUSHAN_2020 = SEEDS / "001_b45d8ecc868d26b7.txt", SEEDS / "003_55331ebdb0be2b0e.txt"
XIANGCHENG_2024 = SEEDS / "004_f99c609a9d7be82b.txt"


def gold_metrics(retriever: Retriever) -> dict[str, float]:
    items = load_gold(GOLD)

    def search(item: dict) -> list[tuple[str | None, str]]:
        return [(h.chunk.source, h.chunk.text) for h in retriever.search(standalone(item), k=10).hits]

    return RetrievalEvaluator(items)(search)["metrics"]


@pytest.mark.parametrize("store", ["milvus_lite_retriever", "milvus_server_retriever"])
def test_gold_hit_at_5_within_a_hundredth_of_the_local_store(retriever, request, store: str):
    local = gold_metrics(retriever)
    milvus = gold_metrics(request.getfixturevalue(store))
    assert local["questions"] == milvus["questions"] > 100
    assert abs(milvus["hit@5"] - local["hit@5"]) <= 0.01, (local, milvus)
    assert milvus["hit@5"] >= 0.95


def test_the_store_says_what_the_local_index_says(retriever, milvus_lite_retriever):
    local, milvus = retriever.store, milvus_lite_retriever.store
    assert milvus.size == local.size
    assert [s["source"] for s in milvus.sources] == [s["source"] for s in local.sources]
    assert milvus.covered_years() == local.covered_years()
    assert [c.chunk_id for c in milvus.first_chunks()] == [c.chunk_id for c in local.first_chunks()]
    keys = list(local.dense(retriever.embedder.embed_query("高标准农田"), 5, Where(region="相城区")))
    chunks = local.chunks(keys)
    assert milvus.chunks([c.chunk_id for c in chunks]) == chunks  # every field comes back as written


def test_filters_become_milvus_expressions():
    assert expression(Where()) == ""
    assert expression(Where("太仓市", 2023, plan=True)) == 'region == "太仓市" and year == 2023 and period == "plan"'
    assert expression(Where('a"b', 2023, other_years=True)) == 'region == "a\\"b" and year != 2023'
    assert expression(Where(plan=False)) == 'period != "plan"'


def test_reports_are_added_and_removed_in_place(make_settings, embedder, tmp_path):
    settings = make_settings(store="milvus", milvus_uri=str(tmp_path / "m.db"))
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        open_retriever(settings, embedder=embedder)
    assert not index_is_current(None, settings)
    first = ingest([TAICANG_2024], settings, embedder=embedder).store
    assert [s["source"] for s in first.sources] == [TAICANG_2024.name]
    assert index_is_current(None, settings)  # a shared store is the corpus of record: `--if-needed` keeps it

    added = ingest([YUSHAN_2020], settings, append=True, embedder=embedder).store
    assert added.collection == first.collection and added.generation != first.generation  # in place, new version
    assert first.latest_generation() == added.generation  # what an older view (another replica) sees
    assert [s["source"] for s in added.sources] == [TAICANG_2024.name, YUSHAN_2020.name]
    retriever = Retriever(added, embedder, settings)
    assert {h.chunk.region for h in retriever.search("玉山镇社会消费品零售总额", k=3).hits} == {"玉山镇"}
    assert set(added.covered_years()) == {"太仓市", "玉山镇"}

    removed = ingest(None, settings, append=True, remove=[TAICANG_2024.name], embedder=embedder).store
    assert [s["source"] for s in removed.sources] == [YUSHAN_2020.name]
    assert removed.size == added.size - first.size
    assert not removed.dense(embedder.embed_query("太仓港"), 10, Where(region="太仓市"))
    assert {c.region for c in removed.chunks(list(removed.lexical("太仓港集装箱吞吐量 镇", 10, Where())))} == {"玉山镇"}

    rebuilt = ingest([XIANGCHENG_2024], settings, embedder=embedder).store  # a whole new generation
    assert rebuilt.collection != first.collection
    assert [s["source"] for s in rebuilt.sources] == [XIANGCHENG_2024.name]
    assert first.latest_generation() == rebuilt.generation


def test_a_replica_follows_changes_made_by_another(make_settings, embedder, milvus_server):
    from service.engine import Engine

    settings = make_settings(store="milvus", milvus_uri=milvus_server, milvus_collection="follow", store_refresh_seconds=0)
    ingest([TAICANG_2024], settings, embedder=embedder)
    engine = Engine(settings, open_retriever(settings, embedder=embedder), None)
    before = engine.generation
    assert engine.answerer.ask("玉山镇2019年社会消费品零售总额是多少？").mode == "refused"  # no such report yet

    ingest([YUSHAN_2020], settings, append=True, embedder=embedder)  # as another replica's upload would
    assert engine.generation != before
    assert {s["source"] for s in engine.retriever.store.sources} == {TAICANG_2024.name, YUSHAN_2020.name}
    answer = engine.answerer.ask("玉山镇2019年社会消费品零售总额是多少？")
    assert answer.mode != "refused" and answer.citations[0].source == YUSHAN_2020.name


def test_a_milvus_server_that_is_down_fails_at_once(make_settings, embedder):
    from rag.llm.clients import free_port

    settings = make_settings(store="milvus", milvus_uri=f"http://127.0.0.1:{free_port()}", milvus_timeout=5)
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot open Milvus|Milvus .* failed"):
        open_retriever(settings, embedder=embedder)
    assert time.monotonic() - started < 60  # an error, not a hang


def test_readyz_is_503_once_the_milvus_server_dies(make_settings, embedder, tmp_path, monkeypatch):
    from rag.core.child import stop
    from service.app import create_app
    from service.engine import Engine

    process, uri = start_milvus_server(tmp_path / "data", tmp_path / "server.log")
    try:
        settings = make_settings(store="milvus", milvus_uri=uri, llm_backend="none", milvus_timeout=5)
        ingest([TAICANG_2024], settings, embedder=embedder)
        engine = Engine(settings, open_retriever(settings, embedder=embedder), None)
        with TestClient(create_app(settings, engine=engine)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["index"]["store"] == "milvus"
            stop(process)
            monkeypatch.setattr("service.routers.health.MODEL_CHECK_SECONDS", 0.0)  # look again now
            down = client.get("/readyz")
            assert down.status_code == 503
            assert "index store does not answer" in down.json()["error"]["message"]
            asked = client.post("/api/search", json={"query": "太仓港集装箱吞吐量"})
            assert asked.status_code == 503 and asked.json()["error"]["type"] == "index_unavailable"
    finally:
        stop(process)


def test_the_api_process_needs_no_index_in_memory(milvus_server_retriever):
    store = milvus_server_retriever.store
    assert isinstance(store, MilvusStore) and not hasattr(store, "index")
    with pytest.raises(AttributeError, match="no in-process index"):
        milvus_server_retriever.index  # noqa: B018


def test_the_cli_says_in_one_line_that_milvus_is_down(make_settings, monkeypatch):
    from typer.testing import CliRunner

    from rag.llm.clients import free_port
    from service import cli

    settings = make_settings(store="milvus", milvus_uri=f"http://127.0.0.1:{free_port()}", milvus_timeout=5)
    monkeypatch.setattr(cli, "settings", lambda: settings)
    for command in (["search", "太仓港"], ["ingest", "--if-needed"]):
        result = CliRunner().invoke(cli.app, command)
        assert result.exit_code != 0
        [line] = [line for line in result.output.splitlines() if line.strip()]
        assert line.startswith("error: cannot open Milvus at http://127.0.0.1:"), result.output


def test_the_cli_ingests_into_milvus_and_searches_it(make_settings, monkeypatch, tmp_path, retriever):
    from typer.testing import CliRunner

    from service import cli

    settings = make_settings(store="milvus", milvus_uri=str(tmp_path / "cli.db"), embedding_cache=retriever.settings.embedding_cache)
    monkeypatch.setattr(cli, "settings", lambda: settings)
    runner = CliRunner()
    built = runner.invoke(cli.app, ["ingest"])
    assert built.exit_code == 0 and "indexed 5 reports" in built.output and "govrag__g" in built.output, built.output
    again = runner.invoke(cli.app, ["ingest", "--if-needed"])
    assert again.exit_code == 0 and "up to date" in again.output and "Milvus collection 'govrag'" in again.output
    found = runner.invoke(cli.app, ["search", "2023年太仓市一般公共预算收入是多少？", "-k", "3"])
    assert found.exit_code == 0 and "太仓市 · 2023年" in found.stdout, found.output
