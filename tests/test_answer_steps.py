"""The answer steps after the model as a list: named and in order, each switched off by setting, each
timed and its decision recorded — and an unknown step name refused.

The model is the scripted stand-in of test_answer.py (via test_answer_modes.make), as there.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eval.answer_evaluator import steps as step_table
from rag.answering.answer import ANSWER_STEPS, Answer, Citation, CompareCheck, Draft, TargetCheck
from rag.answering.prompts import REFUSAL
from rag.core.config import ANSWER_STEP_NAMES, Settings
from rag.retrieval.query import QueryIntent
from tests.test_answer import QUESTION
from tests.test_answer_modes import make

NAMES = ["verify", "compare_check", "target_check", "judge_doubt", "fall_back", "compose"]
TAXES = "2023年太仓市的税收一共收了多少钱？"  # the model refuses; a passage states 160.3亿元 (fall_back quotes it)


def test_the_steps_are_listed_in_order_with_names_and_documented():
    assert [step.name for step in ANSWER_STEPS] == NAMES == list(ANSWER_STEP_NAMES)
    assert all(type(step).__doc__ and f"``{step.name}``" in type(step).__doc__ for step in ANSWER_STEPS)


def test_every_step_runs_is_timed_and_records_its_decision(retriever):
    ans, _ = make(retriever, "2023年太仓市一般公共预算收入为189.4亿元[1]。", mode="model")
    answer = ans.ask(QUESTION)
    assert answer.mode == "model" and not answer.refused
    assert [d["name"] for d in answer.steps] == NAMES
    assert all(isinstance(answer.timings[f"step_{name}_ms"], float) for name in NAMES)
    verify, compare_check, target_check, judge, fall_back, compose = answer.steps
    assert compose["changed"] is True and compose["reason"] == "worded from its figures"
    assert target_check["changed"] is False and target_check["reason"] == "a result, not only targets"
    assert compare_check == {"name": "compare_check", "changed": False, "reason": "no comparison asked", "off": False}
    assert verify["changed"] is False and verify["off"] is False and "every figure" in str(verify["reason"])
    assert judge["changed"] is False and fall_back == {
        "name": "fall_back",
        "changed": False,
        "reason": "not a refusal",
        "off": False,
    }


def test_compose_words_a_model_fragment_from_its_figure_and_keeps_a_policy_answer(retriever):
    """The model's 「189.4亿元[1]。依据[1]」 never reaches the user: the line is composed from what the
    cited sentence says the figure measures, the sentence follows as evidence."""
    ans, _ = make(retriever, "189.4亿元[1]。依据[1]", mode="model")
    answer = ans.ask(QUESTION)
    first, evidence = answer.answer.split("\n", 1)
    assert first.startswith("2023年太仓市一般公共预算收入189.4亿元[") and "依据" not in answer.answer
    assert evidence.startswith("原文：") and "189.4亿元" in evidence and answer.mode == "model"
    assert [(f["text"], f["measures"], f["year"]) for f in answer.figures] == [("189.4亿元", "一般公共预算收入", 2023)]
    ans, _ = make(retriever, "太仓坚持创新驱动[1]。", mode="model")
    policy = ans.ask("太仓2023年在科技创新方面做了哪些工作？")
    assert policy.answer == "太仓坚持创新驱动[1]。" or policy.refused  # no figure: the model's wording stays
    assert {d["name"]: d for d in policy.steps}["compose"]["changed"] is False


def test_a_step_that_changes_the_answer_says_so(retriever):
    ans, _ = make(retriever, REFUSAL, mode="model")
    answer = ans.ask(TAXES)
    assert answer.mode == "quote" and "160.3亿元" in answer.answer
    decisions = {d["name"]: d for d in answer.steps}
    assert decisions["verify"]["changed"] and decisions["verify"]["reason"] == "the model refused"
    assert decisions["fall_back"]["changed"] and "quote" in str(decisions["fall_back"]["reason"])


def test_a_step_switched_off_by_setting_is_skipped(retriever):
    ans, _ = make(retriever, REFUSAL, mode="model", answer_steps_off=["fall_back"])
    answer = ans.ask(TAXES)
    assert answer.refused and answer.mode == "refused"  # nothing quoted instead of the refusal
    assert answer.steps[-2] == {"name": "fall_back", "changed": False, "reason": "switched off", "off": True}
    assert "step_fall_back_ms" not in answer.timings and "step_verify_ms" in answer.timings


def test_verify_switched_off_gives_the_model_text_unchecked(retriever):
    reply = "2023年太仓市一般公共预算收入为200.5亿元[1]。"  # no passage states 200.5
    checked, _ = make(retriever, reply, mode="model")
    answer = checked.ask(QUESTION)  # refused by verify, then quoted by fall_back
    assert "200.5" not in answer.answer and answer.steps[0]["changed"] and answer.steps[0]["off"] is False
    unchecked, _ = make(retriever, reply, mode="model", answer_steps_off=["verify"])
    answer = unchecked.ask(QUESTION)
    assert answer.answer == reply and not answer.refused and answer.unsupported_numbers == []
    assert answer.steps[0]["off"] is True


def test_the_judge_step_switched_off_is_not_asked(retriever):
    reply = "完成社会消费品零售总额548.1亿元，同比增长7.3%[1]。"  # a true figure of nothing asked
    ans, llm = make(retriever, reply, mode="model", judge=lambda prompt: 0.2)
    judged = ans.ask("2023年太仓一共寄出了多少个快递包裹？")
    assert judged.refused and llm.judged and judged.steps[3]["changed"] and "judge" in str(judged.steps[3]["reason"])
    ans, llm = make(retriever, reply, mode="model", judge=lambda prompt: 0.2, answer_steps_off=["judge_doubt"])
    assert not ans.ask("2023年太仓一共寄出了多少个快递包裹？").refused and llm.judged == []


def test_answers_without_the_model_run_no_step(retriever):
    ans, _ = make(retriever, None)
    answer = ans.ask(QUESTION)
    assert answer.steps == [] and not any(k.startswith("step_") for k in answer.timings)


def test_the_steps_survive_serialisation():
    answer = Answer("q", "a", False, [], [], "none", steps=[{"name": "verify", "changed": True, "reason": "r", "off": False}])
    assert Answer.from_dict(answer.to_dict()).steps == answer.steps
    old = {k: v for k, v in answer.to_dict().items() if k != "steps"}  # stored before the field existed
    assert Answer.from_dict(old).steps == []


def test_the_setting_is_comma_separated_and_rejects_unknown_steps(monkeypatch):
    monkeypatch.setenv("RAG_ANSWER_STEPS_OFF", "judge_doubt, fall_back")
    assert Settings(_env_file=None).answer_steps_off == ["judge_doubt", "fall_back"]  # type: ignore[call-arg]
    monkeypatch.setenv("RAG_ANSWER_STEPS_OFF", "judge_doubt,verfy")
    with pytest.raises(
        ValidationError, match="unknown step 'verfy'.*verify, compare_check, target_check, judge_doubt, fall_back"
    ):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_step_switched_off_changes_the_answer_fingerprint():
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "steps_off" not in default.answer_fingerprint()  # the default's cache keys are as they were
    off = default.model_copy(update={"answer_steps_off": ["fall_back"]})
    assert off.answer_fingerprint() != default.answer_fingerprint()


def test_the_eval_counts_what_each_step_changed():
    def row(kind: str, *changed: bool, off: bool = False) -> dict:
        return {
            "type": kind,
            "steps": [{"name": n, "changed": c, "reason": "", "off": off} for n, c in zip(NAMES, changed, strict=False)],
        }

    rows = [
        row("fact", True, False, False, False, False, True),
        row("fact", True, False, False, False, True, False),
        row("paraphrase", False, False, False, True, False, False),
        {"type": "fact"},
    ]
    table = step_table(rows)
    assert list(table) == NAMES
    assert table["verify"] == {"ran": 3, "off": 0, "changed": 2, "changed_per_type": {"fact": 2}}
    assert table["judge_doubt"]["changed_per_type"] == {"paraphrase": 1} and table["fall_back"]["changed"] == 1
    assert step_table([row("fact", False, off=True)])["verify"] == {"ran": 0, "off": 1, "changed": 0, "changed_per_type": {}}


def test_compare_check_drops_a_comparative_claim_no_two_figures_back(retriever):
    """「2023年的更高」 with a citation and no figure is the worst answer: the claim goes, and an answer
    with no figure left is a refusal; a claim two stated figures agree with stays."""
    ans, _ = make(retriever, "unused", mode="model")
    question = "太仓2023年一般公共预算收入与2022年相比哪个高？"
    sides = [QueryIntent(question, "太仓市", 2023), QueryIntent(question, "太仓市", 2022)]
    draft = Draft(question, question, 0.0, sides=sides)
    step = CompareCheck()

    def model(text: str) -> Answer:
        return Answer(question, text, False, [], [], "fake", mode="model")

    bare, why = step.run(ans, draft, model("2023年的一般公共预算收入更高[1]。"))
    assert bare.refused and "not backed by two cited figures" in why
    backed = model("2023年为189.4亿元[1]，2022年为177.8亿元[2]，2023年更高。")
    assert step.run(ans, draft, backed)[0] is backed
    wrong, why = step.run(ans, draft, model("2023年为189.4亿元[1]，2022年为200.5亿元[2]。2023年更高。"))
    assert not wrong.refused and wrong.answer == "2023年为189.4亿元[1]，2022年为200.5亿元[2]。" and "contradicts" in why
    single = Draft("太仓2023年一般公共预算收入是多少", "太仓2023年一般公共预算收入是多少", 0.0, sides=sides[:1])
    assert step.run(ans, single, model("收入较高[1]。"))[1] == "no comparison asked"


def test_target_check_refuses_a_target_given_for_a_result(retriever):
    """「太仓2024年实际使用外资完成了多少？」 is not answered by the 2024 plan's 「力争实际使用外资6亿美元」."""
    ans, _ = make(retriever, "unused", mode="model")
    question = "太仓2024年实际使用外资完成了多少？"
    draft = ans.draft("太仓2024年实际使用外资的目标是多少？")  # its passages hold the plan's sentence
    plan = next(n for n, c in enumerate(draft.chunks, 1) if "6亿美元" in c.text and c.period == "plan")
    draft.sides = [QueryIntent(question, "太仓市", 2024)]
    answer = Answer(question, f"太仓2024年实际使用外资6亿美元[{plan}]。", False, [], [], "fake", mode="model")
    answer.citations = [Citation.of(plan, draft.chunks[plan - 1])]
    after, why = TargetCheck().run(ans, draft, answer)
    assert after.refused and "only targets" in why
    draft.sides = [QueryIntent(question, "太仓市", 2024, "plan")]  # asked for the target: kept
    assert TargetCheck().run(ans, draft, answer)[0] is answer
