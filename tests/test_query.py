from __future__ import annotations

import pytest

from rag.answering.coverage import foreign_place
from rag.core.errors import QueryError
from rag.retrieval.query import RegionName, find_region, find_regions, find_years, parse_query, year_parts

REGIONS = [RegionName("太仓市"), RegionName("苏州市"), RegionName("玉山镇"), RegionName("相城区", "苏州市")]
REFS = {"": 2025, "太仓市": 2025, "苏州市": 2023, "玉山镇": 2020, "相城区": 2024}


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("2023年太仓市一般公共预算收入是多少？", "太仓市"),
        ("太仓的GDP", "太仓市"),
        ("苏州市相城区的高标准农田", "相城区"),
        ("苏州相城今年目标", "相城区"),
        ("苏州2022年地区生产总值", "苏州市"),
        ("玉山镇2019年", "玉山镇"),
        ("南京2023年GDP", None),
    ],
)
def test_region(text: str, region: str | None):
    assert find_region(text, REGIONS) == region


@pytest.mark.parametrize(
    ("text", "year", "period"),
    [
        ("2023年太仓市一般公共预算收入是多少？", 2023, None),
        ("2024年太仓GDP增长目标是多少？", 2024, "plan"),
        ("太仓去年一般公共预算收入", 2024, None),
        ("太仓今年的目标是什么", 2025, "plan"),
        ("相城区明年的主要任务", 2024, "plan"),
        ("玉山镇去年完成了多少地区生产总值", 2019, None),
        ("什么是五大行动", None, None),
        ("2021到2023年太仓一共认定了多少套保障性租赁住房？", None, None),  # a span, not its first year
    ],
)
def test_year_and_period(text: str, year: int | None, period: str | None):
    intent = parse_query(text, REGIONS, reference_year=REFS[""], reference_years=REFS)
    assert (intent.year, intent.period) == (year, period)


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("2021到2023年太仓一共认定了多少套保障性租赁住房？", (2021, 2023)),
        ("相城区近三年的地区生产总值", (2022, 2024)),  # ends at 相城区's newest report
        ("2023年太仓市一般公共预算收入", None),
    ],
)
def test_span_of_years(text: str, years: tuple[int, int] | None):
    assert parse_query(text, REGIONS, reference_year=REFS[""], reference_years=REFS).years == years


@pytest.mark.parametrize("text", ["", "   ", "问" * 2001])
def test_bad_queries(text: str):
    with pytest.raises(QueryError):
        parse_query(text, REGIONS)


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("2023年南京市一般公共预算收入是多少？", "南京市"),
        ("杭州的GDP", "杭州"),
        ("和无锡市比怎么样", "无锡市"),
        ("2023年太仓市一般公共预算收入是多少？", None),
        ("苏州市相城区的高标准农田", None),
        ("太仓是全国百强县第几", None),
        ("中国最具幸福感城市县级市榜首", None),
        ("昆山市玉山镇2019年", None),
        ("昆山市2019年地区生产总值是多少？", "昆山市"),
        ("昆山2019年的GDP", "昆山"),
        ("2023年太仓和南京的GDP哪个高", None),  # an indexed region is named: 南京 is what it is compared with
        ("新增市场主体多少户", None),
    ],
)
def test_places_outside_the_corpus(text: str, place: str | None):
    regions = [RegionName("太仓市", "苏州市"), RegionName("苏州市"), RegionName("玉山镇", "昆山市"), RegionName("相城区", "苏州市")]
    assert foreign_place(text, regions) == place


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        ("2023年太仓和相城区的社会消费品零售总额哪个更高？", ["太仓市", "相城区"]),
        ("苏州市相城区2023年地区生产总值", ["相城区"]),  # the city only as part of its district's name
        ("苏州相城区2023年地区生产总值", ["相城区"]),
        ("苏州和相城区的目标谁高", ["苏州市", "相城区"]),
        ("2023年太仓市一般公共预算收入", ["太仓市"]),
    ],
)
def test_every_region_a_comparison_names(text: str, regions: list[str]):
    assert find_regions(text, REGIONS) == regions


def test_each_year_keeps_the_period_its_part_asks_about():
    assert find_years("太仓2023年研发投入强度是多少？2024年目标又是多少？") == [(2023, None), (2024, "plan")]
    assert find_years("相城区2024年计划建的比2023年实际建成的多多少？") == [(2024, "plan"), (2023, None)]
    assert find_years("2023年太仓市一般公共预算收入") == [(2023, None)]


def test_each_year_of_a_comparison_keeps_its_part_of_the_question():
    assert year_parts("苏州2022年新增就业人数和2023年的城镇新增就业目标比，哪个大？") == [
        (2022, None, "苏州2022年新增就业人数和"),
        (2023, "plan", "2023年的城镇新增就业目标比，哪个大？"),
    ]
    assert year_parts("2023年和2023年") == [(2023, None, "2023年和2023年")]  # one year named twice: one side


def test_the_year_a_change_is_measured_from_is_no_side():
    assert find_years("2024年株洲市常住人口城镇化率比2023年提高了多少？") == [(2024, None)]
    assert find_years("2024年研发投入强度较2023年提升多少个百分点") == [(2024, None)]
    # two figures compared: both years are asked about
    assert find_years("太仓2024年新增的人才公寓比2023年多还是少？") == [(2024, None), (2023, None)]
