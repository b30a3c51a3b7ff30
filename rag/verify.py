"""Checking a generated answer against its passages: citations, refusals, and every number it states."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from rag.documents import normalize_inline, squash

_CITATION_RE = re.compile(r"[\[【]\s*(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\s*[\]】]")
_REFUSAL_RE = re.compile(
    r"没有找到相关信息|未找到相关|没有相关信息|未提及|没有提及|并未提到|没有提到|无法(?:从|根据).{0,12}(?:回答|得出|确定)"
    r"|摘录中(?:没有|未|并未)|不包含.{0,8}信息"
)
UNITS = (
    "万亿元 亿美元 万美元 亿元 万元 千元 元 美元 万人次 人次 万人 人 万户 户 万亩 亩 万平方米 平方米 平方公里 "
    "公里 千米 米 万吨 吨 万千瓦 千瓦 兆瓦 万辆 辆 个百分点 百分点 % 倍 家 个 项 件 套 所 座 次 名 台 场 条 处 只 艘 列 批"
).split()
_NUMBER_RE = re.compile(
    r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True)) + ")?"
)
_YEAR_RE = re.compile(r"^(?:19|20)\d{2}$")


def citations_in(text: str) -> list[int]:
    """Citation numbers in order of first appearance: [1], [1,2], [1][3], 【2】."""
    seen: list[int] = []
    for match in _CITATION_RE.finditer(text):
        for part in re.split(r"[,，、]", match.group(1)):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


_LEAD_IN_RE = re.compile(r"(?<=[^。！？\n])[，,；;]?\s*(?:依据|根据|参见|参考|见|来源|出处)(?:摘录|资料|材料)?\s*[:：]?\s*(?=[\[【]\s*\d)")


def tidy_citations(text: str) -> str:
    """「…2.4万亿元，依据[2]。」 → 「…2.4万亿元[2]。」: markers sit right after what they support."""
    return _LEAD_IN_RE.sub("", text)


def strip_citations(text: str) -> str:
    return _CITATION_RE.sub("", text)


def has_refusal(text: str) -> bool:
    return bool(_REFUSAL_RE.search(text))


def strip_refusal(text: str, *, clauses: bool = False) -> str:
    """``text`` without its refusal sentences (a small model sometimes answers *and* refuses)."""
    pattern = r"[^。！？；，\n]+[。！？；，]?" if clauses else r"[^。！？\n]+[。！？]?"
    kept = [s for s in re.findall(pattern, text) if not _REFUSAL_RE.search(s)]
    return "".join(kept).strip()


def is_refusal(text: str) -> bool:
    """The model said the passages do not hold the answer and gave nothing cited or checkable instead."""
    if not has_refusal(text):
        return False
    rest = strip_refusal(text, clauses=True)
    return len(rest) < 4 or not (citations_in(rest) or figures(rest))


@dataclass(frozen=True)
class Figure:
    """A number as the answer states it, with its unit when it has one (「189.4亿元」)."""

    number: str
    unit: str

    @property
    def text(self) -> str:
        return f"{self.number}{self.unit}"


def figures(text: str) -> list[Figure]:
    """Numbers stated in ``text`` (citation markers and bare years excluded), full-width digits included."""
    clean = normalize_inline(strip_citations(text))
    found: list[Figure] = []
    for match in _NUMBER_RE.finditer(clean):
        number, unit = match.group(1), match.group(2) or ""
        if _YEAR_RE.match(number) and (unit == "" or clean[match.end() : match.end() + 1] == "年"):
            continue
        figure = Figure(number.replace(",", ""), unit.replace("％", "%"))
        if figure not in found:
            found.append(figure)
    return found


def _comparable(passage: str) -> str:
    """A passage as figures are looked up in it: no whitespace, no thousands separators, ASCII %."""
    return squash(passage).replace(",", "").replace("％", "%")


def _occurrences(figure: Figure, body: str) -> Iterator[re.Match[str]]:
    """Where ``body`` states the figure's number (not as part of a longer number)."""
    return re.finditer(rf"(?<![\d.]){re.escape(figure.number)}(?![\d]|\.\d)", body)


def supported(figure: Figure, passages: Sequence[str]) -> bool:
    """Whether some passage states this number (with the same unit, when the answer gives one)."""
    for passage in passages:
        body = _comparable(passage)
        for match in _occurrences(figure, body):
            if not figure.unit or body.startswith(figure.unit, match.end()):
                return True
    return False


def cite_figure(text: str, figure: Figure, n: int) -> str:
    """``text`` with ``[n]`` added at the end of the sentence stating ``figure`` (or at the very end)."""
    marker = f"[{n}]"
    match = re.search(rf"(?<![\d.]){re.escape(figure.number)}", text.replace(",", ""))
    start = match.end() if match and "," not in text else len(text)
    end = re.compile(r"[。！？；\n]").search(text, start)
    at = end.start() if end else len(text.rstrip())
    if text[:at].rstrip().endswith("]") and marker in text[max(0, at - 12) : at]:
        return text
    return text[:at] + marker + text[at:]


#: Words that say how a figure changed, not what it measures.
_GENERIC = frozenset(
    "完成 实现 达到 增长 增加 下降 减少 提高 提升 同比 上年 去年 前年 其中 分别 累计 全年 总计 合计 预计 约为 "
    "以上 左右 比上年 同期 年均 今年 全市 全区 全镇 全县 达 约 为 比 "
    # and words that say whether it is a target or a result
    "目标 计划 预期 力争 定为 确定 实际 主要 预计 "
    # and qualifiers between a metric and its figure
    "同口径 口径 接近 超过 突破 保持 稳定 分别为".split()
)
#: Same metric, different words: rewritten before comparing answer and passage.
_SYNONYMS = (("地区生产总值", "gdp"), ("生产总值", "gdp"), ("规模以上", "规上"), ("百分之", "%"))
_BOUNDARY_RE = re.compile(r"[。！？；\n]")
_CLAUSE_RE = re.compile(r"[。！？；\n，,：:]")


def _metric_words(context: str, ignore: Collection[str]) -> list[str]:
    """The words of ``context`` that can name what a figure measures, in order."""
    from rag.lexical import tokenize

    text = context.lower()
    for old, new in _SYNONYMS:
        text = text.replace(old, new)
    return [
        t for t in tokenize(text)
        if len(t) >= 2 and t not in _GENERIC and not any(c.isdigit() for c in t) and not any(t in name for name in ignore)
    ]  # fmt: skip


def _metric_terms(context: str, ignore: Collection[str]) -> set[str]:
    return set(_metric_words(context, ignore))


def _lead_in(text: str, end: int, boundary: re.Pattern[str] = _BOUNDARY_RE) -> str:
    """The sentence up to ``end``: what the figure at ``end`` is said to measure."""
    start = max((m.end() for m in boundary.finditer(text, 0, end)), default=0)
    return text[start:end]


def _measured(text: str, end: int, ignore: Collection[str]) -> list[str]:
    """What the figure at ``end`` of an answer or passage measures, in order: its own clause's metric
    words (「地区生产总值增长5%以上，一般公共预算收入同口径增长4%以上」 keeps the two apart), or the
    sentence's when the clause names none (「…189.4亿元，同比分别增长6.5%」)."""
    return _metric_words(_lead_in(text, end, _CLAUSE_RE), ignore) or _metric_words(_lead_in(text, end), ignore)


#: Words that make a question a question, not what it asks about.
_ASKING = frozenset(
    "多少 是 什么 哪些 几个 怎样 如何 情况 有关 关于 报告 提到 提出 还是 哪个 更高 更多 更少 谁 具体 多多少 高多少".split()
)


def asked_terms(question: str, ignore: Collection[str] = ()) -> set[str]:
    """What a question asks about, as metric words: 「2023年太仓城镇新增就业多少人？」 → 城镇, 新增, 就业."""
    return _metric_terms(question, ignore) - _ASKING


def states_asked_figure(sentence: str, question: str, ignore: Collection[str] = ()) -> bool:
    """Whether a report sentence names everything the question asks about and states a figure *of*
    it: the metric word nearest before the figure must be one asked for, so 「研发投入占地区生产总值
    比重接近4%」 does not answer a question about 地区生产总值."""
    wanted = asked_terms(question, ignore)
    if not wanted or not wanted <= _metric_terms(sentence, ignore):
        return False
    body = normalize_inline(sentence).replace(",", "")
    for figure in figures(sentence):
        for match in _occurrences(figure, body):
            words = _measured(body, match.start(), ignore)
            if words and words[-1] in wanted:
                return True
    return False


def attributed(answer: str, figure: Figure, passage: str, ignore: Collection[str] = (), question: str = "") -> bool:
    """Whether ``passage`` states ``figure`` *for the same thing* the answer says it measures.

    「城镇居民人均可支配收入是155.2亿元」 against 「一般公共预算收入155.2亿元」 is not attributed: at least
    half of the answer's metric words (region names, years and words like 增长/同比 aside) must lead up
    to the figure in the passage's sentence too. A bare answer (「5%以上[1]」) names no metric: the
    ``question``'s words stand for it, so the GDP target cannot answer a question about revenue.
    """
    clean = normalize_inline(strip_citations(answer)).replace(",", "")
    at = re.search(rf"(?<![\d.]){re.escape(figure.number)}", clean)
    wanted = set(_measured(clean, at.start(), ignore)) if at else set()
    if not wanted and question:
        asked = asked_terms(question, ignore)
        # judge by the question only where the passage names all it asks (a paraphrase such as
        # 「财政收入」 for 「一般公共预算收入」 cannot be judged: the number alone decides then)
        wanted = asked if asked <= _metric_terms(passage, ignore) else set()
    if not wanted:
        return supported(figure, [passage])
    body = _comparable(passage)
    for match in _occurrences(figure, body):
        if figure.unit and not body.startswith(figure.unit, match.end()):
            continue
        found = set(_measured(body, match.start(), ignore))
        if len(wanted & found) * 2 >= len(wanted):
            return True
    return False


def unsupported_figures(answer: str, passages: Sequence[str]) -> list[Figure]:
    return [f for f in figures(answer) if not supported(f, passages)]
