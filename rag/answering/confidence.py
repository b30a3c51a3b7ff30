"""How sure the engine is of an answer: a confidence in 0–1, calibrated on the dev questions.

Every final answer gets :attr:`Answer.signals` — a few named facts the engine already knows about it
(how it was made, how its figures were checked, whether the figure's sentence names what was asked,
whether the figure is of the asked year and place, how complete a comparison or series is, what kind
of refusal it is) — and :attr:`Answer.confidence`, a logistic model of those signals:

    confidence = 1 / (1 + exp(-(intercept + Σ weight[name] · signals[name])))

The weights live in ``calibration.json`` beside this module (plain numbers, with a note of how they
were fitted); ``python -m eval.calibrate`` refits them from the dev questions of the gold set and the
library (a logistic regression — Platt scaling — with scikit-learn) and checks them on the test
questions (reliability diagram and ECE/Brier in docs/benchmarks.md). A refusal's confidence is the
confidence that refusing is right. Each weight reads as "this signal multiplies the odds of the
answer being right by exp(weight)".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from rag.answering.terms import agreement, asked_terms, metric_words
from rag.core.errors import RagError
from rag.retrieval.query import YEAR_RE


class Answer(Protocol):
    """What the confidence reads of a :class:`rag.answering.answer.Answer` (and sets on it)."""

    @property
    def question(self) -> str: ...
    @property
    def standalone_question(self) -> str | None: ...
    @property
    def answer(self) -> str: ...
    @property
    def refused(self) -> bool: ...
    @property
    def mode(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def unsupported_numbers(self) -> Sequence[str]: ...
    @property
    def doubtful_numbers(self) -> Sequence[str]: ...
    @property
    def steps(self) -> Sequence[Mapping[str, object]]: ...
    @property
    def figures(self) -> Sequence[Mapping[str, object]]: ...
    @property
    def table(self) -> Sequence[Mapping[str, object]] | None: ...
    @property
    def citations(self) -> Sequence[object]: ...

    confidence: float | None
    signals: dict[str, float]
    low_confidence: bool


CALIBRATION = Path(__file__).with_name("calibration.json")

#: The signals, in the order the calibration file's weights are read (each 0–1).
SIGNALS = (
    "quote",  # the report quoted, or a comparison/series composed from its figures (no model)
    "model",  # the model's checked wording
    "extractive",  # the best-matching sentences without a model (or after it failed)
    "about",  # answered from the reports' metadata
    "refused_coverage",  # refused before retrieval counted: no report covers the place or year asked
    "refused_checked",  # the checks refused an answer (figures no passage states, a target, the judge)
    "refused_plain",  # refused without a reason of the engine's (the model said so, nothing retrieved)
    "unsupported",  # an answered figure no passage states (marked in the answer)
    "doubtful",  # a figure stated for a metric worded otherwise (marked doubtful)
    "fell_back",  # the model refused and a report sentence was quoted instead
    "judge_quoted",  # the judge was surer of another sentence than of the model's: quoted
    "no_figure",  # an answer that states no figure
    "named",  # the share of the question's metric words the lead figure's sentence names
    "year_match",  # the lead figure is of the year asked
    "year_other",  # the lead figure is of another year than asked
    "place_named",  # the lead figure's place is named in the question
    "target",  # the lead figure is a target (「预期」「力争」), not a result
    "partial",  # a comparison missing a side, or a series missing years (the share missing)
    "cited",  # how many passages the answer cites (0, 1/3, 2/3, 1 for three or more)
)

#: A comparison whose side no passage states (rag/answering/compare.py words it so).
_MISSING_SIDE_RE = re.compile(r"^(?:（[^）]*）)?报告中未找到")


def signals(answer: Answer, places: Collection[str] = ()) -> dict[str, float]:
    """The named signals of ``answer`` (``places``: place names, left out of the question's metric words)."""
    s = dict.fromkeys(SIGNALS, 0.0)
    question = answer.standalone_question or answer.question
    if answer.refused:
        reason = answer.reason or ""
        if "cover" in reason:
            s["refused_coverage"] = 1.0
        elif reason:
            s["refused_checked"] = 1.0
        else:
            s["refused_plain"] = 1.0
        return _rounded(s)
    s[
        "quote"
        if answer.mode == "quote"
        else "about"
        if answer.mode == "about"
        else "model"
        if answer.mode == "model"
        else "extractive"
    ] = 1.0
    s["unsupported"] = float(bool(answer.unsupported_numbers))
    s["doubtful"] = float(bool(answer.doubtful_numbers))
    changed = {str(step.get("name")) for step in answer.steps if step.get("changed")}
    s["fell_back"] = float("fall_back" in changed)
    s["judge_quoted"] = float("judge_doubt" in changed)
    s["cited"] = min(len(answer.citations), 3) / 3
    lead = answer.figures[0] if answer.figures else None
    if lead is None:
        s["no_figure"] = 1.0
    else:
        asked = asked_terms(question, places)
        measures = str(lead.get("measures") or "")
        s["named"] = agreement(asked, metric_words(measures, places), lenient=True) if asked and measures else 0.0
        years = {int(y) for y in YEAR_RE.findall(question) if y.isdigit()}
        year = lead.get("year")
        if years and isinstance(year, int):
            s["year_match" if year in years else "year_other"] = 1.0
        place = lead.get("place")
        s["place_named"] = float(bool(place) and str(place) in question)
        s["target"] = float(lead.get("kind") == "target")
    if answer.table:
        s["partial"] = sum(row.get("value") is None for row in answer.table) / len(answer.table)
    elif _MISSING_SIDE_RE.match(answer.answer):
        s["partial"] = 0.5
    return _rounded(s)


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic model of :data:`SIGNALS` (``calibration.json``)."""

    intercept: float
    weights: dict[str, float]

    def confidence(self, found: Mapping[str, float]) -> float:
        """The calibrated confidence of answers with these signals, rounded to 3 places."""
        z = self.intercept + sum(w * found.get(name, 0.0) for name, w in self.weights.items())
        return round(1 / (1 + math.exp(-z)), 3)

    @classmethod
    def read(cls, path: Path = CALIBRATION) -> Calibration:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = {str(k): float(v) for k, v in data["weights"].items()}
            intercept = float(data["intercept"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RagError(f"cannot read the confidence calibration {path}: {exc}") from exc
        unknown = sorted(set(weights) - set(SIGNALS))
        if unknown:
            raise RagError(f"{path}: weights for unknown signals {', '.join(unknown)}")
        return cls(intercept, weights)


@cache
def calibration() -> Calibration:
    """The shipped calibration (read once)."""
    return Calibration.read()


def assess(answer: Answer, places: Collection[str] = (), low: float = 0.0) -> None:
    """Set ``answer.signals``, ``answer.confidence`` and ``answer.low_confidence`` (an answer, not a
    refusal, below ``low``): the last thing done to a final answer."""
    answer.signals = signals(answer, places)
    answer.confidence = calibration().confidence(answer.signals)
    answer.low_confidence = not answer.refused and answer.confidence < low


def _rounded(found: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 3) for name, value in found.items()}
