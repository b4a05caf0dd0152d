"""The scanned cells staff review in a notice's preview: which cells a row's flags put in doubt,
and each with its picture cut from the upload, what OCR read and the value to correct."""

from __future__ import annotations

import base64

from django.utils.translation import gettext as _

from .notice.layouts import FLAG_OCR_CONFIDENCE, FLAG_SEQ, FLAG_TOTAL, FLAG_UNMATCHED
from .notice.ocr import MAX_CELL_IMAGES
from .notice.reader import same_text
from .services import cell_images_bounded

ROLE_LABELS = {
    "unit": "单位",
    "compound": "单位及任务数",
    "target": "任务数",
    "period": "时间",
    "seq": "序号",
    "headcount": "总人数",
    "location": "地点",
    "total": "合计",
}


def cells_in_doubt(preview) -> list[str]:
    """The addresses of a scanned row's cells its flags put in doubt: a doubtful cell itself,
    the number (and the printed total) of a sum that does not add up, the 序号 out of sequence,
    the name matching no unit."""
    row = preview.row
    cells = row.ocr_cells or {}
    name = cells.get("compound") or cells.get("unit")
    refs = []
    for flag in row.flags or []:
        if flag["kind"] == FLAG_OCR_CONFIDENCE:
            refs.append(flag["ref"])
        elif flag["kind"] == FLAG_TOTAL:
            refs += [cells.get("target") or name, flag["ref"]]
        elif flag["kind"] == FLAG_SEQ:
            refs.append(cells.get("seq"))
        elif flag["kind"] == FLAG_UNMATCHED:
            refs.append(name)
    return [r for r in dict.fromkeys(refs) if r]


def attach_review_cells(report, shown_rows, data: bytes, typed: dict[str, str] | None = None) -> dict[str, str]:
    """Give each shown row of a scan the cells to review (`review_cells`): the cells its flags
    doubt and the cells already corrected, each with its picture cut from the upload (a data:
    URI, never stored), what OCR read and the field's value. A cell shared by several rows (a
    merged period, a 合计) has its field at its first row. Returns the fields as shown."""
    reading = report.reading
    if not reading.ocr_cells:
        return {}
    original = {c["ref"]: c["ocr"] for c in reading.corrections}
    typed = typed or {}
    seen: set[str] = set()
    per_row = []
    for preview in shown_rows:
        if getattr(preview, "issue", None) is not None:
            continue
        refs = cells_in_doubt(preview)
        refs = [r for r in refs if r in reading.ocr_cells]
        # Cells corrected, or typed over and refused (to be typed again), stay on view.
        refs += [
            r
            for r in (preview.row.ocr_cells or {}).values()
            if r in reading.ocr_cells
            and r not in refs
            and (r in original or (r in typed and not same_text(typed[r], reading.ocr_cells[r]["text"])))
        ]
        if refs:
            per_row.append((preview, refs))
    first_refs = list(dict.fromkeys(r for _, refs in per_row for r in refs))
    boxes = [(reading.ocr_cells[r]["page"], reading.ocr_cells[r]["box"]) for r in first_refs[:MAX_CELL_IMAGES]]
    images = dict(zip(first_refs, cell_images_bounded(data, boxes), strict=False))
    shown: dict[str, str] = {}
    for preview, refs in per_row:
        cells = []
        for ref in refs:
            cell = reading.ocr_cells[ref]
            ocr = original.get(ref, cell["text"])
            value = typed.get(ref, cell["text"])
            first = ref not in seen
            seen.add(ref)
            if first:
                shown[ref] = value
            image = images.get(ref) or b""
            cells.append(
                {
                    "ref": ref,
                    "role": _(ROLE_LABELS.get(cell["role"], cell["role"])),
                    "ocr": ocr,
                    "value": value,
                    "corrected": ref in original,
                    "first": first,
                    "image": "data:image/png;base64," + base64.b64encode(image).decode() if image else "",
                }
            )
        preview.review_cells = cells
    return shown
