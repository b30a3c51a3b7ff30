"""Issue #27's library rules, on sentences of its real county reports (eval/library, 保定's counties):
one place under two names (a county renamed a district, 徐水县 → 徐水区 in 2015), a decline as the answer
to a growth question, a several-year figure as no answer about one year, a bare change's metric, note
markers. Deterministic: no model, no index."""

from __future__ import annotations

from decimal import Decimal

from rag.answering.compare import compare
from rag.answering.figures import asked_figure, stated_figures
from rag.answering.quote import sure_quote
from rag.answering.series import asks_for_series, build_series
from rag.answering.verify import asked_figures
from rag.core.config import Settings
from rag.indexing.stores.base import Where
from rag.indexing.stores.milvus import expression
from rag.reading.chunking import Chunk
from rag.retrieval.query import QueryIntent, find_year_range
from rag.retrieval.retrieve import Retriever
from rag.text.gazetteer import same_place
from rag.text.numbers import Figure, comparable, figures_in

PLACES = frozenset({"徐水县", "徐水区", "徐水", "涞源县", "涞源", "顺平县", "顺平", "保定市", "保定"})


def chunk(text: str, region: str, year: int, *, parent: str | None = None, period: str = "review", n: int = 0) -> Chunk:
    return Chunk(f"c{n}", "d", f"{region}_{year + 1}.txt", region, parent, year + 1, None, year, period, "", 0, text)


# -- one place, two names ------------------------------------------------------------------------


def test_a_county_renamed_a_district_is_one_place_by_stem_suffix_and_parent():
    assert same_place("徐水县", "徐水区") and same_place("徐水区", "徐水县")
    assert same_place("徐水县", "徐水区", None, "保定市")  # the district's prefecture
    assert not same_place("徐水县", "徐水区", "苏州市", None)  # another prefecture: another place
    assert same_place("太仓县", "太仓市")  # a county that became a county-level city
    assert not same_place("抚顺县", "抚顺市")  # both today's: a county and the city it lies in
    assert not same_place("徐水县", "清苑区") and not same_place("徐水", "徐水区") and not same_place(None, "徐水区")


class _Store:
    """The little of a store the retriever reads at start."""

    kind = "local"
    sources = [
        {"region": "徐水县", "parent_region": None, "year": 2013},
        {"region": "徐水区", "parent_region": "保定市", "year": 2024},
        {"region": "涞源县", "parent_region": None, "year": 2021},
    ]

    def covered_years(self) -> dict[str, set[int]]:
        return {"徐水县": {2012, 2013}, "徐水区": {2023, 2024}, "涞源县": {2020, 2021}}


def test_retrieval_searches_a_place_under_both_its_names():
    retriever = Retriever(_Store(), None, Settings())  # type: ignore[arg-type]
    assert retriever.same_place("徐水县") == ("徐水县", "徐水区") and retriever.same_place("涞源县") == ("涞源县",)
    assert {r.name: r.parent for r in retriever.regions}["徐水县"] == "保定市"  # from its other name's reports
    assert retriever.covered_years()["徐水区"] == {2012, 2013, 2023, 2024}
    tiers = retriever._tiers(QueryIntent("徐水县2012年地方生产总值完成多少？", "徐水县", 2012))
    assert all(t.region == "徐水县" and t.also == ("徐水区",) for t in tiers)
    assert expression(Where("徐水区", 2012, also=("徐水县",))) == 'region in ["徐水区", "徐水县"] and year == 2012'


def test_a_question_under_todays_name_takes_the_old_names_report_and_says_its_name():
    chunks = [chunk("2012年完成地方生产总值139.5亿元，同比增长12.1%。", "徐水县", 2012, n=1)]
    side = QueryIntent("徐水区2012年地方生产总值完成多少？", "徐水区", 2012)
    found = asked_figure(side.text, side, chunks, PLACES)
    assert found is not None and (found.text, found.place) == ("139.5亿元", "徐水县")
    by_year = [
        (2012, [chunks[0]], 1),
        (2017, [chunk("2017年，完成地方生产总值[1]202亿元，同比增长9%。", "徐水区", 2017, parent="保定市", n=2)], 2),
    ]
    series = build_series("徐水历年地方生产总值是多少？", QueryIntent("徐水历年地方生产总值是多少？", "徐水区"), by_year, PLACES)
    assert series is not None
    assert series.text.startswith("徐水区") and series.text.endswith("：2012年（徐水县）139.5亿元[1]；2017年202亿元[2]。")


def test_a_reports_note_marker_is_no_figure():
    assert figures_in(comparable("完成地方生产总值[1]202亿元")) == [Figure("202", "亿元")]


# -- a decline answers a growth question -----------------------------------------------------------

_2020 = "社会消费品零售总额完成14.2亿元，同比下降1.2%，高于全市平均增速0.3个百分点；城镇登记失业人数比上年减少300人。"


def test_a_decline_is_a_negative_change_said_as_the_report_says_it():
    figures = {f.text: f for f in stated_figures([chunk(_2020, "涞源县", 2020)])}
    fall = figures["1.2%"]
    assert (fall.fall, fall.said, fall.amount()) == ("下降", "下降1.2%", (Decimal("-1.2"), "%"))
    assert figures["300人"].amount() == (Decimal("-300"), "人")
    assert (figures["14.2亿元"].fall, figures["0.3个百分点"].fall) == ("", "")


def test_a_decline_answers_how_much_it_grew():
    question = "涞源县2020年社会消费品零售总额增长了多少？"
    side = QueryIntent(question, "涞源县", 2020)
    found = asked_figure(question, side, [chunk(_2020, "涞源县", 2020, n=1)], PLACES)
    assert found is not None and found.said == "下降1.2%"


def test_comparisons_and_series_count_a_decline_below_zero():
    chunks = [
        chunk(_2020, "涞源县", 2020, n=1),
        chunk("社会消费品零售总额完成14.4亿元，同比增长10%。", "涞源县", 2019, n=2),
    ]
    question = "涞源县2020年和2019年社会消费品零售总额增速哪年高？"
    sides = [QueryIntent(question, "涞源县", 2020), QueryIntent(question, "涞源县", 2019)]
    comparison = compare(question, sides, chunks, PLACES)
    assert comparison is not None and comparison.text.endswith("2020年比2019年低11.2个百分点。")
    asked = "涞源县历年社会消费品零售总额增长多少？"
    series = build_series(asked, QueryIntent(asked, "涞源县"), [(2019, [chunks[1]], 1), (2020, [chunks[0]], 2)], PLACES)
    assert series is not None and "2019年10%[1]；2020年下降1.2%[2]" in series.text


# -- one year's figure, and what a bare change measures ---------------------------------------------


def test_a_one_year_question_is_not_quoted_a_five_year_average():
    review = "社会消费品零售总额达到14.2亿元，年均增长7%；城乡居民人均可支配收入分别达到30283元、10324元。"
    chunks = [chunk(review, "涞源县", 2020, n=1), chunk(_2020, "涞源县", 2020, n=2)]
    question = "涞源县2020年社会消费品零售总额增长了多少？"
    quote = sure_quote(question, chunks, [QueryIntent(question, "涞源县", 2020)], PLACES)
    assert quote is not None and "下降1.2%" in quote and "年均" not in quote
    span = "涞源县2020年社会消费品零售总额年均增长多少？"
    assert "年均增长7%" in (sure_quote(span, chunks, [QueryIntent(span, "涞源县", 2020)], PLACES) or "")


def test_a_bare_change_measures_the_level_stated_last_not_a_remark_between():
    sentence = "全年完成地区生产总值100.6亿元，历史性突破百亿大关，增长7.2%，排名全市第一"
    assert [f.text for f, _ in asked_figures(sentence, "顺平县2023年生产总值增长多少？", PLACES)] == ["7.2%"]


# -- a five-year plan's period ---------------------------------------------------------------------


def test_a_five_year_plan_names_its_span_and_an_average_over_it_is_no_series():
    question = "涞水县这五年（十三五）经济每年平均涨了多少？"
    assert find_year_range(question, 2022) == (2016, 2020)  # the plan's years, not the five before 2022
    assert find_year_range("“十四五”期间", None) == (2021, 2025) and find_year_range("十一五", None) == (2006, 2010)
    assert find_year_range("清苑区“十三五”末一般公共预算收入达到多少？", None) is None  # its end: one year
    assert not asks_for_series(question, QueryIntent(question, "涞水县", years=(2016, 2020)))
    assert asks_for_series("涞水县十三五期间历年地区生产总值是多少？", QueryIntent("", "涞水县", years=(2016, 2020)))
    plan = "“十四五”期间地区生产总值的目标是多少？"
    assert not asks_for_series(plan, QueryIntent(plan, "涞水县", years=(2021, 2025)))
    assert not asks_for_series("每年平均", QueryIntent("", "涞水县")) and asks_for_series("每年一共", QueryIntent("", "涞水县"))
