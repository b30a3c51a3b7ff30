"""The evaluation: metric arithmetic on plain dicts, a retrieval-only run over the gold set with every
baseline, and an answer run replayed from cassettes recorded against the real local model."""

from __future__ import annotations

import json
import math

import pytest

from eval.answer_evaluator import AnswerEvaluator, judge
from eval.gold import answer_is_correct, evidence_recall, is_relevant, load_gold
from eval.retrieval_evaluator import RetrievalEvaluator, ndcg
from eval.runner import BM25, DENSE, OURS, USUAL, EvalOptions, run_eval
from rag.core.errors import RagError
from rag.llm.clients import OpenAIClient

ITEM = {
    "id": "t1", "type": "fact", "question": "2023年太仓市一般公共预算收入是多少？", "source": "a.txt",
    "evidence": ["一般公共预算收入189.4亿元"], "must_contain": ["189.4亿元"], "answer_aliases": ["189.4 亿"], "history": [],
}  # fmt: skip
NONE = {**ITEM, "id": "t2", "type": "unanswerable", "evidence": [], "must_contain": [], "answer_aliases": [], "source": None}
GOOD = "完成一般公共预算 收入189.4亿元。"


def test_relevance_needs_the_evidence_and_the_right_report():
    assert is_relevant(ITEM, "a.txt", GOOD) and is_relevant(ITEM, None, GOOD)
    assert not is_relevant(ITEM, "b.txt", GOOD) and not is_relevant(ITEM, "a.txt", "收入189.4亿元")


def test_correct_answer_needs_every_key_string_or_an_alias():
    assert answer_is_correct(ITEM, "收入为 189.4亿元[1]") and answer_is_correct(ITEM, "约189.4亿")
    assert not answer_is_correct(ITEM, "收入为189亿元")


def test_retrieval_metrics():
    runs = {"t1": [("a.txt", "无关"), ("a.txt", GOOD)], "t3": [("a.txt", GOOD)], "t4": [("a.txt", "无关")]}
    items = [ITEM, {**ITEM, "id": "t3"}, {**ITEM, "id": "t4", "type": "paraphrase"}, NONE]
    result = RetrievalEvaluator(items)(lambda item: runs[item["id"]])
    m = result["metrics"]
    assert m["questions"] == 3  # the unanswerable item has no evidence
    assert m["hit@1"] == pytest.approx(1 / 3) and m["hit@3"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((1 / 2 + 1) / 3)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1) / 3)
    assert result["per_type"]["paraphrase"]["hit@5"] == 0 and [q["rank"] for q in result["questions"]] == [2, 1, None]
    assert ndcg([True, True]) == 1.0 and ndcg([False]) == 0.0


def test_recall_counts_each_side_of_a_comparison():
    item = {**ITEM, "evidence": ["收入189.4亿元", "收入155.2亿元"], "sources": ["a.txt", "b.txt"]}
    assert evidence_recall(item, [("a.txt", "完成一般公共预算收入189.4亿元")]) == 0.5
    assert evidence_recall(item, [("a.txt", "收入189.4亿元"), ("b.txt", "收入155.2亿元")]) == 1.0
    assert evidence_recall(item, [("c.txt", "收入189.4亿元")]) == 0.0  # the right figure from another report


def test_answer_verdicts():
    passages = [{"n": 1, "source": "a.txt", "text": GOOD}, {"n": 2, "source": "a.txt", "text": "其他"}]
    right = judge(ITEM, {"answer": "189.4亿元[1]", "refused": False, "passages": passages})
    assert right["correct"] and right["citations_valid"] and right["unsupported"] == []
    wrong_cite = judge(ITEM, {"answer": "189.4亿元[2]", "refused": False, "passages": passages})
    assert wrong_cite["correct"] and wrong_cite["citations_valid"] is False
    invented = judge(ITEM, {"answer": "200.5亿元[1]", "refused": False, "passages": passages})
    assert not invented["correct"] and invented["unsupported"] == ["200.5亿元"]
    refusal = judge(NONE, {"answer": "没有找到", "refused": True, "passages": []})
    assert refusal["correct"] and refusal["citations_valid"] is None


def test_a_computed_difference_of_two_cited_figures_is_not_unsupported():
    passages = [{"n": 1, "source": "a.txt", "text": "社会消费品零售总额548.1亿元。"},
                {"n": 2, "source": "a.txt", "text": "社会消费品零售总额603亿元。"}]  # fmt: skip
    computed = judge(ITEM, {"answer": "548.1亿元[1]，603亿元[2]；少54.9亿元。", "refused": False, "passages": passages})
    assert computed["unsupported"] == []
    invented = judge(ITEM, {"answer": "548.1亿元[1]，603亿元[2]；少50亿元。", "refused": False, "passages": passages})
    assert invented["unsupported"] == ["50亿元"]


def test_answer_metrics():
    results = {
        "t1": {"answer": "189.4亿元[1]", "refused": False, "timings": {"total_ms": 10}},
        "t3": {"answer": "没有", "refused": True, "timings": {"total_ms": 30}},
        "t2": {"answer": "没有", "refused": True, "timings": {"total_ms": 20}},
        "t5": {"answer": "99.9亿元[1]", "refused": False, "timings": {}},
    }
    items = [ITEM, {**ITEM, "id": "t3"}, NONE, {**NONE, "id": "t5"}]
    passages = [{"n": 1, "source": "a.txt", "text": GOOD}]
    out = AnswerEvaluator(items)(lambda item: {**results[item["id"]], "passages": passages})
    m = out["metrics"]
    assert m["accuracy"] == 0.5 and m["false_refusals"] == 0.5
    assert m["refusal_precision"] == 0.5 and m["refusal_recall"] == 0.5
    assert m["unsupported_number_rate"] == 0.5 and m["citation_validity"] == 1.0
    # t5 states a figure for an unanswerable question: the one wrong figure of the four answers
    assert m["wrong_figure_rate"] == 0.25 and [r["id"] for r in out["questions"] if r["wrong_figure"]] == ["t5"]
    assert out["latency"]["total_ms"]["p50"] == 20 and out["latency"]["total_ms"]["n"] == 3


def test_bad_gold_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(RagError, match="gold.jsonl:1: missing"):
        load_gold(bad)
    with pytest.raises(RagError, match="does not exist"):
        load_gold(tmp_path / "nope.jsonl")


def test_retrieval_only_run_compares_against_the_baselines(retriever, tmp_path):
    folder = run_eval(retriever.settings, retriever, None, EvalOptions(out_dir=tmp_path, name="ci", retrieval_only=True, limit=4))
    assert {p.name for p in folder.iterdir()} >= {"report.md", "results.json", "retrieval.png", "retrieval_by_type.png"}
    run = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    metrics = {name: r["metrics"] for name, r in run["retrieval"].items()}
    assert set(metrics) == {OURS, BM25, DENSE, USUAL} and run["answers"] == {}
    assert metrics[OURS]["hit@5"] >= 0.85  # 0.98 on the whole set; follow-ups weigh more in this sample
    assert all(metrics[OURS]["hit@1"] >= metrics[other]["hit@1"] for other in (BM25, DENSE, USUAL))
    assert "| ours |" in (folder / "report.md").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


@pytest.mark.vcr
def test_answer_run_replayed_from_cassettes(retriever, llm_url, tmp_path):
    llm = OpenAIClient(base_url=llm_url, api_key="sk-test-secret", model="local", timeout=120, max_retries=0)
    options = EvalOptions(out_dir=tmp_path, name="answers", types=["fact", "unanswerable", "followup"], limit=1,
                          baseline_answers=True)  # fmt: skip
    folder = run_eval(retriever.settings, retriever, llm, options)
    run = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    ours, usual = run["answers"][OURS], run["answers"][USUAL]
    assert ours["metrics"]["questions"] == usual["metrics"]["questions"] == 3
    assert ours["metrics"]["accuracy"] is not None and ours["latency"]["total_ms"]["n"] == 3
    fact = next(q for q in ours["questions"] if q["type"] == "fact")
    assert fact["correct"] and fact["citations_valid"]
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert (folder / "answers_by_type.png").is_file() and "## Answers — ours" in report
    side_by_side = report.split("## Answers — side by side")[1].split("##")[0]
    assert "| ours | 3 |" in side_by_side and "| usual-pipeline | 3 |" in side_by_side
