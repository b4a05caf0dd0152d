"""Unit names without the print's layout: stored once clean, matched whatever the spacing."""

from __future__ import annotations

import pytest

from quotas.notice.values import split_members
from quotas.services import plan_import, preview_import
from tests.quotas.workbooks import xlsx
from units.models import Unit
from units.naming import clean_name, normalize_name


@pytest.mark.parametrize(
    ("printed", "stored"),
    [
        ("人  武  部", "人武部"),  # spaces that aligned a short name in its column
        ("邮 政", "邮政"),
        ("镇机关\n(含便民中心)", "镇机关（含便民中心）"),  # a name printed on two lines
        ("教育局（含直属学校）", "教育局（含直属学校）"),  # the bracketed list keeps its meaning
        ("远东联石化(扬州)有限公司", "远东联石化（扬州）有限公司"),
        ("ＡＢＣ公司\u3000一厂", "ABC公司一厂"),  # full-width letters and space
        ("94987 部队", "94987 部队"),  # a number and a name: the space is not alignment
        ("  区 委 办  ", "区委办"),
    ],
)
def test_clean_name_removes_the_print_layout_and_keeps_the_match(printed, stored):
    assert clean_name(printed) == stored
    assert normalize_name(clean_name(printed)) == normalize_name(printed)


@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("市教育局(含市一中、市实验小学)", None),
        ("市教育局（含市一中、市实验小学）", None),
        ("教育局含一中、二中", None),
        ("卫健委、人民医院（含分院、门诊）、中医院", ["卫健委", "人民医院（含分院、门诊）", "中医院"]),
        ("卫健委、人民医院、中医院", ["卫健委", "人民医院", "中医院"]),
    ],
)
def test_separators_inside_brackets_or_after_han_never_split_a_name(name, members):
    assert split_members(name) == members


def _notice(*names):
    return xlsx([["献血时间", "单位", "目标数"], *[["三月", name, 10] for name in names]])


@pytest.mark.django_db
def test_import_stores_clean_names_and_next_years_spelling_matches(jurisdiction):
    plan_import(
        data=_notice("人  武  部", "邮 政", "镇机关\n(含便民中心)", "市教育局(含市一中、市实验小学)"),
        filename="2023.xlsx",
        jurisdiction=jurisdiction,
        year=2023,
    )
    assert sorted(Unit.objects.values_list("name", flat=True)) == sorted(
        ["人武部", "邮政", "镇机关（含便民中心）", "市教育局（含市一中、市实验小学）"]
    )
    report = preview_import(
        data=_notice("人武部", "邮  政", "镇机关(含便民中心)"),
        filename="2024.xlsx",
        jurisdiction=jurisdiction,
        year=2024,
    )
    assert [m.unit_name for p in report.rows for m in p.matches] == ["人武部", "邮政", "镇机关（含便民中心）"]
    assert report.unknown == {}
