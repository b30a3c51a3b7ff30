"""Judging an answer to a library question: is a figure stated, which side does a comparison call higher.

Stdlib only (the tests use it without the engine). Figures are matched with all whitespace removed, and
a figure must not continue a longer number (「7%」 is not stated by 「17%」 or 「7.7%」).

The contradiction detector is deliberately small. A comparison answer is split into clauses (at 。；;，,
and line breaks); in each clause it looks for a comparative phrase and the side named before it:

- 「A比B高/快/多/大/增加/增长/提高」 → A higher; 「A比B低/慢/少/小/减少/下降」 → A lower (B must be the
  other side: 「同比增长」「比上年增长」 say nothing);
- 「A高于/高出/超过/多于/大于/快于 B」 → A higher; 「A低于/少于/小于/慢于/不及/落后 B」 → A lower (B again
  the other side: 「高于全市平均」 says nothing);
- 「A更高/较高/更快/更多」 → A higher; 「A更低/较低/更慢/更少」 → A lower;
- a clause that ends in a bare 高/快/多/大 (低/慢/少/小), citations aside — 「A的增速快[1]」, the model's
  answer to 「哪个快？」 — → A higher (lower);
- plan against actual: 「未达到/没有达到/没达到/未完成/低于目标」 → the achieved side lower, 「超过目标/超额完成/
  高于目标/完成目标」 → the achieved side at least as high.

A side is named by its place (with or without 县/区/市) when the two places differ, by its year
(「2021年」) when the years differ, otherwise (a target against the achieved figure) by 目标/预期/计划 or
实际/完成/实现. A clause that names no side, or only the side after 比, says nothing. A claim is a
contradiction when it calls the lower side higher or the higher side lower, or either side higher or
lower when the two are equal.
"""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
_CORE = re.compile(r"[-+]?\d+(?:\.\d+)?\s*(?:个百分点|%|％|万亿元|亿元|万元|元|万人|人|户|万吨|吨|万亩|亩|个|家|项|倍)?")
_MARKS = re.compile(r"\[\d+(?:[,，、]\s*\d+)*\]|【\d+】|\s")
_CLAUSE = re.compile(r"[。；;，,！!？?\n]")
_UP = "高快多大"
_DOWN = "低慢少小"
_BI = re.compile(
    rf"比(?P<object>[^比]{{0,24}}?)(?:要|还|更)?(?:(?P<up>[{_UP}]|增加|增长|提高|上升)|(?P<down>[{_DOWN}]|减少|下降|降低))"
)
#: 「更高」「较快」: the side named before is higher/lower; 「高于…」「超过…」: so, when the other side follows.
_MORE = re.compile(rf"(?:更|较)(?:(?P<up>[{_UP}])|(?P<down>[{_DOWN}]))")
#: 「A的增速快」「A高」: a bare comparative ending the clause (the answer to 「哪个高？」) — the side named before.
_BARE = re.compile(rf"(?:(?P<up>[{_UP}])|(?P<down>[{_DOWN}]))(?:一些|一点|些|得多)?$")
_THAN = re.compile(rf"(?P<up>[{_UP}](?:于|出)|超过|超出|领先)|(?P<down>[{_DOWN}]于|不及|不如|落后)")
_MISSED = re.compile(r"未达到|没有达到|没达到|未能达到|未完成|没有完成|没完成|低于(?:预期|年度)?目标")
_REACHED = re.compile(r"超过(?:预期|年度)?目标|超额完成|高于(?:预期|年度)?目标|超出(?:预期|年度)?目标")
TARGET_WORDS = ("目标", "预期", "计划")
ACTUAL_WORDS = ("实际", "完成", "实现")


def squash(text: str) -> str:
    return _SPACE.sub("", text).replace("％", "%")


def core(figure: str) -> str:
    """The number and unit of a stated figure: 「8%以上」 → 「8%」, 「下降1.2%」 → 「1.2%」."""
    match = _CORE.search(squash(figure))
    return match.group(0) if match else squash(figure)


def states(text: str, figure: str) -> bool:
    """Whether ``text`` states ``figure`` (whitespace ignored, not inside a longer number)."""
    needle = squash(figure)
    if not needle:
        return False
    return re.search(r"(?<![\d.])" + re.escape(needle), squash(text)) is not None


def labels(sides: list[dict]) -> list[tuple[str, ...]]:
    """How an answer names each side of a comparison (see the module docstring)."""
    first, second = sides
    if first["place"] != second["place"]:
        return [tuple({s["place"], s["place"][:-1] if len(s["place"]) > 2 else s["place"]}) for s in sides]
    if str(first["year"]) != str(second["year"]):
        return [(f"{s['year']}年",) for s in sides]
    return [TARGET_WORDS if any(w in s["evidence"] for w in TARGET_WORDS) else ACTUAL_WORDS for s in sides]


def _named(clause: str, names: list[tuple[str, ...]]) -> int | None:
    """The side named first in ``clause`` (by position), or ``None``."""
    found = [(clause.find(w), side) for side, words in enumerate(names) for w in words if w in clause]
    return min(found)[1] if found else None


def claims(answer: str, sides: list[dict]) -> list[tuple[int, str]]:
    """``(side, "higher"|"lower")`` for every comparative claim the answer makes about a side."""
    names = labels(sides)
    plan = names[0] in (TARGET_WORDS, ACTUAL_WORDS) and names[0] != names[1]
    actual = names.index(ACTUAL_WORDS) if plan else None
    out: list[tuple[int, str]] = []
    for clause in _CLAUSE.split(answer):
        if plan and actual is not None:
            if _MISSED.search(clause):
                out.append((actual, "lower"))
                continue
            if _REACHED.search(clause):
                out.append((actual, "higher"))
                continue
        bare = _MARKS.sub("", clause).strip()
        for pattern, needs_object in ((_BI, True), (_THAN, True), (_MORE, False), (_BARE, False)):
            match = pattern.search(bare if pattern is _BARE else clause)
            if not match:
                continue
            side = _named((bare if pattern is _BARE else clause)[: match.start()], names)
            other = _named(match.group("object") if pattern is _BI else clause[match.end() :], names)
            if side is not None and (not needs_object or (other is not None and other != side)):
                out.append((side, "higher" if match.group("up") else "lower"))
            break
    return out


def contradicts(answer: str, sides: list[dict], direction: str) -> bool:
    """Whether the answer calls the lower side higher (or the higher lower; or either, when equal)."""
    for side, claim in claims(answer, sides):
        if direction == "equal":
            return True
        if (claim == "higher") != (side == (0 if direction == "first" else 1)):
            return True
    return False
