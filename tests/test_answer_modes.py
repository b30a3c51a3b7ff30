"""The answer stage's modes over the real index: quote-first, quote-then-model, model; the paraphrase
fallback; the answer cache; questions about the reports; early refusals that need no model.

The model is the scripted stand-in of test_answer.py, so each branch is deterministic; the prompts it
records show whether it was asked at all.
"""

from __future__ import annotations

import re

import pytest

from rag.answering.answer import Answerer
from rag.answering.compose import EVIDENCE_LABEL
from rag.answering.judge import JUDGED_CANDIDATES, Bar, judged_quote
from rag.answering.prompts import REFUSAL
from tests.test_answer import QUESTION, Scripted


def make(retriever, reply: str | Exception | None, mode: str = "quote-first", judge=None, **settings: object):
    llm = Scripted(reply, judge) if reply is not None else None
    current = retriever.settings.model_copy(update={"answer_mode": mode, **settings})
    return Answerer(retriever, llm, current), llm


def test_quote_first_answers_from_the_report_without_the_model(retriever):
    ans, llm = make(retriever, "不应被调用")
    draft = ans.draft(QUESTION)
    assert not draft.needs_model
    events = list(ans.events(draft))
    assert [e.kind for e in events] == ["sources", "delta", "done"]
    answer = events[-1].data
    assert answer.mode == "quote" and not answer.refused and llm.prompts == []
    first, evidence = answer.answer.split("\n", 1)
    assert re.fullmatch(r"2023年太仓市一般公共预算收入189\.4亿元\[\d+\]。", first) and evidence.startswith(EVIDENCE_LABEL)
    assert [(f["value"], f["unit"], f["measures"], f["year"], f["kind"]) for f in answer.figures] == [
        ("189.4", "亿元", "一般公共预算收入", 2023, "actual")
    ]
    assert answer.citations and "189.4亿元" in answer.citations[0].text and answer.unsupported_numbers == []


def test_a_question_no_sentence_surely_answers_goes_to_the_model(retriever):
    ans, llm = make(retriever, "太仓坚持创新驱动[1]。")
    draft = ans.draft("太仓2023年在科技创新方面做了哪些工作？")
    assert draft.needs_model
    answer = list(ans.events(draft))[-1].data
    assert answer.mode == "model" and len(llm.prompts) == 1


def test_model_mode_always_asks_the_model(retriever):
    ans, llm = make(retriever, "2023年太仓市一般公共预算收入为189.4亿元[1]。", mode="model")
    answer = ans.ask(QUESTION)
    assert answer.mode == "model" and len(llm.prompts) == 1 and not answer.unsupported_numbers


def test_quote_then_model_shows_the_quote_then_the_checked_wording(retriever):
    ans, _ = make(retriever, "2023年太仓市一般公共预算收入为189.4亿元[1]。", mode="quote-then-model")
    events = list(ans.stream(QUESTION))
    kinds = [e.kind for e in events]
    # the model's checked wording, worded from its figure (the answer step compose), is the quote's line:
    # nothing to replace
    assert kinds == ["sources", "delta", "done"]
    assert events[1].data.startswith("2023年太仓市一般公共预算收入189.4亿元") and EVIDENCE_LABEL in events[1].data
    assert events[1].data == events[-1].data.answer and events[-1].data.mode == "model"


def test_quote_then_model_keeps_the_quote_when_the_wording_fails_the_checks(retriever):
    ans, _ = make(retriever, "2023年太仓市一般公共预算收入为200.5亿元[1]。", mode="quote-then-model")
    events = list(ans.stream(QUESTION))
    assert [e.kind for e in events] == ["sources", "delta", "done"]
    assert events[-1].data.mode == "quote" and events[-1].data.answer == events[1].data


def test_quote_then_model_keeps_the_quote_when_a_figure_is_marked(retriever):
    ans, _ = make(retriever, "2023年太仓市一般公共预算收入为189.4亿元，增长16.5%[1]。", mode="quote-then-model")
    events = list(ans.stream(QUESTION))
    assert [e.kind for e in events] == ["sources", "delta", "done"]
    assert events[-1].data.mode == "quote" and "16.5%" not in events[-1].data.answer


def test_quote_then_model_keeps_the_quote_when_the_model_is_down(retriever):
    from rag.core.errors import LLMError

    ans, _ = make(retriever, LLMError("down"), mode="quote-then-model")
    events = list(ans.stream(QUESTION))
    assert [e.kind for e in events] == ["sources", "delta", "done"] and events[-1].data.mode == "quote"


def test_a_refused_paraphrase_is_answered_from_a_sentence_of_the_asked_unit(retriever):
    # everyday words: the model declines, but a passage of the asked place and year states a sum of money
    ans, llm = make(retriever, REFUSAL, mode="model")
    answer = ans.ask("2023年太仓市的税收一共收了多少钱？")
    assert len(llm.prompts) == 1
    assert answer.mode == "quote" and not answer.refused and "160.3亿元" in answer.answer


def test_a_refusal_without_a_sentence_of_the_asked_unit_stays_a_refusal(retriever):
    ans, _ = make(retriever, REFUSAL, mode="model")
    answer = ans.ask("2023年太仓市有多少只大熊猫？")
    assert answer.refused and answer.mode == "refused" and answer.answer == REFUSAL


PARAPHRASE = "2023年太仓新来了多少个德国企业的项目？"  # the report: 「新落地…等德资项目39个」


def sentence_of(prompt: str) -> str:
    return prompt.split("\n", 1)[0].removeprefix("句子：")


def test_the_judge_picks_the_sentence_a_refused_paraphrase_asks_about(retriever):
    # the model as writer declines (「德国企业」 is not the report's 「德资」); as judge it is asked about
    # the sentences of 2023 Taicang with a count (个) closest in meaning, and the one it is sure of is quoted
    ans, llm = make(retriever, REFUSAL, mode="model", judge=lambda prompt: 0.9 if "德资项目" in sentence_of(prompt) else 0.6)
    answer = ans.ask(PARAPHRASE)
    assert answer.mode == "quote" and not answer.refused and "德资项目39个" in answer.answer
    assert answer.citations and "39个" in answer.citations[0].text and answer.citations[0].year == 2023
    assert 1 <= len(llm.judged) <= JUDGED_CANDIDATES
    assert all(PARAPHRASE in prompt and "个" in sentence_of(prompt) for prompt in llm.judged)


@pytest.mark.parametrize("p_yes", [0.6, None])
def test_a_judge_that_is_not_sure_or_gives_no_judgement_leaves_the_refusal(retriever, p_yes):
    ans, llm = make(retriever, REFUSAL, mode="model", judge=lambda prompt: p_yes)
    answer = ans.ask(PARAPHRASE)
    assert answer.refused and answer.answer == REFUSAL and llm.judged


@pytest.mark.parametrize(("others", "quoted"), [(0.5, True), (0.72, False)])
def test_a_fairly_sure_judge_quotes_only_a_sentence_that_stands_out(retriever, others, quoted):
    # P 0.78 is under the sure threshold (0.84): it is enough only when the other sentence judged scores
    # at least the margin (0.15) lower — the judge's P runs 0.6–0.8 for any sentence with a figure
    judge = lambda prompt: 0.78 if "德资项目" in sentence_of(prompt) else others  # noqa: E731
    ans, llm = make(retriever, REFUSAL, mode="model", judge=judge)
    answer = ans.ask(PARAPHRASE)
    assert len(llm.judged) == JUDGED_CANDIDATES and any("德资项目" in sentence_of(p) for p in llm.judged)
    assert (not answer.refused and "德资项目39个" in answer.answer) if quoted else answer.refused


def test_the_judge_is_asked_once_about_a_sentence_two_passages_hold(retriever):
    # a table row can come in two passages; judged twice, it would be its own runner-up (margin 0)
    result = retriever.search(PARAPHRASE, k=4)
    chunks = [hit.chunk for hit in result.hits]
    llm = Scripted(REFUSAL, lambda prompt: 0.78 if "德资项目" in sentence_of(prompt) else 0.5)
    quote = judged_quote(PARAPHRASE, [chunks[0], *chunks], result.intent, retriever.embedder, llm, Bar(0.84, 0.7, 0.15))
    judged = [sentence_of(p) for p in llm.judged]
    assert len(judged) == JUDGED_CANDIDATES == len(set(judged))
    assert quote is not None and "德资项目39个" in quote and quote.endswith("]")


def test_standing_out_counts_only_among_sentences_of_the_unit_kind_asked(retriever):
    question = "2023年太仓的户籍规模是多少？"  # names no unit kind: every sentence with a figure is a candidate
    result = retriever.search(question, k=4)
    chunks = [hit.chunk for hit in result.hits]

    scores = iter([0.78] + [0.5] * JUDGED_CANDIDATES)  # the first sentence judged stands out
    llm = Scripted(REFUSAL, lambda prompt: next(scores))
    assert judged_quote(question, chunks, result.intent, retriever.embedder, llm, Bar(0.84, 0.7, 0.15)) is None
    assert len(llm.judged) == JUDGED_CANDIDATES
    # a sure judgement is enough without a unit kind
    llm = Scripted(REFUSAL, lambda prompt: 0.9)
    assert judged_quote(question, chunks, result.intent, retriever.embedder, llm, Bar(0.84, 0.7, 0.15)) is not None


REVENUE = "2023年相城区政府口袋里一年进来多少钱？"  # the report: 「一般公共预算收入155.2亿元、增长6.5%」
# (wording rag/retrieval/everyday.py does not know: 「一年收了多少钱」 is quoted from the report term at once)


@pytest.mark.parametrize(("p_other", "quoted"), [(0.65, True), (0.85, False)])
def test_a_figure_of_another_unit_kind_goes_to_the_judge_and_a_clearly_surer_sentence_replaces_it(
    retriever, p_other, quoted
):
    # a question for money answered with a rate: the judge is asked about the model's sentence, then
    # about the closest sentences with money; one it is surer of by the margin is quoted instead
    judge = lambda prompt: 0.9 if "155.2亿元" in sentence_of(prompt) else p_other  # noqa: E731
    ans, llm = make(retriever, "2023年相城区人大议案、建议的满意率为100%[4]。", mode="model", judge=judge)
    answer = ans.ask(REVENUE)
    assert llm.judged and "满意率100%" in sentence_of(llm.judged[0])
    if quoted:
        assert answer.mode == "quote" and "155.2亿元" in answer.answer
        assert any("155.2亿元" in sentence_of(p) for p in llm.judged[1:])
    else:  # not surer by the margin (0.9 - 0.85): the model's answer stands
        assert answer.mode == "model" and "100%" in answer.answer


def test_a_figure_of_the_kind_and_metric_asked_is_not_judged(retriever):
    question = "2023年相城区一般公共预算收入是多少钱？"
    ans, llm = make(retriever, "2023年相城区一般公共预算收入155.2亿元[4]。", mode="model", judge=lambda prompt: 0.1)
    answer = ans.ask(question)
    assert llm.judged == [] and "155.2亿元" in answer.answer
    # the same metric's rate answers no question for its level: judged, refused, and the sentence that
    # states the level is quoted instead
    ans, llm = make(retriever, "2023年相城区一般公共预算收入增长6.5%[4]。", mode="model", judge=lambda prompt: 0.1)
    answer = ans.ask(question)
    assert llm.judged and answer.mode == "quote" and "155.2亿元" in answer.answer


CPI = "2023年太仓居民消费价格涨幅是多少？"  # the report gives 社会消费品零售总额's 「同比增长7.3%」, no CPI


@pytest.mark.parametrize(("p_yes", "refused"), [(0.3, True), (0.75, True), (0.9, False)])
def test_the_judge_settles_a_model_figure_whose_metric_is_doubtful(retriever, p_yes, refused):
    # the passage states 7.3%, but for retail sales: the wording check can only doubt it (消费 is shared);
    # the judge, asked about the sentence that states it, decides — and must be sure (0.84), not just
    # fairly sure (0.75 is enough only for a figure that is not doubtful)
    ans, llm = make(retriever, "2023年太仓居民消费价格涨幅为7.3%[1]。", mode="model", judge=lambda prompt: p_yes)
    answer = ans.ask(CPI)
    assert answer.refused is refused
    # first about the sentence stating the model's figure (then, after a refusal, about candidates to quote)
    assert llm.judged and "7.3%" in sentence_of(llm.judged[0]) and CPI in llm.judged[0]
    if not refused:
        assert answer.doubtful_numbers == ["7.3%"] and "7.3%" in answer.answer


@pytest.mark.parametrize(("p_yes", "kept"), [(0.75, False), (0.9, True)])
def test_a_figure_of_another_kind_than_the_level_asked_needs_a_sure_judge(retriever, p_yes, kept):
    # a level answered with a figure of another kind (a growth rate for GDP in money; 「常住人口达到
    # 58.4%」 from 「常住人口城镇化率达到58.4%」): the passage states it for that metric, yet fairly sure
    # (0.75) is not enough, as for a doubtful figure
    ans, llm = make(retriever, "2023年太仓全市地区生产总值同比增长5%[3]。", mode="model", judge=lambda prompt: p_yes)
    answer = ans.ask("2023年太仓地区生产总值是多少钱？")
    assert llm.judged and "增长5%" in sentence_of(llm.judged[0])
    assert (answer.mode == "model" and "5%" in answer.answer) is kept


def test_a_model_figure_of_nothing_asked_goes_to_the_judge(retriever):
    # the model answers with a true figure of something else entirely (the passage is verbatim)
    reply = "完成社会消费品零售总额548.1亿元，同比增长7.3%[1]。"
    ans, llm = make(retriever, reply, mode="model", judge=lambda prompt: 0.2)
    assert ans.ask("2023年太仓一共寄出了多少个快递包裹？").refused and llm.judged
    ans, llm = make(retriever, reply, mode="model", judge=lambda prompt: 0.2, answer_judge=False)
    assert not ans.ask("2023年太仓一共寄出了多少个快递包裹？").refused and llm.judged == []


def test_the_judge_is_not_asked_when_turned_off_or_for_another_place(retriever):
    ans, llm = make(retriever, REFUSAL, mode="model", judge=lambda prompt: 1.0, answer_judge=False)
    assert ans.ask(PARAPHRASE).refused and llm.judged == []
    # a judge that says 是 to anything is only ever shown sentences of the asked place and year
    ans, llm = make(retriever, REFUSAL, mode="model", judge=lambda prompt: 1.0)
    answer = ans.ask("2023年相城区新来了多少个德国企业的项目？")
    assert "德资项目39个" not in answer.answer and llm.judged
    for prompt in llm.judged:
        where = {(c.region, c.year) for c in retriever.index.chunks if sentence_of(prompt) in c.text}
        assert where == {("相城区", 2023)}


def test_an_unindexed_place_is_refused_before_the_model(retriever):
    ans, llm = make(retriever, "不应被调用")
    draft = ans.draft("杭州市2023年一般公共预算收入是多少？")
    assert not draft.needs_model and draft.answer.refused and "杭州" in (draft.answer.reason or "")
    assert llm.prompts == []


def test_questions_about_the_reports_are_answered_from_their_metadata(retriever):
    ans, llm = make(retriever, "不应被调用")
    answer = ans.ask("你们收录了哪些政府工作报告？")
    assert answer.mode == "about" and not answer.refused and llm.prompts == []
    assert {"太仓市", "苏州市", "相城区", "玉山镇"} <= {c.region for c in answer.citations}


def test_the_answer_cache_returns_the_same_answer_marked_cached(retriever, tmp_path):
    ans, llm = make(retriever, "太仓坚持创新驱动[1]。", answer_cache=True, answer_cache_path=tmp_path / "answers.sqlite")
    first = ans.ask("太仓2023年在科技创新方面做了哪些工作？")
    # the same question with other spacing, full-width marks and no question mark
    events = list(ans.stream("太仓 2023年在科技创新方面做了哪些工作"))
    second = events[-1].data
    assert len(llm.prompts) == 1 and second.cached and not first.cached
    assert second.answer == first.answer and events[0].data == [s for s in events[0].data] and events[0].data
    # a new answerer on the same file (a restart) still finds it; another mode does not
    again, llm2 = make(retriever, "x", answer_cache=True, answer_cache_path=tmp_path / "answers.sqlite")
    assert again.ask("太仓2023年在科技创新方面做了哪些工作？").cached and llm2.prompts == []
    other, llm3 = make(retriever, "太仓坚持创新驱动[1]。", mode="model", answer_cache=True, answer_cache_path=tmp_path / "answers.sqlite")
    assert not other.ask("太仓2023年在科技创新方面做了哪些工作？").cached and len(llm3.prompts) == 1


def test_a_degraded_answer_is_not_cached(retriever, tmp_path):
    from rag.core.errors import LLMError

    ans, _ = make(retriever, LLMError("down"), answer_cache=True, answer_cache_path=tmp_path / "answers.sqlite")
    assert ans.ask("太仓2023年在科技创新方面做了哪些工作？").degraded
    assert not ans.ask("太仓2023年在科技创新方面做了哪些工作？").cached


@pytest.mark.parametrize("reply", ["太仓2023年社零548.1亿元[1]。", "社会消费品零售总额548.1亿元[1]。"])
def test_an_abbreviated_metric_in_the_answer_is_verified(retriever, reply):
    ans, _ = make(retriever, reply, mode="model")
    answer = ans.ask("太仓2023年社会消费品零售总额是多少？")
    assert not answer.refused and answer.unsupported_numbers == [] and answer.doubtful_numbers == []


def test_the_judge_is_asked_only_about_questions_for_a_figure(retriever):
    ans, llm = make(retriever, REFUSAL, mode="model", judge=lambda prompt: 1.0)
    answer = ans.ask("2023年太仓与德国合作是在哪个框架下进行的？")
    assert llm.judged == [] and answer.refused


def test_an_upgrade_that_changes_a_rule_never_serves_the_older_answer(retriever, tmp_path, monkeypatch):
    """The same question, index and settings after a rule's data changed (a copy of the engine with
    one everyday word edited, as a ``git pull`` would leave it): the cache misses and the new rules answer."""
    import shutil

    import rag.answering.answer as answer_module
    import rag.core.version as version

    question = "太仓2023年在科技创新方面做了哪些工作？"
    path = tmp_path / "answers.sqlite"
    before, llm = make(retriever, "太仓坚持创新驱动[1]。", answer_cache=True, answer_cache_path=path)
    assert not before.ask(question).cached and len(llm.prompts) == 1
    # the same rules after a restart: a hit
    same, llm_same = make(retriever, "x", answer_cache=True, answer_cache_path=path)
    assert same.ask(question).cached and llm_same.prompts == []

    upgraded = tmp_path / "rag"
    shutil.copytree(version.PACKAGE_ROOT, upgraded, ignore=shutil.ignore_patterns("__pycache__"))
    rules = next(upgraded.rglob("everyday.toml"))  # the everyday-words rules (rag/text/lexicon/)
    text = rules.read_text(encoding="utf-8")
    assert "包裹" in text
    rules.write_text(text.replace("包裹", "邮包", 1), encoding="utf-8")
    new_version = version.version_of(upgraded)
    assert new_version != version.answer_version()
    monkeypatch.setattr(answer_module, "answer_version", lambda: new_version)
    after, llm_after = make(retriever, "太仓坚持创新驱动[1]。", answer_cache=True, answer_cache_path=path)
    answer = after.ask(question)
    assert not answer.cached and len(llm_after.prompts) == 1


def test_the_rules_version_changes_with_any_engine_file_and_only_with_them(tmp_path):
    import shutil

    import rag.core.version as version

    tree = tmp_path / "rag"
    shutil.copytree(version.PACKAGE_ROOT, tree, ignore=shutil.ignore_patterns("__pycache__"))
    base = version.version_of(tree)
    assert base == version.answer_version()  # a copy of the same files: the same version
    (tree / "__pycache__").mkdir(exist_ok=True)
    (tree / "__pycache__" / "x.pyc").write_bytes(b"compiled")  # byte code is no rule
    assert version.version_of(tree) == base
    (tree / "lexicon.toml").write_text('[word]\nnote = "a new rule file"\n', encoding="utf-8")
    assert version.version_of(tree) != base
