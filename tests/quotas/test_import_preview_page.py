"""The import preview puts the decisions first: the wrong row in the table, a loud year warning,
one control only where there is a real choice."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from quotas.models import AnnualPlan
from tests.factories import UnitFactory
from units.naming import normalize_name

from .workbooks import xlsx

pytestmark = pytest.mark.django_db
URL = "admin:quotas_annualplan_import"


def _preview(client, jurisdiction, rows, *, year=2013, filename="notice.xlsx"):
    return client.post(
        reverse(URL),
        {"jurisdiction": jurisdiction.pk, "year": year, "file": SimpleUploadedFile(filename, xlsx(rows))},
    )


def test_the_row_with_an_error_is_in_the_table_where_it_stands(staff_client, jurisdiction):
    response = _preview(
        staff_client,
        jurisdiction,
        [["单位", "任务数", "献血时间"], ["教育局", 10, "3月"], ["水利局", "十几", "3月"], ["司法局", 5, "4月"]],
    )
    html = response.content.decode()
    assert response.context["token"] is None  # an error: nothing can be applied
    shown = response.context["shown_rows"]
    assert [getattr(item, "cell", None) or item.row.cell for item in shown] == ["附件!A2", "附件!B3", "附件!A4"]
    assert shown[1].issue.unit == "水利局"
    table = html[html.index('class="preview"') :]
    assert table.index("教育局") < table.index('<tr class="row-error">') < table.index("司法局")


def test_a_year_in_the_title_that_differs_warns_and_must_be_confirmed(staff_client, jurisdiction):
    rows = [["2012年无偿献血任务分配表"], ["单位", "任务数", "献血时间"], ["教育局", 10, "3月"]]
    response = _preview(staff_client, jurisdiction, rows, year=2013)
    html = response.content.decode()
    assert 'id="year-warning"' in html and "2012" in html and 'name="confirm_year"' in html
    token = response.context["token"]
    refused = staff_client.post(reverse(URL), {"token": token, "year_conflict": "1"})
    assert refused.status_code == 302 and not AnnualPlan.objects.exists()
    applied = staff_client.post(reverse(URL), {"token": token, "year_conflict": "1", "confirm_year": "1"})
    assert applied.status_code == 302 and AnnualPlan.objects.get().year == 2013


def test_the_year_in_the_file_name_warns_too_and_a_matching_year_is_quiet(staff_client, jurisdiction):
    rows = [["单位", "任务数"], ["教育局", 10]]
    assert 'id="year-warning"' in _preview(staff_client, jurisdiction, rows, filename="仪征-2012.xlsx").content.decode()
    quiet = _preview(staff_client, jurisdiction, [["2013年任务（2012年12月20日印发）"], *rows], filename="n-2013.xlsx")
    assert 'id="year-warning"' not in quiet.content.decode()


def test_only_names_with_a_real_choice_get_a_control(staff_client, jurisdiction):
    UnitFactory(name="市建设银行", jurisdiction=jurisdiction)
    names = [f"新单位{i}号" for i in range(83)]
    rows = [["单位", "任务数"], *[[name, 5] for name in names], ["建设银行", 8], ["人  武  部", 3]]
    response = _preview(staff_client, jurisdiction, rows)
    html = response.content.decode()
    assert html.count("<select") == 1  # 建设银行 ~ 市建设银行; the 84 others have nothing to choose
    assert f'name="decision:{normalize_name("建设银行")}"' in html
    assert "84 个名称没有相近的已有单位" in html
    assert "人武部" in html and "“人  武  部”" in html  # stored clean, the print shown beside it
