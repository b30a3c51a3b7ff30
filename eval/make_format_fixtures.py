"""Render the seed reports as the files users actually bring: a web page, a browser-printed PDF, a Word file.

``tests/test_loaders.py`` loads these and checks that every format yields the metadata, the gold
evidence and the section periods of the plain-text seed. The renderings carry the noise each
format really has, so the loaders must remove it:

* HTML: a site header, navigation bar, breadcrumb, a 「发布日期」 line and a footer with 主办单位, 版权所有,
  ICP and 公网安备 lines around the ``<article>``;
* PDF: printed by headless Chromium *with* its default header and footer (print date, page title, file
  URL, 「n/m」 page numbers on every page);
* DOCX: heading styles, bold lead phrases, and a page header and footer that are not report text.

Only the seeds' own text is rendered: no seed has a table, so no rendering invents one. Run it once
after changing a seed (``python -m eval.make_format_fixtures``); the outputs are kept in the tree.
Sizes: the PDFs carry a subset of the CJK font, so all five reports are rendered only while the
fixtures stay under :data:`MAX_TOTAL_BYTES`; beyond that, the two smallest reports are kept.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from fontTools import subset

from rag.reading.documents import MANIFEST_NAME, Paragraph, Report, clean, load_manifest, load_report, read_text
from rag.reading.headings import heading_rank, is_title, period_of

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
OUT = ROOT / "tests" / "fixtures" / "formats"
CHROMIUM = "/usr/bin/chromium"
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_FAMILY = "WenQuanYi Zen Hei"
#: Keep the fixtures small enough to commit; above this only the two smallest reports are rendered.
MAX_TOTAL_BYTES = 3 * 1024 * 1024
FORMATS = (".html", ".pdf", ".docx")

CSS = """
body { font-family: "WenQuanYi Zen Hei", sans-serif; margin: 0; color: #222; }
header { background: #b5221c; color: #fff; padding: 12px 24px; }
header .site { font-size: 22px; font-weight: bold; }
nav ul { list-style: none; margin: 8px 0 0; padding: 0; }
nav li { display: inline-block; margin-right: 18px; }
nav a, header a { color: #fff; text-decoration: none; }
.breadcrumb { padding: 8px 24px; font-size: 13px; color: #666; }
main { padding: 0 24px; }
article h1 { text-align: center; font-size: 24px; }
article h2 { font-size: 18px; margin-top: 1.2em; }
article h3 { font-size: 16px; }
article p { text-indent: 2em; line-height: 1.8; font-size: 15px; margin: 0.6em 0; }
.meta { text-align: center; color: #888; font-size: 13px; }
footer { border-top: 2px solid #b5221c; margin-top: 24px; padding: 12px 24px; font-size: 12px; color: #666; }
"""


@dataclass
class Seed:
    """A seed report as rendered: its cleaned paragraphs and the metadata the page shows."""

    path: Path
    report: Report
    paragraphs: list[Paragraph]

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        """The page / document title a government site would give it."""
        return f"{self.report.title}_{self.site}"

    @property
    def site(self) -> str:
        return f"{self.report.region}人民政府"


def load_seed(path: Path, overrides: dict[str, object] | None) -> Seed:
    return Seed(path, load_report(path, overrides), clean(read_text(path)))


def heading_level(paragraph: Paragraph) -> int | None:
    """1 for the report title, 2 for period and 一、 headings, 3 below; ``None`` for body text."""
    text = paragraph.text
    if is_title(text):
        return 1
    rank = heading_rank(text)
    standalone = len(text) <= 60 and "。" not in text.rstrip("。")
    if period_of(text) or (rank is not None and rank <= 1 and standalone):
        return 2
    if paragraph.heading or (rank is not None and standalone):
        return 3
    return None


def lead_split(paragraph: Paragraph) -> tuple[str, str] | None:
    """(bold lead, rest) for a paragraph that opens with a bold phrase in the seed (``**…**``)."""
    if not paragraph.lead or not paragraph.text.startswith(paragraph.lead):
        return None
    end = len(paragraph.lead)
    if paragraph.text[end : end + 1] in ("。", "：", "，"):
        end += 1
    return paragraph.text[:end], paragraph.text[end:]


# --- HTML --------------------------------------------------------------------------------------


def render_html(seed: Seed) -> str:
    esc = html.escape
    body: list[str] = []
    for paragraph in seed.paragraphs:
        level = heading_level(paragraph)
        if level is not None:
            body.append(f"<h{level}>{esc(paragraph.text)}</h{level}>")
        elif split := lead_split(paragraph):
            body.append(f"<p><strong>{esc(split[0])}</strong>{esc(split[1])}</p>")
        else:
            body.append(f"<p>{esc(paragraph.text)}</p>")
    report = seed.report
    published = f'\n<meta name="PubDate" content="{report.date.isoformat()}">' if report.date else ""
    date_line = f"发布日期：{report.date.isoformat()}　" if report.date else ""
    nav = "".join(
        f'<li><a href="#">{item}</a></li>' for item in ("首页", "政务公开", "政民互动", "办事服务", f"走进{report.region}")
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{esc(seed.title)}</title>
<meta property="og:title" content="{esc(str(report.title))}">{published}
<style>{CSS}</style>
</head>
<body>
<header>
<div class="site"><a href="#">{esc(seed.site)}</a></div>
<nav><ul>{nav}</ul></nav>
</header>
<div class="breadcrumb">当前位置：<a href="#">首页</a> &gt; <a href="#">政务公开</a> &gt; <a href="#">政府工作报告</a></div>
<main>
<div class="meta">{date_line}来源：{esc(seed.site)}办公室　浏览次数：1024</div>
<article>
{chr(10).join(body)}
</article>
</main>
<footer>
<p>主办单位：{esc(seed.site)}办公室　承办单位：{esc(str(report.region))}大数据管理中心</p>
<p>版权所有 © {esc(seed.site)}　<a href="#">苏ICP备00000000号-1</a></p>
<p>苏公网安备 32000000000000号　网站标识码：3200000000</p>
<p><a href="#">网站地图</a> | <a href="#">联系我们</a> | <a href="#">隐私声明</a></p>
</footer>
</body>
</html>
"""


# --- PDF ---------------------------------------------------------------------------------------


FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
  <alias><family>sans-serif</family><prefer><family>{family}</family></prefer></alias>
  <alias><family>serif</family><prefer><family>{family}</family></prefer></alias>
  <alias><family>monospace</family><prefer><family>{family}</family></prefer></alias>
</fontconfig>
"""


def subset_font(text: str, out: Path) -> None:
    """The CJK font cut down to the characters printed: Chromium embeds all of a .ttc (9 MB per PDF)."""
    options = subset.Options()
    options.font_number = 0  # WenQuanYi Zen Hei in the collection
    options.name_IDs = ["*"]  # keep the family name that fontconfig matches
    options.notdef_outline = True
    font = subset.load_font(str(FONT), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text) | {chr(c) for c in range(0x20, 0x7F)})))
    subsetter.subset(font)
    subset.save_font(font, str(out), options)


def render_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the page with headless Chromium, keeping its default header and footer on every page.

    Chromium sees only a subset of the CJK font (its own fontconfig), so its header with the page
    title is drawn with the same small font and the PDF stays small.
    """
    with tempfile.TemporaryDirectory(prefix="chromium-") as tmp:
        work = Path(tmp)
        (work / "fonts").mkdir()
        subset_font(html_path.read_text(encoding="utf-8") + html_path.resolve().as_uri(), work / "fonts" / "font.ttf")
        (work / "fonts.conf").write_text(
            FONTS_CONF.format(fonts=work / "fonts", cache=work / "cache", family=FONT_FAMILY), encoding="utf-8"
        )
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={work / 'profile'}",
                "--virtual-time-budget=5000",
                f"--print-to-pdf={pdf_path}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
            env={**os.environ, "FONTCONFIG_FILE": str(work / "fonts.conf")},
        )
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF for {html_path}")


# --- DOCX --------------------------------------------------------------------------------------


def render_docx(seed: Seed, docx_path: Path) -> None:
    document = Document()
    document.core_properties.title = seed.title
    document.core_properties.author = f"{seed.site}办公室"
    section = document.sections[0]
    section.header.paragraphs[0].text = f"{seed.site}　政府工作报告（全文）"
    section.footer.paragraphs[0].text = f"{seed.site}办公室印发　内部资料　注意保存"
    for paragraph in seed.paragraphs:
        level = heading_level(paragraph)
        if level == 1:
            heading = document.add_heading(paragraph.text, level=0)
            heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif level is not None:
            document.add_heading(paragraph.text, level=level - 1)
        elif split := lead_split(paragraph):
            out = document.add_paragraph()
            out.add_run(split[0]).bold = True
            out.add_run(split[1])
        else:
            out = document.add_paragraph(paragraph.text)
            out.paragraph_format.first_line_indent = Pt(24)
    document.save(str(docx_path))


# --- a table, for the PDF loader's table path --------------------------------------------------

#: No seed has a table, so the table path of the PDF loader gets a sample of its own, marked as made up.
TABLE_SAMPLE = "table_sample"
TABLE_SAMPLE_HTML = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>表格解析测试样例</title>
<style>body { font-family: "WenQuanYi Zen Hei", sans-serif; } p { text-indent: 2em; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #000; padding: 4px 12px; }</style>
</head><body>
<p>以下表格仅用于测试表格解析，数据为虚构示例，不是任何报告的内容。</p>
<table>
<tr><th rowspan="2">指标</th><th colspan="2">数值</th><th rowspan="2">增长</th></tr>
<tr><th>2022年</th><th>2023年</th></tr>
<tr><td>示例指标甲</td><td>10.0</td><td>12.5</td><td>25%</td></tr>
<tr><td>示例指标乙</td><td>8.0</td><td>6.0</td><td>-25%</td></tr>
</table>
<p>表格之后的段落照常解析，表格区域的文字不会重复出现在正文里。</p>
</body></html>
"""


def render_table_sample(out: Path) -> dict[str, int]:
    html_path = out / f"{TABLE_SAMPLE}.html"
    html_path.write_text(TABLE_SAMPLE_HTML, encoding="utf-8")
    render_pdf(html_path, out / f"{TABLE_SAMPLE}.pdf")
    html_path.unlink()
    return {f"{TABLE_SAMPLE}.pdf": (out / f"{TABLE_SAMPLE}.pdf").stat().st_size}


# --- driver ------------------------------------------------------------------------------------


def render(seeds: list[Seed], out: Path) -> dict[str, int]:
    """Write every format of every seed into ``out``; returns the size of each file written."""
    out.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    manifest = load_manifest(SEEDS)
    overrides: dict[str, dict[str, object]] = {}
    for seed in seeds:
        html_path = out / f"{seed.stem}.html"
        html_path.write_text(render_html(seed), encoding="utf-8")
        render_pdf(html_path, out / f"{seed.stem}.pdf")
        render_docx(seed, out / f"{seed.stem}.docx")
        for suffix in FORMATS:
            path = out / f"{seed.stem}{suffix}"
            sizes[path.name] = path.stat().st_size
            if seed.path.name in manifest:
                overrides[path.name] = manifest[seed.path.name]
        logger.info("rendered %s", seed.stem)
    if overrides:
        (out / MANIFEST_NAME).write_text(json.dumps(overrides, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    manifest = load_manifest(SEEDS)
    seeds = [load_seed(p, manifest.get(p.name)) for p in sorted(SEEDS.glob("*.txt"))]

    with tempfile.TemporaryDirectory(prefix="fixtures-") as tmp:
        sizes = render(seeds, Path(tmp))
        if sum(sizes.values()) > MAX_TOTAL_BYTES:
            smallest = sorted(seeds, key=lambda s: s.path.stat().st_size)[:2]
            logger.info("all five reports make %d bytes; keeping %s", sum(sizes.values()), [s.stem for s in smallest])
            shutil.rmtree(tmp)
            sizes = render(smallest, Path(tmp))
        sizes.update(render_table_sample(Path(tmp)))
        if args.out.exists():
            for old in args.out.iterdir():
                if old.suffix in FORMATS or old.name == MANIFEST_NAME:  # only what this script writes
                    old.unlink()
        args.out.mkdir(parents=True, exist_ok=True)
        for name in sizes:
            shutil.copy(Path(tmp) / name, args.out / name)
        if (Path(tmp) / MANIFEST_NAME).is_file():
            shutil.copy(Path(tmp) / MANIFEST_NAME, args.out / MANIFEST_NAME)
    for name, size in sorted(sizes.items()):
        logger.info("%8d  %s", size, name)
    logger.info("%8d  total", sum(sizes.values()))


if __name__ == "__main__":
    main()
