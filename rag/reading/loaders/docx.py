"""Word .docx files (python-docx): headings and bold lead phrases marked, tables one row per line, ZIP bombs refused."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.core.errors import DocumentError
from rag.reading.loaders.common import LoadedText, _inline, _join_cjk, _join_paragraphs, _one_line, clean_title
from rag.text.normalize import CELL_SEPARATOR

#: A .docx is a ZIP: refuse one that would inflate beyond this, or by more than this ratio (a ZIP bomb).
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024

MAX_ZIP_RATIO = 100

#: Ratios are judged only on entries this large: tiny entries have meaningless ratios.
ZIP_RATIO_MIN_ENTRY = 1024 * 1024


def check_zip(path: Path) -> None:
    """Refuse a ZIP bomb before parsing: the declared sizes bound what zipfile will inflate."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(f"{path}: corrupt Word file ({exc})") from None
    total = sum(entry.file_size for entry in entries)
    if total > MAX_ZIP_UNCOMPRESSED:
        raise DocumentError(
            f"{path}: refused, its parts would inflate to {total / 2**20:.0f} MiB (at most {MAX_ZIP_UNCOMPRESSED // 2**20} MiB; a ZIP bomb?)"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size >= ZIP_RATIO_MIN_ENTRY and ratio > MAX_ZIP_RATIO:
            raise DocumentError(
                f"{path}: refused, {entry.filename} is compressed {ratio:.0f}:1 (at most {MAX_ZIP_RATIO}:1; a ZIP bomb?)"
            )


def _load_docx(path: Path) -> LoadedText:
    """Body paragraphs and tables in document order; heading styles as ``#`` lines; no page headers/footers."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    check_zip(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise DocumentError(f"{path}: corrupt Word file ({type(exc).__name__}: {_one_line(exc)})") from None
    styles = _docx_style_names(document)
    paragraphs = list(_docx_blocks(document.element.body, styles))
    props = document.core_properties
    metadata: dict[str, object] = {"raw_title": props.title} if props.title else {}
    for key in ("author", "last_modified_by"):
        if value := getattr(props, key, None):
            metadata[key] = value
    for key in ("created", "modified"):
        if value := getattr(props, key, None):
            metadata[key] = value.isoformat()
    return LoadedText(_join_paragraphs(paragraphs), "docx", clean_title(props.title), None, metadata)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

# Word and WPS heading styles, English or Chinese names: 「Heading 2」, 「heading 2」, 「标题 2」.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)

# The document title style: 「Title」, 「标题」.
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.I)


def _docx_style_names(document: Any) -> dict[str, str]:
    """Paragraph style id → name (ids are what paragraphs reference; names say 「Heading 1」)."""
    names: dict[str, str] = {}
    for style in document.styles.element.iter(f"{_W}style"):
        style_id = style.get(f"{_W}styleId")
        name = style.find(f"{_W}name")
        if style_id and name is not None:
            names[style_id] = str(name.get(f"{_W}val") or "")
    return names


def _docx_blocks(container: Any, styles: dict[str, str]) -> Iterator[str]:
    """Paragraph and table lines of a body (or content control) in document order."""
    for child in container.iterchildren():
        if child.tag == f"{_W}p":
            if line := _docx_paragraph(child, styles):
                yield line
        elif child.tag == f"{_W}tbl":
            yield from _docx_table(child)
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _docx_blocks(content, styles)


def _docx_heading_level(p: Any, styles: dict[str, str]) -> int | None:
    ppr = p.find(f"{_W}pPr")
    if ppr is None:
        return None
    style = ppr.find(f"{_W}pStyle")
    name = styles.get(str(style.get(f"{_W}val")), str(style.get(f"{_W}val"))) if style is not None else ""
    if match := _HEADING_STYLE.match(name):
        return int(match.group(1))
    if _TITLE_STYLE.match(name):
        return 1
    outline = ppr.find(f"{_W}outlineLvl")
    if outline is not None and str(outline.get(f"{_W}val", "9")).isdigit() and int(outline.get(f"{_W}val")) < 9:
        return int(outline.get(f"{_W}val")) + 1
    return None


def _docx_runs(p: Any) -> Iterator[tuple[str, bool]]:
    """(text, bold) of each run of a paragraph, including hyperlinks and tracked insertions, not deletions."""
    for run in p.iter(f"{_W}r"):
        if any(a.tag in (f"{_W}del", _MC_FALLBACK, f"{_W}txbxContent") for a in run.iterancestors()):
            continue
        parts: list[str] = []
        for node in run:
            if node.tag == f"{_W}t":
                parts.append(node.text or "")
            elif node.tag in (f"{_W}tab",):
                parts.append(" ")
            elif node.tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n")
        if parts:
            yield "".join(parts), _docx_bold(run)


def _docx_bold(run: Any) -> bool:
    rpr = run.find(f"{_W}rPr")
    bold = rpr.find(f"{_W}b") if rpr is not None else None
    return bold is not None and str(bold.get(f"{_W}val", "true")).lower() not in ("0", "false", "off")


def _docx_paragraph(p: Any, styles: dict[str, str]) -> str:
    runs = list(_docx_runs(p))
    text = _inline_lines("".join(t for t, _ in runs))
    if not text:
        return ""
    if (level := _docx_heading_level(p, styles)) is not None:
        return f"{'#' * min(level, 6)} {text.replace(chr(10), '')}"
    lead: list[str] = []
    for run_text, bold in runs:
        if not bold and run_text.strip():
            break
        lead.append(run_text)
    bold_prefix = _inline("".join(lead))
    if bold_prefix and bold_prefix != text and text.startswith(bold_prefix):
        return f"**{bold_prefix}**{text[len(bold_prefix) :]}"
    return text


def _inline_lines(text: str) -> str:
    """A paragraph's text; a manual line break inside it starts a new paragraph line."""
    return "\n\n".join(line for line in (_inline([part]) for part in text.split("\n")) if line)


def _docx_table(tbl: Any) -> Iterator[str]:
    """One line per row, cells joined with 「 | 」.

    A cell spanning several columns appears once in its row (python-docx repeats it per grid column:
    deduplicated by the ``_tc`` element). A cell merged down several rows gives its text to each of
    them, so every row keeps its label. A nested table's text stays inside its cell.
    """
    from docx.table import Table

    for row in Table(tbl, None).rows:  # type: ignore[arg-type]  # no parent: only the XML is read
        try:
            tcs = [cell._tc for cell in row.cells]
        except (ValueError, IndexError):  # a malformed merge: the row's own cells
            tcs = list(row._tr.tc_lst)
        seen: list[Any] = []  # the elements themselves: lxml keeps one proxy per element while referenced
        cells: list[str] = []
        for tc in tcs:
            if any(tc is other for other in seen):
                continue
            seen.append(tc)
            texts = ["".join(t for t, _ in _docx_runs(p)) for p in tc.iter(f"{_W}p")]
            if text := _inline([_join_cjk(t.strip() for t in texts)]):
                cells.append(text)
        if cells:
            yield CELL_SEPARATOR.join(cells)
