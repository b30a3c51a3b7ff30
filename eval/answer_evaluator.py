"""Answer metrics for one system over gold items.

A system is a function ``item -> dict`` with ``answer`` (text with [n] markers), ``refused`` (bool),
``passages`` (the numbered passages it was given: ``[{"n", "source", "text"}]``) and ``timings``
(``retrieve_ms``, ``first_token_ms``, ``total_ms``; missing ones are skipped), and optionally ``mode``
(how the answer was made: quote, model, refused…), ``marked`` (figures the answer itself flags),
``doubtful`` (figures kept although their passage names the metric only in part) and ``reason``.

- accuracy: answerable items answered (not refused) with every ``must_contain`` or an alias;
- refusal precision / recall: on the unanswerable items; false refusals: answerable items refused;
- wrong-figure rate: answers that state a figure and are neither right nor refused (an answerable
  item answered with another figure, or an unanswerable one answered with one), over all items: the
  answer a reader trusts most and should least;
- unsupported-number rate: answers stating a number (with its unit) that none of their passages has
  and that is no difference of two supported figures the answer states (a computed comparison);
  unmarked: the same, not counting figures the answer itself marks as not found;
- citation validity: answered answerable items whose every [n] names a given passage that holds
  evidence (and that cite at least one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from eval.gold import answer_is_correct, answerable, is_relevant
from rag.answering.compose import answer_part
from rag.answering.verify import citations_in, figures, supported
from rag.text.numbers import Figure

AnswerFn = Callable[[dict], dict]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def judge(item: dict, result: dict) -> dict:
    """Per-question verdicts."""
    text, refused = result["answer"], bool(result["refused"])
    passages = {p["n"]: p for p in result["passages"]}
    cited = citations_in(text)
    texts = [p["text"] for p in passages.values()]
    stated = figures(text)
    unsupported = [] if refused else [f.text for f in stated if not supported(f, texts) and not derived(f, stated, texts)]
    marked = set(result.get("marked") or [])
    valid = (
        bool(cited)
        and all(n in passages for n in cited)
        and all(is_relevant(item, passages[n].get("source"), passages[n]["text"]) for n in cited)
    )
    # the answer is its first line where the report's sentences follow as evidence: a right figure in
    # the evidence does not make a wrong line right
    correct = refused if not answerable(item) else (not refused and answer_is_correct(item, answer_part(text)))
    return {
        "id": item["id"],
        "type": item["type"],
        "question": item["question"],
        "answer": text,
        "refused": refused,
        "correct": correct,
        "wrong_figure": not refused and not correct and bool(figures(answer_part(text))),
        "citations_valid": valid if answerable(item) and not refused else None,
        "unsupported": unsupported,
        "unmarked": [f for f in unsupported if f not in marked],
        "split": item.get("split"),
        "mode": result.get("mode"),
        "doubtful": list(result.get("doubtful") or []),
        "reason": result.get("reason"),
        "timings": result.get("timings", {}),
        #: What each answer step after the model decided (``Answer.steps``; empty when it was not asked).
        "steps": list(result.get("steps") or []),
        #: The answer's confidence and the signals it rests on (rag/answering/confidence.py; eval/calibrate.py).
        "confidence": result.get("confidence"),
        "signals": result.get("signals") or {},
    }


def derived(figure: Figure, stated: list[Figure], passages: list[str]) -> bool:
    """Whether ``figure`` is the difference of two other figures the answer states and the passages
    support (「…548.1亿元[1]，…603亿元[2]；太仓市比相城区少54.9亿元」, 「高2个百分点」 between 5.5% and 3.5%):
    computed from cited figures, not invented."""
    try:
        value = Decimal(figure.number)
    except InvalidOperation:
        return False
    unit = "%" if figure.unit in ("个百分点", "百分点") else figure.unit
    backed = [Decimal(f.number) for f in stated if f is not figure and f.unit == unit and supported(f, passages)]
    return any(abs(a - b) == value for i, a in enumerate(backed) for b in backed[i + 1 :])


class AnswerEvaluator:
    def __init__(self, items: list[dict]) -> None:
        self.items = items

    def __call__(self, answer: AnswerFn, *, progress: Callable[[dict], None] | None = None) -> dict:
        rows = []
        for item in self.items:
            row = judge(item, answer(item))
            rows.append(row)
            if progress:
                progress(row)
        return {
            "metrics": metrics(rows),
            "per_type": {kind: metrics(group) for kind, group in grouped(rows, "type").items()},
            "per_split": {split: metrics(group) for split, group in grouped(rows, "split").items() if split},
            "per_mode": {mode: modes(group) for mode, group in grouped(rows, "mode").items() if mode},
            "latency": latency(rows),
            "per_step": steps(rows),
            "questions": rows,
        }


def grouped(rows: list[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row.get(key) or ""].append(row)
    return dict(sorted(groups.items()))


def modes(rows: list[dict]) -> dict[str, float | int | None]:
    """How the answers of one mode fared: how many, and how many were right (refusals: of unanswerable ones)."""
    return {"questions": len(rows), "correct": _share(sum(r["correct"] for r in rows), len(rows))}


def steps(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """Per answer step (in the order they ran): on how many answers it ran, was switched off, changed
    the answer — overall and per question type."""
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        for decision in row.get("steps") or []:
            entry = table.setdefault(decision["name"], {"ran": 0, "off": 0, "changed": 0, "changed_per_type": {}})
            if decision.get("off"):
                entry["off"] += 1
                continue
            entry["ran"] += 1
            if decision.get("changed"):
                entry["changed"] += 1
                per_type = entry["changed_per_type"]
                per_type[row["type"]] = per_type.get(row["type"], 0) + 1
    return table


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def metrics(rows: list[dict]) -> dict[str, float | int | None]:
    answerable_rows = [r for r in rows if answerable(r)]
    unanswerable_rows = [r for r in rows if not answerable(r)]
    refused = [r for r in rows if r["refused"]]
    answered = [r for r in rows if not r["refused"]]
    checked = [r for r in answerable_rows if r["citations_valid"] is not None]
    return {
        "questions": len(rows),
        "accuracy": _share(sum(r["correct"] for r in answerable_rows), len(answerable_rows)),
        "refusal_precision": _share(sum(not answerable(r) for r in refused), len(refused)),
        "refusal_recall": _share(sum(r["refused"] for r in unanswerable_rows), len(unanswerable_rows)),
        "false_refusals": _share(sum(r["refused"] for r in answerable_rows), len(answerable_rows)),
        "wrong_figure_rate": _share(sum(bool(r.get("wrong_figure")) for r in rows), len(rows)),
        "unsupported_number_rate": _share(sum(bool(r["unsupported"]) for r in answered), len(answered)),
        "unmarked_unsupported_rate": _share(sum(bool(r.get("unmarked")) for r in answered), len(answered)),
        "citation_validity": _share(sum(bool(r["citations_valid"]) for r in checked), len(checked)),
        "doubtful_rate": _share(sum(bool(r.get("doubtful")) for r in answered), len(answered)),
    }


def latency(rows: list[dict]) -> dict[str, dict[str, float | None]]:
    out = {}
    # and each answer step's time, where one ran (``step_<name>_ms``)
    step_keys = sorted({k for r in rows for k in r["timings"] if k.startswith("step_")})
    for key in ("retrieve_ms", "first_text_ms", "first_token_ms", "total_ms", *step_keys):
        values = [float(r["timings"][key]) for r in rows if r["timings"].get(key) is not None]
        out[key] = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "n": len(values)}
    # the model path alone (answers that asked the model: it gave a first token), where the time goes
    model = [r for r in rows if r["timings"].get("first_token_ms") is not None]
    for key in ("first_token_ms", "total_ms"):
        values = [float(r["timings"][key]) for r in model if r["timings"].get(key) is not None]
        out[f"model_path_{key}"] = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "n": len(values)}
    return out
