"""The two commands on any machine: rankings that do not depend on a CPU's float rounding, cassettes that
match a request on its meaning, replay that never starts a model server, a lock that pins everything."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import pytest
import yaml

from rag.retrieval.retrieve import ranking
from tests.cassette_match import (
    NUMBER_RE,
    PASSAGE_SPLIT_RE,
    PASSAGES_HEAD,
    QUESTION_MARK,
    canonical_body,
    canonical_prompt,
    same_meaning,
)
from tests.conftest import REPLAY_URL, ROOT

CASSETTES = ROOT / "tests" / "cassettes"


# -- rankings: near-ties go the same way whatever the last bits -----------------------------------


def test_scores_equal_at_the_fixed_precision_are_ordered_by_key_whatever_their_last_bits():
    # three passages tied to 1e-7 (another CPU's rounding of the same sums), one clearly better, one worse
    base = {7: 0.8123, 3: 0.8123, 12: 0.8123, 5: 0.9, 9: 0.5}
    expected = [5, 3, 7, 12, 9]
    rng = random.Random(0)
    naive_orders = set()
    for trial in range(200):
        noisy = {key: score + rng.uniform(-1e-7, 1e-7) for key, score in base.items()}
        items = list(noisy.items())
        rng.shuffle(items)  # and any insertion order the store hands back
        scores = dict(items)
        assert [key for key, _ in ranking(scores, 4)] == expected, trial
        naive_orders.add(tuple(sorted(scores, key=scores.__getitem__, reverse=True)))
    assert len(naive_orders) > 1  # without the fixed precision the order would follow the noise


def test_a_real_difference_above_the_precision_still_decides():
    assert [key for key, _ in ranking({1: 0.81231, 2: 0.81249}, 4)] == [2, 1]
    assert [key for key, _ in ranking({"b": 0.5, "a": 0.5}, 4)] == ["a", "b"]  # Milvus keys: by chunk id


# -- cassettes: a request matches on what it means ---------------------------------------------


def answer_prompt(passages: list[str], question: str = "2023年太仓市一般公共预算收入是多少？") -> str:
    blocks = [f"[{n}] {text}" for n, text in enumerate(passages, 1)]
    return "摘录：\n" + "\n\n".join(blocks) + f"\n\n问题：{question}\n要求：照抄数字"


class Request:
    def __init__(self, body: object) -> None:
        self.body = json.dumps(body, ensure_ascii=False).encode()


def request(content: str, **options: object) -> Request:
    return Request({"messages": [{"role": "user", "content": content}], "model": "local", **options})


PASSAGES = [
    "太仓市·2023年\n一般公共预算收入189.4亿元。",
    "太仓市·2023年\n税收收入160.3亿元。\n\n其中增值税…",
    "太仓市·2024年计划\n增长5%。",
]


def test_the_same_passages_in_another_order_match():
    recorded = request(answer_prompt(PASSAGES))
    for order in itertools.permutations(PASSAGES):
        assert same_meaning(request(answer_prompt(list(order))), recorded) is None


@pytest.mark.parametrize(
    "changed",
    [
        answer_prompt(PASSAGES, question="2023年太仓市税收收入是多少？"),  # another question
        answer_prompt([*PASSAGES[:2], "太仓市·2024年计划\n增长6%。"]),  # another passage text
        answer_prompt(PASSAGES[:2]),  # a passage fewer
        answer_prompt(PASSAGES).replace("照抄数字", "照抄原文"),  # other rules
    ],
)
def test_a_request_that_means_something_else_does_not_match(changed: str):
    with pytest.raises(AssertionError):
        same_meaning(request(changed), request(answer_prompt(PASSAGES)))


def test_other_sampling_options_do_not_match():
    with pytest.raises(AssertionError):
        same_meaning(request(answer_prompt(PASSAGES), max_tokens=8), request(answer_prompt(PASSAGES), max_tokens=256))


def test_json_spacing_and_key_order_do_not_matter_and_other_bodies_pass_through():
    body = {"model": "local", "messages": [{"content": "你好", "role": "user"}]}
    spaced = Request(body)
    spaced.body = json.dumps(body, ensure_ascii=False, indent=2).encode()
    assert same_meaning(spaced, Request({"messages": [{"role": "user", "content": "你好"}], "model": "local"})) is None
    assert canonical_body(b"not json") == b"not json" and canonical_body(None) is None
    assert canonical_prompt("句子：……\n问题：……") == "句子：……\n问题：……"  # a judge prompt: compared as it is


def recorded_answer_requests() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CASSETTES.rglob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
            body = interaction["request"].get("body")
            if not body:
                continue
            for message in json.loads(body).get("messages", []):
                content = message.get("content")
                if isinstance(content, str) and re.search(r"\n\n\[2\] ", content) and QUESTION_MARK in content:
                    found.append((path.name, body))
    return found


def test_every_recorded_answer_prompt_still_matches_with_its_passages_reversed():
    """The recorded cassettes themselves: reversing the numbered passages of a recorded prompt (what a
    near-tie broken the other way on another CPU would do) still finds the recording."""
    recorded = recorded_answer_requests()
    assert len(recorded) >= 3
    for name, body in recorded:
        data = json.loads(body)
        for message in data["messages"]:
            head, _, rest = message["content"].rpartition(QUESTION_MARK)
            if head.startswith(PASSAGES_HEAD):
                blocks = PASSAGE_SPLIT_RE.split(head[len(PASSAGES_HEAD) :])
                renumbered = [NUMBER_RE.sub(f"[{n}] ", b) for n, b in enumerate(reversed(blocks), 1)]
                message["content"] = PASSAGES_HEAD + "\n\n".join(renumbered) + QUESTION_MARK + rest
        permuted = Request(data)
        assert permuted.body != body.encode(), name
        assert same_meaning(permuted, Request(json.loads(body))) is None, name


def test_replay_is_the_default_and_never_starts_a_model_server(pytestconfig, record_mode, llm_url):
    # no --record-mode given (None in current pytest-recording) is a replay: the stand-in address
    if pytestconfig.getoption("--record-mode", default=None) is None:
        assert record_mode == "none" and llm_url == REPLAY_URL


# -- the lock: every package pinned with hashes -----------------------------------------------


def test_the_lock_pins_every_installed_requirement_with_hashes():
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+) \\$", lock, flags=re.MULTILINE)
    assert len(pins) > 100
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2])
    for entry in entries:
        if entry.strip() and not entry.startswith("#"):
            assert "--hash=sha256:" in entry, entry.splitlines()[0]
    names = {name.lower().replace("_", "-") for name, _ in pins}
    for needed in ("torch", "sentence-transformers", "faiss-cpu", "fastapi", "pytest", "pytest-recording", "uv"):
        assert needed in names, needed
    assert "llama-cpp-python" not in names  # built from source by scripts/build_llama.sh, never by pip's default
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile and "--no-deps --no-build-isolation -e ." in makefile


def test_the_lock_follows_pyproject(tmp_path: Path):
    """Every dependency pyproject.toml names (runtime and dev) is in the lock at a version it allows."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {
        name.lower().replace("_", "-").replace(".", "-"): version
        for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+) \\$", lock, flags=re.MULTILINE)
    }
    for text in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-").replace(".", "-")
        assert name in pinned, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), f"{name}=={pinned[name]} vs {requirement}"
