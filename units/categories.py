"""Guess a new unit's category from its name, for units created by a notice import.

Pure Python; staff correct the guess in the admin. Order matters: "人民医院" is health, not
party/government, though it ends in 院.
"""

from __future__ import annotations

import re

_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("military", ("部队", "武警", "人武部", "军分区", "消防", "救援", "边防", "中队")),
    ("health", ("医院", "卫生", "疾控", "保健", "卫健", "医疗集团", "血站", "诊所", "卫监")),
    (
        "school",
        (
            "学校",
            "中学",
            "小学",
            "学院",
            "大学",
            "幼儿园",
            "中职",
            "技校",
            "职校",
            "一中",
            "二中",
            "三中",
            "四中",
            "五中",
            "六中",
            "七中",
            "八中",
            "九中",
            "十中",
            "一小",
            "二小",
            "三小",
            "四小",
            "五小",
            "六小",
            "七小",
            "八小",
            "九小",
            "如师",
            "教育系统",
        ),
    ),
    ("town", ("镇", "乡", "街道", "园区", "开发区", "度假区", "管委会", "村")),
    (
        "enterprise",
        (
            "公司",
            "集团",
            "银行",
            "中行",
            "建行",
            "工行",
            "农行",
            "农商行",
            "厂",
            "有限",
            "铝业",
            "仓储",
            "保险",
            "商储",
            "书店",
        ),
    ),
    (
        "party_gov",
        (
            "局",
            "委",
            "办",
            "部",
            "院",
            "政府",
            "人大",
            "政协",
            "法院",
            "检察",
            "机关",
            "党校",
            "海关",
            "公安",
            "税务",
            "工会",
            "妇联",
            "团委",
            "团市委",
            "科协",
            "文联",
            "残联",
            "工商联",
            "红十字会",
            "社联",
            "处",
            "署",
        ),
    ),
    ("institution", ("中心", "站", "所", "馆", "社", "会")),
]


_PATTERNS = [
    (category, re.compile(("(?:%s)$" if category == "town" else "%s") % "|".join(map(re.escape, needles))))
    for category, needles in _RULES
]


def guess_category(name: str) -> str:
    """A `Unit.Category` value for a unit name; "other" when nothing fits. Towns by ending only."""
    for category, pattern in _PATTERNS:
        if pattern.search(name):
            return category
    return "other"
