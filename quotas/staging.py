"""The preview's reading of a notice, kept beside its staged upload so the apply never reads the
file again.

A reading (`services.read_for_import`) depends only on the file, the year, the jurisdiction's name,
the notice text and staff's corrections of a scan; the first four are fixed for a staged upload,
so it is kept with the corrections it was read with, and used at apply only when those are still
the corrections to apply. What depends on the database (names matched, the diff against the plan,
a plan closed meanwhile) is never kept: the apply compares the kept reading with the plan and
units as they are then (`services.compare_reading`, a fraction of a second for 20,000 rows).

The reading is pickled, then encrypted and authenticated with the portal's key like the file
(`core.uploads.save_derived`): only the portal can write what it later unpickles. A kept reading
that cannot be loaded (purged, a key or code change between preview and apply) is not an error:
the apply reads the file, as it did before readings were kept.
"""

from __future__ import annotations

import logging
import pickle

from core import uploads
from core.models import StagedUpload

from .notice.reader import NoticeReading

logger = logging.getLogger(__name__)

READING = "reading"  # the name of the reading kept beside the staged file


def freeze(reading: NoticeReading, corrections: dict[str, str] | None) -> bytes:
    """The reading as read, before the comparison adds to it, with the corrections read in."""
    return pickle.dumps({"corrections": corrections or {}, "reading": reading}, protocol=pickle.HIGHEST_PROTOCOL)


def keep(upload: StagedUpload, frozen: bytes) -> None:
    """Keep a frozen reading beside the staged file (deleted with it when applied or purged)."""
    uploads.save_derived(upload, READING, frozen)


def kept_reading(upload: StagedUpload, *, corrections: dict[str, str] | None) -> NoticeReading | None:
    """The reading kept for this upload if it was read with these corrections, else None."""
    content = uploads.load_derived(upload, READING)
    if content is None:
        return None
    try:
        kept = pickle.loads(content)  # noqa: S301 - written and authenticated by the portal (see above)
    except Exception:  # noqa: BLE001 - e.g. the reader's classes changed between preview and apply
        logger.warning("kept reading of %s unreadable: the file is read again", upload.token)
        return None
    if kept.get("corrections") != (corrections or {}):
        return None
    return kept["reading"]
