"""Figures in Arabic and Chinese numerals, units with measure words, and what a metric word matches."""

from __future__ import annotations

import pytest

from rag.answering.terms import abbreviates, agreement, asked_terms, asked_unit_kind, level_kind, metric_words, same_term
from rag.answering.verify import attributed, figures, supported
from rag.text.numbers import Figure, arabize, comparable, figures_in, fits_kind, states, unit_kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("居全省第三", "居全省第3"),
        ("建成三座桥", "建成3座桥"),
        ("增长百分之五", "增长5%"),
        ("收入十二点五亿元", "收入12.5亿元"),
        ("一百零五个项目", "105个项目"),
        ("两万人次", "2万人次"),
        # words that merely contain numeral characters stay as they are
        ("一般公共预算", "一般公共预算"),
        ("十四五规划", "十四五规划"),
        ("一批项目", "一批项目"),
        ("五六个", "五六个"),
        ("3万人", "3万人"),
    ],
)
def test_chinese_numerals_become_arabic_only_where_they_are_figures(text: str, expected: str):
    assert arabize(text) == expected


def test_units_with_multipliers_and_measure_words():
    found = figures_in(comparable("新增3.5万千瓦，粮食1.2亿斤，4.5万个，接待游客750万人次，803.9万标箱，1,265家"))
    assert [f.text for f in found] == ["3.5万千瓦", "1.2亿斤", "4.5万个", "750万人次", "803.9万标箱", "1265家"]


def test_a_chinese_numeral_figure_supports_its_arabic_form_and_back():
    assert supported(Figure("3", "座"), ["新建三座污水处理厂。"])
    assert supported(Figure("5", "%"), ["增长百分之五。"])
    assert [f.text for f in figures("建成三座[1]")] == ["3座"]
    assert states(Figure("3", ""), comparable("经济总量居全省第三"))


def test_a_unit_must_match_when_the_answer_gives_one():
    assert not states(Figure("3.5", "亿元"), comparable("装机3.5万千瓦"))
    assert states(Figure("3.5", "万千瓦"), comparable("装机3.5万千瓦"))


@pytest.mark.parametrize(
    ("unit", "kind"), [("亿元", "money"), ("万美元", "money"), ("%", "share"), ("万人次", "people"), ("万亩", "area"), ("座", "座"), ("万件", "件"), ("", None)]
)
def test_unit_kinds(unit: str, kind: str | None):
    assert unit_kind(unit) == kind


@pytest.mark.parametrize(
    ("short", "full", "expected"),
    [("社零", "社会消费品零售总额", True), ("规上", "规模以上", True), ("固投", "固定资产投资", True), ("零售", "社会消费品零售总额", False), ("投资", "固定资产投资", False)],
)
def test_abbreviations_keep_the_first_character_and_the_order(short: str, full: str, expected: bool):
    assert abbreviates(short, full) is expected


def test_metric_words_agree_through_abbreviations_and_containment():
    assert same_term("进出口", "进出口总额")
    assert agreement({"社零"}, ["社会消费品零售总额"]) == 1.0
    assert agreement({"城镇", "居民", "收入"}, ["一般", "公共", "预算", "收入"]) == pytest.approx(1 / 3)
    assert agreement(set(), ["任何"]) == 1.0


def test_a_synonym_right_before_a_figure_is_still_a_word():
    # 「地区生产总值820亿元」 was once segmented as 「gdp820」 and so named no metric at all
    assert "gdp" in metric_words("全年预计完成地区生产总值820亿元，增长7.6%")


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # a report's abbreviation spells out the question's compound: 高企 = 高新技术企业
        ("高新技术企业总数达到多少家？", "实施高企培育三年行动计划，高企净增97家、总量达到399家。", 1.0),
        # a word that is only part of the asked one spells nothing out: 质量 is not 空气质量
        ("空气质量优良天数比例是多少？", "生态环境质量持续提升，断面水质达标率和优III比例均为100%。", 3 / 7),
        # R&D intensity, as the statistics bureau names it and as reports write it out
        ("研发投入强度是多少？", "全社会研究与试验发展经费支出占地区生产总值比重4%以上", 1.0),
        ("研发投入强度是多少？", "力争全社会研发经费支出占地区生产总值比重达4.05%", 1.0),
        # 「几家」 asks, 「截至」 dates: neither is what is asked about; 「高企达」 (jieba's guess) is 高企
        ("规上工业产值多少，规上工业企业有几家？", "1265家规模以上工业企业实现产值3210亿元", 1.0),
        ("截至2023年有效高新技术企业有多少家？", "新认定高新技术企业460家、有效高企达1175家", 1.0),
    ],
)
def test_question_words_agree_with_a_report_sentence(question: str, sentence: str, expected: float):
    assert agreement(asked_terms(question), metric_words(sentence), lenient=True) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("answer", "passage", "expected"),
    [
        # the model writes the abbreviation, the report the full term: the figure is verified
        ("太仓社零548.1亿元[1]", "完成社会消费品零售总额548.1亿元，同比增长7.3%。", True),
        ("固投增长5%左右[1]", "全社会固定资产投资增长5%左右。", True),
        # and still: another metric's figure is not attributed
        ("社零155.2亿元[1]", "完成一般公共预算收入155.2亿元。", False),
    ],
)
def test_abbreviated_metrics_are_attributed(answer: str, passage: str, expected: bool):
    assert attributed(answer, figures(answer)[0], passage) is expected


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("农民一年能挣多少钱？", "money"),
        ("财政支出里有多大比例花在教育上？", "share"),
        ("有几个人获得表彰？", "people"),
        ("建了几个公园？", "个"),
        ("造林多少亩？", "area"),
        ("全县一共有多少辆公交车？", "vehicles"),
        ("办个营业执照要多久？", "time"),
        ("办理了多少件人大代表建议？", "件"),
        ("新建了几座桥？", "座"),
        ("六个不发生是什么？", None),
        ("长期住在这里做生意的外国人有多少？", "people"),
        ("去年来这里旅游的游客有多少？", "people"),  # 游客, 旅客, 乘客: people counted
    ],
)
def test_the_unit_kind_a_question_asks_for(question: str, kind: str | None):
    assert asked_unit_kind(question) == kind


@pytest.mark.parametrize(
    ("unit", "kind", "fits"),
    [
        ("亿件", "个", True),  # 「发了多少个包裹」: 个 stands in for any measure word
        ("家", "个", True),
        ("列", "个", True),
        ("万人次", "个", False),  # an amount, not a count of things
        ("亿元", "个", False),
        ("%", "个", False),
        ("件", "件", True),
        ("个", "件", False),  # a specific measure word asks for itself
        ("亿元", None, True),
    ],
)
def test_which_units_fit_the_kind_asked(unit: str, kind: str | None, fits: bool):
    assert fits_kind(unit, kind) is fits


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("2024年末常住人口是多少？", "people"),  # a population is people, not the urbanisation rate…
        ("2024年常住人口城镇化率是多少？", "share"),
        ("2024年每千人口医生数是多少？", None),
        ("2024年地区生产总值是多少钱？", "money"),
    ],
)
def test_the_unit_kind_a_figure_for_a_level_must_have(question: str, kind: str | None):
    assert level_kind(question) == kind
    # …which only checks a figure given: no candidate sentence is chosen for being of people kind
    if "常住人口是" in question:
        assert asked_unit_kind(question) is None
