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

from rag.config import Settings, get_settings
from rag.errors import RagError

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
    from rag.ingest import index_is_current
    from rag.ingest import ingest as run_ingest
    from rag.stores import location

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
    from rag.retrieve import open_retriever

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


def _print_answer(answer: dict[str, object]) -> None:
    typer.echo(str(answer["answer"]))
    for c in answer["citations"]:  # type: ignore[attr-defined]
        year = f"{c['year']}年 · " if c["year"] else ""
        typer.echo(f"  [{c['n']}] {c['report_title'] or c['source']} · {year}{c['section'] or '(开头)'}  ({c['chunk_id']})")
    if answer["unsupported_numbers"]:
        typer.echo(f"  未经核实的数字: {', '.join(answer['unsupported_numbers'])}")  # type: ignore[arg-type]
    if answer["degraded"]:
        typer.echo("  (大模型不可用，已改用原文摘录)")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question, e.g. 2023年太仓市一般公共预算收入是多少？")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer object as JSON.")] = False,
    questions_file: Annotated[Path | None, typer.Option(help="One question per line; prints JSON Lines.")] = None,
) -> None:
    """Answer from the reports with numbered citations, or say the reports do not contain it."""
    from rag.answer import Answerer
    from rag.llm import make_llm
    from rag.retrieve import open_retriever

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
    from rag.llm import make_llm
    from rag.retrieve import open_retriever

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
