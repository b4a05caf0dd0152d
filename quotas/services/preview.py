"""Notice import, first half: read a notice attachment and compare it with the stored plan.

Nothing here writes. `read_for_import` reads the file (in the upload sandbox) into a `NoticeReading`;
`compare_reading` matches its names and diffs its rows against the plan as stored now, cheaply, so a
reading kept with the staged upload (`quotas.staging`) is compared again at apply without reading the
file a second time; `preview_import` does both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext

from core.sandbox import SandboxError, run_bounded
from units.models import Jurisdiction
from units.naming import normalize_name
from units.selectors import NameMatch, UnitMatcher

from ..models import AnnualPlan, Quota
from ..notice.layouts import FLAG_MESSAGES, FLAG_UNMATCHED, KIND_YEAR, Issue, ParsedRow
from ..notice.reader import NoticeReading, check_notice_text, read_notice
from .plans import plan_is_locked

NEW, CHANGED, UNCHANGED, REMOVED, ERROR = "new", "changed", "unchanged", "removed", "error"
CREATE = "create"
# Decisions for a name allocated to a sub-jurisdiction: create it under the plan's jurisdiction,
# or "sub:<id>" for one of its existing children.
CREATE_SUB_JURISDICTION = "sub:new"
SUB_JURISDICTION_PREFIX = "sub:"
STATUS_LABELS = {NEW: "新增", CHANGED: "修改", UNCHANGED: "不变", REMOVED: "删除", ERROR: "错误"}

ERROR_OUTSIDE_YEAR = "{ref}：时间“{text}”不在计划年度 {year} 年内。"
ERROR_PLAN_CLOSED = "{year} 年度计划已结束，不能再导入。"
WARN_FILENAME_YEAR = "文件名“{name}”写的是 {found} 年，而导入的年度是 {year} 年：请确认年度，否则所有日期都会错一年。"
_FILENAME_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
ERROR_BAD_DECISION = "“{name}”的处理方式无效：请选择新建单位、已有单位或下级行政区划。"


@dataclass
class RowPreview:
    """A parsed row as it will be stored, with its match decisions and diff status."""

    row: ParsedRow
    matches: list[NameMatch]
    status: str
    existing_id: int | None = None
    changes: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def status_label(self) -> str:
        return gettext(STATUS_LABELS[self.status])  # the preview's words, translated there too


@dataclass
class ImportReport:
    reading: NoticeReading
    rows: list[RowPreview]
    removed: list[Quota]
    plan: AnnualPlan | None
    applied: bool = False
    created_units: int = 0
    created_aliases: int = 0
    created_jurisdictions: int = 0
    # The importing jurisdiction's children (id, name): what an unknown name may be mapped to.
    children: list[tuple[int, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return self.reading.errors

    @property
    def warnings(self) -> list[Issue]:
        return self.reading.warnings

    @property
    def year_warnings(self) -> list[Issue]:
        """A year in the file's title or name that is not the import's year."""
        return [w for w in self.warnings if w.kind == KIND_YEAR]

    @property
    def unknown(self) -> dict[str, NameMatch]:
        """Each printed name that matched nothing, once, in file order."""
        names: dict[str, NameMatch] = {}
        for preview in self.rows:
            for match in preview.matches:
                if not match.matched:
                    names.setdefault(match.key, match)
        return names

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for preview in self.rows:
            counts[preview.status] += 1
        counts[REMOVED] = len(self.removed)
        return dict(counts)

    def as_json(self) -> dict:
        document = self.reading.as_json()
        document["summary"] = {
            "rows": len(self.rows),
            **self.counts(),
            "unknown_units": len(self.unknown),
            "applied": self.applied,
        }
        return document


def _quota_key(label: str, start: dt.date | None, end: dt.date | None) -> tuple:
    return (normalize_name(label), start, end)


def _diff(row: ParsedRow, quota: Quota) -> list[str]:
    pairs = [
        ("任务数", quota.target, row.target),
        ("时间", quota.period_text, row.period_label or ""),
        ("地点", quota.location, row.location or ""),
        ("总人数", quota.headcount, row.headcount),
        ("指导性", quota.advisory, row.advisory),
        ("序号", quota.seq, row.seq),
    ]
    return [f"{name}：{old} → {new}" for name, old, new in pairs if old != new]


_LIMITS = [("unit", 500, "单位名称"), ("period_label", 100, "时间"), ("location", 200, "地点")]
ERROR_TOO_LONG = "{ref}：{what}超过 {limit} 个字符。"


def _too_long(row: ParsedRow) -> str:
    """What the database could not store, said before anything is written."""
    for attr, limit, what in _LIMITS:
        if len(getattr(row, attr) or "") > limit:
            return ERROR_TOO_LONG.format(ref=row.cell, what=what, limit=limit)
    if any(len(name) > 200 for name in row.members or [row.unit]):
        return ERROR_TOO_LONG.format(ref=row.cell, what="单位名称", limit=200)
    return ""


def _names_of(row: ParsedRow) -> list[str]:
    return row.members or [row.unit]


def read_for_import(
    *,
    data: bytes,
    filename: str,
    jurisdiction: Jurisdiction | None,
    year: int,
    notice_text: str = "",
    corrections: dict[str, str] | None = None,
    document=None,
) -> NoticeReading:
    """The file read for an import: its rows, warnings and errors, with the notice text's facts
    and a year in the file name that is not the import's. Nothing in it depends on what the
    database holds, so it may be kept with the staged upload and compared again at apply.

    The file is read in a bounded child process (`core.sandbox`). `corrections` (address → text)
    are staff's corrections of cells read from a scan (`read_notice`); `document` is a scan
    already read by OCR (`quotas.tasks`), so it is not read again.
    """
    reading = read_notice_bounded(
        data,
        filename,
        year=year,
        jurisdiction=jurisdiction.full_name if jurisdiction else "",
        corrections=corrections,
        document=document,
    )
    if notice_text:
        check_notice_text(reading, notice_text, override=True)
    found = {int(y) for y in _FILENAME_YEAR.findall(filename)}
    if found and year not in found:
        message = WARN_FILENAME_YEAR.format(name=filename, found="、".join(map(str, sorted(found))), year=year)
        reading.warnings.insert(0, Issue("warning", message, "", filename, kind=KIND_YEAR))
    return reading


def preview_import(
    *,
    data: bytes,
    filename: str,
    jurisdiction: Jurisdiction | None,
    year: int,
    plan: AnnualPlan | None = None,
    notice_text: str = "",
    suggest: bool = True,
    corrections: dict[str, str] | None = None,
    document=None,
    reading: NoticeReading | None = None,
) -> ImportReport:
    """Read a file and compare it with what is stored: nothing is written.

    `reading` is the file as `read_for_import` read it before (kept with the staged upload):
    then the file is not read again, only compared. `suggest=False` leaves out the ranked
    suggestions for unknown names: applying needs only the exact matches, and the staff
    member's choices among the suggestions come with the confirmation.
    """
    if reading is None:
        reading = read_for_import(
            data=data,
            filename=filename,
            jurisdiction=jurisdiction,
            year=year,
            notice_text=notice_text,
            corrections=corrections,
            document=document,
        )
    return compare_reading(reading, jurisdiction=jurisdiction, year=year, plan=plan, suggest=suggest)


def compare_reading(
    reading: NoticeReading,
    *,
    jurisdiction: Jurisdiction | None,
    year: int,
    plan: AnnualPlan | None = None,
    suggest: bool = True,
) -> ImportReport:
    """A reading against the plan and the units as stored now: each name matched, each row new,
    changed or unchanged, the plan's quotas the file no longer has; a closed plan, a value too long
    to store and a period outside the year are errors. Adds those errors (and, for a scan, the
    flags of names matching no unit) to `reading`."""
    if plan is None and jurisdiction is not None and jurisdiction.pk:
        plan = AnnualPlan.objects.filter(jurisdiction=jurisdiction, year=year).first()
    if plan is not None and plan_is_locked(plan):
        reading.errors.append(Issue("error", ERROR_PLAN_CLOSED.format(year=year)))
    matcher = UnitMatcher(jurisdiction)
    existing: dict[tuple, list[Quota]] = defaultdict(list)
    if plan is not None and plan.pk:
        for quota in plan.quotas.order_by("position", "pk"):
            existing[_quota_key(quota.label, quota.period_start, quota.period_end)].append(quota)
    previews = []
    for row in reading.rows:
        matches = [matcher.match(name, suggest=suggest) for name in _names_of(row)]
        if row.flags is not None:  # read from a scan: a name matching nothing may be misread
            for match in matches:
                if not match.matched:
                    message = FLAG_MESSAGES[FLAG_UNMATCHED].format(name=match.printed)
                    row.flag(FLAG_UNMATCHED, row.cell, match.printed, message)
        preview = RowPreview(row=row, matches=matches, status=NEW)
        too_long = _too_long(row)
        if too_long:
            preview.status = ERROR
            preview.message = too_long
            reading.errors.append(Issue("error", too_long, row.cell, row.unit[:80]))
        elif row.start and (row.start.year != year or row.end.year != year):
            preview.status = ERROR
            ref = row.period_cell or row.cell
            preview.message = ERROR_OUTSIDE_YEAR.format(ref=ref, text=row.period_label, year=year)
            reading.errors.append(Issue("error", preview.message, ref, row.period_label or ""))
        else:
            candidates = existing.get(_quota_key(row.unit, row.start, row.end))
            if candidates:
                quota = candidates.pop(0)
                preview.existing_id = quota.pk
                preview.changes = _diff(row, quota)
                preview.status = CHANGED if preview.changes else UNCHANGED
        previews.append(preview)
    removed = [q for quotas in existing.values() for q in quotas]
    report = ImportReport(reading=reading, rows=previews, removed=removed, plan=plan)
    report.children = sorted(matcher.child_names.items(), key=lambda item: item[1])
    return report


def read_notice_bounded(
    data: bytes,
    filename: str,
    *,
    year: int,
    jurisdiction: str = "",
    corrections: dict[str, str] | None = None,
    document=None,
) -> NoticeReading:
    """`read_notice` in a child process with the upload limits; a refused child is a file error."""
    try:
        return run_bounded(
            read_notice,
            data,
            filename,
            year=year,
            jurisdiction=jurisdiction,
            corrections=corrections or None,
            document=document,
        )
    except SandboxError as exc:
        reading = NoticeReading(year=year, jurisdiction=jurisdiction)
        reading.errors.append(Issue("error", str(exc)))
        return reading


def scan_pages_bounded(data: bytes, filename: str) -> int:
    """How many pages OCR would read (`ocr.scan_pages`), in the upload sandbox; 0 if that
    fails (the ordinary reading then says what is wrong with the file)."""
    from ..notice.ocr import scan_pages

    try:
        return run_bounded(scan_pages, data, filename)
    except SandboxError:
        return 0


def cell_images_bounded(data: bytes, cells: list[tuple[int, tuple]]) -> list[bytes]:
    """Pictures of scanned cells (`ocr.cell_images`) in the upload sandbox; none if it fails
    (the preview then shows the readings without their pictures)."""
    if not cells:
        return []
    from ..notice.ocr import cell_images

    try:
        return run_bounded(cell_images, data, cells)
    except SandboxError:
        return [b""] * len(cells)
