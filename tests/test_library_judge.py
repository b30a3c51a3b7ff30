"""The library bench's judge: figures stated, and the comparison-contradiction detector on a few strings."""

from __future__ import annotations

import pytest

from eval.library.judge import claims, contradicts, core, states

YEARS = [
    {"place": "清苑区", "year": 2019, "answer": "7.5%", "evidence": "同比增长7.5%"},
    {"place": "清苑区", "year": 2021, "answer": "7%", "evidence": "同比增长7%"},
]
PLACES = [
    {"place": "涞水县", "year": 2021, "answer": "8.15亿元", "evidence": "一般公共预算收入8.15亿元"},
    {"place": "涞源县", "year": 2021, "answer": "8.69亿元", "evidence": "一般公共预算收入完成8.69亿元"},
]
PLAN = [
    {"place": "易县", "year": 2019, "answer": "7%", "evidence": "主要预期目标是：生产总值增长7%"},
    {"place": "易县", "year": 2019, "answer": "6.5%", "evidence": "增长6.5%"},
]


def test_figures_are_stated_whole() -> None:
    assert states("同比增长 7.5%[1]", "7.5%")
    assert not states("增长17%", "7%") and not states("增长7.7%", "7%")
    assert core("8%以上") == "8%" and core("下降1.2%") == "1.2%" and core("36.5 9亿元") == "36.59亿元"


@pytest.mark.parametrize(
    ("answer", "sides", "direction", "contradiction"),
    [
        ("2019年增长7.5%[1]，2021年增长7%[2]，2019年更高。", YEARS, "first", False),
        ("2019年增长7.5%[1]，2021年增长7%[2]，2021年比2019年高。", YEARS, "first", True),
        ("2021年增速低于2019年[1][2]", YEARS, "first", False),
        ("2022年比2021年增加5.7亿元", [YEARS[1], {**YEARS[0], "year": 2022}], "second", False),
        ("涞源县8.69亿元[2]，比涞水县多0.54亿元", PLACES, "second", False),
        ("涞水县一般公共预算收入高于涞源县[1][2]", PLACES, "second", True),
        ("易县2019年实际增长6.5%[2]，未达到7%的目标[1]", PLAN, "first", False),
        ("实际增长6.5%，超过目标[1][2]", PLAN, "first", True),
        ("两者都是7.2%[1][2]，持平", YEARS, "equal", False),
        ("2019年7.5%[1]，2021年7%[2]。", YEARS, "first", False),
        ("清苑区2021年的生产总值增速快，[4]", YEARS, "first", True),
        ("涞源县的多[1]", PLACES, "second", False),
        ("经济总量和人均占有量还较低。[2]", YEARS, "first", False),
    ],
)
def test_contradiction(answer: str, sides: list[dict], direction: str, contradiction: bool) -> None:
    assert contradicts(answer, sides, direction) is contradiction, claims(answer, sides)


def test_growth_against_other_baselines_is_no_claim() -> None:
    assert claims("2021年全区地区生产总值160.5亿元，同比增长7%[2]；2019年比上年增长7.5%[1]", YEARS) == []
    assert claims("涞水县增速高于全市平均水平[1]", PLACES) == []
