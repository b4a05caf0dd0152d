"""The attachment a draft prints: its rows (one per part of each line, in period order), the
document, and the file (.xlsx or .docx) with its name. Shared by recomputing (which checks that
every printed name reads back) and publishing (which imports the file)."""

from __future__ import annotations

from core.xlsx import escape_formula

from ..models import DraftLine, PlanDraft
from . import attachment as sheet
from .periods import ANNUAL_LABEL, periods


def member_headcounts(draft: PlanDraft) -> dict[int, list[int | None]]:
    """Each line's member units' headcounts: one query (prefetching 3,000 lines' units as model
    instances took longer than the whole allocation)."""
    found: dict[int, list[int | None]] = {}
    for line_id, headcount in DraftLine.units.through.objects.filter(draftline__draft=draft).values_list(
        "draftline_id", "unit__headcount"
    ):
        found.setdefault(line_id, []).append(headcount)
    return found


def attachment_rows(
    draft: PlanDraft, lines: list[DraftLine], members: dict[int, int], period_list=None
) -> list[tuple[sheet.Row, DraftLine]]:
    """The attachment's rows: one per part of each line with a number, in period order (全年
    last), then in line order; 序号 counts them. `members`: how many units each line has."""
    period_list = period_list or periods(draft.period_kind, draft.year)
    entries = []
    for line in lines:
        if line.excluded or line.proposal is None:
            continue
        for part_number, (amount, period) in enumerate(line.parts):
            order = period if period is not None else len(period_list)
            entries.append((order, line.position, line.pk, part_number, amount, period, line))
    entries.sort(key=lambda e: e[:4])
    rows = []
    for seq, (*_key, amount, period, line) in enumerate(entries, start=1):
        rows.append(
            (
                sheet.Row(
                    seq=seq,
                    unit=line.label,
                    target=amount,
                    period=period_list[period].label if period is not None else ANNUAL_LABEL,
                    location=line.location or draft.default_location,
                    group=members.get(line.pk, 0) > 1,
                ),
                line,
            )
        )
    return rows


def draft_attachment(draft: PlanDraft) -> sheet.Attachment:
    lines = list(draft.lines.order_by("position", "pk"))
    members = {pk: len(found) for pk, found in member_headcounts(draft).items()}
    return sheet.Attachment(
        label=draft.attachment_label,
        title=draft.title,
        rows=[row for row, _ in attachment_rows(draft, lines, members)],
    )


XLSX, DOCX = "xlsx", "docx"
CONTENT_TYPES = {
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def attachment_filename(draft: PlanDraft, fmt: str) -> str:
    return f"{draft.jurisdiction.name}{draft.year}年任务分解-{draft.attachment_label or '附件'}.{fmt}"


def draft_export(*, draft: PlanDraft, fmt: str) -> tuple[bytes, str]:
    """The attachment file and its name. Text cells of the workbook are escaped against formulas."""
    document = draft_attachment(draft)
    data = sheet.write_xlsx(document, escape=escape_formula) if fmt == XLSX else sheet.write_docx(document)
    return data, attachment_filename(draft, fmt)
