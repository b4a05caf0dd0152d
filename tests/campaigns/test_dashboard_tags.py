"""The dashboard's table rows built in Python equal the template loops they replaced."""
# ruff: noqa: E501 -- the reference templates are kept verbatim, as they were in the page

from __future__ import annotations

import re

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.utils import translation

from campaigns.templatetags.dashboard_tags import _counts, quota_list_rows, unit_rows

# The template loops as they were in templates/campaigns/dashboard.html and _quota_list.html
# (the unit rows with the 血站核实 column added since).
OLD_UNIT_ROWS = """{% load i18n humanize dashboard_tags %}
  {% for u in units %}
    <tr class="status-{{ u.status }}{% if u.advisory %} advisory{% endif %}">
      <td>{{ u.seq|default_if_none:"" }}</td>
      <td>{{ u.label }}{% if u.group %} <span class="tag" title="{{ u.members|join:'、' }}">{% translate "合并任务" %}</span>{% endif %}{% if u.advisory %} <span class="tag">{% translate "指导性，不计入合计" %}</span>{% endif %}</td>
      <td>{{ u.category_label }}</td><td>{{ u.period_text|default:_("全年") }}</td>
      <td class="num">{% if u.advisory %}（{{ u.target }}）{% else %}{{ u.target|intcomma }}{% endif %}</td><td class="num">{{ u.completed|intcomma }}</td>
      <td class="num verified">{% verified_text u %}</td><td class="num">{{ u.rate|percent }}</td><td class="num">{{ u.shortfall|intcomma }}</td>
      <td class="num">{{ u.on_time|intcomma }}</td><td class="num">{{ u.blood_units|blood }}</td><td class="date">{{ u.due }}</td>
      <td><span class="badge">{{ u.status_label }}</span></td>
    </tr>
  {% empty %}<tr><td colspan="13">{% translate "没有符合条件的单位。" %}</td></tr>
  {% endfor %}"""
OLD_LIST_ROWS = """{% load i18n humanize %}{% for u in rows %}
    <tr class="status-{{ u.status }}"><td>{{ u.label }}<br><span class="muted">{{ u.jurisdiction }}</span></td><td class="num">{{ u.target|intcomma }}</td><td class="num">{{ u.completed|intcomma }}</td><td class="num">{{ u.shortfall|intcomma }}</td><td class="date">{{ u.due }}</td></tr>
  {% empty %}<tr><td colspan="5" class="muted">{{ empty }}</td></tr>{% endfor %}"""


def _unit(**fields) -> dict:
    return {
        "status": "behind",
        "advisory": False,
        "seq": 3,
        "label": "仪化公司",
        "group": False,
        "members": [],
        "category_label": "企业",
        "period_text": "6月",
        "target": 12345,
        "completed": 6789,
        "verified": 6500,
        "verified_share": 0.9574,
        "rate": 0.5499,
        "shortfall": 5556,
        "on_time": 4321,
        "blood_units": 11234.5,
        "due": "2026-06-30",
        "status_label": "进度落后",
        "jurisdiction": "仪征市",
    } | fields


UNITS = [
    _unit(),
    _unit(seq=None, period_text="", advisory=True, status="done", target=1500, rate=1.0, shortfall=0),
    _unit(group=True, members=["市<建设>银行", "工商银行 & 分行", '"引号"'], label="<b>合并</b>", seq=0),
    _unit(category_label="", completed=0, rate=0.0, target=0, shortfall=0, status_label="未开始"),
    {"label": "旧通报里缺字段的一行", "target": 5},  # a bulletin frozen by an older version
]


def _squash(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_unit_rows_equal_the_template_loop(language):
    with translation.override(language):
        for units in (UNITS, []):
            old = Template(OLD_UNIT_ROWS).render(Context({"units": units}))
            assert _squash(str(unit_rows(units))) == _squash(old)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_list_rows_equal_the_template_loop(language):
    with translation.override(language):
        for rows in (UNITS, []):
            old = Template(OLD_LIST_ROWS).render(Context({"rows": rows, "empty": "没有<逾期>单位。"}))
            assert _squash(str(quota_list_rows(rows, "没有<逾期>单位。"))) == _squash(old)


@pytest.mark.parametrize("language", ["zh-hans", "en", "de", "fr", "hi"])
def test_counts_equal_intcomma(language):
    numbers = [0, 7, -7, 999, 1000, -1000, 12345, 999999, 1234567, -98765432, 10**12]
    with translation.override(language):
        count = _counts()
        for value in [*numbers, None, "", "12", 3.5]:
            assert count(value) == intcomma(value), value
