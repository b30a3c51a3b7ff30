"""Structure by content: region, report year and the year each part speaks about, read by general rules.

The fixtures under tests/fixtures/structure/ are invented test text (each says so in its first line):
real divisions, so the gazetteer check applies, with made-up speakers, figures and wording.

- no_plan_heading.txt: a city report whose targets follow the review without a plan heading, lines
  broken mid-sentence as a PDF text layer leaves them;
- county_2025.txt: a county, 「二、2025年重点工作」;
- banner_2024.txt: a banner, year-less parts 「一、过去一年工作回顾」「二、今年的主要任务」, the date line
  in brackets;
- prefecture_2024.txt: an autonomous prefecture, 「二、2024年总体要求和主要目标任务」「三、2024年重点工作」;
- title_only.txt: the region only in the title, a plan part whose heading names no year.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.reading.documents import Report, clean, detect_metadata, load_report, split_region
from rag.reading.headings import period_of, period_opening
from rag.reading.sections import Section, split_sections

FIXTURES = Path(__file__).parent / "fixtures" / "structure"


def report_of(raw: str, title: str | None = None) -> Report:
    """A report read from text, ``title`` as a loader would pass the file's own title."""
    report = Report(doc_id="t", source="t.txt", paragraphs=clean(raw), sha256="", title=title)
    detect_metadata(report)
    return report


def fixture(name: str) -> tuple[Report, list[Section]]:
    report = load_report(FIXTURES / name)
    return report, split_sections(report)


def labels_of(sections: list[Section], words: str) -> set[tuple[str, int | None]]:
    """(period, year) of every section whose text contains ``words``."""
    found = {(s.period, s.year) for s in sections if words in s.text}
    assert found, words
    return found


# --- part headings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "report_year", "expected"),
    [
        ("2025年重点工作", 2025, ("plan", 2025)),
        ("今年的主要任务", 2024, ("plan", 2024)),
        ("二、2024年总体要求和主要目标任务", 2024, ("plan", 2024)),
        ("二、2024年工作建议", 2024, ("plan", 2024)),
        ("2024年工作展望", 2024, ("plan", 2024)),
        ("一、2023年工作回顾与展望", 2024, ("review", 2023)),
        ("关于2024年政府工作的安排", 2024, ("plan", 2024)),
        ("二、主要任务", 2024, ("plan", 2024)),
        ("今后五年的目标任务", 2024, ("plan", None)),
        ("一、2023年工作回顾", 2024, ("review", 2023)),
        ("一、2023年工作总结", None, ("review", 2023)),
        ("2023年主要工作完成情况", 2024, ("review", 2023)),
        ("一、过去一年工作回顾", 2024, ("review", 2023)),
        ("2023年工作", 2024, ("review", 2023)),
        # a plan for a year already past is what was to be done: the review
        ("2023年主要任务", 2024, ("review", 2023)),
        # not parts: a claim, a subsection (（三） numbers subsections), a sentence, the title
        ("2024年重点项目建设取得新突破", 2024, None),
        ("（三）2024年重点工作", 2024, None),
        ("2023年，我们坚持稳中求进。", 2024, None),
        ("一、全面完成目标任务", 2024, None),
        ("2024年苏州市政府工作报告", 2024, None),
        ("——2024年1月9日在太仓市第十七届人民代表大会第四次会议上", 2024, None),
    ],
)
def test_part_headings_by_general_rules(text: str, report_year: int | None, expected):
    assert period_of(text, report_year) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今年是“十四五”规划的关键之年。", ("plan", 2024)),
        ("今年经济社会发展的主要预期目标是：地区生产总值增长5%左右。", ("plan", 2024)),
        ("今年政府工作的总体要求是：坚持稳中求进。", ("plan", 2024)),
        ("今年重点抓好以下几方面工作：", ("plan", 2024)),
        ("全市经济社会发展的主要预期目标：地区生产总值增长5%。", ("plan", 2024)),
        ("建议全年经济社会发展的主要预期目标为：地区生产总值增长5%。", ("plan", 2024)),
        ("2024年是新中国成立75周年。", ("plan", 2024)),
        ("过去一年，全市上下坚持稳中求进。", ("review", 2023)),
        ("2023年，我们坚持稳中求进。", ("review", 2023)),
        ("今年以来，全市经济运行平稳。", None),
        ("全面完成年初确定的主要预期目标，经济运行稳中向好。", None),
        ("各位代表：", None),
    ],
)
def test_paragraph_openings_name_the_part(text: str, expected):
    assert period_opening(text, 2024) == expected


# --- reports without the seeds' headings ------------------------------------------------------


def test_targets_without_a_plan_heading_are_the_report_years_plan():
    report, sections = fixture("no_plan_heading.txt")
    assert (report.region, report.year) == ("宜兴市", 2024)
    assert labels_of(sections, "主要预期目标是") == {("plan", 2024)}
    assert labels_of(sections, "完成工业投资400亿元") == {("plan", 2024)}
    assert labels_of(sections, "新增养老床位600张") == {("plan", 2024)}
    assert labels_of(sections, "地区生产总值2150亿元") == {("review", 2023)}
    assert labels_of(sections, "新增养老床位800张") == {("review", 2023)}
    # the plan is no subsection of the review
    plan = [s for s in sections if s.period == "plan"]
    assert all("2023年工作回顾" not in s.heading for s in plan)
    assert plan[1].path == ["2024年目标任务", "（一）聚焦产业强市"]
    # the broken lines are joined again
    assert "一般公共预算收入增长4%，城镇新增就业1.8万人" in report.text


def test_county_report_with_2025_key_work():
    report, sections = fixture("county_2025.txt")
    assert (report.region, report.parent_region, report.year, report.speaker) == ("沛县", None, 2025, "县长赵测试")
    assert labels_of(sections, "新开工亿元以上项目80个") == {("plan", 2025)}
    assert labels_of(sections, "主要预期目标") == {("plan", 2025)}
    assert labels_of(sections, "建成高标准农田5万亩") == {("review", 2024)}
    assert [s.path for s in sections if s.period == "plan"][0] == ["二、2025年重点工作"]


def test_banner_report_with_yearless_parts_and_bracketed_date_line():
    report, sections = fixture("banner_2024.txt")
    assert (report.region, report.year, report.speaker) == ("鄂托克旗", 2024, "旗长李测试")
    assert report.date is not None and report.date.isoformat() == "2024-01-12"
    assert labels_of(sections, "完成营造林20万亩") == {("review", 2023)}
    assert labels_of(sections, "完成营造林15万亩") == {("plan", 2024)}
    assert labels_of(sections, "主要预期目标是") == {("plan", 2024)}


def test_prefecture_report_with_two_plan_parts():
    report, sections = fixture("prefecture_2024.txt")
    assert (report.region, report.year, report.speaker) == ("黔东南苗族侗族自治州", 2024, "州长杨测试")
    assert labels_of(sections, "主要预期目标是") == {("plan", 2024)}
    # 「三、2024年重点工作」 is a part of its own, not a subsection of 「二、…」
    key_work = [s for s in sections if "新改建农村公路600公里" in s.text]
    assert key_work[0].path == ["三、2024年重点工作", "（二）完善基础设施"]
    assert labels_of(sections, "新改建农村公路800公里") == {("review", 2023)}


def test_region_from_the_title_only_and_a_plan_heading_without_a_year():
    report, sections = fixture("title_only.txt")
    assert (report.region, report.year) == ("宜兴市", 2024)
    assert labels_of(sections, "今年是") == {("plan", 2024)}
    assert labels_of(sections, "新增高新技术企业120家") == {("plan", 2024)}
    assert labels_of(sections, "新增高新技术企业150家") == {("review", 2023)}
    plan = [s for s in sections if s.period == "plan"]
    assert plan[0].path == ["二、坚定信心、真抓实干，奋力谱写高质量发展新篇章"]


# --- metadata --------------------------------------------------------------------------------

_BODY = "各位代表：\n\n现在，我代表市人民政府，向大会报告工作。\n\n一、2023年工作回顾\n\n过去一年，地区生产总值增长5%。"


@pytest.mark.parametrize(
    ("title", "region", "year"),
    [
        ("2024年无锡市政府工作报告", "无锡市", 2024),
        ("无锡市2024年政府工作报告", "无锡市", 2024),
        ("宜兴市人民政府工作报告", "宜兴市", 2024),
        ("政府工作报告_无锡市人民政府", "无锡市", 2024),
        ("2024年苏州市相城区政府工作报告", "相城区", 2024),
    ],
)
def test_region_and_year_from_a_title_line_or_the_loaders_title(title: str, region: str, year: int):
    as_line = report_of(f"{title}\n\n{_BODY}")
    from_loader = report_of(_BODY, title=title)
    for report in (as_line, from_loader):
        assert (report.region, report.year) == (region, year)
    assert as_line.parent_region == ("苏州市" if region == "相城区" else None)


def test_report_year_from_the_date_line():
    report = report_of(f"政府工作报告\n\n——2024年1月10日在宜兴市第十七届人民代表大会第三次会议上\n\n{_BODY}")
    assert (report.region, report.year, str(report.date)) == ("宜兴市", 2024, "2024-01-10")


def test_text_before_people_s_government_that_is_no_division_is_no_region():
    report = report_of("各位代表：\n\n感谢各位人大代表和政协委员对市人民政府工作的监督。\n\n2024年主要任务\n\n加快发展。")
    assert report.region is None
    assert report.year == 2024


def test_a_division_the_gazetteer_lacks_is_read_from_the_speaker_s_opening():
    # a new or renamed division (here a made-up one) is in no gazetteer; the speaker names it
    opening = "各位代表：\n\n现在，我代表{}人民政府，向大会报告政府工作，请予审议。\n\n一、过去一年工作回顾\n\n加快发展。"
    assert report_of(opening.format("沱江市")).region == "沱江市"
    report = report_of(opening.format("江州市褒河县"))
    assert (report.region, report.parent_region) == ("褒河县", "江州市")
    # not a chain of divisions, or not the speaker's words: no region
    assert report_of(opening.format("全体同志和")).region is None
    assert report_of("各位代表：\n\n请代表沱江市人民政府转达问候。\n\n一、工作回顾\n\n加快发展。").region is None
    # 「我代表县人民政府」 names no place: the date line's session does
    dated = "政府工作报告\n\n——2025年1月8日在褒河县第十九届人民代表大会第四次会议上\n\n现在，我代表县人民政府，向大会报告。"
    assert report_of(dated).region == "褒河县"


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("苏州市相城区", ("相城区", "苏州市")),
        ("昆山市玉山镇", ("玉山镇", "昆山市")),
        ("太仓市", ("太仓市", None)),
        ("黔东南苗族侗族自治州", ("黔东南苗族侗族自治州", None)),
        ("鄂尔多斯市鄂托克旗", ("鄂托克旗", "鄂尔多斯市")),
    ],
)
def test_split_region_follows_the_gazetteer(full: str, expected):
    assert split_region(full) == expected


# --- the five seeds keep their labels -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "runs", "key"),
    [
        (
            "000_034bf6dae47362c9.txt",
            [("review", 2024), ("plan", 2025)],
            {"区域协同持续深化": ("review", 2024), "全市经济社会发展的主要预期目标": ("plan", 2025)},
        ),
        (
            "001_b45d8ecc868d26b7.txt",
            [("preamble", 2024), ("review", 2023), ("plan", 2024), ("glossary", None)],
            {
                "一般公共预算收入189.4亿元": ("review", 2023),
                "全市经济社会发展的主要预期目标": ("plan", 2024),
                "“五大行动”：指": ("glossary", None),
            },
        ),
        (
            "002_d1626c153a2d6c28.txt",
            [("preamble", 2023), ("review", 2022), ("plan", 2023)],
            {"全力应对疫情稳住大盘": ("review", 2022), "今年经济社会发展的主要预期目标是": ("plan", 2023)},
        ),
        (
            "003_55331ebdb0be2b0e.txt",
            [("preamble", 2020), ("review", 2019), ("plan", 2020)],
            {"预计完成固定资产投资163亿元": ("review", 2019), "建议全年经济社会发展的主要预期目标为": ("plan", 2020)},
        ),
        (
            "004_f99c609a9d7be82b.txt",
            [("preamble", 2024), ("review", 2023), ("plan", 2024)],
            {"过去的一年，我们深入学习贯彻": ("review", 2023), "今年的主要预期目标": ("plan", 2024)},
        ),
    ],
)
def test_seed_labels_are_unchanged(seeds_dir: Path, name: str, runs, key):
    sections = split_sections(load_report(seeds_dir / name))
    seen: list[tuple[str, int | None]] = []
    for s in sections:
        if not seen or seen[-1] != (s.period, s.year):
            seen.append((s.period, s.year))
    assert seen == runs
    for words, label in key.items():
        assert labels_of(sections, words) == {label}, words


# --- lists and tables are text, not headings ----------------------------------------------------


def test_a_numbered_list_of_targets_keeps_every_item():
    # each item is numbered like a heading (1. …); a heading with nothing under it would lose the text
    raw = (
        "二、今年政府工作的总体要求和目标任务\n\n"
        "综合考虑各方面因素，今年全市经济社会发展主要预期目标建议为：\n\n"
        "1.地区生产总值增长7%左右；\n\n2.一般公共预算收入增长5%；\n\n"
        "3.单位地区生产总值能耗下降完成上级下达的目标任务。\n\n"
        "三、全力抓好今年重点工作\n\n"
        "（一）坚定不移推动市场提升。推进国际商贸城各区块功能优化，力争市场成交额增长10%以上。\n\n"
    )
    sections = split_sections(report_of("现在，我代表某市人民政府，向大会报告政府工作。\n\n" + raw))
    text = "\n".join(s.text for s in sections)
    for item in ("1.地区生产总值增长7%左右；", "2.一般公共预算收入增长5%；", "3.单位地区生产总值能耗下降"):
        assert item in text
    assert not any("地区生产总值增长7%" in part for s in sections for part in s.path)
    # a numbered paragraph of several sentences still heads its text
    assert any(s.path[-1:] == ["（一）坚定不移推动市场提升"] for s in sections)


def test_a_table_row_without_figures_is_no_heading():
    raw = "一、过去一年的主要工作\n\n主要经济指标完成情况见表1。\n\n指标\t2024年\n\n总量\t比上年增长\n\n地区生产总值\t5706.3亿元\t5.4%\n"
    sections = split_sections(report_of(raw))
    assert all("总量" not in part for s in sections for part in s.path)
    assert "总量 | 比上年增长" in "\n".join(s.text for s in sections)


# --- a PDF's text layer saved as text ----------------------------------------------------------

HARD_WRAPPED = """政府工作报告
——2025年1月14日在湛江市第十五届人民代表大会第五次会议上
各位代表：
现在，我代表市人民政府，向大会报告政府工作，请予审议。
一、过去一年的工作
2024年，市政府团结带领全市人民，奋力拼经济、抓项目，全市经济运行稳中有进，较好完成了市人大确定的
主要目标任务。
全市地区生产总值3968.4亿元，增长4.6%。全年接待游客4120.5万人次，地方政府专项
— 2 —
\f湛江市人民政府工作报告（2025年1月）
债券资金156.4亿元。港口货物吞吐量3.28亿吨。
— 3 —
\f湛江市人民政府工作报告（2025年1月）
二、2025年主要目标
地区生产总值增长5%左右。
"""


def test_a_text_layer_loses_its_page_furniture_and_keeps_its_sentences(tmp_path: Path):
    path = tmp_path / "W0202501.txt"
    path.write_text(HARD_WRAPPED.replace("\n", "\r\n"), encoding="gb18030")
    report = load_report(path)
    text = report.text
    # the page numbers and the running header (which names a year) are gone, the broken sentence whole
    assert "— 2 —" not in text and "\f" not in text and "工作报告（2025年1月）" not in text
    assert "地方政府专项债券资金156.4亿元" in text
    # a wrapped line that reads like a part heading (「主要目标任务。」) ends the sentence it continues
    assert "较好完成了市人大确定的主要目标任务。" in text
    labels = labels_of(split_sections(report), "全年接待游客4120.5万人次")
    assert labels == {("review", 2024)}
    assert labels_of(split_sections(report), "地区生产总值增长5%左右") == {("plan", 2025)}


def test_a_title_line_inside_the_text_ends_a_section_and_breaks_nothing():
    # a web page's related link names the report again at the end of the article
    raw = HARD_WRAPPED.replace("\f", "") + "\n图解：2025年湛江市政府工作报告\n\n相关新闻。\n"
    report = report_of(raw)
    sections = split_sections(report)
    assert not any("图解" in s.text for s in sections)
    assert all(s.text in report.text for s in sections)
