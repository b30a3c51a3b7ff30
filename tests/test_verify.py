from __future__ import annotations

import pytest

from rag.answering.terms import asked_terms, opposed
from rag.answering.verify import (
    MISATTRIBUTED,
    VERIFIED,
    Figure,
    attributed,
    attribution,
    citations_in,
    cite_figure,
    figures,
    is_refusal,
    measures_of,
    states_asked_figure,
    states_sibling,
    strip_citations,
    strip_refusal,
    supported,
    tidy_citations,
    unsupported_figures,
)

PASSAGE = (
    "完成一般公共预算收入189.4亿元、其中税收收入160.3亿元，同比分别增长6.1%和5.5%。城镇新增就业1.3万人。建成高标准农田 8000 亩。"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("收入189.4亿元[1]。", [1]),
        ("见[2][1]，另见[2]", [2, 1]),
        ("分别为[1,3]和【2】", [1, 3, 2]),
        ("[1、2]", [1, 2]),
        ("没有引用", []),
    ],
)
def test_citations(text: str, expected: list[int]):
    assert citations_in(text) == expected


def test_strip_citations():
    assert strip_citations("收入189.4亿元[1]，增长6.1%【2】。") == "收入189.4亿元，增长6.1%。"


@pytest.mark.parametrize(
    "text",
    [
        "提供的报告中没有找到相关信息。",
        "报告中未提及南京的数据。",
        "摘录中没有关于该指标的内容。",
        "无法根据所给材料回答这个问题",
    ],
)
def test_refusals(text: str):
    assert is_refusal(text)


def test_a_cited_answer_is_not_a_refusal():
    assert not is_refusal("2023年一般公共预算收入189.4亿元[1]。")
    assert not is_refusal("收入189.4亿元[1]，但报告未提及2022年数据[1]。")


def test_figures_with_units_full_width_digits_and_no_years():
    found = figures("2023年收入１８９．４亿元[1]，增长6.1％，新增就业1.3万人，建成8000 亩，比2022年多。")
    assert found == [Figure("189.4", "亿元"), Figure("6.1", "%"), Figure("1.3", "万人"), Figure("8000", "亩")]


@pytest.mark.parametrize(
    ("figure", "ok"),
    [
        (Figure("189.4", "亿元"), True),
        (Figure("160.3", "亿元"), True),
        (Figure("6.1", "%"), True),
        (Figure("1.3", "万人"), True),
        (Figure("8000", "亩"), True),  # the passage writes 「8000 亩」
        (Figure("189.4", "万元"), False),  # right number, wrong unit
        (Figure("189", "亿元"), False),  # a prefix of a number is not the number
        (Figure("89.4", ""), False),  # nor is a suffix
        (Figure("190", "亿元"), False),
    ],
)
def test_supported(figure: Figure, ok: bool):
    assert supported(figure, [PASSAGE]) is ok


def test_unsupported_figures_are_listed():
    answer = "一般公共预算收入189.4亿元，增长7.2%[1]，税收收入160.3亿元。"
    assert [f.text for f in unsupported_figures(answer, [PASSAGE])] == ["7.2%"]


def test_an_answer_that_also_refuses_keeps_the_answer():
    text = "2023年太仓市一般公共预算收入189.4亿元，其中税收收入160.3亿元。提供的报告中没有找到相关信息。"
    assert not is_refusal(text)
    assert strip_refusal(text) == "2023年太仓市一般公共预算收入189.4亿元，其中税收收入160.3亿元。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("收入189.4亿元，增长6.5%。其余略。", "收入189.4亿元，增长6.5%[2]。其余略。"),
        ("收入189.4亿元", "收入189.4亿元[2]"),
        ("收入189.4亿元[2]。", "收入189.4亿元[2]。"),
    ],
)
def test_cite_figure_marks_the_sentence_that_states_it(text, expected):
    assert cite_figure(text, Figure("189.4", "亿元"), 2) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("总值为2.4万亿元，依据[2]。", "总值为2.4万亿元[2]。"),
        ("总值为2.4万亿元（见[1]、[2]）", "总值为2.4万亿元（[1]、[2]）"),
        ("根据摘录[1]，收入189.4亿元[1]。", "根据摘录[1]，收入189.4亿元[1]。"),
        ("收入189.4亿元[1]。", "收入189.4亿元[1]。"),
    ],
)
def test_tidy_citations_drops_lead_in_words(text, expected):
    assert tidy_citations(text) == expected


PLACES = ("相城区", "相城", "苏州市", "苏州")


@pytest.mark.parametrize(
    ("answer", "passage", "expected"),
    [
        # the right figure for the right metric, also across synonyms (GDP/地区生产总值, 规上/规模以上)
        ("相城区一般公共预算收入155.2亿元[1]。", "完成一般公共预算收入155.2亿元，增长6.5%。", True),
        ("苏州GDP为2.4万亿元", "全市地区生产总值达到2.4万亿元", True),
        ("规上工业产值3210亿元", "1265家规模以上工业企业实现产值3210亿元", True),
        ("其中税收收入160.3亿元，同比分别增长6.5%", "一般公共预算收入189.4亿元、其中税收收入160.3亿元，同比分别增长6.5%", True),
        ("增长6.5%", "同比增长6.5%", True),  # no metric words in the answer: the number alone decides
        # the number is in the passage, but for another metric
        ("相城区城镇居民人均可支配收入是155.2亿元", "完成一般公共预算收入155.2亿元，增长6.5%。", False),
        ("苏州2022年GDP比上年增长了4.1%", "规模以上工业总产值达到4.36万亿元，增长4.1%。", False),
        ("收入为200.5亿元", "完成一般公共预算收入189.4亿元", False),
        # opposed metrics share every other word (收入/支出), and a table's rows are not run together
        ("一般公共预算支出为421.6亿元", "社会消费品零售总额 | 2318.7亿元 | 6.2%\n\n一般公共预算收入 | 421.6亿元 | 4.1%", False),
        ("一般公共预算收入为421.6亿元", "社会消费品零售总额 | 2318.7亿元 | 6.2%\n\n一般公共预算收入 | 421.6亿元 | 4.1%", True),
        ("进口额为810.8亿元", "货物进出口总额6842.3亿元，其中出口6031.5亿元、进口810.8亿元", True),
        ("出口额为810.8亿元", "货物进出口总额6842.3亿元，其中出口1031.5亿元，进口810.8亿元", False),
    ],
)
def test_attributed_checks_what_a_figure_measures(answer, passage, expected):
    figure = figures(answer)[-1]
    assert attributed(answer, figure, passage, PLACES) is expected


def test_a_metric_with_another_head_word_is_at_most_doubtful():
    # 「居民消费价格涨幅」 and 「社会消费品零售总额…增长」 share 消费, but not what the figure is of
    answer, row = "居民消费价格涨幅为5.9%", "社会消费品零售总额 | 1462.7亿元 | 增长5.9%"
    score = attribution(answer, figures(answer)[0], row, PLACES)
    assert score is not None and MISATTRIBUTED <= score < VERIFIED
    assert attribution("社会消费品零售总额增长5.9%", Figure("5.9", "%"), row, PLACES) == 1.0


@pytest.mark.parametrize(
    ("answer", "passage", "question", "sibling"),
    [
        # the same number under the name of a sibling metric: most words shared, a qualifier differs
        ("2024年相城区网络零售额1186.2亿元[1]。", "社会消费品零售总额1186.2亿元，增长6.8%；", "", True),
        ("2024年相城区城镇调查失业率是2.36%[1]。", "城镇新增就业5.62万人，城镇登记失业率2.36%。", "", True),
        # a bare figure is named by the question
        ("2.36%[1]", "城镇新增就业5.62万人，城镇登记失业率2.36%。", "2024年相城区城镇调查失业率是多少？", True),
        # everyday words mostly differ: a paraphrase, which the number decides
        ("城里人人均收入5.2万元", "城镇居民人均可支配收入5.2万元", "", False),
        ("46218元[1]", "城镇居民人均可支配收入46218元，增长4.6%；", "2024年相城区城里人一年平均能挣多少钱？", False),
        # leaving out a word of the passage's name, or adding none, is no other metric
        ("城镇居民人均可支配收入5.2万元", "城镇常住居民人均可支配收入5.2万元", "", False),
        ("外贸进出口总额6842.3亿元", "货物进出口总额6842.3亿元", "", False),
        # the words after a figure (about the next one) are not its name
        ("189.4亿元中的160.3亿元是税收收入[1]。", "完成一般公共预算收入189.4亿元、其中税收收入160.3亿元。", "", False),
    ],
)
def test_a_figure_under_a_sibling_metric_s_name_is_at_most_doubtful(answer, passage, question, sibling):
    score = attribution(answer, figures(answer)[0], passage, PLACES, question)
    assert score is not None
    assert (score < VERIFIED) is sibling
    if sibling:
        assert score >= MISATTRIBUTED  # kept, marked doubtful: the judge decides


def test_a_sentence_whose_figures_all_measure_a_sibling_is_one():
    # 「城镇登记失业率2.36%」 is no answer to quote for 「城镇调查失业率」 (the judge cannot tell the two
    # apart); a sentence with another figure of the kind asked still is a candidate
    asked = asked_terms("相城区2024年城镇调查失业率是多少？", PLACES)
    assert states_sibling("城镇新增就业5.62万人，城镇登记失业率2.36%。", asked, "share", PLACES)
    assert not states_sibling("城镇调查失业率5.5%以内。", asked, "share", PLACES)
    assert not states_sibling("高校毕业生就业率超98%，城镇登记失业率低于2.5%。", asked, "share", PLACES)
    assert not states_sibling("城镇居民人均可支配收入46218元。", asked_terms("城里人能挣多少钱？"), "money")


TARGETS = "全市经济社会发展的主要预期目标：地区生产总值增长5%以上，一般公共预算收入同口径增长4%以上，全社会固定资产投资增长5%左右"


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        # a bare answer names no metric: the question's words must lead up to the figure, in its clause
        ("2024年相城区一般公共预算收入的增长目标是多少？", "5%以上[1]", False),
        ("2024年相城区一般公共预算收入的增长目标是多少？", "4%以上[1]", True),
        ("2024年相城区地区生产总值增长目标是多少？", "5%以上[1]", True),
        ("2024年相城区固定资产投资计划增长多少？", "5%左右[1]", True),
        # a bare figure of the opposed metric (收入 asked as 支出) is another metric's
        ("2024年相城区一般公共预算支出增长目标是多少？", "4%以上[1]", False),
        # the answer's own words decide when it has them, clause by clause
        ("", "一般公共预算收入增长5%以上", False),
        ("", "全社会固定资产投资增长5%左右", True),
    ],
)
def test_bare_figures_are_checked_against_the_question(question, answer, expected):
    assert attributed(answer, figures(answer)[0], TARGETS, PLACES, question) is expected


def test_a_paraphrased_question_leaves_a_bare_figure_to_the_number_check():
    passage = "完成一般公共预算收入189.4亿元、其中税收收入160.3亿元。"
    answer = "189.4亿元中的160.3亿元是税收收入[1]。"
    assert attributed(answer, figures(answer)[0], passage, PLACES, "太仓2023年财政收入里光税收就有多少？")


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("全市地区生产总值达到2.4万亿元，增长2%。", "苏州市2022年地区生产总值是多少", True),
        # GDP is named, but the figure measures a share of it
        ("全社会研发投入占地区生产总值比重接近4%。", "苏州市2022年地区生产总值是多少", False),
        (
            "主要预期目标：地区生产总值增长5%以上，一般公共预算收入同口径增长4%以上。",
            "相城区2024年一般公共预算收入计划增长多少？",
            True,
        ),
        ("多渠道促进就业，发放就业惠企资金超8000万元，城镇新增就业1.3万人。", "2023年相城区城镇新增就业多少人？", True),
        ("城镇新增就业工作扎实推进。", "2023年相城区城镇新增就业多少人？", False),  # no figure
        ("完成社会消费品零售总额603亿元、增长6.5%。", "相城区2023年城镇居民人均可支配收入是多少？", False),
        # a question for a rate is not answered by a level of the same metric
        ("全年实现地区生产总值2.4万亿元，一般公共预算收入2329.2亿元。", "苏州2022年GDP比上年增长了百分之多少？", False),
        ("全年实现地区生产总值2.4万亿元，增长2%。", "苏州2022年GDP比上年增长了百分之多少？", True),
        # nor one for a level by how it changed; a target mostly is a change
        ("固定资产投资增长8.4%；社会消费品零售总额增长6.8%；", "2022年苏州社会消费品零售总额是多少？", False),
        ("社会消费品零售总额比上年增长了6.8%。", "2022年苏州社会消费品零售总额是多少？", False),
        ("社会消费品零售总额9010.7亿元，增长6.8%。", "2022年苏州社会消费品零售总额是多少？", True),
        ("社会消费品零售总额增长6.8%。", "2022年苏州社会消费品零售总额增长了多少？", True),
        ("社会消费品零售总额增长6%左右。", "2023年苏州社会消费品零售总额的目标是多少？", True),
        # the figure of an abbreviation the question spells out in full
        ("实施高企培育三年行动计划，高企净增97家、总量达到399家。", "2019年高新技术企业总数达到多少家？", True),
        # a count names what it counts after it (「N名…」), when nothing before it in its clause does
        ("推进教育公平，1260名随迁子女进入公办学校。", "有多少随迁子女进了公办学校？", True),
        ("推进教育公平，1260名随迁子女进入公办学校。", "有多少留守儿童进了公办学校？", False),
    ],
)
def test_a_quoted_sentence_must_state_a_figure_of_what_was_asked(sentence, question, expected):
    assert states_asked_figure(sentence, question, PLACES) is expected


def test_what_a_figure_measures_is_its_clause_or_the_nearest_one_naming_something():
    sentence = "全年实现地区生产总值2.4万亿元，税收收入占全省比重达到27.9%，提高1.4个百分点。"
    shares = measures_of(sentence, "share", PLACES)
    assert len(shares) == 2 and all("gdp" not in words and "比重" in words for words in shares)
    # the counted thing may follow the count
    assert "保障性" in "".join(measures_of("太仓有27个项目共7069套认定为保障性租赁住房。", "套", PLACES)[-1])


@pytest.mark.parametrize(
    ("wanted", "found", "expected"),
    [
        (["一般", "公共", "预算", "支出"], ["一般", "公共", "预算", "收入"], True),
        (["城镇", "居民", "收入"], ["农村", "居民", "收入"], True),
        (["收入"], ["收入", "支出", "比重"], False),  # the other side names both: no opposition
        (["进口"], ["出口"], True),
        # a total is neither of its parts: 「其中出口318.4亿元」 is not the trade total, nor the total the exports
        (["出口"], ["进出口", "总额"], True),
        (["进出口"], ["其中", "出口"], True),
        (["进出口"], ["外贸", "进出口", "总额"], False),
        (["出口"], ["出口", "总额"], False),
    ],
)
def test_opposed_metrics(wanted, found, expected):
    assert opposed(wanted, found) is expected


def test_metrics_sharing_only_a_part_of_their_head_word_are_not_one():
    # 「用电量」 and 「发电量」 share jieba's 「电量」, yet one is not the other: at most misattributed
    passage = "电力产业提质扩容，全市发电量612.7亿千瓦时，增长3.1%。"
    answer = "2024年全市全社会用电量612.7亿千瓦时[1]。"
    figure = figures(answer)[-1]
    score = attribution(answer, figure, passage, PLACES, "2024年全社会用电量是多少？")
    assert score is not None and score < VERIFIED
    same = "2024年全市发电量612.7亿千瓦时[1]。"
    assert attribution(same, figures(same)[-1], passage, PLACES, "2024年发电量是多少？") >= VERIFIED


def test_the_thresholds_are_settings_and_are_used(monkeypatch):
    from rag.core.config import RULE_THRESHOLDS, Settings

    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (default.answer_verified, default.answer_misattributed, default.answer_names_enough) == (VERIFIED, MISATTRIBUTED, 0.6)
    assert "tuning" not in default.answer_fingerprint()  # the default's cache keys are as they were
    monkeypatch.setenv("RAG_ANSWER_VERIFIED", "0.4")
    tuned = Settings(_env_file=None)  # type: ignore[call-arg]
    assert tuned.answer_verified == 0.4 and tuned.tuned() == {"answer_verified": 0.4}
    assert tuned.answer_fingerprint() != default.answer_fingerprint()
    assert set(RULE_THRESHOLDS) <= set(Settings.model_fields)
    # a sibling metric's figure is capped at ``misattributed``, and ``enough`` decides what a sibling is
    answer, passage = "2024年相城区网络零售额1186.2亿元[1]。", "社会消费品零售总额1186.2亿元，增长6.8%；"
    assert attribution(answer, figures(answer)[0], passage, PLACES, misattributed=0.1) == 0.1
    assert attribution(answer, figures(answer)[0], passage, PLACES, enough=1.0) != attribution(
        answer, figures(answer)[0], passage, PLACES
    )
    assert not attributed(answer, figures(answer)[0], passage, PLACES) and attributed(
        answer, figures(answer)[0], passage, PLACES, verified=0.0
    )
