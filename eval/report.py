"""Writing an evaluation run: ``results.json`` (every metric, every question), ``report.md`` (the
tables) and PNG charts, into one folder. The folder appears complete or not at all."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

RETRIEVAL_COLUMNS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "recall@5")
ANSWER_COLUMNS = (
    "accuracy", "refusal_precision", "refusal_recall", "false_refusals", "wrong_figure_rate", "unsupported_number_rate",
    "unmarked_unsupported_rate", "doubtful_rate", "citation_validity",
)  # fmt: skip


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def markdown(run: dict) -> str:
    lines = [f"# Evaluation {run['run']}", "", f"{run['date']} · commit {run.get('commit') or '?'} · {run['questions']} gold questions from `{run['gold']}` · "
             f"answers: {run['backend'] or 'not evaluated (retrieval only)'}", ""]  # fmt: skip
    lines += [
        "## Retrieval",
        "",
        "| system | " + " | ".join(RETRIEVAL_COLUMNS) + " |",
        "|---" * (len(RETRIEVAL_COLUMNS) + 1) + "|",
    ]
    for name, result in run["retrieval"].items():
        lines.append(f"| {name} | " + " | ".join(_fmt(result["metrics"][c]) for c in RETRIEVAL_COLUMNS) + " |")
    types = sorted({t for r in run["retrieval"].values() for t in r["per_type"]})
    for metric in ("hit@5", "recall@5"):
        lines += [
            "",
            f"{metric} per question type:",
            "",
            "| system | " + " | ".join(types) + " |",
            "|---" * (len(types) + 1) + "|",
        ]
        for name, result in run["retrieval"].items():
            lines.append(f"| {name} | " + " | ".join(_fmt(result["per_type"].get(t, {}).get(metric)) for t in types) + " |")
    if run["answers"]:
        lines += ["", "## Answers — side by side", "", "| system | n | " + " | ".join(ANSWER_COLUMNS) + " | total p50 ms |",
                  "|---" * (len(ANSWER_COLUMNS) + 3) + "|"]  # fmt: skip
        for name, result in run["answers"].items():
            m, total = result["metrics"], result["latency"].get("total_ms", {})
            lines.append(f"| {name} | {m['questions']} | " + " | ".join(_fmt(m.get(c)) for c in ANSWER_COLUMNS)
                         + f" | {_fmt(total.get('p50'))} |")  # fmt: skip
    for name, result in run["answers"].items():
        lines += ["", f"## Answers — {name}", "", "| type | n | " + " | ".join(ANSWER_COLUMNS) + " |",
                  "|---" * (len(ANSWER_COLUMNS) + 2) + "|"]  # fmt: skip
        groups = [("all", result["metrics"]), *((f"split {k}", m) for k, m in result.get("per_split", {}).items()),
                  *result["per_type"].items()]  # fmt: skip
        for kind, m in groups:
            lines.append(f"| {kind} | {m['questions']} | " + " | ".join(_fmt(m.get(c)) for c in ANSWER_COLUMNS) + " |")
        if result.get("versus_model_only"):
            lines += ["", "The same questions answered by the model alone (model-only path):", "",
                      "| answered by | n | correct (ours) | correct (model only) |", "|---|---|---|---|"]  # fmt: skip
            lines += [f"| {mode} | {m['questions']} | {_fmt(m['ours_correct'])} | {_fmt(m['model_only_correct'])} |"
                      for mode, m in result["versus_model_only"].items()]  # fmt: skip
        elif result.get("per_mode"):
            lines += ["", "| answered by | n | correct |", "|---|---|---|"]
            lines += [f"| {mode} | {m['questions']} | {_fmt(m['correct'])} |" for mode, m in result["per_mode"].items()]
        if result.get("per_step"):
            lines += ["", "What each answer step after the model decided (answers it changed, of those it ran on):", "",
                      "| step | ran | changed | off | changed per type |", "|---|---|---|---|---|"]  # fmt: skip
            for step, d in result["per_step"].items():
                per_type = ", ".join(f"{t} {n}" for t, n in sorted(d["changed_per_type"].items())) or "–"
                lines.append(f"| {step} | {d['ran']} | {d['changed']} | {d['off']} | {per_type} |")
        lat = result["latency"]
        lines += ["", "| latency | p50 ms | p95 ms |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(v['p50'])} | {_fmt(v['p95'])} |" for k, v in lat.items()]
    return "\n".join(lines) + "\n"


def charts(run: dict, folder: Path) -> list[str]:
    """Bar charts of the main metrics per system and per question type; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning("matplotlib is not installed (pip install matplotlib): no charts")
        return []
    written = []

    def grouped(path: str, title: str, groups: list[str], series: dict[str, list[float]]) -> None:
        fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(groups) + 2), 4))
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series.items()):
            ax.bar([g + i * width for g in range(len(groups))], values, width, label=name)
        ax.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], groups, rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        fig.savefig(folder / path, dpi=110)
        plt.close(fig)
        written.append(path)

    retrieval = run["retrieval"]
    grouped("retrieval.png", "Retrieval", list(RETRIEVAL_COLUMNS),
            {n: [r["metrics"][c] for c in RETRIEVAL_COLUMNS] for n, r in retrieval.items()})  # fmt: skip
    types = sorted({t for r in retrieval.values() for t in r["per_type"]})
    grouped("retrieval_by_type.png", "Retrieval hit@5 by question type", types,
            {n: [r["per_type"].get(t, {}).get("hit@5") or 0.0 for t in types] for n, r in retrieval.items()})  # fmt: skip
    if run["answers"]:
        answer_types = sorted({t for r in run["answers"].values() for t in r["per_type"]})
        grouped("answers_by_type.png", "Answers: accuracy (refusal recall for unanswerable)", answer_types,
                {n: [_score(r["per_type"].get(t)) for t in answer_types] for n, r in run["answers"].items()})  # fmt: skip
    return written


def _score(m: dict | None) -> float:
    if not m:
        return 0.0
    value = m["accuracy"] if m["accuracy"] is not None else m["refusal_recall"]
    return float(value or 0.0)


def write_report(folder: Path, run: dict) -> Path:
    """Write the run into ``folder`` (built aside, then renamed into place)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        run["charts"] = charts(run, staging)
        (staging / "results.json").write_text(json.dumps(run, ensure_ascii=False, indent=2), encoding="utf-8")
        (staging / "report.md").write_text(markdown(run), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
