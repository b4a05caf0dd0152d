"""Staff correct a scan's flagged cells in the import preview: each cell's picture beside its
reading, the correction checked and the totals added up again before confirming, the apply all or
nothing, and the import's audit entry naming each correction (what OCR read, what was typed, who)."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from core.models import StagedUpload
from quotas.models import AnnualPlan, PlanSource, Quota
from quotas.notice.reader import ERROR_CORRECTION_CELL, ERROR_CORRECTION_NUMBER, check_correction, read_notice
from tests.factories import UnitFactory

from . import scans

URL = "admin:quotas_annualplan_import"
NAMES = [
    "刘集镇",
    "马集镇",
    "枣林湾旅游度假区管理办公室",
    "青山镇",
    "真州镇",
    "新集镇",
    "新城镇",
    "陈集镇",
    "大仪镇",
    "月塘镇",
]


@pytest.fixture(scope="module")
def scan() -> bytes:
    return scans.misread_scan()


@pytest.fixture(scope="module")
def read(scan):
    """The scan read as it is, and with the misread number corrected (the recognition runs once each)."""
    return {
        "as read": read_notice(scan, "scan.jpg", year=2024),
        "corrected": read_notice(scan, "scan.jpg", year=2024, corrections={scans.MISREAD_REF: scans.MISREAD_TRUE}),
    }


def test_a_number_that_does_not_add_up_flags_every_row_and_its_cells_are_on_the_page(read):
    reading = read["as read"]
    first = reading.rows[0]
    assert (first.unit, first.target) == ("刘集镇", 880)
    assert all([f["kind"] for f in row.flags] == ["total_mismatch"] for row in reading.rows)
    assert first.ocr_cells["target"] == scans.MISREAD_REF
    cell = reading.ocr_cells[scans.MISREAD_REF]
    assert (cell["role"], cell["text"], cell["page"]) == ("target", "880", 1)
    total_ref = first.flags[0]["ref"]
    assert reading.ocr_cells[total_ref]["role"] == "total"  # the printed total can be corrected too


def test_a_correction_is_read_again_and_the_total_agrees(read):
    reading = read["corrected"]
    assert reading.errors == []
    assert (reading.rows[0].unit, reading.rows[0].target) == ("刘集镇", 380)
    assert all(row.flags == [] for row in reading.rows)  # the sum is 3,425 again: no doubt left
    assert not any("各行相加" in w.message for w in reading.warnings)
    assert reading.corrections == [{"ref": scans.MISREAD_REF, "role": "target", "ocr": "880", "typed": "380"}]
    assert "flags" in reading.as_json()["sheets"]["附件1"][0]  # the JSON's schema is unchanged


def test_the_cell_images_are_cut_from_the_page_where_the_cell_stands(scan, read):
    from quotas.notice.ocr import cell_images

    cells = read["as read"].ocr_cells
    number, name = cells[scans.MISREAD_REF], cells["附件1!B4"]
    images = cell_images(scan, [(number["page"], number["box"]), (name["page"], name["box"]), (3, (0, 0, 9, 9))])
    pictures = [Image.open(io.BytesIO(data)) for data in images[:2]]
    assert images[2] == b""  # no such page: no picture, no error
    for picture, cell in zip(pictures, (number, name), strict=True):
        x0, y0, x1, y1 = cell["box"]
        assert picture.format == "PNG" and abs(picture.width - (x1 - x0) - 12) <= 2
        # Ink inside (the number or the name), paper around it: a cell, not a blank patch.
        assert min(picture.getdata()) < 100 and max(picture.getdata()) > 200


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("3８0", ""), ("(380)", ""), ("38.5", "整数"), ("-380", "整数"), ("三百八十", "整数"), ("", "整数")],
)
def test_a_corrected_number_must_be_a_whole_number(typed, problem):
    message = check_correction("附件1!C4", "target", typed)
    assert bool(message) == bool(problem) and problem in message


def test_a_field_left_as_read_is_no_correction():
    from quotas.notice.reader import same_text

    assert same_text("镇机关(含便民中心)", "镇机关\n(含便民中心)")  # a one-line field drops the break
    assert same_text(" 380 ", "380") and not same_text("389", "380")


def test_a_unit_name_may_not_be_emptied():
    assert check_correction("附件1!B4", "unit", " ")
    assert check_correction("附件1!B4", "unit", "刘集镇") == ""
    assert check_correction("附件1!B4", "unit", "甲" * 201)


def test_corrections_only_of_cells_a_scanned_row_was_read_from(scan):
    corrections = {"附件1!A1": "x", scans.MISREAD_REF: "8.8", "附件1!B5": "马集镇"}  # B5 as read
    wrong = read_notice(scan, "scan.jpg", year=2024, corrections=corrections)
    messages = [e.message for e in wrong.errors]
    assert ERROR_CORRECTION_CELL.format(ref="附件1!A1") in messages
    assert ERROR_CORRECTION_NUMBER.format(ref=scans.MISREAD_REF, text="8.8") in messages
    assert len(messages) == 2
    assert wrong.corrections == []
    text = read_notice(
        (scans.NOTICES / "yizheng-2024.xlsx").read_bytes(), "y.xlsx", year=2024, corrections={"附件1!C4": "1"}
    )
    assert [e.message for e in text.errors] == [ERROR_CORRECTION_CELL.format(ref="附件1!C4")]  # not a scan


@pytest.mark.django_db
def test_staff_correct_a_flagged_cell_recheck_and_confirm(staff_client, staff_user, jurisdiction, scan):
    for name in NAMES:
        UnitFactory(name=name, jurisdiction=jurisdiction)
    response = staff_client.post(
        reverse(URL),
        {"jurisdiction": jurisdiction.pk, "year": 2024, "file": SimpleUploadedFile("scan.jpg", scan)},
        follow=True,  # a scan is read in the background (here at once): its progress page, then the preview
    )
    html = response.content.decode()
    token = response.context["token"]
    assert token and response.context["review_count"] == 11  # ten numbers and the 合计
    field = f'name="fix:{scans.MISREAD_REF}" value="880"'
    assert field in html and html.count('name="fix:') == 11
    first = response.context["shown_rows"][0].review_cells
    assert [c["ref"] for c in first] == [scans.MISREAD_REF, "附件1!C14"]
    picture = base64.b64decode(first[0]["image"].removeprefix("data:image/png;base64,"))
    assert Image.open(io.BytesIO(picture)).format == "PNG"
    assert 'src="data:image/png;base64,' in html
    fields = {
        f"fix:{c['ref']}": c["value"] for p in response.context["shown_rows"] for c in getattr(p, "review_cells", [])
    }

    # Typed, then straight to the confirmation: shown re-checked first, nothing applied.
    typed = fields | {f"fix:{scans.MISREAD_REF}": "380"}
    rechecked = staff_client.post(reverse(URL), {"token": token, **typed})
    assert rechecked.status_code == 200 and not AnnualPlan.objects.exists()
    assert rechecked.context["report"].rows[0].row.target == 380
    assert all(not p.row.flags for p in rechecked.context["report"].rows)  # the total agrees again
    assert rechecked.context["corrections"][0]["typed"] == "380"
    assert f'name="fix:{scans.MISREAD_REF}" value="380"' in rechecked.content.decode()
    staged = StagedUpload.objects.get(token=token)
    assert staged.meta["corrections"][scans.MISREAD_REF] == "380" and staged.claimed_at is None

    # Confirmed as shown: applied with the correction, and the audit entry names it.
    fields = {
        f"fix:{c['ref']}": c["value"] for p in rechecked.context["shown_rows"] for c in getattr(p, "review_cells", [])
    }
    applied = staff_client.post(reverse(URL), {"token": token, **fields})
    assert applied.status_code == 302
    plan = AnnualPlan.objects.get()
    assert Quota.objects.get(plan=plan, label="刘集镇").target == 380
    assert sum(plan.quotas.values_list("target", flat=True)) == scans.MISREAD_TOTAL
    entry = plan.history.latest("history_date")
    assert entry.history_user == staff_user
    assert f"{scans.MISREAD_REF} 识别为“880”，改为“380”" in entry.history_change_reason
    assert staff_user.get_username() in entry.history_change_reason
    source = PlanSource.objects.get(plan=plan)
    assert source.summary["corrections"] == [
        {"ref": scans.MISREAD_REF, "ocr": "880", "typed": "380", "by": staff_user.get_username()}
    ]


@pytest.mark.django_db
def test_a_wrong_correction_is_refused_and_nothing_is_applied(staff_client, jurisdiction, scan):
    response = staff_client.post(
        reverse(URL),
        {"jurisdiction": jurisdiction.pk, "year": 2024, "file": SimpleUploadedFile("scan.jpg", scan)},
        follow=True,  # a scan is read in the background (here at once): its progress page, then the preview
    )
    token = response.context["token"]
    wrong = staff_client.post(reverse(URL), {"token": token, "recheck": "1", f"fix:{scans.MISREAD_REF}": "38O"})
    html = wrong.content.decode()
    assert ERROR_CORRECTION_NUMBER.format(ref=scans.MISREAD_REF, text="38O") in html
    assert "确认导入（全部写入）" not in html and 'name="recheck"' in html  # correct it again, or cancel
    forced = staff_client.post(reverse(URL), {"token": token, f"fix:{scans.MISREAD_REF}": "38O"})
    assert forced.status_code == 200 and not AnnualPlan.objects.exists()  # shown again, not applied
    # Even a confirmation posted without the fields applies only what was staged: an error, nothing written.
    staff_client.post(reverse(URL), {"token": token})
    assert not AnnualPlan.objects.exists() and not Quota.objects.exists()
