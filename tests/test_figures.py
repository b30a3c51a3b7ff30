"""The figure model (rag/answering/figures.py), comparisons computed (compare.py) and series (series.py),
on sentences of real county reports (eval/library, 保定's counties) and of the seeds."""

from __future__ import annotations

import pytest

from rag.answering.compare import asks_to_compare, claims_against, compare
from rag.answering.figures import StatedFigure, asked_figure, figures_of_answer, region_level, stated_figures
from rag.answering.series import asks_for_series, build_series, series_years
from rag.reading.chunking import Chunk
from rag.retrieval.query import QueryIntent


def chunk(text: str, *, region: str = "清苑区", parent: str | None = "保定市", year: int | None = 2023,
          period: str = "review", n: int = 0) -> Chunk:  # fmt: skip
    return Chunk(
        f"c{n}", "d", f"{region}_{(year or 0) + 1}.txt", region, parent, (year or 0) + 1, None, year, period, "", 0, text
    )


#: Place names, which name no metric (the answerer passes every region's names and aliases).
PLACES = frozenset({"清苑区", "清苑", "顺平县", "顺平", "保定市", "保定"})


def by_value(figures: list[StatedFigure]) -> dict[str, StatedFigure]:
    return {f.text: f for f in figures}


# -- what a figure measures, whose it is, when and in what sense ------------------------------------


def test_a_figure_names_what_its_own_clause_measures():
    found = by_value(
        stated_figures([chunk("全年地区生产总值完成176.6亿元，同比增长5.5%；固定资产投资完成45.4亿元，同比增长13.9%。")])
    )
    assert found["176.6亿元"].measures == "地区生产总值"
    assert found["45.4亿元"].measures == "固定资产投资"
    assert found["5.5%"].measures == "地区生产总值同比增长"
    assert all(f.kind == "actual" and f.year == 2023 and f.place == "清苑区" and f.citation == 1 for f in found.values())


def test_the_whole_of_a_higher_level_is_not_the_countys_own_figure():
    text = "全市地区生产总值增长6.1%，全县地区生产总值增长7.2%。"
    found = by_value(stated_figures([chunk(text, region="顺平县")]))
    assert (found["6.1%"].place, found["6.1%"].level) == ("保定市", "市")
    assert (found["7.2%"].place, found["7.2%"].level) == ("顺平县", "县")
    # 全市 in a county-level city's own report is itself
    city = by_value(stated_figures([chunk("全市地区生产总值增长6.1%。", region="安国市")]))
    assert city["6.1%"].place == "安国市"


def test_targets_estimates_and_the_year_a_sentence_names():
    plan = stated_figures([chunk("全区经济社会发展的预期目标是：地区生产总值增长7%。", period="plan", year=2023)])
    assert plan[0].kind == "target"
    estimate = stated_figures([chunk("初步预计，全年地区生产总值完成166.2亿元。", year=2022)])
    assert estimate[0].kind == "estimate" and estimate[0].year == 2022
    review = by_value(stated_figures([chunk("2020年，全县生产总值达到120.5亿元，比2015年增长40%。", region="易县", year=None)]))
    assert review["120.5亿元"].year == 2020
    assert review["40%"].year == 2020  # 「比2015年」 is the baseline, not the year described
    grown = by_value(
        stated_figures([chunk("一般公共预算收入从4.37亿元增长到6.89亿元，年均增长7.56%。", region="易县", year=2020)])
    )
    assert (grown["4.37亿元"].year, grown["6.89亿元"].year) == (None, 2020)
    assert grown["7.56%"].span and not grown["6.89亿元"].span


def test_region_level_from_the_suffix():
    assert [region_level(n) for n in ("清苑区", "易县", "安国市", "河北省", None)] == ["区", "县", "市", "省", None]


def test_the_asked_figure_is_the_places_own_of_the_asked_year():
    chunks = [
        chunk("全市地区生产总值增长6.1%。", region="顺平县", year=2021, n=1),
        chunk("全县地区生产总值增长7.2%。", region="顺平县", year=2021, n=2),
    ]
    side = QueryIntent("顺平县2021年地区生产总值增长多少", "顺平县", 2021)
    found = asked_figure(side.text, side, chunks, PLACES)
    assert found is not None and (found.text, found.citation) == ("7.2%", 2)
    assert asked_figure(side.text, QueryIntent(side.text, "顺平县", 2020), chunks, PLACES) is None


# -- comparisons --------------------------------------------------------------------------------


def two_years() -> list[Chunk]:
    return [
        chunk("全年地区生产总值完成176.6亿元，同比增长5.5%。", year=2023, n=1),
        chunk("全年地区生产总值完成166.2亿元，同比增长3.5%。", year=2022, n=2),
    ]


@pytest.mark.parametrize(
    ("question", "stated", "verdict"),
    [
        ("清苑区2023年和2022年的地区生产总值哪个高", ("176.6亿元[1]", "166.2亿元[2]"), "2023年比2022年多10.4亿元"),
        # growth rates differ in percentage points
        ("清苑区2023年地区生产总值增速比2022年高还是低", ("5.5%[1]", "3.5%[2]"), "2023年比2022年高2个百分点"),
    ],
)
def test_a_comparison_is_computed_from_both_cited_figures(question, stated, verdict):
    sides = [QueryIntent(question, "清苑区", 2023), QueryIntent(question, "清苑区", 2022)]
    result = compare(question, sides, two_years(), PLACES)
    assert result is not None and result.complete
    assert all(s in result.text for s in stated) and verdict in result.text


def test_a_missing_side_is_named_and_no_verdict_given():
    question = "清苑区2023年地区生产总值与2019年相比"
    sides = [QueryIntent(question, "清苑区", 2023), QueryIntent(question, "清苑区", 2019)]
    result = compare(question, sides, two_years(), PLACES)
    assert result is not None and not result.complete
    assert "2019年" in result.text and "无法比较" in result.text
    assert "比2019年" not in result.text


@pytest.mark.parametrize(
    ("question", "asks"),
    [("2024年增速与2023年相比如何", True), ("哪一年的收入更高", True), ("2023年和2022年的生产总值分别是多少", False)],
)
def test_asks_to_compare(question, asks):
    assert asks_to_compare(question) is asks


def figure(value: str, unit: str = "%") -> StatedFigure:
    return StatedFigure(value, unit, "地区生产总值增长", "清苑区", "区", 2023, "actual", 1, "")


def test_comparative_claims_need_two_figures_that_agree():
    assert claims_against("2024年的增速更高[1]", [figure("5.4")]) is not None
    assert claims_against("2024年增长5.4%，2023年增长5.5%，2024年是高", [figure("5.4"), figure("5.5")]) is not None
    assert claims_against("2024年增长5.4%，低于2023年的5.5%", [figure("5.4"), figure("5.5")]) is None
    assert claims_against("2024年增长5.4%[1]。", [figure("5.4")]) is None


# -- series -------------------------------------------------------------------------------------


def test_a_series_has_a_row_per_stated_year_and_shows_gaps():
    question = "清苑区历年地区生产总值是多少"
    intent = QueryIntent(question, "清苑区")
    assert asks_for_series(question, intent)
    by_year = [
        (2021, [chunk("全年地区生产总值完成160.5亿元。", year=2021)], 1),
        (2022, [chunk("粮食总产量达到40万吨。", year=2022)], 2),
        (2023, [chunk("全年地区生产总值完成176.6亿元。", year=2023)], 3),
        (2024, [chunk("人口保持稳定。", year=2024)], 4),
    ]
    series = build_series(question, intent, by_year, PLACES)
    assert series is not None
    assert [(r["year"], r["text"], r["citation"]) for r in series.table()] == [
        (2021, "160.5亿元", 1), (2022, None, None), (2023, "176.6亿元", 3),
    ]  # fmt: skip
    assert "2021年160.5亿元[1]" in series.text and "2022年（报告未载）" in series.text


def test_series_years_keep_the_asked_span():
    assert series_years(QueryIntent("q", "x", years=(2019, 2021)), {2017, 2019, 2020, 2021, 2022}) == [2019, 2020, 2021]
    assert series_years(QueryIntent("q", "x"), {2022, 2020}) == [2020, 2022]
    assert not asks_for_series("清苑区2023年地区生产总值是多少", QueryIntent("q", "清苑区", 2023))


def test_an_answers_figures_are_described_by_the_sentence_its_citation_states_them_in():
    chunks = [
        chunk("全市地区生产总值增长6.1%。", region="顺平县", n=1),
        chunk("全县地区生产总值增长7.2%，粮食产量40万吨。", region="顺平县", n=2),
    ]
    found = figures_of_answer("顺平县地区生产总值增长7.2%[2]，另有99吨[2]。", chunks, [2])
    assert [(f.text, f.measures, f.place, f.citation) for f in found] == [("7.2%", "地区生产总值增长", "顺平县", 2)]


def test_a_quote_of_the_citys_figure_is_no_answer_for_the_county(make_settings, embedder, tmp_path):
    """「全市地区生产总值增长6.1%」 in a county's report is its city's figure: a question about the county is
    not answered with it, though the sentence names everything asked."""
    from rag.answering.answer import Answerer
    from rag.indexing.ingest import ingest
    from rag.retrieval.retrieve import open_retriever

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.txt").write_text(
        "顺平县2022年政府工作报告\n——2022年1月20日在顺平县第十七届人民代表大会第一次会议上\n各位代表：\n"
        "一、2021年工作回顾\n2021年，全市地区生产总值增长6.1%，我县经济稳中向好。\n二、2022年工作安排\n今年要稳增长。\n",
        encoding="utf-8",
    )
    settings = make_settings(seeds_dir=docs)
    ingest([docs], settings, embedder=embedder)
    answerer = Answerer(open_retriever(settings, embedder=embedder), None, settings)
    answer = answerer.ask("顺平县2021年地区生产总值增长多少？")
    assert "6.1%" not in answer.answer


def test_respectively_lists_map_their_figures_in_order():
    from rag.answering.figures import respectively

    assert (
        respectively("城乡居民人均可支配收入分别达到40678元和24761元。")
        == "城镇居民人均可支配收入达到40678元，农村居民人均可支配收入达到24761元。"
    )
    assert (
        respectively("城镇、农村居民人均可支配收入分别增长5.3%、8.8%。")
        == "城镇居民人均可支配收入增长5.3%，农村居民人均可支配收入增长8.8%。"
    )
    assert respectively("一般公共预算收入和税收收入分别增长6.5%和9.8%。") == "一般公共预算收入增长6.5%，税收收入增长9.8%。"
    assert respectively("同比分别增长6.5%和9.8%。") == "同比分别增长6.5%和9.8%。"  # no subjects to pair: as it was
    side = QueryIntent("清苑区2022年农村居民人均可支配收入是多少", "清苑区", 2022)
    found = asked_figure(side.text, side, [chunk("城乡居民人均可支配收入分别达到40678元和24761元。", year=2022)], PLACES)
    assert found is not None and found.text == "24761元" and found.sentence.startswith("城乡")


def test_a_series_takes_a_year_a_five_year_review_names():
    question = "易县历年地区生产总值是多少"
    intent = QueryIntent(question, "易县")
    by_year = [(2020, [chunk("全县生产总值从2015年的87.55亿元增长到118.32亿元，年均增长5.02%。", region="易县", year=2020)], 1),
               (2021, [chunk("全县生产总值完成124.6亿元。", region="易县", year=2021)], 2)]  # fmt: skip
    series = build_series(question, intent, by_year, PLACES | {"易县"})
    assert series is not None
    # rows for the years the library covers or names, not for every calendar year between
    assert [(r["year"], r["text"]) for r in series.table()] == [(2015, "87.55亿元"), (2020, "118.32亿元"), (2021, "124.6亿元")]


@pytest.fixture
def two_reports(make_settings, embedder, tmp_path):
    """A county's reports of two years, indexed: what a library of reports is, at its smallest."""
    from rag.answering.answer import Answerer
    from rag.indexing.ingest import ingest
    from rag.retrieval.retrieve import open_retriever

    docs = tmp_path / "docs"
    docs.mkdir()
    for year, gdp, growth, target in ((2023, "166.2", "3.5", "7"), (2024, "176.6", "5.5", "6")):
        (docs / f"r{year}.txt").write_text(
            f"清苑区{year}年政府工作报告\n——{year}年1月9日在保定市清苑区人民代表大会上\n各位代表：\n"
            f"一、{year - 1}年工作回顾\n{year - 1}年，全区地区生产总值完成{gdp}亿元，同比增长{growth}%，全市地区生产总值增长9.9%。\n"
            f"二、{year}年工作安排\n全区经济社会发展的预期目标是：地区生产总值增长{target}%左右。\n",
            encoding="utf-8",
        )
    settings = make_settings(seeds_dir=docs)
    ingest([docs], settings, embedder=embedder)
    return Answerer(open_retriever(settings, embedder=embedder), None, settings)


def test_a_series_question_is_answered_by_a_table_of_the_years_the_library_states(two_reports):
    answer = two_reports.ask("清苑区历年地区生产总值是多少？")
    assert answer.mode == "quote" and not answer.refused
    assert [(r["year"], r["text"]) for r in answer.table or []] == [(2022, "166.2亿元"), (2023, "176.6亿元")]
    cited = {c.n: c for c in answer.citations}
    assert all(cited[r["citation"]].year == r["year"] for r in answer.table or [])  # each row cites its own year


def test_a_comparison_across_reports_is_computed_with_both_figures_cited(two_reports):
    answer = two_reports.ask("清苑区2023年地区生产总值增速比2022年高还是低？")
    assert "5.5%" in answer.answer and "3.5%" in answer.answer and "高2个百分点" in answer.answer
    assert "9.9%" not in answer.answer  # the city's figure beside it is not the district's
    assert {f["year"] for f in answer.figures} == {2022, 2023} and len(answer.citations) == 2


def test_an_answers_figures_in_a_respectively_list_are_each_its_own_subjects():
    chunks = [chunk("城乡居民人均可支配收入分别达到7.95万元、4.38万元，收入比缩小至1.82。", region="苏州市", n=1)]
    found = figures_of_answer("城乡居民人均可支配收入分别达到7.95万元、4.38万元[1]。", chunks, [1])
    assert [(f.text, f.measures) for f in found] == [("7.95万元", "城镇居民人均可支配收入"), ("4.38万元", "农村居民人均可支配收入")]
    assert all(f.sentence.startswith("城乡居民") for f in found)


# -- the first line of a quoted answer ------------------------------------------------------------


def test_a_quoted_sentence_is_answered_first_by_one_composed_line():
    from rag.answering.compose import lead_figures, lead_line

    question = "清苑区2023年规模以上工业增加值增长多少？"
    side = QueryIntent(question, "清苑区", 2023)
    chunks = [chunk("全年完成地区生产总值189.4亿元，增长5.2%；规模以上工业增加值增长8.1%，高于全市1.2个百分点。", n=1)]
    quote = chunks[0].text + "[1]"
    leads = lead_figures(question, quote, chunks, [side], PLACES)
    assert [(f.text, f.measures, f.place, f.year) for f in leads] == [("8.1%", "规模以上工业增加值增长", "清苑区", 2023)]
    assert lead_line(leads, [side]) == "2023年清苑区规模以上工业增加值增长8.1%[1]。"


def test_a_respectively_quote_is_answered_with_the_asked_subjects_figure():
    from rag.answering.compose import lead_figures, lead_line

    question = "2022年苏州农村居民人均可支配收入是多少"
    side = QueryIntent(question, "苏州市", 2022)
    chunks = [chunk("城乡居民人均可支配收入分别达到7.95万元、4.38万元。", region="苏州市", parent="江苏省", year=2022, n=1)]
    leads = lead_figures(question, chunks[0].text + "[1]", chunks, [side], PLACES | {"苏州市", "苏州"})
    assert lead_line(leads, [side]) == "2022年苏州市农村居民人均可支配收入4.38万元[1]。"


def test_a_target_and_a_span_are_worded_as_such_or_not_composed():
    from rag.answering.compose import lead_figures, lead_line

    question = "清苑区2024年地区生产总值预期增长多少？"
    side = QueryIntent(question, "清苑区", 2024, "plan")
    plan = [chunk("今年经济社会发展的主要预期目标是：地区生产总值增长6%左右。", year=2024, period="plan", n=1)]
    leads = lead_figures(question, plan[0].text + "[1]", plan, [side], PLACES)
    assert lead_line(leads, [side]) == "2024年清苑区目标地区生产总值增长6%左右[1]。"
    # a five-year average describes no one year: no composed line, the sentence is the answer
    question = "清苑区“十三五”期间地区生产总值年均增长多少？"
    review = [chunk("“十三五”期间，地区生产总值年均增长6.8%。", n=1)]
    assert lead_figures(question, review[0].text + "[1]", review, [QueryIntent(question, "清苑区")], PLACES) == []


def test_the_line_takes_the_figure_of_the_sort_asked():
    """Of several figures of one sentence: a total is not the flow beside it, a part is not the whole,
    a proportion is a share of a whole, not a growth rate — and a question for two figures gets both."""
    from rag.answering.compose import lead_figures, lead_line

    def line(question: str, sentence: str) -> str:
        side = QueryIntent(question, "清苑区", 2023)
        return lead_line(lead_figures(question, sentence + "[1]", [chunk(sentence, n=1)], [side], PLACES), [side])

    assert line("清苑区2023年高新技术企业一共多少家？", "高企净增27家、总量达到139家。") == "2023年清苑区高企总量139家[1]。"
    assert line("清苑区2023年财政收入里光税收有多少？", "完成一般公共预算收入13.2亿元、其中税收收入9.6亿元。") == (
        "2023年清苑区税收收入9.6亿元[1]。"
    )
    assert line("清苑区2023年民生支出占比多少？", "民生支出增长7.3%、占一般公共预算支出82%。") == (
        "2023年清苑区民生支出占一般公共预算支出82%[1]。"
    )
    assert line("清苑区2023年免罚轻罚给多少家企业减免了罚金？一共减免多少钱？", "落实免罚轻罚清单制度，为138家企业减免罚金312万元。") == (
        "2023年清苑区落实免罚轻罚清单制度138家[1]；企业减免罚金312万元[1]。"
    )


def test_a_change_is_answered_by_the_change_and_a_respectively_question_by_each_figure():
    from rag.answering.compose import lead_figures, lead_line

    def line(question: str, sentence: str, region: str = "清苑区", year: int = 2023) -> str:
        side = QueryIntent(question, region, year)
        c = chunk(sentence, region=region, year=year, n=1)
        return lead_line(lead_figures(question, sentence + "[1]", [c], [side], PLACES | {region}), [side])

    rate = "常住人口城镇化率达到69.8%，比上年提高0.9个百分点。"
    assert line("清苑区2023年常住人口城镇化率比2022年提高了多少？", rate) == "2023年清苑区常住人口城镇化率比上年提高0.9个百分点[1]。"
    assert line("清苑区2023年常住人口城镇化率是多少？", rate) == "2023年清苑区常住人口城镇化率69.8%[1]。"
    both = "城乡居民人均可支配收入分别达到4.1万元、2.2万元。"
    assert line("清苑区2023年城镇和农村居民人均可支配收入分别是多少？", both) == (
        "2023年清苑区城镇居民人均可支配收入4.1万元[1]；农村居民人均可支配收入2.2万元[1]。"
    )
