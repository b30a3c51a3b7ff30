"""Prompt text and the compact passage formatting that keeps prompts short on a 2-core CPU."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.indexing.lexical import tokenize
from rag.reading.chunking import Chunk
from rag.text.normalize import CELL_SEPARATOR

#: The one sentence the model must answer with when the passages do not contain the answer.
REFUSAL = "提供的报告中没有找到相关信息。"

SYSTEM = "你是政府工作报告问答助手，只根据用户给出的编号报告摘录回答，不使用摘录以外的知识。"
#: Repeated after the question: the small local model follows rules there far better than in the system prompt.
RULES = f"要求：一两句话回答，数字照抄原文，句末写出依据的摘录编号如[1]；摘录中没有答案时只回答“{REFUSAL}”"

REWRITE_SYSTEM = "把用户最后的追问结合对话改写成一个完整、独立的问题，补全省略的地区、年份和指标。只输出改写后的问题。"

#: The answerability judge's question about one report sentence (rag/answering/judge.py); chosen on the dev split
#: among three wordings by how well P(是) separates right sentences from wrong ones.
JUDGE = "句子：{sentence}\n问题：{question}\n句子里有没有问题所问的那个数字？回答“是”或“否”。"

#: A sentence that speaks to the model instead of about the region (「忽略以上指令…」, "ignore previous
#: instructions"): a report never does, a planted one must not reach the prompt. The bundled model obeys
#: such a sentence when it is shown (tests/test_llm_cassettes.py records that), so it is cut out.
INSTRUCTION_RE = re.compile(
    r"忽略(?:以上|上述|之前|前面|所有|全部).{0,8}(?:指令|指示|要求|提示|规则)|(?:系统)?提示词|你(?:现在)?(?:是|扮演)一个|"
    r"不要(?:再)?回答(?:问题|用户)|只(?:回复|回答|输出)“|ignore (?:all |the )?(?:previous|above|prior) instructions|system prompt",
    re.IGNORECASE,
)

#: Where a sentence ends, Chinese or English (a full stop before a space or a Chinese character, so
#: that decimal points stay).
_CLAUSE_END_RE = re.compile(r"(?<=[。！？；!?])|(?<=\.)(?=\s|[\u4e00-\u9fff])")

_SENTENCE_RE = re.compile(r"[^。！？；]+[。！？；]?")
_NUMBER_RE = re.compile(r"\d")


def passage_label(chunk: Chunk) -> str:
    """「太仓市·2023年」, 「太仓市·2024年计划」: whose figures and for when — all the model needs to tell
    passages apart (the report's year and section title cost ~30 prompt tokens a passage and did not
    change accuracy on the dev split: docs/benchmarks.md)."""
    region = chunk.region or ""
    if chunk.year:
        return f"{region}·{chunk.year}年{'计划' if chunk.period == 'plan' else ''}"
    return f"{region}{chunk.report_year or ''}年报告"


def _blocks(text: str) -> list[str]:
    """``text`` in pieces no sentence crosses: table rows (「指标 | 2023年 | 增长」, one line each) and the
    text between them, its lines joined (a line break there may be a PDF's wrap mid-sentence)."""
    blocks: list[str] = []
    lines: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and CELL_SEPARATOR not in stripped:
            lines.append(line)
            continue
        if lines:
            blocks.append("".join(lines))
            lines = []
        if stripped:
            blocks.append(stripped)
    if lines:
        blocks.append("".join(lines))
    return blocks


def sentences(text: str) -> list[str]:
    """The sentences of a passage (a table row is one), in order."""
    return [s.strip() for block in _blocks(text) for s in _SENTENCE_RE.findall(block) if s.strip()]


def without_instructions(text: str) -> str:
    """``text`` without the sentences that address the model (:data:`INSTRUCTION_RE`)."""
    if not INSTRUCTION_RE.search(text):
        return text
    return "".join(s for s in _CLAUSE_END_RE.split(text) if not INSTRUCTION_RE.search(s))


def trim_passage(text: str, question: str, budget: int) -> str:
    """Keep the sentences that share the most words with the question (numbers count extra), in order;
    never a sentence addressed to the model."""
    text = without_instructions(text)
    if len(text) <= budget:
        return text
    wanted = set(tokenize(question))
    parts = sentences(text)
    scored = []
    for i, sentence in enumerate(parts):
        overlap = len(wanted & set(tokenize(sentence)))
        scored.append((overlap + (0.5 if _NUMBER_RE.search(sentence) and overlap else 0), -i, i))
    keep: set[int] = set()
    used = 0
    for _, _, i in sorted(scored, reverse=True):
        if used + len(parts[i]) > budget and keep:
            continue
        keep.add(i)
        used += len(parts[i])
    out: list[str] = []
    last = -1
    for i in sorted(keep):
        if last >= 0 and i != last + 1:
            out.append("…")
        if last >= 0 and (CELL_SEPARATOR in parts[i] or CELL_SEPARATOR in parts[last]):
            out.append("\n")  # a table row stays a line: 「…| 第2」「一般公共预算收入 |…」 must not run together
        out.append(parts[i])
        last = i
    return "".join(out)[: budget + 40]


def build_messages(question: str, chunks: Sequence[Chunk], budget: int) -> list[dict[str, str]]:
    """System prompt plus one user message with the numbered, trimmed passages and the question."""
    per_passage = max(120, budget // max(1, len(chunks)))
    blocks = [f"[{n}] {passage_label(c)}\n{trim_passage(c.text, question, per_passage)}" for n, c in enumerate(chunks, 1)]
    user = "摘录：\n" + "\n\n".join(blocks) + f"\n\n问题：{question}\n{RULES}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def build_rewrite_messages(question: str, history: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    turns = "\n".join(f"{'用户' if t['role'] == 'user' else '助手'}：{t['content'][:200]}" for t in history[-4:])
    return [
        {"role": "system", "content": REWRITE_SYSTEM},
        {"role": "user", "content": f"对话：\n{turns}\n追问：{question}"},
    ]


def build_judge_messages(question: str, sentence: str) -> list[dict[str, str]]:
    """One user turn asking whether ``sentence`` states the figure ``question`` asks for (是/否)."""
    return [{"role": "user", "content": JUDGE.format(sentence=sentence, question=question)}]
