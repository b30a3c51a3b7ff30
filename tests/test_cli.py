"""The ``rag`` command line, run in-process against a real index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.core.config import get_settings
from service import cli


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
