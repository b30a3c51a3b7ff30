"""Report formats behind one interface (rag.reading.loaders): what users bring reads like the seed it renders.

The fixtures in ``tests/fixtures/formats/`` are the seed reports rendered by
``eval/make_format_fixtures.py`` as a web page (navigation, breadcrumb, ICP footer), a PDF printed by
Chromium with its own header and footer, and a Word file with heading styles and a page header and
footer. Each must give the seed's metadata, every gold evidence string of the seed, and the same
(period, year) for the chunks holding each evidence. Bad inputs must fail with one line naming the file.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
import zipfile
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from docx import Document

from rag.core.errors import DocumentError
from rag.reading.chunking import Chunk, chunk_report
from rag.reading.documents import Report, clean, discover, load_manifest, load_report, load_reports, read_text
from rag.reading.loaders import LoadedText, load_document, sniff_format
from rag.text.normalize import mark_columns, squash, unmark_columns

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
GOLD = ROOT / "eval" / "gold.jsonl"
FORMATS = (".html", ".pdf", ".docx")

FIXTURE_FILES = sorted(p for p in FIXTURES.glob("0*") if p.suffix in FORMATS)
#: A line that is only a page number or a browser's print header/footer: must never survive.
PAGE_FURNITURE = re.compile(r"^(?:[-—\s]*\d+[-—\s]*|\d+/\d+|第\d+页|\d+/\d+/\d+,.*|file://.*)$")


@cache
def seed_report(name: str) -> Report:
    return load_report(SEEDS / name, load_manifest(SEEDS).get(name))


@cache
def fixture_report(name: str) -> Report:
    return load_report(FIXTURES / name, load_manifest(FIXTURES).get(name))


@cache
def seed_chunks(name: str) -> list[Chunk]:
    return chunk_report(seed_report(name))  # the default chunking, as ingest builds it; no embedding


@cache
def fixture_chunks(name: str) -> list[Chunk]:
    return chunk_report(fixture_report(name))


def seed_name(fixture: Path) -> str:
    return f"{fixture.stem}.txt"


def gold_rows() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def evidence_of(seed: str) -> list[str]:
    """Every gold evidence string of questions about ``seed`` that the seed's text holds."""
    body = squash(seed_report(seed).text)
    found: list[str] = []
    for row in gold_rows():
        if seed in (row.get("sources") or [row.get("source")]):
            found.extend(e for e in row["evidence"] if squash(e) in body and e not in found)
    return found


def periods_holding(chunks: list[Chunk], evidence: str) -> Counter[tuple[str, int | None]]:
    key = squash(evidence)
    return Counter((c.period, c.year) for c in chunks if key in squash(c.text))


def one_line_error(call, *args) -> str:
    with pytest.raises(DocumentError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_fixtures_cover_every_format_of_at_least_two_reports():
    stems = {p.stem for p in FIXTURE_FILES}
    assert len(stems) >= 2
    for stem in stems:
        assert {p.suffix for p in FIXTURE_FILES if p.stem == stem} == set(FORMATS)
        assert (SEEDS / f"{stem}.txt").is_file()
    assert sum(p.stat().st_size for p in FIXTURES.iterdir()) < 3 * 1024 * 1024


# --- each format reads like its seed --------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_format_gives_the_seed_metadata(fixture: Path):
    seed, loaded = seed_report(seed_name(fixture)), fixture_report(fixture.name)
    fields = ("region", "parent_region", "year", "date", "speaker", "title")
    assert {f: getattr(loaded, f) for f in fields} == {f: getattr(seed, f) for f in fields}
    assert loaded.extra["format"] == fixture.suffix.lstrip(".")


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_format_holds_every_gold_evidence_of_the_seed(fixture: Path):
    evidence = evidence_of(seed_name(fixture))
    body = squash(fixture_report(fixture.name).text)
    assert evidence, "the seed should have gold evidence"
    assert [e for e in evidence if squash(e) not in body] == []


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_chunks_holding_each_evidence_have_the_seed_periods(fixture: Path):
    seed, loaded = seed_chunks(seed_name(fixture)), fixture_chunks(fixture.name)
    differ = {
        e: (periods_holding(seed, e), periods_holding(loaded, e))
        for e in evidence_of(seed_name(fixture))
        if periods_holding(seed, e) != periods_holding(loaded, e)
    }
    assert differ == {}


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_page_furniture_is_gone(fixture: Path):
    text = fixture_report(fixture.name).text
    for noise in ("ICP备", "公网安备", "版权所有", "主办单位", "当前位置", "file://", "印发", "（全文）", "报告_", "网站地图"):
        assert noise not in text, noise
    assert [p.text for p in fixture_report(fixture.name).paragraphs if PAGE_FURNITURE.match(p.text)] == []


def test_formats_report_their_own_title_and_date():
    html = load_document(FIXTURES / "001_b45d8ecc868d26b7.html")
    assert html.format == "html" and html.title == "太仓市2024年政府工作报告" and html.date == "2024-01-09"
    pdf = load_document(FIXTURES / "001_b45d8ecc868d26b7.pdf")
    assert pdf.format == "pdf" and pdf.title == "太仓市2024年政府工作报告" and pdf.date is None
    assert isinstance(pages := pdf.metadata["pages"], int) and pages > 5
    word = load_document(FIXTURES / "003_55331ebdb0be2b0e.docx")
    assert word.format == "docx" and word.title == "玉山镇2020年政府工作报告"


def test_headings_and_bold_leads_keep_their_marks_for_the_cleaner():
    for suffix in (".html", ".docx"):
        report = fixture_report(f"003_55331ebdb0be2b0e{suffix}")
        seed = seed_report("003_55331ebdb0be2b0e.txt")
        assert {p.lead for p in report.paragraphs if p.lead} == {p.lead for p in seed.paragraphs if p.lead}
        assert any(p.heading and p.text == "2019年工作回顾" for p in report.paragraphs)


def test_pdf_paragraphs_are_joined_without_spaces_between_cjk_lines():
    text = load_document(FIXTURES / "001_b45d8ecc868d26b7.pdf").text
    seed = {p.text for p in seed_report("001_b45d8ecc868d26b7.txt").paragraphs}
    paragraphs = [p for p in text.split("\n\n") if len(p) > 80]
    # Every long paragraph of the printed page is a whole paragraph of the seed: lines re-joined, none split.
    assert paragraphs and [p for p in paragraphs if p not in seed] == []


def test_pdf_tables_become_one_line_per_row_and_leave_the_text():
    loaded = load_document(FIXTURES / "table_sample.pdf")
    lines = loaded.text.split("\n\n")
    assert "示例指标甲 | 10.0 | 12.5 | 25%" in lines
    assert "示例指标乙 | 8.0 | 6.0 | -25%" in lines
    assert "指标 | 数值 | 增长" in lines  # merged header cells once
    assert loaded.text.count("示例指标甲") == 1
    assert lines[0].startswith("以下表格") and lines[-1].startswith("表格之后")


def test_the_txt_path_is_unchanged():
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_bytes().decode("utf-8-sig")
        assert read_text(path) == raw
        assert seed_report(path.name).paragraphs == clean(raw)


# --- docx and html details ------------------------------------------------------------------


def test_docx_tables_rows_in_body_order_with_merged_cells_once(tmp_path: Path):
    document = Document()
    document.add_paragraph("表格前的段落，说明主要指标完成情况。")
    table = document.add_table(rows=5, cols=3)
    table.cell(0, 0).text, table.cell(0, 1).text, table.cell(0, 2).text = "指标", "2023年", "增长"
    table.cell(1, 0).text, table.cell(1, 1).text, table.cell(1, 2).text = "地区生产总值", "100亿元", "5%"
    label = table.cell(2, 0).merge(table.cell(3, 0))  # one label down two rows
    label.text = "一般公共预算收入"
    table.cell(2, 1).text, table.cell(2, 2).text = "总额90亿元", "6%"
    table.cell(3, 1).text, table.cell(3, 2).text = "税收80亿元", "7%"
    merged = table.cell(4, 0).merge(table.cell(4, 2))  # one note across the row
    merged.text = "注：数据为示例"
    document.add_paragraph("表格后的段落。")
    document.sections[0].header.paragraphs[0].text = "页眉文字不应出现"
    document.sections[0].footer.paragraphs[0].text = "页脚文字不应出现"
    path = tmp_path / "table.docx"
    document.save(str(path))
    lines = load_document(path).text.split("\n\n")
    assert lines == [
        "表格前的段落，说明主要指标完成情况。",
        "指标 | 2023年 | 增长",
        "地区生产总值 | 100亿元 | 5%",
        "一般公共预算收入 | 总额90亿元 | 6%",
        "一般公共预算收入 | 税收80亿元 | 7%",  # each row keeps its label
        "注：数据为示例",  # once, not three times
        "表格后的段落。",
    ]


def test_html_tables_keep_labels_and_fallback_drops_site_furniture(tmp_path: Path):
    body = "".join(f"<p>第{n}段正文，记录全年工作的主要进展和具体成效，数字与文字都应当完整保留。</p>" for n in range(12))
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><html><head><title>政府工作报告_某市人民政府</title>"
        '<meta name="PubDate" content="2024-01-10 09:00"></head><body>'
        "<nav>首页 政务公开</nav><div class='breadcrumb'>当前位置：首页 > 政务公开</div>"
        f"<article><h1>政府工作报告</h1>{body}"
        "<table><tr><th>指标</th><th>2023年</th></tr><tr><td>一般公共预算收入</td><td>189.4亿元</td></tr></table></article>"
        "<footer>版权所有 © 某市人民政府 苏ICP备00000000号</footer></body></html>",
        encoding="utf-8",
    )
    loaded = load_document(page)
    assert loaded.title == "政府工作报告" and loaded.date == "2024-01-10"
    assert "一般公共预算收入 | 189.4亿元" in loaded.text.split("\n\n")
    assert "ICP" not in loaded.text and "当前位置" not in loaded.text and "首页" not in loaded.text


def test_html_fallback_reads_the_article_when_trafilatura_finds_nothing(tmp_path: Path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    page = tmp_path / "page.htm"
    paragraphs = "".join(f"<p>第{n}段正文，记录全年工作的主要进展和具体成效。</p>" for n in range(8))
    page.write_text(
        "<html><head><title>政府工作报告</title></head><body><div class='nav'>首页 | 政务公开</div>"
        f"<div class='TRS_Editor'><h2>2023年工作回顾</h2>{paragraphs}<p>主办单位：某市人民政府办公室</p></div>"
        "<div class='footer'>网站标识码：3200000000</div></body></html>",
        encoding="utf-8",
    )
    loaded = load_document(page)
    lines = loaded.text.split("\n\n")
    assert loaded.metadata["extraction"] == "fallback"
    assert lines[0] == "## 2023年工作回顾" and len(lines) == 9
    assert "主办单位" not in loaded.text and "首页" not in loaded.text and "网站标识码" not in loaded.text


def test_html_content_element_is_read_whole_when_trafilatura_drops_its_headings_and_lists(tmp_path: Path, monkeypatch):
    import trafilatura

    prose = "".join(f"<p>第{n}段正文，记录全年工作的主要进展和具体成效，数字与文字都应当完整保留。</p>" for n in range(10))
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>政府工作报告</title></head><body><div class='nav'>首页 | 政务公开</div>"
        f"<div class='article'><h2>一、过去一年工作回顾</h2>{prose}<h2>二、今年的目标任务</h2>"
        "<ol><li>地区生产总值增长7%左右；</li><li>一般公共预算收入增长5%。</li></ol></div>"
        "<div class='footer'>版权所有 某市人民政府</div></body></html>",
        encoding="utf-8",
    )
    # what trafilatura gave for such a page: the prose only
    article = "".join(f"<p>第{n}段正文，记录全年工作的主要进展和具体成效，数字与文字都应当完整保留。</p>" for n in range(10))
    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: f"<doc><main>{article}</main></doc>")
    loaded = load_document(page)
    lines = loaded.text.split("\n\n")
    assert loaded.metadata["extraction"] == "content element"
    assert "## 一、过去一年工作回顾" in lines and "## 二、今年的目标任务" in lines
    assert "地区生产总值增长7%左右；" in lines and "版权所有" not in loaded.text and "首页" not in loaded.text


def test_an_unmarked_content_element_of_spans_between_line_breaks_is_read_whole(tmp_path: Path, monkeypatch):
    import trafilatura

    # a portal whose content element has no class or id the loader knows, and no <p>: each paragraph a
    # styled <span> followed by <br><br>; trafilatura kept only the bold subheadings of such a page
    spans = "".join(
        f'&emsp;&emsp;<span style="font-family:仿宋">第{n}段正文，全年工作的主要进展和具体成效，数字与文字都应当完整保留。</span><br><br>'
        for n in range(10)
    )
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>政府工作报告</title></head><body><div class='nav'>首页 | 政务公开</div>"
        '<div class="pages_content" id="UCAP-CONTENT">'
        '&emsp;&emsp;<span style="font-family:黑体">一、过去一年工作回顾</span><br><br>'
        f"&emsp;&emsp;<span><b>（一）聚焦稳增长，经济运行稳中有进</b></span><br><br>{spans}"
        '&emsp;&emsp;<span>一般公共预算收入318.7亿元，增长2.4%。</span><br><br></div>'
        "<div class='footer'>版权所有 某市人民政府 晋ICP备00000000号</div></body></html>",
        encoding="utf-8",
    )
    heading = "（一）聚焦稳增长，经济运行稳中有进"
    kept = f"<doc><main>{f'<p>{heading}</p>' * 8}</main></doc>"  # its subheadings, some 130 characters
    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: kept)
    loaded = load_document(page)
    lines = loaded.text.split("\n\n")
    assert loaded.metadata["extraction"] == "content element"
    assert "一、过去一年工作回顾" in lines and "一般公共预算收入318.7亿元，增长2.4%。" in lines
    assert sum("段正文" in line for line in lines) == 10
    assert "ICP" not in loaded.text and "首页" not in loaded.text


def test_a_content_element_is_read_whole_when_trafilatura_runs_its_divs_together_around_a_table(
    tmp_path: Path, monkeypatch
):
    import trafilatura

    # paragraphs as <div class="para"> in a layout table's cell: trafilatura gave them as one paragraph
    # and left out the table between them, so that paragraph is in the page only sentence by sentence
    paras = [f"第{n}段正文，全年工作的主要进展和具体成效，数字与文字都应当完整保留。" for n in range(10)]
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>政府工作报告</title></head><body><div class='nav'>首页 | 政务公开</div>"
        "<table><tr><td class='left'>相关链接</td><td id='zoom' class='TRS_Editor'>"
        + "".join(f'<div class="para">{p}</div>' for p in paras[:5])
        + "<table><tr><td>指标</td><td>2024年完成</td></tr><tr><td>地区生产总值</td><td>486.3亿元</td></tr></table>"
        + "".join(f'<div class="para">{p}</div>' for p in paras[5:])
        + "</td></tr></table><div class='footer'>版权所有 某市人民政府 桂ICP备00000000号</div></body></html>",
        encoding="utf-8",
    )
    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: f"<doc><main><p>{''.join(paras)}</p></main></doc>")
    loaded = load_document(page)
    lines = loaded.text.split("\n\n")
    assert loaded.metadata["extraction"] == "content element"
    assert lines[:5] == paras[:5] and lines[-5:] == paras[5:]  # one paragraph each, in order
    assert "地区生产总值 | 486.3亿元" in lines and "ICP" not in loaded.text


def test_tabs_are_columns_in_any_line_wide_spaces_only_in_lines_with_figures():
    assert mark_columns("总量\t比上年增长") != "总量\t比上年增长"
    assert unmark_columns(mark_columns("总量\t比上年增长")) == "总量 | 比上年增长"
    assert mark_columns("市长\u3000徐测试") == "市长\u3000徐测试"


# --- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "x", "pdf"),
        (b"%PDF-1.4 trailing", "report.txt", "pdf"),  # content wins over the extension
        (b"PK\x03\x04\x14\x00[Content_Types].xml...word/document.xml", "W0202401", "docx"),
        (b"PK\x03\x04\x14\x00[Content_Types].xml", "report.docx", "docx"),  # extension breaks the tie
        (b"PK\x03\x04\x14\x00[Content_Types].xml", "archive.zip", None),
        (codecs.BOM_UTF8 + b"\n  <!DOCTYPE html><html>", "x.txt", "html"),
        (b"<!-- saved -->\n<HTML lang=zh>", "x", "html"),
        (b"<div><p>\xe6\x94\xbf\xe5\xba\x9c</p></div>", "x.html", "html"),
        (b"<div><p>\xe6\x94\xbf\xe5\xba\x9c</p></div>", "x.txt", "text"),
        ("政府工作报告".encode("gbk"), "x", "text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "x.txt", None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "old.doc", None),
        (b"{\\rtf1\\ansi", "x.rtf", None),
    ],
)
def test_sniff_format_decides_by_content(head: bytes, name: str, expected: str | None):
    assert sniff_format(head, name) == expected


def test_a_download_without_extension_is_sniffed(tmp_path: Path):
    download = tmp_path / "W020240128571234567890"
    shutil.copy(FIXTURES / "001_b45d8ecc868d26b7.pdf", download)
    loaded = load_report(download)
    assert loaded.extra["format"] == "pdf" and loaded.region == "太仓市" and loaded.year == 2024
    text_download = tmp_path / "W020240128000000000000"
    shutil.copy(SEEDS / "003_55331ebdb0be2b0e.txt", text_download)
    # A folder scan takes PDF/Word/HTML content under any name, but not text (READMEs, JSON …).
    assert discover([tmp_path]) == [download]
    # Given explicitly, a text file without an extension is read.
    assert load_report(text_download).region == "玉山镇"
    assert [r.source for r in load_reports([download, text_download])] == [download.name, text_download.name]


# --- encodings --------------------------------------------------------------------------------


def test_gbk_text_loads_like_the_utf8_seed(tmp_path: Path):
    seed = SEEDS / "001_b45d8ecc868d26b7.txt"
    path = tmp_path / "gbk.txt"
    path.write_bytes(seed.read_text(encoding="utf-8").encode("gb18030"))
    assert load_report(path).paragraphs == seed_report(seed.name).paragraphs
    short = tmp_path / "short.txt"
    short.write_bytes("政府工作报告".encode("gbk"))  # too short for a plain guess (it reads as Korean)
    assert read_text(short) == "政府工作报告"


def test_gbk_web_page_is_read_in_its_declared_charset(tmp_path: Path):
    body = "".join(f"<p>第{n}段正文，记录全年工作的主要进展和具体成效，数字与文字都应当完整保留。</p>" for n in range(12))
    markup = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body><article>{body}</article></body></html>'
    page = tmp_path / "gbk.html"
    page.write_bytes(markup.encode("gb18030"))
    assert load_document(page).text.startswith("第0段正文，记录全年工作")


def test_utf8_with_bom_loads(tmp_path: Path):
    seed = SEEDS / "003_55331ebdb0be2b0e.txt"
    path = tmp_path / "bom.md"
    path.write_bytes(codecs.BOM_UTF8 + seed.read_bytes())
    assert load_report(path).paragraphs == seed_report(seed.name).paragraphs


# --- bad input ------------------------------------------------------------------------------


def minimal_pdf(content: bytes, extra_objects: tuple[bytes, ...] = (), trailer: bytes = b"") -> bytes:
    """A valid one-page PDF, written by hand: ``content`` is the page's content stream (Helvetica as /F1)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer + b">>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


LATIN_PAGE = b"BT /F1 12 Tf 72 720 Td (The quick brown fox jumps over the lazy dog, again and again.) Tj ET"


def zip_bytes(path: Path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "is not a report this service can read"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old binary Office file"),
        ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "encrypted"),
        ("scan.pdf", minimal_pdf(b""), "has no text layer (scanned?); OCR is not supported"),
        ("latin.pdf", minimal_pdf(LATIN_PAGE), "not readable Chinese"),
        ("broken.pdf", b"%PDF-1.4\nnot really a PDF\n", "corrupt PDF"),
        ("mojibake.txt", "æ”¿åºœå·¥ä½œæŠ¥å‘Š is what a wrong decoding looks like".encode(), "not readable Chinese"),
    ],
)
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path: Path, name: str, content: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(content)
    error = one_line_error(load_report, path)
    assert message in error and name in error


def test_binary_renamed_txt_says_binary(tmp_path: Path):
    path = tmp_path / "report.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    error = one_line_error(read_text, path)
    assert "binary" in error and "(PDF, Word .docx, HTML or text)" in error


def test_encrypted_pdf_is_refused(tmp_path: Path):
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -44 >>"
    file_id = b"<" + b"ab" * 16 + b">"
    path = tmp_path / "locked.pdf"
    path.write_bytes(minimal_pdf(LATIN_PAGE, (encrypt,), b"/Encrypt 6 0 R /ID [" + file_id + b" " + file_id + b"] "))
    assert "encrypted PDF" in one_line_error(load_document, path)


def test_zip_bomb_docx_is_refused_before_parsing(tmp_path: Path, monkeypatch):
    import docx

    monkeypatch.setattr(docx, "Document", lambda *a: pytest.fail("parsed a ZIP bomb"))
    path = tmp_path / "report.docx"
    zip_bytes(path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(32 * 1024 * 1024)})
    error = one_line_error(load_document, path)
    assert "ZIP bomb" in error and "word/document.xml" in error and "report.docx" in error


def test_docx_inflating_beyond_the_limit_is_refused(tmp_path: Path, monkeypatch):
    import random

    monkeypatch.setattr("rag.reading.loaders.docx.MAX_ZIP_UNCOMPRESSED", 1024 * 1024)
    path = tmp_path / "big.docx"
    noise = random.Random(0).randbytes(2 * 1024 * 1024)  # incompressible: no ratio alarm, only the total
    zip_bytes(path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": noise})
    assert "inflate" in one_line_error(load_document, path)


def test_corrupt_docx_is_refused(tmp_path: Path):
    path = tmp_path / "broken.docx"
    zip_bytes(path, {"[Content_Types].xml": b"<Types", "word/document.xml": b"<w:document"})
    assert "corrupt Word file" in one_line_error(load_document, path)


def test_html_page_without_article_is_refused(tmp_path: Path):
    path = tmp_path / "index.html"
    path.write_text(
        "<!DOCTYPE html><html><head><title>某市人民政府</title></head><body>"
        "<nav><a>首页</a><a>政务公开</a><a>办事服务</a></nav>"
        "<footer>版权所有 © 某市人民政府 苏ICP备00000000号 主办单位：某市人民政府办公室</footer></body></html>",
        encoding="utf-8",
    )
    assert "no article text" in one_line_error(load_document, path)


def test_loaded_text_is_a_plain_value():
    loaded = LoadedText("正文", "text")
    assert loaded.title is None and loaded.date is None and loaded.metadata == {}
