"""The reader on layouts and formats unlike the three real notices (DOMAIN.md's list)."""

from __future__ import annotations

import datetime as dt

import pytest

from quotas.notice.reader import read_notice

from .workbooks import csv_bytes, docx, xls, xlsx

HEADER = ["序号", "单位名称", "任务数（人）", "计划献血日期", "献血地点"]


def rows_of(reading):
    return [(r.unit, r.target, r.period_label, r.start, r.end) for r in reading.rows]


def test_title_label_and_footnotes_around_the_table():
    data = xlsx(
        [
            ["附件1"],
            ["2025年各单位无偿献血任务分配表"],
            HEADER,
            ["1 ", "区委办", 10, "三月份", "行政中心"],
            ["2", "区法院", "８ ", "4月", "本单位"],
            [None],
            ["说明：1. 各部门的下属单位由主管部门负责落实完成。"],
            ["联系人：周军 13707959373"],
        ],
        merges=["A2:E2", "A7:E7", "A8:E8"],
    )
    reading = read_notice(data, "a.xlsx", year=2025)
    assert reading.errors == []
    assert rows_of(reading) == [
        ("区委办", 10, "三月份", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        ("区法院", 8, "4月", dt.date(2025, 4, 1), dt.date(2025, 4, 30)),
    ]
    assert [r.seq for r in reading.rows] == [1, 2]
    assert reading.rows[1].cell == "附件!B5"


def test_header_words_with_spaces_and_line_breaks_and_headcount_not_taken_for_target():
    data = xlsx([["单 位", "总人数", "参加献血人数\n(200毫升/人)", "完成\n时间"], ["村委会", 300, 45, "2-3月"]])
    reading = read_notice(data, "b.xlsx", year=2025)
    row = reading.rows[0]
    assert (row.unit, row.target, row.headcount, row.start, row.end) == (
        "村委会",
        45,
        300,
        dt.date(2025, 2, 1),
        dt.date(2025, 3, 31),
    )


def test_one_date_and_place_merged_down_over_every_row():
    data = xlsx(
        [
            ["村别", "预约总数(人次)", "献血时间", "献血地点"],
            ["东村", 20, "2021年10月13日(星期三)上午8:00-11:30", "镇政府广场"],
            ["西村", 15, None, None],
            ["南村", 12, None, None],
        ],
        merges=["C2:C4", "D2:D4"],
    )
    reading = read_notice(data, "town.xlsx", year=2021)
    assert {(r.start, r.location) for r in reading.rows} == {(dt.date(2021, 10, 13), "镇政府广场")}
    assert len(reading.rows) == 3


def test_two_blocks_side_by_side_header_repeated_and_period_carried_down():
    header = ["献血时间", "单位", "目标数(人)", "献血时间", "单位", "目标数(人)"]
    data = xlsx(
        [
            header,
            ["一月", "甲局", 5, "七月", "乙局", 6],
            [None, "丙局", 7, None, "丁公司", "(60)"],
            header,  # page break
            [None, "戊局", 8, "八月", "己行", 9],
        ],
        merges=["A2:A3"],
    )
    reading = read_notice(data, "two.xlsx", year=2024)
    assert [(r.unit, r.target, r.period_label, r.advisory) for r in reading.rows] == [
        ("甲局", 5, "一月", False),
        ("丙局", 7, "一月", False),
        ("戊局", 8, "一月", False),  # carried over the page break
        ("乙局", 6, "七月", False),
        ("丁公司", 60, "七月", True),
        ("己行", 9, "八月", False),
    ]


def test_compound_cell_checked_against_the_row_total_names_both_numbers():
    data = xlsx([["月份", "单位及计划数（人）", "合计"], ["3月份", "组织部7；宣传部5；搬经镇430；", 450]])
    reading = read_notice(data, "c.xlsx", year=2023)
    assert [(r.unit, r.target) for r in reading.rows] == [("组织部", 7), ("宣传部", 5), ("搬经镇", 430)]
    [warning] = reading.warnings
    assert "450" in warning.message and "442" in warning.message and warning.ref == "附件!C2"


def test_total_rows_are_checks_never_quotas():
    data = xlsx([HEADER, [1, "甲局", 10, "3月", ""], [2, "乙局", "(5)", "3月", ""], ["合计", None, 12, None, None]])
    reading = read_notice(data, "t.xlsx", year=2025)
    assert [r.unit for r in reading.rows] == ["甲局", "乙局"]
    [warning] = reading.warnings
    assert "12" in warning.message and "10" in warning.message  # the advisory 5 is never summed
    assert reading.declared_total == 12


def test_groups_sharing_one_number():
    data = xlsx(
        [
            ["单位", "任务数"],
            ["卫健委、人民医院、中医院", 280],
            ["扬子文旅集团有限公司 扬子投资有限公司", 83],
            ["94987 部队", 90],
        ]
    )
    reading = read_notice(data, "g.xlsx", year=2024)
    assert [r.members for r in reading.rows] == [
        ["卫健委", "人民医院", "中医院"],
        ["扬子文旅集团有限公司", "扬子投资有限公司"],
        None,
    ]


def test_annual_quota_inside_a_monthly_row_in_a_simple_table():
    data = xlsx([["月份", "单位", "任务数"], ["12月", "卫健系统（全年）", 600], ["12月", "城北街道", "545 "]])
    reading = read_notice(data, "y.xlsx", year=2023)
    assert [(r.unit, r.period_label, r.start, r.end) for r in reading.rows] == [
        ("卫健系统", "全年", dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
        ("城北街道", "12月", dt.date(2023, 12, 1), dt.date(2023, 12, 31)),
    ]


def test_counties_with_a_number_but_no_period():
    data = xlsx([["县区", "计划任务"], ["慈利县", 2700], ["桑植县", 1500]])
    reading = read_notice(data, "zjj.xlsx", year=2011)
    assert [(r.unit, r.target, r.start) for r in reading.rows] == [("慈利县", 2700, None), ("桑植县", 1500, None)]


def test_every_sheet_is_read_and_an_empty_one_is_only_a_warning():
    data = xlsx(
        [],
        sheets={
            "附件1": ([["单位", "任务数"], ["甲", 1]], []),
            "空表": ([], []),
            "附件2": ([["单位名称", "目标数"], ["乙", 2]], []),
        },
    )
    reading = read_notice(data, "m.xlsx", year=2024)
    assert list(reading.sheets) == ["附件1", "附件2"]
    assert any("空表" in w.message for w in reading.warnings)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_wps_saves(encoding):
    data = csv_bytes([["序号", "单位名称", "任务数", "月份"], ["1", "区委办", "10", "三月份"]], encoding)
    reading = read_notice(data, "notice.csv", year=2025)
    assert rows_of(reading) == [("区委办", 10, "三月份", dt.date(2025, 3, 1), dt.date(2025, 3, 31))]


def test_old_xls_with_merged_period():
    data = xls([["献血时间", "单位", "目标数"], ["五月", "工商联", 2], [None, "文联", 3]], merges=[(1, 2, 0, 0)])
    reading = read_notice(data, "old.xls", year=2024)
    assert [(r.unit, r.target, r.period_label) for r in reading.rows] == [("工商联", 2, "五月"), ("文联", 3, "五月")]


def test_word_table_with_merged_period():
    data = docx([["献血时间", "单位", "目标数"], ["六月", "商务局", "6"], [None, "气象局", "5"]], merge_down=(0, 1, 2))
    reading = read_notice(data, "notice.docx", year=2024)
    assert [(r.unit, r.target, r.period_label) for r in reading.rows] == [("商务局", 6, "六月"), ("气象局", 5, "六月")]


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([["单位", "任务数"], ["甲局", "十个"]], "附件!B2"),
        ([["单位", "任务数"], ["甲局", 2.5]], "整数"),
        ([["单位", "任务数", "月份"], ["甲局", 3, "明年春天"]], "附件!C2"),
        ([["名单"], ["张三"]], "没有找到任务表"),
    ],
)
def test_bad_cells_are_errors_naming_the_place(rows, fragment):
    reading = read_notice(xlsx(rows), "bad.xlsx", year=2024)
    assert reading.errors and any(fragment in e.message for e in reading.errors)
