"""The ``rag`` command line: ``rag ingest``, ``rag search`` (more commands plug in as modules grow)."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from pydantic import ValidationError

from rag.core.config import Settings, get_settings
from rag.core.errors import RagError

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="rag",
    help="Question answering over Chinese government work reports (政府工作报告).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the package's errors into one line on stderr and exit status 1."""
    try:
        yield
    except RagError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:  # a bad RAG_* setting
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        name = f"RAG_{where.upper()}" if where else "settings"
        typer.echo(f"error: invalid setting {name}: {first.get('msg')}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def settings() -> Settings:
    return get_settings()


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Report files or folders (default: seeds/).")] = None,
    append: Annotated[bool, typer.Option("--append", help="Add to the existing index instead of replacing it.")] = False,
    if_needed: Annotated[
        bool, typer.Option("--if-needed", help="Do nothing when the index is current for these files and settings.")
    ] = False,
) -> None:
    """Clean, chunk and index reports (PDF, Word .docx, HTML, text in any Chinese encoding). The old index stays
    live until the new one is complete."""
    from rag.indexing.ingest import index_is_current
    from rag.indexing.ingest import ingest as run_ingest
    from rag.indexing.stores import location

    with user_errors():
        if not paths:  # the corpus the service serves: seeds/ plus what was uploaded to it
            from service.uploads import corpus_files

            paths = corpus_files(settings())
        if if_needed and not append and index_is_current(paths, settings()):
            typer.echo(f"index in {location(settings())} is up to date")
            return
        result = run_ingest(paths, settings(), append=append, show_progress=sys.stderr.isatty())
    typer.echo(f"indexed {result.reports} reports, {result.chunks} chunks in {result.seconds:.1f}s → {result.location}")


def _print_hits(result: dict[str, object]) -> None:
    hits = result["hits"]
    if not hits:
        typer.echo("no matching passages")
    for n, hit in enumerate(cast(list[dict[str, Any]], hits), start=1):
        year = f"{hit['year']}年" if hit["year"] else "—"
        typer.echo(f"[{n}] {hit['score']:.4f}  {hit['region']} · {year} · {hit['section'] or '(开头)'}  ({hit['chunk_id']})")
        text = str(hit["text"]).replace("\n", " ")
        typer.echo(f"    {text[:160]}{'…' if len(text) > 160 else ''}")


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a UTF-8 text file; a missing or binary file is a one-line error."""
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise RagError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise RagError(f"{path}: not UTF-8 text") from None


def run_batch(lines: list[str], handle: Callable[[str], dict[str, object]]) -> None:
    """JSON Lines, one object per input line, flushed as each is done."""
    for line in lines:
        typer.echo(json.dumps(handle(line), ensure_ascii=False))
        sys.stdout.flush()


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="The question or keywords.")] = None,
    k: Annotated[int | None, typer.Option("-k", "--top-k", help="Number of passages.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region (e.g. 太仓市).")] = None,
    year: Annotated[int | None, typer.Option(help="Prefer sections about this year.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (JSON Lines with --queries-file).")] = False,
    queries_file: Annotated[Path | None, typer.Option(help="One query per line; prints JSON Lines.")] = None,
) -> None:
    """Hybrid (dense + BM25) search with region and year awareness."""
    from rag.retrieval.retrieve import open_retriever

    with user_errors():
        if (query is None) == (queries_file is None):
            raise RagError("give either a QUERY or --queries-file FILE")
        lines = read_lines(queries_file) if queries_file else []
        retriever = open_retriever(settings())

        def handle(q: str) -> dict[str, object]:
            result = retriever.search(q, k=k, region=region, year=year).to_dict()
            return {"query": result["query"], "hits": result["hits"]}

        if queries_file:
            run_batch(lines, handle)
            return
        result = handle(query)  # type: ignore[arg-type]
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            _print_hits(result)


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes (a CJK character two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, cells: int) -> str:
    return text + " " * (cells - _cells(text))


def _series_lines(table: list[dict[str, Any]]) -> list[str]:
    """A series answer's table: year, figure, citation; a year the library does not state 「报告未载」."""
    rows = [("年份", "数值", "出处")]
    for row in table:
        if row.get("value") is None:
            rows.append((f"{row['year']}年", "报告未载", "—"))
        else:
            figure = str(row.get("text") or f"{row['value']}{row.get('unit') or ''}")
            rows.append((f"{row['year']}年", figure, f"[{row['citation']}]" if row.get("citation") is not None else "—"))
    widths = [max(_cells(r[i]) for r in rows) for i in range(2)]
    return [f"  {_pad(year, widths[0])}  {_pad(figure, widths[1])}  {cite}" for year, figure, cite in rows]


def _print_answer(answer: dict[str, object]) -> None:
    typer.echo(str(answer["answer"]))
    table = answer.get("table")
    if table:
        for line in _series_lines(cast(list[dict[str, Any]], table)):
            typer.echo(line)
    for c in answer["citations"]:  # type: ignore[attr-defined]
        year = f"{c['year']}年 · " if c["year"] else ""
        typer.echo(f"  [{c['n']}] {c['report_title'] or c['source']} · {year}{c['section'] or '(开头)'}  ({c['chunk_id']})")
    if answer["unsupported_numbers"]:
        typer.echo(f"  未经核实的数字: {', '.join(answer['unsupported_numbers'])}")  # type: ignore[arg-type]
    if answer["degraded"]:
        typer.echo("  (大模型不可用，已改用原文摘录)")
    if isinstance(answer.get("confidence"), float):
        low = "；把握不大，以上原文仅供参考" if answer.get("low_confidence") else ""
        typer.echo(f"  置信度 {answer['confidence']:.2f}{low}")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question, e.g. 2023年太仓市一般公共预算收入是多少？")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer object as JSON.")] = False,
    questions_file: Annotated[Path | None, typer.Option(help="One question per line; prints JSON Lines.")] = None,
) -> None:
    """Answer from the reports with numbered citations, or say the reports do not contain it."""
    from rag.answering.answer import Answerer
    from rag.llm.clients import make_llm
    from rag.retrieval.retrieve import open_retriever

    with user_errors():
        if (question is None) == (questions_file is None):
            raise RagError("give either a QUESTION or --questions-file FILE")
        lines = read_lines(questions_file) if questions_file else []
        current = settings()
        answerer = Answerer(open_retriever(current), make_llm(current), current)

        def handle(q: str) -> dict[str, object]:
            return answerer.ask(q).to_dict()

        try:
            if questions_file:
                run_batch(lines, handle)
                return
            answer = handle(question)  # type: ignore[arg-type]
        finally:
            close = getattr(answerer.llm, "close", None)
            if close:
                close()
        if as_json:
            typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        else:
            _print_answer(answer)


@app.command("eval")
def evaluate(
    gold: Annotated[Path | None, typer.Option(help="Gold Q&A file (default: eval/gold.jsonl).")] = None,
    out: Annotated[Path, typer.Option(help="Where run folders go.")] = Path("eval/runs"),
    name: Annotated[str | None, typer.Option(help="Run folder name (default: the start time).")] = None,
    retrieval_only: Annotated[bool, typer.Option("--retrieval-only", help="Retrieval metrics only (no model).")] = False,
    types: Annotated[str | None, typer.Option(help="Comma-separated question types, e.g. fact,unanswerable.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many questions per type.")] = None,
    split: Annotated[
        str | None, typer.Option(help="dev (tune on it) or test (frozen, report only); default: the whole set.")
    ] = None,
    baseline_answers: Annotated[
        bool, typer.Option("--baseline-answers", help="Also answer with the usual pipeline (twice the model time).")
    ] = False,
    model_only: Annotated[
        bool, typer.Option("--model-only", help="Also answer every question with the model alone (compare the paths).")
    ] = False,
) -> None:
    """Score retrieval (ours vs BM25-only, dense-only, the usual pipeline) and answers on the gold set."""
    from eval.gold import GOLD
    from eval.runner import EvalOptions, run_eval
    from rag.llm.clients import make_llm
    from rag.retrieval.retrieve import open_retriever

    with user_errors():
        current = settings()
        retriever = open_retriever(current)
        llm = None if retrieval_only else make_llm(current)
        options = EvalOptions(
            gold=gold or GOLD, out_dir=out, name=name, retrieval_only=retrieval_only,
            types=types.split(",") if types else None, limit=limit, split=split, baseline_answers=baseline_answers,
            model_only=model_only,
        )  # fmt: skip
        try:
            folder = run_eval(current, retriever, llm, options, progress=lambda line: typer.echo(line, err=True))
        finally:
            close = getattr(llm, "close", None)
            if close:
                close()
    typer.echo((folder / "report.md").read_text(encoding="utf-8"))
    typer.echo(f"written to {folder}/ (report.md, results.json, charts)")


log_app = typer.Typer(
    help="The service's question log (RAG_LOG_PATH): export it, or turn asked questions into gold-set stubs.",
    no_args_is_help=True,
)
app.add_typer(log_app, name="log")

LOG_KINDS = ("all", "refused", "down", "up", "slow", "top")
ENTRY_FIELDS = (
    "id", "asked_at", "question", "standalone_question", "answer", "mode", "cached", "refused", "degraded", "reason",
    "citations", "total_ms", "timings", "steps", "generation", "route", "rating", "comment", "rated_at", "client",
    "key_id",
)  # fmt: skip
TOP_FIELDS = ("question", "count", "last_asked_at", "refused", "up", "down")


def _question_log() -> Any:
    from service.questionlog import QuestionLog

    current = settings()
    if not current.question_log_file.exists():
        typer.echo(f"note: no question log at {current.question_log_file} yet", err=True)
    return QuestionLog.from_settings(current)


def _csv_value(value: object) -> object:
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


@log_app.command("export")
def log_export(
    since: Annotated[
        str | None, typer.Option(help="From when: 2026-01-31, 2026-01-31T08:00Z, unix time, or 7d, 24h (default: all).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    kind: Annotated[str, typer.Option(help="all (oldest first), refused, down, up, slow, or top (most asked).")] = "all",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """The logged answers (question, standalone question, answer, mode, cited chunks, timings, rating,
    comment …), as JSON Lines or CSV: what the admin page shows."""
    import csv
    import io
    import time

    from service.questionlog import parse_since

    with user_errors():
        if fmt not in ("jsonl", "csv"):
            raise RagError(f"--format {fmt!r}: use jsonl or csv")
        if kind not in LOG_KINDS:
            raise RagError(f"--kind {kind!r}: use one of {', '.join(LOG_KINDS)}")
        try:
            start = parse_since(since, time.time())
        except ValueError as exc:
            raise RagError(str(exc)) from None
        log = _question_log()
        rows = list(log.entries(start) if kind == "all" else log.questions(kind, start, limit=10**9))
        buffer = io.StringIO()
        if fmt == "jsonl":
            for row in rows:
                buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            fields = TOP_FIELDS if kind == "top" else ENTRY_FIELDS
            writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: _csv_value(row.get(k)) for k in fields} for row in rows)
        if out is None:
            typer.echo(buffer.getvalue(), nl=False)
        else:
            out.write_text(buffer.getvalue(), encoding="utf-8")
            typer.echo(f"{len(rows)} rows → {out}", err=True)


@log_app.command("to-gold")
def log_to_gold(
    ids: Annotated[list[str], typer.Option("--ids", help="Answer ids (comma-separated, or --ids repeated).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Append to this JSON Lines file (default: stdout).")] = None,
) -> None:
    """Write logged questions as gold-set stubs (eval/gold.jsonl's fields): the question is there; the
    answer, evidence, report, region, year and type are to be filled in from the report (``todo``
    says so; the logged answer, rating and comment are kept under ``from_log`` as hints). Stubs go to
    the ``dev`` split: the frozen test split stays as it is."""
    wanted = list(dict.fromkeys(part.strip().removeprefix("chatcmpl-") for arg in ids for part in arg.split(",") if part.strip()))
    with user_errors():
        if not wanted:
            raise RagError("give at least one answer id with --ids")
        found = _question_log().get(wanted)
        missing = [answer_id for answer_id in wanted if answer_id not in found]
        if missing:
            raise RagError(f"no such answer in the question log: {', '.join(missing)}")
        lines = [json.dumps(_gold_stub(found[answer_id]), ensure_ascii=False) for answer_id in wanted]
        if out is None:
            for line in lines:
                typer.echo(line)
        else:
            with out.open("a", encoding="utf-8") as handle:
                handle.writelines(line + "\n" for line in lines)
            typer.echo(f"{len(lines)} gold stubs appended to {out}", err=True)


def _gold_stub(entry: dict[str, Any]) -> dict[str, object]:
    """A gold item to complete: the asked question (standalone), everything else to fill in."""
    cited = list(entry.get("citations") or [])
    source = ""
    if cited:  # the first cited report, as a hint: chunk ids are "<report file stem>#<n>"
        stem = str(cited[0]).split("#", 1)[0]
        source = next((p.name for p in sorted(settings().seeds_dir.glob(f"{stem}.*"))), "")
    return {
        "id": f"log-{entry['id'][:12]}",
        "question": entry.get("standalone_question") or entry["question"],
        "answer": "",
        "answer_aliases": [],
        "must_contain": [],
        "source": source,
        "evidence": [],
        "type": "",
        "region": None,
        "year": None,
        "history": [],
        "split": "dev",
        "todo": "fill in answer, must_contain, evidence (verbatim from the report), source, region, year and type "
        "(fact, unanswerable, …); then delete todo and from_log",
        "from_log": {
            "answer_id": entry["id"], "asked_at": entry.get("asked_at"), "asked": entry["question"],
            "answer": entry.get("answer"), "mode": entry.get("mode"), "rating": entry.get("rating"),
            "comment": entry.get("comment"), "cited_chunks": cited,
        },
    }  # fmt: skip


#: Seconds open requests get after SIGTERM before ``rag serve`` closes them.
SHUTDOWN_GRACE_SECONDS = 5


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: RAG_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: RAG_PORT, 8000).")] = None,
) -> None:
    """Serve the HTTP API: /api/*, the OpenAI-compatible /v1/*, /healthz and the docs at /docs."""
    import uvicorn

    from service.app import create_app
    from service.engine import Engine
    from service.logs import configure_logging

    with user_errors():
        current = settings()
        configure_logging()
        engine = Engine.load(current)  # index and model client: errors end here, as one line
        if current.warm_up:
            engine.warm_up()
    try:
        uvicorn.run(
            create_app(current, engine=engine),
            host=host or current.host,
            port=port or current.port,
            log_config=None,
            access_log=False,  # service.access logs every request with its id
            # SIGTERM: streams still open get this long, so the process ends within 10 s
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
    finally:
        engine.close()


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":
    main()
