"""Fit the answers' confidence (rag/answering/confidence.py) on the dev questions, check it on the test ones.

    python -m eval.calibrate --gold RUN [--gold RUN …] --library LIB [--library LIB …] [--fit] [--plot PNG]

``RUN`` is a ``rag eval`` run folder (its ``results.json``), ``LIB`` a ``library.json`` of
``python -m eval.bench_library``: each row keeps the answer's ``signals`` and whether it was right (the
eval scorers: :func:`eval.answer_evaluator.judge`, :func:`eval.bench_library.judge`; a refusal is right
when the question is unanswerable). With ``--fit`` a logistic regression (Platt scaling, scikit-learn,
L2 with ``C``) is fitted on the rows of the **dev** split only and written to
``rag/answering/calibration.json`` (weights, intercept, the threshold under which fewer than half of the
dev answers were right, and a note of the runs it came from). Without it the shipped calibration is
checked. Either way it prints, per split, the ECE (expected calibration error, 10 equal-width bins) and
the Brier score with a reliability table (stated vs observed accuracy per bin, with counts) and draws
the reliability diagram (``--plot``). Test rows are never fitted on.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.answering.confidence import CALIBRATION, SIGNALS, Calibration

BINS = 10


@dataclass(frozen=True)
class Row:
    """One answered question: its signals and whether the answer (or refusal) was right."""

    source: str
    split: str
    refused: bool
    right: bool
    signals: dict[str, float]


def gold_rows(run: Path) -> list[Row]:
    """The rows of a ``rag eval`` run (the engine's answers, ``ours``)."""
    data = json.loads((run / "results.json" if run.is_dir() else run).read_text(encoding="utf-8"))
    rows = data["answers"]["ours"]["questions"]
    return [Row(f"gold:{run.name}", r["split"], bool(r["refused"]), bool(r["correct"]), r["signals"]) for r in rows]


def library_rows(path: Path) -> list[Row]:
    """The rows of a ``library.json`` (a series is right when every year's figure is stated)."""
    data = json.loads((path / "library.json" if path.is_dir() else path).read_text(encoding="utf-8"))
    name = (path if path.is_dir() else path.parent).name
    return [Row(f"library:{name}", r["split"], bool(r["refused"]), bool(r["right"]), r["signals"]) for r in data["questions"]]


def fit(rows: Sequence[Row], c: float) -> Calibration:
    """A logistic regression of rightness on the signals of ``rows``."""
    from sklearn.linear_model import LogisticRegression

    x = [[row.signals.get(name, 0.0) for name in SIGNALS] for row in rows]
    y = [int(row.right) for row in rows]
    model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
    weights = {name: round(float(w), 4) for name, w in zip(SIGNALS, model.coef_[0], strict=True)}
    return Calibration(round(float(model.intercept_[0]), 4), weights)


#: The fewest answers under a threshold whose share right :func:`low_threshold` trusts.
MIN_BELOW = 5


def low_threshold(rows: Sequence[Row], calibration: Calibration) -> float:
    """The highest confidence (in steps of 0.05) under which fewer than half of the answers (not
    refusals) of ``rows`` were right (and at least :data:`MIN_BELOW` of them): below it an answer is
    more likely wrong than right."""
    scored = [(calibration.confidence(r.signals), r.right) for r in rows if not r.refused]
    best = 0.0
    for step in range(1, 20):
        t = round(step * 0.05, 2)
        below = [right for conf, right in scored if conf < t]
        if len(below) >= MIN_BELOW and sum(below) / len(below) < 0.5:
            best = t
    return best


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    stated: float | None
    observed: float | None


def reliability(rows: Sequence[Row], calibration: Calibration) -> tuple[list[Bin], float, float]:
    """Per bin of stated confidence: how many, the mean stated and the observed share right; ECE, Brier."""
    scored = [(calibration.confidence(r.signals), float(r.right)) for r in rows]
    bins = []
    for i in range(BINS):
        low, high = i / BINS, (i + 1) / BINS
        inside = [(p, y) for p, y in scored if low <= p < high or (i == BINS - 1 and p == 1.0)]
        n = len(inside)
        bins.append(Bin(low, high, n, sum(p for p, _ in inside) / n if n else None, sum(y for _, y in inside) / n if n else None))
    total = len(scored)
    ece = sum(b.count / total * abs(b.stated - b.observed) for b in bins if b.stated is not None and b.observed is not None)
    brier = sum((p - y) ** 2 for p, y in scored) / total
    return bins, ece, brier


def markdown(by_split: dict[str, tuple[list[Bin], float, float]]) -> str:
    """The reliability table of each split, as docs/benchmarks.md shows it."""
    lines = ["| confidence bin | " + " | ".join(f"{s}: n / stated / observed" for s in by_split) + " |"]
    lines.append("|---|" + "---|" * len(by_split))
    for i in range(BINS):
        cells = []
        for bins, _, _ in by_split.values():
            b = bins[i]
            cells.append("–" if not b.count else f"{b.count} / {b.stated:.2f} / {b.observed:.2f}")
        lines.append(f"| {i / BINS:.1f}–{(i + 1) / BINS:.1f} | " + " | ".join(cells) + " |")
    lines.append("| **ECE** | " + " | ".join(f"{ece:.3f}" for _, ece, _ in by_split.values()) + " |")
    lines.append("| **Brier** | " + " | ".join(f"{brier:.3f}" for _, _, brier in by_split.values()) + " |")
    return "\n".join(lines)


def plot(by_split: dict[str, tuple[list[Bin], float, float]], path: Path) -> None:
    """The reliability diagram: stated vs observed accuracy per bin (marker area grows with the count), per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(by_split), figsize=(5 * len(by_split), 5), squeeze=False)
    for ax, (split, (bins, ece, brier)) in zip(axes[0], by_split.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
        shown = [b for b in bins if b.count]
        ax.bar([b.low for b in shown], [b.observed for b in shown], width=1 / BINS, align="edge", alpha=0.3,
               edgecolor="tab:blue", label="observed accuracy")  # fmt: skip
        ax.scatter([b.stated for b in shown], [b.observed for b in shown], s=[20 + 25 * b.count**0.5 for b in shown],
                   color="tab:blue", zorder=3, label="stated (mean) vs observed")  # fmt: skip
        for b in shown:
            ax.annotate(str(b.count), (b.low + 0.5 / BINS, (b.observed or 0) + 0.02), ha="center", fontsize=8)
        ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="stated confidence", ylabel="observed accuracy",
               title=f"{split}: n={sum(b.count for b in bins)}, ECE {ece:.3f}, Brier {brier:.3f}")  # fmt: skip
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, action="append", default=[], help="a `rag eval` run folder")
    parser.add_argument("--library", type=Path, action="append", default=[], help="a library.json (or its folder)")
    parser.add_argument("--fit", action="store_true", help="refit on the dev rows and write the calibration")
    parser.add_argument("--c", type=float, default=1.0, help="the logistic regression's inverse L2 strength")
    parser.add_argument("--out", type=Path, default=CALIBRATION, help="where --fit writes the calibration")
    parser.add_argument("--plot", type=Path, help="write the reliability diagram here (PNG)")
    args = parser.parse_args()
    rows = [r for run in args.gold for r in gold_rows(run)] + [r for lib in args.library for r in library_rows(lib)]
    dev = [r for r in rows if r.split == "dev"]
    test = [r for r in rows if r.split == "test"]
    if args.fit:
        calibration = fit(dev, args.c)
        low = low_threshold(dev, calibration)
        sources = sorted({r.source for r in dev})
        data = {
            "note": f"fitted by python -m eval.calibrate --fit on {time.strftime('%Y-%m-%d')}: a logistic regression "
            f"(scikit-learn, L2, C={args.c}) of the eval scorers' verdicts on the signals of {len(dev)} dev answers "
            f"({', '.join(sources)}); test rows not used. confidence = 1/(1+exp(-(intercept + sum weight*signal))).",
            "intercept": calibration.intercept,
            "weights": calibration.weights,
            "low_confidence": low,
            "dev_rows": len(dev),
        }
        args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}; below {low} fewer than half of the dev answers were right (answer_confidence_low)")
    else:
        calibration = Calibration.read(args.out)
    by_split = {name: reliability(part, calibration) for name, part in (("dev", dev), ("test", test)) if part}
    print(markdown(by_split))
    base = sum(r.right for r in dev) / len(dev) if dev else 0.0
    for name, part in (("dev", dev), ("test", test)):
        if part:  # what a constant confidence (the dev share right) would score: the bar to beat
            flat = sum((base - float(r.right)) ** 2 for r in part) / len(part)
            print(f"{name}: n={len(part)}, Brier of a constant {base:.3f}: {flat:.3f}")
        for refused in (False, True):
            some = [r for r in part if r.refused == refused]
            if some:
                _, ece, brier = reliability(some, calibration)
                print(f"{name} {'refusals' if refused else 'answers'}: n={len(some)}, right {sum(r.right for r in some)}, "
                      f"ECE {ece:.3f}, Brier {brier:.3f}")  # fmt: skip
    low = float(json.loads(args.out.read_text(encoding="utf-8")).get("low_confidence", 0.0)) if args.out.is_file() else 0.0
    for name, part in (("dev", dev), ("test", test)):
        answers = [(calibration.confidence(r.signals), r.right) for r in part if not r.refused]
        for label, some in (("below", [y for p, y in answers if p < low]), ("at or above", [y for p, y in answers if p >= low])):
            if some:
                print(f"{name} answers {label} low_confidence {low}: n={len(some)}, right {sum(some) / len(some):.2f}")
    if args.plot:
        plot(by_split, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
