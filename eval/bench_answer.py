"""Prompt budget benchmark: prompt tokens and accuracy of the model path for several passage budgets.

    python -m eval.bench_answer [--split dev] [--budgets 300,600,900] [--accuracy-budgets 400,600]

Every prompt token is waiting time on a CPU (the bundled model reads ~58 tokens/s on these 2 cores),
so the passage budget (``answer_context_chars``, characters of passage text in the prompt, trimmed to
the sentences nearest the question) is chosen by measurement: for each budget, the prompt tokens of
the questions that go to the model (p50/p95, counted by the model server's tokenizer), and for some
budgets the accuracy of the model path on them. Uses the settings' model (``RAG_LOCAL_URL`` to attach
to a running server) and the current index. Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from eval.answer_evaluator import AnswerEvaluator, percentile  # noqa: E402
from eval.bench_retrieval import machine  # noqa: E402
from eval.gold import load_gold  # noqa: E402
from eval.runner import answering  # noqa: E402
from rag.answering.answer import Answerer  # noqa: E402
from rag.answering.prompts import build_messages  # noqa: E402
from rag.core.config import get_settings  # noqa: E402
from rag.llm.clients import LocalClient, make_llm  # noqa: E402
from rag.retrieval.retrieve import open_retriever  # noqa: E402


def chatml_tokens(base_url: str, messages: list[dict[str, str]]) -> int | None:
    """Prompt tokens as the llama.cpp server counts them (Qwen chat template); None for other servers."""
    prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        response = httpx.post(f"{root}/extras/tokenize/count", json={"input": prompt}, timeout=10)
        return int(response.json()["count"]) if response.status_code == 200 else None
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--budgets", default="300,450,600,900")
    parser.add_argument("--accuracy-budgets", default="400,600")
    args = parser.parse_args()

    settings = get_settings()
    retriever = open_retriever(settings)
    llm = make_llm(settings)
    if llm is None:
        raise SystemExit("bench_answer needs a model (RAG_LLM_BACKEND local or openai)")
    url = llm.server.ensure() if isinstance(llm, LocalClient) else str(getattr(llm, "base_url", ""))
    quote_first = Answerer(retriever, None, settings.model_copy(update={"answer_mode": "quote-first", "answer_cache": False}))
    items = [i for i in load_gold(split=args.split) if not i["history"]]
    # the questions quote-first sends to the model: no quote, no early refusal, no metadata answer
    drafts = {i["id"]: quote_first.draft(i["question"]) for i in items}
    to_model = [i for i in items if drafts[i["id"]].answer is None or drafts[i["id"]].answer.mode == "extractive"]
    print(f"### Prompt budget — {len(to_model)} of {len(items)} {args.split} questions go to the model\n")
    print(f"{machine()}; {time.strftime('%Y-%m-%d')}; tokens counted by the model server's tokenizer.\n")
    print("| passage budget (chars) | prompt tokens p50 | p95 | model-path accuracy | first token p50 |")
    print("|---|---|---|---|---|")
    accuracy_budgets = {int(b) for b in args.accuracy_budgets.split(",") if b}
    try:
        for budget in [int(b) for b in args.budgets.split(",")]:
            tokens = [
                n for i in to_model
                if (n := chatml_tokens(url, build_messages(i["question"], drafts[i["id"]].chunks, budget))) is not None
            ]  # fmt: skip
            accuracy, ttft = "–", "–"
            if budget in accuracy_budgets:
                current = settings.model_copy(
                    update={"answer_mode": "model", "answer_context_chars": budget, "answer_cache": False}
                )
                result = AnswerEvaluator(to_model)(answering(Answerer(retriever, llm, current)))
                accuracy = f"{result['metrics']['accuracy']:.2f}"
                p50 = result["latency"]["first_token_ms"]["p50"]
                ttft = f"{p50 / 1000:.1f} s" if p50 is not None else "–"
            print(
                f"| {budget} | {percentile(tokens, 0.5) or '–'} | {percentile(tokens, 0.95) or '–'} | {accuracy} | {ttft} |",
                flush=True,
            )
    finally:
        close = getattr(llm, "close", None)
        if close:
            close()


if __name__ == "__main__":
    main()
