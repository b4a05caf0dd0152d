"""Reads: the reconciliation of reported donations with the station's records, per unit.

What units reported but the station has not seen (未见采血记录) is derived here, never stored:
a donation of a unit of the export's jurisdiction subtree, not rejected, on a day an export of
that jurisdiction (or one above it) covers, with no collection record linked to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from campaigns.models import Donation
from units.models import Jurisdiction, StaffProfile, Unit

from .models import CollectionRecord, StationExport


def staff_jurisdiction(user) -> Jurisdiction | None:
    """The jurisdiction a staff member reconciles for; None (nothing at all) without a profile."""
    profile = StaffProfile.objects.filter(user_id=user.pk).select_related("jurisdiction").first()
    return profile.jurisdiction if profile else None


def coverage(root: Jurisdiction, year: int) -> Q:
    """Donations on a day an export covers for their unit: one OR term per jurisdiction and range.

    Exports are monthly or on request, so a year has a few dozen; overlapping and adjacent
    ranges of the same jurisdiction are merged first. An export of an ancestor covers the subtree.
    """
    ranges: dict[str, list[list]] = {}
    ancestors = [p for p in root.path.split("/") if p]
    for path, first, last in (
        StationExport.objects.filter(Q(jurisdiction__path__startswith=root.path) | Q(jurisdiction_id__in=ancestors))
        .filter(first_day__year__lte=year, last_day__year__gte=year)
        .order_by("jurisdiction__path", "first_day")
        .values_list("jurisdiction__path", "first_day", "last_day")
    ):
        merged = ranges.setdefault(path, [])
        if merged and first.toordinal() <= merged[-1][1].toordinal() + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    condition = Q(pk__isnull=True)  # nothing covered: always false
    for path, spans in ranges.items():
        for first, last in spans:
            condition |= Q(unit__jurisdiction__path__startswith=path, donated_on__range=(first, last))
    return condition


def reported_unseen(root: Jurisdiction, year: int):
    """The donations reported in the subtree that no station record confirms, on covered days."""
    return (
        Donation.objects.filter(unit__jurisdiction__path__startswith=root.path, donated_on__year=year)
        .exclude(status=Donation.Status.REJECTED)
        .filter(collection_record__isnull=True)
        .filter(coverage(root, year))
    )


def verified_counts(unit_ids, year: int) -> dict[int, int]:
    """{unit id: donations of that year confirmed by a station record} for the dashboard."""
    return dict(
        Donation.objects.filter(unit_id__in=list(unit_ids), donated_on__year=year, collection_record__isnull=False)
        .exclude(status=Donation.Status.REJECTED)
        .order_by()
        .values("unit_id")
        .annotate(n=Count("id"))
        .values_list("unit_id", "n")
    )


@dataclass
class UnitLine:
    unit: Unit
    reported: int = 0
    verified: int = 0
    volume_differs: int = 0
    unseen: int = 0
    station_only: int = 0

    @property
    def verified_share(self) -> float | None:
        """Reported donations the station's records confirm, as a share (None: nothing reported)."""
        return self.verified / self.reported if self.reported else None


@dataclass
class Reconciliation:
    jurisdiction: Jurisdiction
    year: int
    lines: list[UnitLine]
    unattributed: int
    exports: list[StationExport]

    @property
    def totals(self) -> dict:
        fields = ("reported", "verified", "volume_differs", "unseen", "station_only")
        sums = {f: sum(getattr(line, f) for line in self.lines) for f in fields}
        return sums | {"verified_share": sums["verified"] / sums["reported"] if sums["reported"] else None}


def reconciliation(root: Jurisdiction, year: int) -> Reconciliation:
    """Per unit of the subtree: reported, verified, volume differs, reported-but-unseen, station-only.

    Five queries whatever the number of units: the exports (coverage), the donations grouped by
    unit with conditional counts, the station-only records grouped by unit, the unattributed
    count, and the units named.
    """
    covered = coverage(root, year)
    linked = Q(collection_record__isnull=False)
    donations = (
        Donation.objects.filter(unit__jurisdiction__path__startswith=root.path, donated_on__year=year)
        .exclude(status=Donation.Status.REJECTED)
        .order_by()
        .values("unit_id")
        .annotate(
            reported=Count("id"),
            verified=Count("id", filter=linked),
            volume_differs=Count("id", filter=Q(collection_record__outcome=CollectionRecord.Outcome.VOLUME_DIFFERS)),
            unseen=Count("id", filter=covered & Q(collection_record__isnull=True)),
        )
    )
    lines: dict[int, dict] = {row.pop("unit_id"): row for row in donations}
    records = CollectionRecord.objects.filter(
        unit__jurisdiction__path__startswith=root.path, collected_on__year=year, donation__isnull=True
    )
    for unit_id, n in records.order_by().values("unit_id").annotate(n=Count("id")).values_list("unit_id", "n"):
        lines.setdefault(unit_id, {})["station_only"] = n
    unattributed = CollectionRecord.objects.filter(
        jurisdiction__path__startswith=root.path, collected_on__year=year, unit__isnull=True
    ).count()
    units = (
        Unit.objects.filter(pk__in=list(lines)).select_related("jurisdiction").order_by("jurisdiction__path", "name")
    )
    exports = list(
        StationExport.objects.filter(jurisdiction__path__startswith=root.path)
        .filter(first_day__year__lte=year, last_day__year__gte=year)
        .select_related("uploaded_by")[:20]
    )
    return Reconciliation(
        jurisdiction=root,
        year=year,
        lines=[UnitLine(unit=u, **lines[u.pk]) for u in units],
        unattributed=unattributed,
        exports=exports,
    )


def unit_records(root: Jurisdiction, unit_id: int, year: int):
    """One unit's station records of the year (masked IDs only), and its reported-but-unseen donations."""
    unit = Unit.objects.filter(pk=unit_id, jurisdiction__path__startswith=root.path).first()
    if unit is None:
        return None, [], []
    records = list(CollectionRecord.objects.filter(unit=unit, collected_on__year=year).select_related("donation"))
    unseen = list(reported_unseen(root, year).filter(unit=unit))
    return unit, records, unseen
