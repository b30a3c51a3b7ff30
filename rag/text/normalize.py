"""Normalising text so that the same words compare equal wherever they were read: full-width digits,
spaces between CJK characters, ASCII punctuation beside CJK, table cells kept apart by :data:`CELL_SEPARATOR`.

:func:`normalize_inline` is what cleaning applies to every paragraph (:mod:`rag.reading.documents`);
:func:`squash` is the key for substring matching (figures, gold evidence); :func:`mark_columns` and
:func:`unmark_columns` keep a line's columns apart while its spaces are collapsed (also in
:mod:`rag.reading.loaders`).
"""

from __future__ import annotations

import re

#: Between a table row's cells, one row per line (「指标 | 2023年 | 增长」): each figure keeps its label.
CELL_SEPARATOR = " | "

# --- character classes ---------------------------------------------------------------------
CJK = "\u4e00-\u9fff"
# CJK symbols/punctuation and full-width forms (，。：；！？（）《》「」…), but no ASCII.
CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018-\u201f\u2026\u2014"
# Every horizontal space PDF extraction leaves behind (ideographic, no-break, en/em/thin spaces, BOM).
SPACES = " \t\u3000\u00a0\u202f\u205f\ufeff" + "".join(chr(c) for c in range(0x2000, 0x200C))

#: Columns of a figure list set apart inside a line by an ideographic space or a tab — or, in plain
#: text, two spaces — (「地区生产总值　3986.4亿元　增长5.6%」) are cells, as a table's are
#: (「地区生产总值 | 3986.4亿元 | 增长5.6%」): a row stays a line and a sentence of its own. Only in a line
#: with figures (「市长  徐华东」 is just spaced out) — a tab is a column in any line (「总量\t比上年增长」) —,
#: never after a note's number (「12.P20  “…”：指」).
_COLUMN_GAP = re.compile(r"(?<=\S)[\u3000\t][\u3000\t ]*(?=\S)")
_TAB_GAP = re.compile(r"(?<=\S)\t[\u3000\t ]*(?=\S)")
_WIDE_COLUMN_GAP = re.compile(r"(?<=\S)(?:[\u3000\t][\u3000\t ]*| {2,})(?=\S)")
_NOTE_NUMBER = re.compile(r"^\s*\d{1,3}[.．、]\s*(?:P\s*\d+)?\s")
_HAS_DIGIT = re.compile(r"\d")
#: Stands for a cell boundary while spaces are collapsed (a private-use character: no text has it,
#: and str.split() does not split on it).
_CELL_MARK = "\ue000"


def mark_columns(text: str, *, wide_spaces: bool = False) -> str:
    """``text`` with each column gap (see :data:`_COLUMN_GAP`; two spaces count too with
    ``wide_spaces``) replaced by a mark that survives collapsing spaces: :func:`unmark_columns` after."""
    if _NOTE_NUMBER.match(text):
        return text
    if not _HAS_DIGIT.search(text):
        return _TAB_GAP.sub(_CELL_MARK, text)
    return (_WIDE_COLUMN_GAP if wide_spaces else _COLUMN_GAP).sub(_CELL_MARK, text)


def unmark_columns(text: str) -> str:
    return text.replace(_CELL_MARK, CELL_SEPARATOR)


# --- inline normalisation ------------------------------------------------------------------
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_FULLWIDTH_DECIMAL = re.compile(r"(?<=\d)．(?=\d)")
_FULLWIDTH_PERCENT = re.compile(r"(?<=\d)％")
_SPACE_BETWEEN = re.compile(rf"(?<=[{CJK}{CJK_PUNCT}0-9%％])[{SPACES}]+(?=[{CJK}{CJK_PUNCT}0-9%％])")
_ASCII_PUNCT = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_ASCII_PUNCT_NEAR_CJK = re.compile(rf"(?<=[{CJK}{CJK_PUNCT}])[,;:?!]|[,;:?!](?=[{CJK}{CJK_PUNCT}])")


def normalize_inline(text: str) -> str:
    """Normalise one paragraph: full-width digits, spaces around CJK, ASCII punctuation between CJK.

    The same function is used to compare gold evidence with indexed text, so both sides agree.
    """
    text = text.translate(_FULLWIDTH_DIGITS)
    text = _FULLWIDTH_DECIMAL.sub(".", text)
    text = _FULLWIDTH_PERCENT.sub("%", text)
    text = unmark_columns(_SPACE_BETWEEN.sub("", mark_columns(text, wide_spaces=True)))
    text = _ASCII_PUNCT_NEAR_CJK.sub(lambda m: _ASCII_PUNCT[m.group(0)], text)
    return text.strip(SPACES)


def squash(text: str) -> str:
    """``normalize_inline`` with every remaining whitespace removed: the key for substring matching."""
    return re.sub(r"\s+", "", normalize_inline(text))
