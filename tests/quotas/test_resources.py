"""The canonical flat format: export → import round-trips exactly; formulas are escaped."""

from __future__ import annotations

import pytest
import tablib

from core.xlsx import escape_formula, unescape_formula
from quotas.models import Quota
from quotas.resources import QuotaResource
from tests.factories import QuotaFactory
from tests.quotas.workbooks import xlsx

pytestmark = pytest.mark.django_db

FIELDS = ["id", "plan", "unit", "target", "period_text", "start", "end", "location", "headcount", "advisory", "seq"]


def snapshot():
    return sorted(
        (
            q.label,
            q.target,
            q.period_text,
            q.period_start,
            q.period_end,
            q.location,
            q.headcount,
            q.advisory,
            q.seq,
            tuple(sorted(u.pk for u in q.units.all())),
        )
        for q in Quota.objects.prefetch_related("units")
    )


def test_export_then_import_round_trips_exactly(plan, unit_a, unit_b):
    QuotaFactory(plan=plan, label="仪化公司", target=150, location="=HYPERLINK(1)", units=[unit_a], seq=3)
    QuotaFactory(
        plan=plan,
        label="仪化公司、教育局",
        target=20,
        advisory=True,
        units=[unit_a, unit_b],
        period_text="",
        period_start=None,
        period_end=None,
        headcount=300,
    )
    before = snapshot()
    dataset = QuotaResource().export()
    assert dataset.headers == FIELDS
    assert "'=HYPERLINK" in dataset.csv  # a spreadsheet will not run it
    Quota.objects.all().delete()
    for row in dataset.dict:
        row["id"] = ""
    fresh = tablib.Dataset(headers=FIELDS)
    for row in dataset.dict:
        fresh.append([row[h] for h in FIELDS])
    result = QuotaResource().import_data(tablib.Dataset().load(fresh.csv, format="csv"), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert snapshot() == before


def test_reimport_of_an_edited_export_updates_by_id(plan, unit_a):
    quota = QuotaFactory(plan=plan, label="仪化公司", target=150, units=[unit_a])
    dataset = QuotaResource().export()
    rows = dataset.dict
    rows[0]["target"] = 160
    edited = tablib.Dataset(headers=FIELDS)
    edited.append([rows[0][h] for h in FIELDS])
    result = QuotaResource().import_data(edited, dry_run=False)
    assert not result.has_errors()
    quota.refresh_from_db()
    assert quota.target == 160 and Quota.objects.count() == 1


def test_unknown_unit_is_a_row_error_and_writes_nothing(plan):
    data = tablib.Dataset(headers=FIELDS)
    data.append(["", plan.pk, "不存在的单位", 5, "3月", "2026-03-01", "2026-03-31", "", "", "0", ""])
    result = QuotaResource().import_data(data, dry_run=False, raise_errors=False)
    assert result.has_errors() and Quota.objects.count() == 0


def test_period_outside_plan_year_is_refused(plan, unit_a):
    data = tablib.Dataset(headers=FIELDS)
    data.append(["", plan.pk, "仪化公司", 5, "3月", "2025-03-01", "2025-03-31", "", "", "0", ""])
    result = QuotaResource().import_data(data, dry_run=False, raise_errors=False)
    assert (result.has_errors() or result.has_validation_errors()) and Quota.objects.count() == 0


@pytest.mark.parametrize("text", ["=1+1", "+86", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_escape_round_trip(text):
    assert escape_formula(text).startswith("'")
    assert unescape_formula(escape_formula(text)) == text


def test_plain_text_is_left_alone():
    assert escape_formula("仪化公司") == "仪化公司" and unescape_formula("'仪化") == "'仪化"


def test_view_only_user_cannot_import_quotas(leader_client, staff_client):
    assert leader_client.get("/admin/quotas/quota/import/").status_code == 403
    assert staff_client.get("/admin/quotas/quota/import/").status_code == 200
    assert leader_client.get("/admin/quotas/quota/export/").status_code == 200


def test_the_flat_import_reads_files_in_the_bounded_child(monkeypatch):
    import quotas.formats

    seen = []
    original = quotas.formats.run_bounded
    monkeypatch.setattr(
        quotas.formats, "run_bounded", lambda func, *a, **k: seen.append(a[1]) or original(func, *a, **k)
    )
    xlsx_format = next(f for f in quotas.formats.IMPORT_FORMATS if f.__name__ == "BoundedXLSX")
    dataset = xlsx_format().create_dataset(xlsx([["id", "unit"], [1, "仪化公司"]]))
    assert seen == ["XLSX"] and dataset.headers == ["id", "unit"] and dataset[0] == (1, "仪化公司")


def test_the_admin_flat_import_previews_a_csv_read_in_the_child(staff_client, plan, unit_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    quota = QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)
    data = QuotaResource().export(queryset=Quota.objects.filter(pk=quota.pk)).csv.replace(",5,", ",9,")
    response = staff_client.post(
        "/admin/quotas/quota/import/",
        {"format": "0", "import_file": SimpleUploadedFile("quotas.csv", data.encode("utf-8"))},
    )
    assert response.status_code == 200 and not response.context["result"].has_errors()
    assert [row.import_type for row in response.context["result"].rows] == ["update"]
