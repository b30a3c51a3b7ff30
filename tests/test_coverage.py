"""The early refusal: a place or year no indexed report covers, and only when sure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.answering.coverage import coverage_gap, foreign_place, gazetteer
from rag.reading.chunking import chunk_reports, covered_years
from rag.reading.documents import load_reports
from rag.retrieval.query import QueryIntent, RegionName, find_year_range, parse_query

ROOT = Path(__file__).resolve().parent.parent
GOLD = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line]
ANSWERABLE = [row for row in GOLD if row["type"] != "unanswerable"]
UNANSWERABLE = [row for row in GOLD if row["type"] == "unanswerable"]
REGIONS = [RegionName("太仓市", "苏州市"), RegionName("苏州市"), RegionName("玉山镇", "昆山市"), RegionName("相城区", "苏州市")]


@dataclass(frozen=True)
class Corpus:
    regions: list[RegionName]
    reference_years: dict[str, int]
    years: dict[str, set[int]]

    def gap(self, question: str) -> str | None:
        refs = self.reference_years
        intent = parse_query(question, self.regions, reference_year=refs.get(""), reference_years=refs)
        return coverage_gap(intent, self.regions, self.years)


@pytest.fixture(scope="module")
def seeds() -> Corpus:
    """What an index of the seeds knows, without the embedding model: regions as ``Retriever._regions``
    derives them, newest report years as ``Retriever._reference_years``, years per region from chunks."""
    reports = load_reports([ROOT / "seeds"])
    regions = list({r.region: RegionName(r.region, r.parent_region) for r in reports if r.region}.values())
    refs: dict[str, int] = {}
    for report in reports:
        if report.year is not None:
            for key in (report.region or "", ""):
                refs[key] = max(refs.get(key, report.year), report.year)
    return Corpus(regions, refs, covered_years(chunk_reports(reports)))


@pytest.mark.parametrize("row", ANSWERABLE, ids=[row["id"] for row in ANSWERABLE])
def test_answerable_gold_questions_pass(seeds: Corpus, row: dict):
    assert seeds.gap(row["question"]) is None


def _asks_what_no_report_covers(row: dict, seeds: Corpus) -> bool:
    """An unanswerable gold question about an unindexed region, or a year its region's reports lack."""
    if row["region"] not in {r.name for r in seeds.regions}:
        return True
    year = re.search(r"((?:19|20)\d{2})年", row["question"])
    return year is not None and int(year.group(1)) not in seeds.years[row["region"]]


def test_unanswerable_gold_questions_about_uncovered_places_or_years_are_refused(seeds: Corpus):
    uncovered = [row for row in UNANSWERABLE if _asks_what_no_report_covers(row, seeds)]
    assert {row["region"] for row in uncovered} >= {"昆山市", "吴江区"}  # the gold set has such questions
    for row in uncovered:
        reason = seeds.gap(row["question"])
        assert reason is not None, row["question"]
        assert row["region"] in reason or re.search(r"not \d{4}", reason), reason


def test_a_year_no_report_of_the_region_covers_is_refused(seeds: Corpus):
    assert seeds.gap("玉山镇2023年社会消费品零售总额是多少？") == "the 玉山镇 reports cover 2019、2020, not 2023"
    assert seeds.gap("2010年太仓一般公共预算收入是多少？") is not None
    assert seeds.gap("2010年一般公共预算收入是多少？") is not None  # no region named: no report at all covers it


@pytest.mark.parametrize(
    "text",
    [
        "新增市场主体多少户",
        "有多少新市",
        "办理了多少件市",
        "有多少新市民",
        "办理了多少件市人大代表建议",
        "城市更新",
        "市民满意度",
        "上市公司有几家",
        "中国最具幸福感城市县级市",
    ],
)
def test_words_with_admin_characters_are_no_places(text: str):
    assert gazetteer().places(text) == []
    assert foreign_place(text, REGIONS) is None


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("杭州市2023年GDP", "杭州市"),
        ("南京", "南京"),
        ("宁夏2023年地区生产总值", "宁夏"),  # 宁夏回族自治区
        ("吴江区2022年一般公共预算收入是多少？", "吴江区"),
        ("昆山市2019年地区生产总值是多少？", "昆山市"),  # 玉山镇's parent, alone
        ("昆山市玉山镇2019年", None),  # the parent only qualifies its indexed town
        ("江苏省苏州市相城区2023年", None),
        ("苏州昆山2019年GDP", "昆山"),  # an indexed city qualifying a place in it
        ("南京和杭州哪个GDP更高", "南京"),
        # a place no gazetteer knows (new, renamed, made up), named as the subject
        ("2024年凤鸣市一般公共预算收入是多少？", "凤鸣市"),
        ("凤鸣县2024年地区生产总值", "凤鸣县"),
        ("2024年农贸市场新建了多少个？", None),
        ("2024年各县市地区生产总值", None),
        ("2023年全市地区生产总值", None),
        ("2023年市民满意度是多少", None),
        ("2023年太仓市民满意度是多少", None),
        # a county of one character before 县, whether or not the gazetteer knows it
        ("2024年容县接待游客多少人次？", "容县"),
        ("滑县2024年地区生产总值是多少？", "滑县"),
        ("2024年全县接待游客多少人次？", None),  # which county, not a name
        ("2024年本县一般公共预算收入是多少？", None),
        ("2024年各县地区生产总值", None),
    ],
)
def test_the_place_a_question_asks_about(text: str, place: str | None):
    assert foreign_place(text, REGIONS) == place


@pytest.mark.parametrize(
    "text",
    [
        "与上海的合作有哪些成果？",
        "太仓与上海的合作有哪些成果？",  # an indexed region is named
        "2023年太仓引进了多少个上海的项目？",
        "对接上海有哪些举措",
        "赴深圳招商了几次",
        "深圳企业落户了多少家",
        "同南京的通勤时间缩短到多少",
    ],
)
def test_objects_of_the_question_are_not_what_it_asks_about(text: str):
    assert foreign_place(text, REGIONS) is None


def test_short_forms():
    forms = gazetteer().forms
    assert {"杭州", "杭州市", "宁夏", "湘西", "昆山"} <= forms.keys()
    assert "浦东新区" in forms and "浦东" not in forms  # districts and counties only by their full names
    assert "新建" not in forms and "新建区" in forms
    assert {"合作", "城区", "市辖区", "老城区", "县"}.isdisjoint(forms)  # common words


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("2021到2023年太仓一共认定了多少套保障性租赁住房？", (2021, 2023)),
        ("2021—2023年", (2021, 2023)),
        ("2021年至2023年", (2021, 2023)),
        ("2021-2023年", (2021, 2023)),
        ("二〇二一到二〇二三年", (2021, 2023)),
        ("近三年", (2023, 2025)),
        ("过去五年", (2021, 2025)),
        ("最近两年", (2024, 2025)),
        ("2023年", None),
        ("2023年比2022年增长多少", None),
        ("近年来", None),
    ],
)
def test_year_ranges(text: str, years: tuple[int, int] | None):
    assert find_year_range(text, 2025) == years


def test_relative_ranges_need_a_reference_year():
    assert find_year_range("近三年", None) is None


def test_a_span_is_refused_only_when_no_year_of_it_is_covered():
    years = {"太仓市": {2023, 2024, 2025}}
    regions = [RegionName("太仓市")]
    span = QueryIntent("太仓2021到2023年保障性租赁住房", region="太仓市", years=(2021, 2023))
    assert coverage_gap(span, regions, years) is None
    early = QueryIntent("太仓2018到2020年保障性租赁住房", region="太仓市", years=(2018, 2020))
    assert coverage_gap(early, regions, years) == "the 太仓市 reports cover 2023、2024、2025, not 2018—2020"


def test_targets_after_the_newest_report_are_no_gap():
    years = {"太仓市": {2023, 2024, 2025}}
    target = QueryIntent("太仓2035年远景目标", region="太仓市", year=2035, period="plan")
    assert coverage_gap(target, [RegionName("太仓市")], years) is None
    actual = QueryIntent("太仓2026年GDP", region="太仓市", year=2026)
    assert coverage_gap(actual, [RegionName("太仓市")], years) is not None


def test_unknown_years_refuse_nothing():
    intent = QueryIntent("太仓2019年GDP", region="太仓市", year=2019)
    assert coverage_gap(intent, [RegionName("太仓市")], {}) is None


def test_a_foreign_place_is_the_reason():
    intent = QueryIntent("杭州市2023年GDP", year=2023)
    assert coverage_gap(intent, REGIONS, {"太仓市": {2023}}) == "no indexed report covers 杭州市"
