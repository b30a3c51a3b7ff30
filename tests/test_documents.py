from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.core.errors import DocumentError
from rag.reading.documents import clean, load_report, load_reports, read_text
from rag.text.normalize import normalize_inline, squash


def texts(raw: str) -> list[str]:
    return [p.text for p in clean(raw)]


# --- each kind of noise ---------------------------------------------------------------------


def test_watermark_lines_are_dropped():
    raw = "更多数据尽在数据皮皮侠（http://www.ppmandata.cn/trade/list）\n\n各位代表：\n\n更多数据尽在数据皮皮侠（x）\n"
    assert texts(raw) == ["各位代表："]


def test_page_continuation_markers_are_dropped():
    assert texts("政府工作报告\n\n(上接第3版)\n\n区域协同持续深化。\n\n（下转第5版）") == [
        "政府工作报告",
        "区域协同持续深化。",
    ]


def test_markdown_heading_marks_and_emphasis_are_removed_but_heading_flag_kept():
    paragraphs = clean("## **二、凝心聚力抓科创、聚人才,创新活力深度激发**\n\n**永葆公心,提升政府效能。**深入推进改革。")
    assert paragraphs[0].text == "二、凝心聚力抓科创、聚人才，创新活力深度激发"
    assert paragraphs[0].heading
    assert paragraphs[1].text == "永葆公心，提升政府效能。深入推进改革。"
    assert paragraphs[1].lead == "永葆公心，提升政府效能"


def test_spaced_out_titles_are_joined():
    assert texts("# 政 府 工 作 报 告\n") == ["政府工作报告"]
    assert texts("政 府 工 作 报 告") == ["政府工作报告"]


def test_lines_broken_mid_sentence_are_joined_across_blank_lines():
    raw = "2019年，全年预计完成地\n\n区生产总值820亿元，同比增长6%。\n\n下一段。"
    assert texts(raw) == ["2019年，全年预计完成地区生产总值820亿元，同比增长6%。", "下一段。"]


def test_soft_wrapped_lines_inside_a_block_are_joined():
    assert texts("——2024年1月9日在太仓市第十七届\n人民代表大会第四次会议上\n\n市长  徐华东") == [
        "——2024年1月9日在太仓市第十七届人民代表大会第四次会议上",
        "市长徐华东",
    ]


def test_short_lines_and_headings_are_not_glued_to_the_next_paragraph():
    raw = "新的一年，重点做好以下六个方面工作：\n\n一、统筹“总量、增量、质量”，全力激发经济增长新动能\n\n提升重大项目支撑力。"
    assert len(texts(raw)) == 3
    assert texts("区长张伟\n\n各位代表：") == ["区长张伟", "各位代表："]


def test_markdown_hard_break_keeps_lines_apart():
    assert texts("——2024年1月8日在区五届人大三次会议上  \n区长张伟") == [
        "——2024年1月8日在区五届人大三次会议上",
        "区长张伟",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("建成高标准农田 8000 亩", "建成高标准农田8000亩"),
        ("实现 820 亿元,增长 6.5%", "实现820亿元，增长6.5%"),
        ("增长１２．５％", "增长12.5%"),
        ("2019 年工作回顾", "2019年工作回顾"),
        ("苏州市市长\u2002吴庆文", "苏州市市长吴庆文"),
        ("超 1,000 家", "超1,000家"),
        ("PM_{2.5}平均浓度", "PM_{2.5}平均浓度"),
    ],
)
def test_inline_normalisation_keeps_numbers_exact(raw: str, expected: str):
    assert normalize_inline(raw) == expected


def test_both_spellings_of_a_number_match_after_squash():
    assert squash("8000 亩") == squash("8000亩") == "8000亩"


def test_bookmark_tags_are_removed():
    assert texts("[bookmark: _GoBack]12.P20  “‘十个百万’拥军实事项目”：指…") == ["12.P20“‘十个百万’拥军实事项目”：指…"]


def test_columns_of_a_figure_list_stay_apart_and_each_row_is_a_sentence():
    from rag.answering.prompts import sentences

    raw = "主要经济指标完成情况如下：\n地区生产总值　3986.4亿元　增长5.6%\n规模以上工业增加值　增长7.8%\n同时，全市常住人口城镇化率达到69.8%，\n比2023年提高0.9个百分点。"
    text = "\n".join(texts(raw))
    assert "地区生产总值 | 3986.4亿元 | 增长5.6%" in text  # columns are cells, as a table's
    assert "地区生产总值 | 3986.4亿元 | 增长5.6%" in sentences(text)
    assert "规模以上工业增加值 | 增长7.8%" in sentences(text)
    assert "同时，全市常住人口城镇化率达到69.8%，比2023年提高0.9个百分点。" in sentences(text)  # a wrap is joined
    assert texts("市长  徐华东") == ["市长徐华东"]  # no figures: only spaced out


# --- the seed reports -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "present", "absent"),
    [
        ("000_034bf6dae47362c9.txt", ["5191名新市民子女进入公办学校", "发挥科技镇长团桥梁作用"], ["上接第3版"]),
        ("001_b45d8ecc868d26b7.txt", ["政府工作报告", "一般公共预算收入189.4亿元"], ["政 府", "bookmark"]),
        ("002_d1626c153a2d6c28.txt", ["苏州市市长吴庆文"], ["更多数据尽在", "皮皮侠"]),
        ("003_55331ebdb0be2b0e.txt", ["全年预计完成地区生产总值", "2019年工作回顾"], ["**", "#", "政 府"]),
        ("004_f99c609a9d7be82b.txt", ["建成高标准农田8000亩", "促进数字经济与实体经济深度融合"], ["#"]),
    ],
)
def test_seed_reports_are_clean(seeds_dir: Path, name: str, present: list[str], absent: list[str]):
    text = load_report(seeds_dir / name).text
    for s in present:
        assert s in text, s
    for s in absent:
        assert s not in text, s


@pytest.mark.parametrize(
    ("name", "region", "parent", "year", "when", "speaker"),
    [
        ("000_034bf6dae47362c9.txt", "太仓市", None, 2025, None, None),
        ("001_b45d8ecc868d26b7.txt", "太仓市", None, 2024, date(2024, 1, 9), "市长徐华东"),
        ("002_d1626c153a2d6c28.txt", "苏州市", None, 2023, date(2023, 1, 7), "市长吴庆文"),
        ("003_55331ebdb0be2b0e.txt", "玉山镇", None, 2020, date(2020, 1, 9), "镇长张建文"),
        ("004_f99c609a9d7be82b.txt", "相城区", "苏州市", 2024, date(2024, 1, 8), "区长张伟"),
    ],
)
def test_metadata_is_detected(seeds_dir: Path, name, region, parent, year, when, speaker):
    report = load_report(seeds_dir / name)
    assert (report.region, report.parent_region, report.year, report.date, report.speaker) == (
        region,
        parent,
        year,
        when,
        speaker,
    )
    assert report.title == f"{region}{year}年政府工作报告"


def test_manifest_overrides_detection(tmp_path: Path, seeds_dir: Path):
    (tmp_path / "r.txt").write_text((seeds_dir / "000_034bf6dae47362c9.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "manifest.json").write_text('{"r.txt": {"speaker": "市长汪香元", "date": "2025-01-10"}}', encoding="utf-8")
    [report] = load_reports([tmp_path])
    assert report.speaker == "市长汪香元"
    assert report.date == date(2025, 1, 10)


# --- bad input ------------------------------------------------------------------------------


def test_a_gbk_text_file_is_read(tmp_path: Path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("苏州市2023年政府工作报告。城镇新增就业20万人。".encode("gbk"))
    assert "城镇新增就业20万人" in read_text(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin.txt", b"annual report " * 20, "not readable Chinese"),
        ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("empty.md", b"  \n\n", "empty"),
        ("report.pdf", b"%PDF-1.4", "corrupt PDF"),
    ],
)
def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path: Path, name: str, content: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as info:
        read_text(path)
    assert message in str(info.value)
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_path_is_an_error(tmp_path: Path):
    with pytest.raises(DocumentError, match="no such file"):
        load_reports([tmp_path / "nope"])


def test_bom_is_accepted(tmp_path: Path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff各位代表：".encode())
    assert read_text(path) == "各位代表："
