"""A scanned notice is read by OCR in a background task (`quotas.tasks`, django-tasks): the upload
answers at once with a progress page, the task writes each page read on the staged upload, the
uploader alone can read that status, and the preview follows; a reading that fails or runs out of
time says why and keeps nothing. Text files keep the synchronous path."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from core import uploads
from core.models import StagedUpload
from quotas import tasks
from quotas.models import AnnualPlan, Quota
from quotas.notice.ocr import ERROR_OCR_NO_TABLE, scan_pages
from tests.corpus.build import png_declaring
from tests.factories import UnitFactory, UserFactory
from units.models import StaffProfile

from . import scans
from .test_import_ocr_corrections import NAMES

URL = "admin:quotas_annualplan_import"
STATUS = "admin:quotas_annualplan_import_status"
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(scope="module")
def scan() -> bytes:
    return scans.misread_scan()


def blank_pdf(pages: int) -> bytes:
    """A scanner's PDF of blank sheets: pictures, no text, no table."""
    images = [Image.new("L", (1240, 1754), 235) for _ in range(pages)]
    return scans.scanned_pdf(images, dpi=150)


def upload(client, jurisdiction, name: str, data: bytes, **extra):
    return client.post(
        reverse(URL), {"jurisdiction": jurisdiction.pk, "year": 2024, "file": SimpleUploadedFile(name, data)}, **extra
    )


@pytest.fixture
def recorded(monkeypatch):
    """Every progress the task writes on the staged upload, in order."""
    seen = []
    original = uploads.set_progress

    def record(upload, progress):
        seen.append(dict(progress))
        original(upload, progress)

    monkeypatch.setattr(tasks.uploads, "set_progress", record)
    return seen


def test_which_uploads_are_read_by_ocr(scan):
    assert scan_pages(scan, "scan.jpg") == 1
    assert scan_pages(blank_pdf(3), "scan.pdf") == 3
    assert scan_pages((scans.NOTICES / "yizheng-2024.xlsx").read_bytes(), "y.xlsx") == 0
    assert scan_pages(scans.printed("yizheng-2024"), "y.pdf") == 0  # a text PDF
    assert scan_pages(b"%PDF-1.4 broken", "x.pdf") == 0  # the ordinary reading says what is wrong
    buffer = io.BytesIO()
    Image.new("L", (10, 10)).save(buffer, "PNG")
    assert scan_pages(buffer.getvalue(), "photo.png") == 1
    # Refused at once by the reader, in the request: a damaged picture, an image bomb.
    assert scan_pages(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.png") == 0
    assert scan_pages(png_declaring(100_000, 100_000), "bomb.png") == 0


@pytest.mark.django_db
def test_a_text_file_is_still_previewed_in_the_request(staff_client, jurisdiction, recorded):
    response = upload(staff_client, jurisdiction, "y.xlsx", (scans.NOTICES / "yizheng-2024.xlsx").read_bytes())
    assert response.status_code == 200 and response.context["token"]
    assert StagedUpload.objects.get().progress == {} and recorded == []


@pytest.mark.django_db(transaction=True)  # the worker closes its database connection when done
def test_the_upload_answers_at_once_and_a_worker_reads_the_scan(
    staff_client, jurisdiction, settings, scan, recorded, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE_TASKS  # queued in the database: nothing is read in the request
    for name in NAMES:
        UnitFactory(name=name, jurisdiction=jurisdiction)
    response = upload(staff_client, jurisdiction, "scan.jpg", scan)
    staged = StagedUpload.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?reading={staged.token}")
    assert staged.progress == {"state": "queued", "done": 0, "total": 1}
    assert len(recorded) == 1  # queued by the upload, not read
    page = staff_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "js/scan-progress.js" in html and "scan.jpg" in html
    assert reverse(STATUS, args=[staged.token]) in html
    assert staff_client.get(reverse(STATUS, args=[staged.token])).json() == {"state": "queued", "done": 0, "total": 1}

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    # Each page read is written as it is read, then the end.
    assert [(p["state"], p["done"], p["total"]) for p in recorded] == [
        ("queued", 0, 1),
        ("running", 0, 1),
        ("running", 0, 1),
        ("running", 1, 1),
        ("done", 1, 1),
    ]
    assert staff_client.get(reverse(STATUS, args=[staged.token])).json() == {"state": "done", "done": 1, "total": 1}
    preview = staff_client.get(response["Location"])
    assert preview.status_code == 200 and preview.context["token"] == str(staged.token)
    assert preview.context["report"].rows[0].row.target == 880  # as read: flagged for staff
    assert preview.context["review_count"] == 11
    assert not AnnualPlan.objects.exists()
    # Confirmed from the document the worker read: applied, the staged file and its reading gone.
    fields = {
        f"fix:{c['ref']}": c["value"] for p in preview.context["shown_rows"] for c in getattr(p, "review_cells", [])
    }
    with django_capture_on_commit_callbacks(execute=True):
        applied = staff_client.post(reverse(URL), {"token": str(staged.token), **fields})
    assert applied.status_code == 302 and Quota.objects.count() == 10
    assert list(uploads.staging_dir().iterdir()) == []


@pytest.mark.django_db
def test_progress_is_recorded_per_page_and_a_failed_reading_writes_nothing(staff_client, jurisdiction, recorded):
    response = upload(staff_client, jurisdiction, "notice.pdf", blank_pdf(2), follow=True)
    assert [(p["state"], p["done"], p["total"]) for p in recorded] == [
        ("queued", 0, 2),
        ("running", 0, 2),
        ("running", 0, 2),
        ("running", 1, 2),
        ("running", 2, 2),
        ("failed", 2, 2),
    ]
    assert recorded[-1]["error"] == ERROR_OCR_NO_TABLE
    html = response.content.decode()
    assert "没有读出文件“notice.pdf”，未导入任何内容" in html and ERROR_OCR_NO_TABLE in html
    assert response.templates[0].name == "admin/quotas/import_upload.html"  # upload another
    assert not StagedUpload.objects.exists() and list(uploads.staging_dir().iterdir()) == []
    assert not AnnualPlan.objects.exists() and not Quota.objects.exists()


@pytest.mark.django_db
def test_a_reading_out_of_time_says_so_and_writes_nothing(staff_client, jurisdiction, settings, scan):
    settings.UPLOAD_PARSE_CPU_SECONDS = 1  # recognising a page takes several seconds of CPU
    response = upload(staff_client, jurisdiction, "scan.jpg", scan, follow=True)
    html = response.content.decode()
    assert "没有读出文件“scan.jpg”" in html and "读取这个文件的时间超过上限（1 秒）" in html
    assert not StagedUpload.objects.exists() and not AnnualPlan.objects.exists()


@pytest.mark.django_db
def test_only_the_uploader_can_read_the_status(staff_client, jurisdiction, settings, scan, client):
    settings.TASKS = DATABASE_TASKS
    response = upload(staff_client, jurisdiction, "scan.jpg", scan)
    token = StagedUpload.objects.get().token
    status = reverse(STATUS, args=[token])
    assert staff_client.get(status).status_code == 200
    colleague = UserFactory(username="office2", role="献血办")
    StaffProfile.objects.create(user=colleague, jurisdiction=jurisdiction)
    client.force_login(colleague)
    assert client.get(status).status_code == 404  # the same office, not the uploader
    page = client.get(response["Location"], follow=True)
    assert "导入已过期或已完成" in page.content.decode()  # the progress page neither
    client.logout()
    assert client.get(status).status_code == 302  # to the login page
    assert staff_client.get(reverse(STATUS, args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


@pytest.mark.django_db
def test_a_task_that_breaks_does_not_leave_the_page_waiting(staff_client, jurisdiction, scan, monkeypatch):
    def broken(upload, name, content):
        raise OSError("disk full")

    monkeypatch.setattr(tasks.uploads, "save_derived", broken)
    response = upload(staff_client, jurisdiction, "scan.jpg", scan, follow=True)
    assert "没有读出文件“scan.jpg”" in response.content.decode() and "读取这个文件时出错" in response.content.decode()
    assert not StagedUpload.objects.exists() and not AnnualPlan.objects.exists()
