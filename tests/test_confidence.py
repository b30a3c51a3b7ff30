"""The answers' confidence (rag/answering/confidence.py): its signals read off constructed answers, the
logistic model, the shipped calibration, and eval/calibrate.py's fit and reliability table."""

from __future__ import annotations

import json
import math

import pytest

from eval.calibrate import Row, fit, low_threshold, markdown, reliability
from rag.answering.answer import Answer, Citation
from rag.answering.confidence import CALIBRATION, SIGNALS, Calibration, assess, calibration, signals
from rag.core.config import Settings
from rag.core.errors import RagError

QUESTION = "2023年太仓市一般公共预算收入是多少？"
PLACES = {"太仓市", "太仓"}
CITATION = Citation(1, "x#1", "x.txt", "太仓市", 2023, "一、回顾", "全年一般公共预算收入189.4亿元。")


def figure(**fields: object) -> dict[str, object]:
    values: dict[str, object] = {"value": "189.4", "unit": "亿元", "measures": "一般公共预算收入", "place": "太仓市",
                                 "level": "县级市", "year": 2023, "kind": "actual", "citation": 1}  # fmt: skip
    values.update(fields)
    return values


def answer(text: str = "全年一般公共预算收入189.4亿元[1]。", mode: str = "quote", **fields: object) -> Answer:
    values: dict[str, object] = {"citations": [CITATION], "figures": [figure()], "unsupported_numbers": []}
    values.update(fields)
    citations, unsupported = values.pop("citations"), values.pop("unsupported_numbers")
    return Answer(QUESTION, text, mode == "refused", citations, unsupported, "none", mode=mode, **values)  # type: ignore[arg-type]


def on(found: dict[str, float]) -> dict[str, float]:
    """The signals that are not 0."""
    return {name: value for name, value in found.items() if value}


def test_a_verified_quote_of_the_asked_year_and_place():
    found = signals(answer(), PLACES)
    assert list(found) == list(SIGNALS)
    assert on(found) == {"quote": 1.0, "named": 1.0, "year_match": 1.0, "place_named": 1.0, "cited": pytest.approx(0.333)}


def test_a_model_answer_with_marked_figures_of_another_year_and_a_target():
    given = answer("2024年预期增长5%左右[1]。", mode="model", unsupported_numbers=["7%"], doubtful_numbers=["5%"],
                   figures=[figure(value="5", unit="%", measures="地区生产总值增长", year=2024, kind="target")])  # fmt: skip
    found = signals(given, PLACES)
    assert found["model"] == 1.0 and found["unsupported"] == 1.0 and found["doubtful"] == 1.0
    assert found["year_other"] == 1.0 and found["year_match"] == 0.0
    assert found["target"] == 1.0
    assert found["named"] < 0.5  # 地区生产总值增长 names none of 一般公共预算收入


def test_the_steps_that_changed_an_answer_are_signals():
    steps = [{"name": "verify", "changed": False}, {"name": "fall_back", "changed": True}]
    assert on(signals(answer(steps=steps), PLACES)).get("fell_back") == 1.0
    steps = [{"name": "judge_doubt", "changed": True}, {"name": "fall_back", "changed": False}]
    found = on(signals(answer(steps=steps), PLACES))
    assert found.get("judge_quoted") == 1.0 and "fell_back" not in found


def test_an_answer_without_figures_or_citations():
    found = on(signals(answer("太仓是县级市。", mode="extractive", citations=[], figures=[]), PLACES))
    assert found == {"extractive": 1.0, "no_figure": 1.0}


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("no indexed report covers 南京市", "refused_coverage"),
        ("the 太仓市 reports cover 2022—2023, not 2019", "refused_coverage"),
        ("no passage states the figures the model gave", "refused_checked"),
        (None, "refused_plain"),
    ],
)
def test_a_refusal_says_only_what_kind_of_refusal_it_is(reason, kind):
    refusal = answer("报告中未提及", mode="refused", citations=[], figures=[], reason=reason)
    assert on(signals(refusal, PLACES)) == {kind: 1.0}


def test_a_series_with_a_gap_and_a_comparison_missing_a_side_are_partial():
    table = [{"year": y, "value": v} for y, v in ((2021, "1"), (2022, None), (2023, "3"), (2024, None))]
    assert signals(answer(table=table), PLACES)["partial"] == pytest.approx(0.5)
    assert signals(answer(table=[{"year": 2023, "value": "3"}]), PLACES)["partial"] == 0.0
    missing = answer("报告中未找到2022年的相应数据，无法比较；2023年一般公共预算收入189.4亿元[1]。")
    assert signals(missing, PLACES)["partial"] == pytest.approx(0.5)


def test_the_logistic_model():
    model = Calibration(-1.0, {"quote": 2.0, "named": 1.5})
    assert model.confidence({"quote": 1.0, "named": 1.0}) == pytest.approx(1 / (1 + math.exp(-2.5)), abs=1e-3)
    assert model.confidence({}) == pytest.approx(1 / (1 + math.e), abs=1e-3)
    assert model.confidence({"other": 5.0}) == model.confidence({})  # a signal without a weight counts nothing


def test_assess_flags_a_low_confidence_answer_but_never_a_refusal():
    low = 1.01  # every confidence is below it
    given = answer()
    assess(given, PLACES, low)
    assert given.confidence is not None and 0.0 <= given.confidence <= 1.0
    assert given.signals == signals(answer(), PLACES) and given.low_confidence
    refusal = answer("报告中未提及", mode="refused", citations=[], figures=[])
    assess(refusal, PLACES, low)
    assert refusal.confidence is not None and not refusal.low_confidence
    assess(given, PLACES, 0.0)
    assert not given.low_confidence


def test_a_calibration_file_with_unknown_signals_or_no_weights_is_refused(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"intercept": 0.1, "weights": {"quote": 1.0, "made_up": 2.0}}), encoding="utf-8")
    with pytest.raises(RagError, match="made_up"):
        Calibration.read(path)
    path.write_text(json.dumps({"intercept": 0.1}), encoding="utf-8")
    with pytest.raises(RagError, match="cannot read"):
        Calibration.read(path)


def test_the_shipped_calibration_and_the_settings_threshold_agree():
    shipped = calibration()
    assert set(shipped.weights) <= set(SIGNALS)
    data = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    assert Settings.model_fields["answer_confidence_low"].default == pytest.approx(data["low_confidence"])
    assert "fitted" in data["note"] and data["dev_rows"] > 0


def rows(pairs: list[tuple[float, bool]], split: str = "dev") -> list[Row]:
    """Rows whose one signal ``quote`` is the given value."""
    return [Row("t", split, False, right, {"quote": value}) for value, right in pairs]


def test_fit_learns_which_signal_makes_answers_right_and_the_reliability_table_counts_them():
    data = rows([(1.0, True)] * 17 + [(1.0, False)] * 3 + [(0.0, True)] * 2 + [(0.0, False)] * 6)
    model = fit(data, c=100.0)
    assert model.weights["quote"] > 1.0 and all(abs(w) < 1e-6 for n, w in model.weights.items() if n != "quote")
    assert model.confidence({"quote": 1.0}) == pytest.approx(0.85, abs=0.02)  # the share right among them
    assert model.confidence({}) == pytest.approx(0.25, abs=0.02)
    bins, ece, brier = reliability(data, model)
    assert [b.count for b in bins] == [0, 0, 8, 0, 0, 0, 0, 0, 20, 0]
    assert bins[2].observed == pytest.approx(0.25) and bins[8].observed == pytest.approx(0.85)
    assert ece < 0.03 and 0.1 < brier < 0.2
    assert 0.3 <= low_threshold(data, model) <= 0.85  # below it, 2 of 8 answers were right
    table = markdown({"dev": (bins, ece, brier)})
    assert "| **ECE** |" in table and "| 0.2–0.3 | 8 / " in table
