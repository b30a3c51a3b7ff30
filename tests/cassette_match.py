"""Matching a replayed model request to a recorded one on what the request means, not on its bytes.

A cassette recorded on one machine must replay on any other. Two things in a request body can differ
there without changing what the test asks the model: the order of the numbered passages (near-tied
retrieval scores: ``Settings.score_decimals`` makes that order the same on every CPU, and this is the
second line of defence) and the JSON's key order or spacing. So a body matches when it is the same JSON
once each answer prompt's passages are taken as a set: the same passages (label and text, without
their numbers), the same question and rules, the same other messages and the same sampling options.
A different question, passage text, prompt wording or option still fails to match, as it must: then
the cassette is out of date and ``make record`` records it again.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: How :func:`rag.prompts.build_messages` opens the user turn and numbers each passage.
PASSAGES_HEAD = "摘录：\n"
PASSAGE_SPLIT_RE = re.compile(r"\n\n(?=\[\d+\] )")
NUMBER_RE = re.compile(r"^\[\d+\] ")
QUESTION_MARK = "\n\n问题："


def canonical_prompt(content: object) -> object:
    """An answer prompt as ``{"passages": sorted passages without numbers, "rest": question and rules}``;
    any other content unchanged."""
    if not isinstance(content, str) or not content.startswith(PASSAGES_HEAD) or QUESTION_MARK not in content:
        return content
    passages, _, rest = content[len(PASSAGES_HEAD) :].rpartition(QUESTION_MARK)
    return {"passages": sorted(NUMBER_RE.sub("", p) for p in PASSAGE_SPLIT_RE.split(passages)), "rest": rest}


def canonical_body(body: bytes | str | None) -> Any:
    """The request body as parsed JSON with each message's answer prompt canonical; a body that is no
    JSON (or none) as it is."""
    if not body:
        return body
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        messages = [dict(m, content=canonical_prompt(m.get("content"))) if isinstance(m, dict) else m for m in data["messages"]]
        data = dict(data, messages=messages)
    return data


def same_meaning(r1: Any, r2: Any) -> None:
    """vcrpy matcher: passes (returns None) when the two requests' bodies mean the same; else raises."""
    assert canonical_body(r1.body) == canonical_body(r2.body), "the request bodies differ in meaning"
