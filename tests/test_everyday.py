"""Everyday words and the report's names for them (rag/retrieval/everyday.py), and the quote they allow
(rag/answering/quote.py's named_quote): general indicator vocabulary, checked on wordings of no one report."""

from __future__ import annotations

import pytest

from rag.answering.compose import EVIDENCE_LABEL
from rag.answering.quote import named_quote
from rag.reading.chunking import Chunk
from rag.retrieval.everyday import named_metrics, report_terms, with_report_terms
from rag.retrieval.query import QueryIntent
from tests.test_answer_modes import make


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("去年我们市一共发了多少个包裹？", "快递业务量"),
        ("2024年在本市机场坐飞机进出的有多少人次？", "机场旅客吞吐量"),
        ("去年本区新开了多少家公司和个体店铺？", "新增市场主体"),
        ("去年给孩子们多腾出了多少个上学的名额？", "新增学位"),
        ("2024年跟国外做买卖，进口加出口一共多少钱？", "进出口总额"),
        ("去年来我们县旅游的有多少人次？", "接待游客"),
        ("去年城里新增了多少人找到工作？", "城镇新增就业"),
        ("一年里空气好的日子有多少天？", "优良天数"),
    ],
)
def test_everyday_wordings_name_the_report_term(question, term):
    assert term in report_terms(question)
    assert with_report_terms(question).startswith(question) and term in with_report_terms(question)


@pytest.mark.parametrize(
    "question",
    [
        "2023年太仓市一般公共预算收入是多少？",
        "2024年本区一般公共预算支出总额是多少？",  # not answered by 民生支出 or revenue
        "2024年本区规模以上工业总产值是多少？",
        "2024年城镇调查失业率是多少？",
        "2025年地区生产总值预期增长多少？",
    ],
)
def test_questions_in_the_reports_own_words_are_left_as_they_are(question):
    assert report_terms(question) == [] and with_report_terms(question) == question


def test_names_that_go_together_make_one_indicator_and_hints_name_none():
    assert named_metrics("2024年城里人一年平均到手多少钱？") == ["城镇居民人均可支配收入"]
    assert named_metrics("2024年农村老百姓平均一年能挣多少钱？") == ["农村居民人均可支配收入"]
    # a hint (a family of indicators) helps retrieval only: no sentence is quoted for it
    assert report_terms("去年看病方便了多少？") and named_metrics("去年看病方便了多少？") == []
    assert named_metrics("2023年太仓市一般公共预算收入是多少？") == []


def _chunk(n: int, text: str, year: int = 2024, period: str = "review") -> Chunk:
    return Chunk(f"x#{n}", "x", "x.txt", "本市", None, 2025, "本市政府工作报告", year, period, "", 0, text)


SIDE = QueryIntent("2024年本市跟国外做买卖，进口加出口的货物一共值多少钱？", "本市", 2024)


def test_a_named_quote_takes_the_total_not_a_part_nor_a_share_of_it():
    prose = _chunk(1, "外贸进出口总额比上年增长12.1%，其中出口318.4亿元、增长15.6%，进口434.2亿元；对东盟进出口201.6亿元、增长18.5%。")
    table = _chunk(2, "指标 | 单位 | 数值\n外贸进出口总额 | 752.6亿元 | 12.1%")
    quote = named_quote(SIDE.text, [prose, table], SIDE, {"本市"})
    assert quote == "外贸进出口总额 | 752.6亿元 | 12.1%[2]"
    # the exports and imports are parts of the total, no answer for it (the trade with one region,
    # which names the total's word, is still taken when nothing states the total itself)
    only_parts = _chunk(4, "外贸进出口总额比上年增长12.1%，其中出口318.4亿元、增长15.6%，进口434.2亿元。")
    assert named_quote(SIDE.text, [only_parts], SIDE, {"本市"}) is None
    # another year's or the plan's figure is not the year's
    plan = _chunk(3, "外贸进出口总额 | 800亿元 | 6%", year=2025, period="plan")
    assert named_quote(SIDE.text, [plan], SIDE, {"本市"}) is None


def test_a_named_quote_answers_in_the_unit_kind_asked():
    question = "2024年本市一共发了多少个包裹？"
    side = QueryIntent(question, "本市", 2024)
    chunks = [_chunk(1, "中欧班列全年开行2486列、发运20.3万标箱。快递业务量130.6亿件，增长22.4%。")]
    assert named_quote(question, chunks, side, {"本市"}) == "快递业务量130.6亿件，增长22.4%。[1]"
    rate = "2024年本市快递比上年增长了多少？"
    assert named_quote(rate, chunks, QueryIntent(rate, "本市", 2024), {"本市"}) == "快递业务量130.6亿件，增长22.4%。[1]"


def test_everyday_words_are_answered_from_the_report_term_without_the_model(retriever):
    # 「政府一年收了多少钱」 is 一般公共预算收入: the sentence stating it is quoted at once
    ans, llm = make(retriever, "不应被调用")
    answer = ans.ask("2023年相城区政府一年收了多少钱？")
    assert answer.mode == "quote" and llm.prompts == []
    assert answer.answer.splitlines()[0].startswith("2023年相城区一般公共预算收入155.2亿元") and EVIDENCE_LABEL in answer.answer
    assert answer.citations and "155.2亿元" in answer.citations[0].text


def test_at_most_limit_names_are_made_up():
    question = "2024年城里人一年平均到手多少钱？"
    assert named_metrics(question, limit=1) == named_metrics(question) and named_metrics(question, limit=0) == []
