"""Importing a headcount sheet (总人数) for drafting: preview matched to the units, then apply."""

from __future__ import annotations

import hashlib

from core.sandbox import SandboxError, run_bounded
from units.models import Jurisdiction, Unit
from units.selectors import UnitMatcher
from units.services import CHANGE_REASON_HEADCOUNTS, unit_headcounts_set

from ..notice.layouts import Issue
from .headcounts import HeadcountReading, read_headcount_file


class HeadcountPreview:
    """A headcount sheet matched to the jurisdiction's units: what would change, what is unknown."""

    def __init__(self, reading, matches):
        self.reading = reading
        self.rows = matches  # (row, unit or None, suggestions)

    @property
    def errors(self):
        return self.reading.errors

    @property
    def changes(self) -> list[tuple[int, int]]:
        return [(unit.pk, row.headcount) for row, unit, _ in self.rows if unit and unit.headcount != row.headcount]

    @property
    def unknown(self):
        return [(row, suggestions) for row, unit, suggestions in self.rows if unit is None]


def headcounts_preview(*, data: bytes, filename: str, jurisdiction: Jurisdiction) -> HeadcountPreview:
    """Read a headcount sheet and match its names with the notice import's matcher; nothing is written."""
    try:  # read in the bounded child process, like every upload
        reading = run_bounded(read_headcount_file, data, filename)
    except SandboxError as exc:
        reading = HeadcountReading(errors=[Issue("error", str(exc))])
    matcher = UnitMatcher(jurisdiction)
    found = [(row, matcher.match(row.name)) for row in reading.rows]
    units = Unit.objects.in_bulk({m.unit_id for _, m in found if m.unit_id})
    return HeadcountPreview(reading, [(row, units.get(m.unit_id), m.suggestions) for row, m in found])


def headcounts_apply(
    *, changes: list[tuple[int, int]], jurisdiction: Jurisdiction, filename: str, sha256: str, user=None
) -> int:
    """Write the previewed headcounts (only units of the jurisdiction's subtree), each an entry in
    its unit's history naming the sheet."""
    allowed = set(
        Unit.objects.in_subtree(jurisdiction).filter(pk__in=[pk for pk, _ in changes]).values_list("pk", flat=True)
    )
    wanted = [(pk, count) for pk, count in changes if pk in allowed]
    reason = CHANGE_REASON_HEADCOUNTS.format(name=filename, sha=sha256[:12], count=len(wanted))
    return unit_headcounts_set(changes=wanted, reason=reason, user=user)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
