"""Background tasks (django-tasks, queued in the database, run by `manage.py db_worker`).

`read_scan_task` reads a staged scanned notice by OCR — seconds a page — outside the web request:
in the same bounded child process as every upload (`core.sandbox`), writing each page read on
the staged upload's `progress`, then the document as read beside the staged file (encrypted,
`uploads.save_derived`) or the error for staff. The upload page polls the progress
(`views.import_status_view`) and shows the usual preview when it is done.
"""

from __future__ import annotations

import logging
import pickle

from django_tasks import task

from core import uploads
from core.models import StagedUpload
from core.sandbox import ERROR_CRASHED, SandboxError, run_bounded

from .notice.reader import read_scan

logger = logging.getLogger(__name__)

SCAN_DOCUMENT = "ocr"  # the name of the document kept beside the staged file

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@task()
def read_scan_task(token: str) -> str:
    """Read a staged scan by OCR; returns the state it ends in (for the task's own record)."""
    upload = StagedUpload.objects.filter(token=token, claimed_at__isnull=True).first()
    if upload is None or upload.progress.get("state") != QUEUED:
        return "gone"  # purged, applied, or already read by another run of the task
    try:
        data = uploads.peek(kind=upload.kind, token=token, owner=upload.owner).data
    except (uploads.NotStaged, uploads.AlreadyApplied):
        return "gone"
    total = upload.progress.get("total", 0)
    uploads.set_progress(upload, {"state": RUNNING, "done": 0, "total": total})

    def on_progress(done: int, pages: int) -> None:
        uploads.set_progress(upload, {"state": RUNNING, "done": done, "total": pages})

    try:
        document, error = run_bounded(read_scan, data, upload.filename, on_progress=on_progress)
        if document is not None:
            # Pickled, then encrypted and authenticated with the portal's key (core.crypto): only
            # the portal can write what it later unpickles.
            uploads.save_derived(upload, SCAN_DOCUMENT, pickle.dumps(document))
    except SandboxError as exc:
        document, error = None, str(exc)
    except Exception:
        # Anything else (the disk, the database): the page must not wait for ever.
        logger.exception("reading staged scan %s failed", token)
        uploads.set_progress(upload, upload.progress | {"state": FAILED, "error": str(ERROR_CRASHED)})
        raise
    if document is None:
        uploads.set_progress(upload, upload.progress | {"state": FAILED, "error": error})
        return FAILED
    pages = upload.progress.get("total", total)
    uploads.set_progress(upload, {"state": DONE, "done": pages, "total": pages})
    return DONE


def scan_document(upload: StagedUpload):
    """The document `read_scan_task` read for this upload, or None."""
    content = uploads.load_derived(upload, SCAN_DOCUMENT)
    return pickle.loads(content) if content is not None else None  # noqa: S301 - see above
