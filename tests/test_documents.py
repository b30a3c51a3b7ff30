from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.core.errors import DocumentError
from rag.reading.documents import Report, clean, detect_metadata, load_report, load_reports, read_text
from rag.reading.places import most_named_division
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


# --- metadata a report's opening does not state ----------------------------------------------


def read_meta(raw: str) -> tuple[str | None, str | None, int | None, date | None]:
    report = Report(doc_id="t", source="t.txt", paragraphs=clean(raw), sha256="")
    detect_metadata(report)
    return report.region, report.parent_region, report.year, report.date


#: A body that names its place by the short form only, and the chain once: 「吴江」 of 吴江区.
WUJIANG = (
    "2019年，是吴江发展史上极不平凡的一年。全区上下团结奋斗，吴江经济稳中有进。\n\n"
    "吴江综合实力持续增强，与昆山合作更加紧密。\n\n苏州市吴江区获评全国文明城区。\n\n吴江的明天更加美好。"
)


def test_a_place_named_only_in_its_short_form_is_the_most_named_of_the_level_the_speaker_names():
    raw = f"政府工作报告\n\n2020年1月9日\n\n各位代表、同志们：\n\n现在，我代表区政府，向大会作工作报告，请予审议。\n\n一、2019年工作回顾\n\n{WUJIANG}"
    assert read_meta(raw) == ("吴江区", "苏州市", 2020, date(2020, 1, 9))


def test_a_renamed_division_is_read_as_the_text_names_it():
    """溧水县 has been 溧水区 since 2013: the gazetteer has today's name, the report its own."""
    body = "2012年，溧水县经济平稳增长。全县上下，溧水各项事业全面进步。\n\n溧水城乡面貌焕然一新，融入南京都市圈。\n\n溧水人民安居乐业。"
    raw = f"各位代表：\n\n现在，我代表县人民政府，向大会报告工作，请予审议。\n\n一、2012年工作回顾\n\n{body}"
    assert read_meta(raw)[:3] == ("溧水县", "南京市", 2013)
    # without the full name written, the short form is today's division
    today = raw.replace("溧水县经济", "溧水经济").replace("我代表县人民政府", "我代表区人民政府").replace("全县", "全区")
    assert read_meta(today)[:3] == ("溧水区", "南京市", 2013)


def test_without_an_opening_the_level_is_the_texts_own_and_a_party_committee_above_it_is_not_the_place():
    body = (
        "2023年，在中共浙江省委和县委的坚强领导下，全县上下奋力拼搏，安吉经济持续向好。\n\n"
        "安吉生态优势进一步彰显，全县旅游收入增长10%，接待湖州游客增长12%。\n\n安吉白茶品牌价值再创新高。"
    )
    assert read_meta(f"一、2023年工作回顾\n\n{body}")[:3] == ("安吉县", "湖州市", 2024)


def test_the_speakers_line_names_the_place_and_its_parent():
    raw = (
        "政府工作报告\n\n——2025年1月14日在县十七届人民代表大会第五次会议上\n\n湖州市德清县人民政府代县长 张三\n\n"
        "各位代表：\n\n现在，我代表县政府向大会报告工作，请予审议。"
    )
    assert read_meta(raw) == ("德清县", "湖州市", 2025, date(2025, 1, 14))


def test_a_new_terms_government_names_its_term():
    raw = "各位代表：\n\n现在，我代表德清县第十四届人民政府，向大会报告2007年换届以来的工作，请予审议。\n\n一、过去五年工作回顾"
    assert read_meta(raw)[:3] == ("德清县", None, 2012)


@pytest.mark.parametrize(
    ("opening", "when"),
    [
        ("2021年2月5日在县十六届人民代表大会第五次会议上德清县人民政府县长？? 张？? 三各位代表：", date(2021, 2, 5)),
        ("政府工作报告\n\n——在德清县第十七届人民代表大会第一次会议上\n（ 2017年2月26日）", date(2017, 2, 26)),
        ("2019年1月29日湖州市德清县第二届人民代表大会第三次会议", date(2019, 1, 29)),
        ("政府工作报告\n\n2020年1月9日", date(2020, 1, 9)),
    ],
)
def test_a_date_alone_in_an_opening_line_is_the_delivery_date(opening: str, when: date):
    raw = f"{opening}\n\n各位代表：\n\n现在，我代表德清县人民政府，向大会报告工作。\n\n2019年1月1日起施行的条例，我们认真落实。"
    assert read_meta(raw)[2:] == (when.year, when)


def test_a_terms_review_counted_from_its_first_year_dates_the_report_five_years_on():
    raw = (
        "政府工作报告\n\n各位委员：\n\n现在，我代表清苑县人民政府向大会报告工作。\n\n一、过去五年政府工作的简要回顾\n\n"
        "1998年以来的五年，县政府在县委的领导下，坚持以经济建设为中心。2002年与1998年相比，财政收入翻一番。"
    )
    assert read_meta(raw)[2] == 2003


def test_a_common_word_a_shared_name_or_a_close_second_names_no_place():
    opening = "各位代表：\n\n现在，我代表区政府，向大会报告工作。\n\n"
    # 「鼓楼」 is a common word (jieba), never a short form; 鼓楼区 is the name of several districts
    assert most_named_division(opening + "鼓楼夜景。" * 5) is None
    assert most_named_division(opening + "鼓楼区发展。" * 4) == ("鼓楼区", None)
    assert most_named_division(opening + "鼓楼区发展。" * 4 + "南京市鼓楼区。") == ("鼓楼区", "南京市")
    # a short form that is also an ordinary word (「惠民工程」) counts only where the text vouches for the
    # place: writes its full name or names the prefecture it lies in
    county = "各位代表：\n\n现在，我代表县人民政府，向大会报告工作。\n\n"
    assert most_named_division(county + "实施惠民工程。" * 4) is None
    assert most_named_division(county + "实施惠民工程。" * 4 + "滨州市委。") == ("惠民县", "滨州市")
    # named too seldom, or not clearly more than another district of the level
    assert most_named_division(opening + "吴江发展。" * 2) is None
    assert most_named_division(opening + "吴江发展。" * 3 + "相城发展。" * 2) is None


REAL = Path(__file__).resolve().parent.parent / "eval" / "library" / "reports"


@pytest.mark.skipif(not REAL.is_dir(), reason="the real county reports are not in this checkout")
@pytest.mark.parametrize(
    ("name", "region", "year"),
    [
        ("清苑区_2020.txt", "清苑区", 2020),
        ("清苑县_2003.txt", "清苑县", 2003),
        ("容城县_2020.txt", "容城县", 2020),
        ("徐水区_2019.txt", "徐水区", 2019),
        ("涞源县_2021.txt", "涞源县", 2021),
        ("新安县_2024.txt", "新安县", 2024),
    ],
)
def test_real_county_reports(name: str, region: str, year: int):
    report = load_report(REAL / name)
    assert (report.region, report.year) == (region, year)


def test_an_autonomous_prefectures_short_form_drops_its_peoples():
    opening = "各位代表：\n\n现在，我代表州人民政府，向大会报告工作。\n\n"
    assert most_named_division(opening + "湘西经济发展。" * 3 + "湖南省委。") == ("湘西土家族苗族自治州", "湖南省")
