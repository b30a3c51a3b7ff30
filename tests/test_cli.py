"""The ``rag`` command line, run in-process against a real index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.answering.answer import Answer
from rag.core.config import get_settings
from service import cli
from tests.test_service import series_answer


@pytest.fixture
def runner(make_settings, monkeypatch, tmp_path: Path, session_settings, retriever):
    """A CLI whose settings point at a copy of the session index (built once by the ``retriever`` fixture)."""
    index_dir = tmp_path / "index"
    shutil.copytree(session_settings.index_dir, index_dir)
    settings = make_settings(index_dir=index_dir, embedding_cache=session_settings.embedding_cache)
    monkeypatch.setattr(cli, "settings", lambda: settings)
    return CliRunner()


def test_search_prints_ranked_hits(runner):
    result = runner.invoke(cli.app, ["search", "2023年太仓市一般公共预算收入是多少？", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[1] ")
    assert "太仓市 · 2023年" in result.stdout


def test_search_json(runner):
    result = runner.invoke(cli.app, ["search", "高标准农田", "--region", "相城区", "--json", "-k", "2"])
    data = json.loads(result.stdout)
    assert data["query"] == "高标准农田" and len(data["hits"]) == 2
    assert set(data["hits"][0]) >= {"chunk_id", "source", "region", "year", "section", "text", "score"}
    assert {h["region"] for h in data["hits"]} == {"相城区"}


def test_batch_search_prints_json_lines(runner, tmp_path: Path):
    queries = tmp_path / "q.txt"
    queries.write_text("2023年太仓市一般公共预算收入是多少？\n\n“五大行动”是指什么？\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["search", "--queries-file", str(queries), "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["2023年太仓市一般公共预算收入是多少？", "“五大行动”是指什么？"]
    assert all(len(line["hits"]) == 5 for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "GDP", "--region", "南京市"], "unknown region"),
        (["search"], "give either a QUERY or --queries-file"),
        (["search", "--queries-file", "/nonexistent/q.txt"], "no such file"),
        (["search", "   "], "empty"),
        (["ingest", "/nonexistent/reports"], "no such file"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(runner, args: list[str], message: str):
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_search_without_index_says_how_to_build_it(make_settings, monkeypatch, tmp_path: Path):
    settings = make_settings(index_dir=tmp_path / "none")
    monkeypatch.setattr(cli, "settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["search", "GDP"])
    assert result.exit_code == 1 and "rag ingest" in result.stderr


def test_get_settings_reads_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    get_settings.cache_clear()
    try:
        assert get_settings().top_k == 7
    finally:
        get_settings.cache_clear()


class SeriesAnswerer:
    """Answers every question with the series of tests.test_service (no index, no model)."""

    def __init__(self, *args: object) -> None:
        self.llm = None

    def ask(self, question: str) -> Answer:
        return series_answer()


@pytest.fixture
def series_cli(make_settings, monkeypatch) -> CliRunner:
    import rag.answering.answer
    import rag.llm.clients
    import rag.retrieval.retrieve

    settings = make_settings()
    monkeypatch.setattr(cli, "settings", lambda: settings)
    monkeypatch.setattr(rag.answering.answer, "Answerer", SeriesAnswerer)
    monkeypatch.setattr(rag.retrieval.retrieve, "open_retriever", lambda current: None)
    monkeypatch.setattr(rag.llm.clients, "make_llm", lambda current: None)
    return CliRunner()


def test_ask_prints_a_series_table_after_the_answer(series_cli):
    result = series_cli.invoke(cli.app, ["ask", "清苑区历年地区生产总值"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("清苑区地区生产总值：2020年150.1亿元[1]")
    assert lines[1].split() == ["年份", "数值", "出处"]
    assert [line.split() for line in lines[2:6]] == [
        ["2020年", "150.1亿元", "[1]"], ["2021年", "160.5亿元", "[2]"], ["2022年", "报告未载", "—"], ["2023年", "176.6亿元", "[3]"]
    ]  # fmt: skip
    assert len({line.index("[") for line in lines[2:6] if "[" in line}) == 1  # the columns line up
    assert lines[6].startswith("  [1] 清苑区2021年政府工作报告")


def test_ask_json_carries_figures_and_table(series_cli):
    result = series_cli.invoke(cli.app, ["ask", "清苑区历年地区生产总值", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [row["value"] for row in data["table"]] == ["150.1", "160.5", None, "176.6"]
    assert [f["text"] for f in data["figures"]] == ["150.1亿元", "160.5亿元", "176.6亿元"]


def test_ask_gives_the_answers_confidence(series_cli, monkeypatch):
    import dataclasses

    unsure = dataclasses.replace(series_answer(), confidence=0.42, low_confidence=True, signals={"quote": 1.0})
    monkeypatch.setattr(SeriesAnswerer, "ask", lambda self, question: unsure)
    data = json.loads(series_cli.invoke(cli.app, ["ask", "清苑区历年地区生产总值", "--json"]).stdout)
    assert data["confidence"] == pytest.approx(0.42) and data["low_confidence"] is True
    assert data["signals"] == {"quote": 1.0}
    shown = series_cli.invoke(cli.app, ["ask", "清苑区历年地区生产总值"]).stdout
    assert "置信度 0.42；把握不大" in shown
