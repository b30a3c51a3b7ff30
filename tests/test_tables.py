"""Units a table states once (a unit column, a header's 「（%）」, a 「单位：」 line) reach its cells."""

from __future__ import annotations

from pathlib import Path

from rag.reading.documents import clean, load_report
from rag.reading.tables import with_units


def test_a_unit_column_and_a_header_unit_are_written_into_the_figures():
    lines = [
        "主要指标完成情况见下表。",
        "指标 | 单位 | 2024年完成 | 比上年增长（%）",
        "地区生产总值 | 亿元 | 3968.4 | 4.6",
        "规模以上工业增加值 | 亿元 | — | 7.9",
        "城镇居民人均可支配收入 | 元 | 43685 | 4.3",
        "注：增速按不变价格计算。",
        "其他 | 1 | 2",  # a table after prose has no header of units: unchanged
    ]
    assert with_units(lines) == [
        "主要指标完成情况见下表。",
        "指标 | 单位 | 2024年完成 | 比上年增长（%）",
        "地区生产总值 | 3968.4亿元 | 4.6%",
        "规模以上工业增加值 | — | 7.9%",
        "城镇居民人均可支配收入 | 43685元 | 4.3%",
        "注：增速按不变价格计算。",
        "其他 | 1 | 2",
    ]


def test_a_unit_line_above_a_table_applies_to_its_bare_numbers():
    lines = ["单位：亿元", "项目 | 2023年 | 2024年", "一般公共预算收入 | 170.2 | 176.8", "完成情况良好。"]
    assert with_units(lines)[2] == "一般公共预算收入 | 170.2亿元 | 176.8亿元"


def test_figures_with_their_own_units_and_other_tables_are_left_alone():
    lines = ["指标 | 总量 | 比上年增长", "地区生产总值 | 5706.3亿元 | 5.4%", "名次 | 第4 | 第2"]
    assert with_units(lines) == lines


def test_a_label_run_into_its_unit_cell_in_plain_text_is_split_again():
    raw = (
        "指标                  单位  2024年完成  比上年增长（%）\n"
        "地区生产总值          亿元  3968.4      4.6\n"
        "城镇居民人均可支配收入 元    43685       4.3\n"
    )
    rows = [p.text for p in clean(raw)]
    assert rows[1:] == ["地区生产总值 | 3968.4亿元 | 4.6%", "城镇居民人均可支配收入 | 43685元 | 4.3%"]


def test_the_seeds_have_no_table_whose_units_change(monkeypatch):
    # the seeds' passages stay as they were read before the rule (their index stays valid)
    monkeypatch.setattr("rag.reading.documents.with_units", list)
    for path in sorted(Path("seeds").glob("*.txt")):
        texts = [p.text for p in load_report(path).paragraphs]
        assert with_units(texts) == texts
