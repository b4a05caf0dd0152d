"""Reads: the reconciliation of reported donations with the station's records, per unit.

What units reported but the station has not seen (未见采血记录) is derived here, never stored:
a donation of a unit of the export's jurisdiction subtree, not rejected, on a day an export of
that jurisdiction (or one above it) covers, with no collection record linked to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from campaigns.extensions import DonationMark
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


def _covers(export_path: str, first: dt.date, last: dt.date, unit_path: str, day: dt.date) -> bool:
    """The coverage rule for one donation, as `coverage` writes it in SQL: an export of the
    unit's jurisdiction or one above it whose range holds the day."""
    return unit_path.startswith(export_path) and first <= day <= last


def reported_unseen(root: Jurisdiction, year: int):
    """The donations reported in the subtree that no station record confirms, on covered days."""
    return (
        Donation.objects.filter(unit__jurisdiction__path__startswith=root.path, donated_on__year=year)
        .exclude(status=Donation.Status.REJECTED)
        .filter(collection_record__isnull=True)
        .filter(coverage(root, year))
    )


def station_marks(donations) -> dict[int, DonationMark]:
    """What the station's records say of each of these donations (the liaison's pages).

    Verified: a collection record is linked. 未见采血记录: not rejected, no record linked, and an
    export of the unit's jurisdiction or one above it covers the day (`reported_unseen`'s rule,
    for a page of donations). Two queries whatever the page: the links, the exports.
    """
    donations = [d for d in donations if d.status != Donation.Status.REJECTED]
    if not donations:
        return {}
    ids = [d.pk for d in donations]
    linked = dict(CollectionRecord.objects.filter(donation_id__in=ids).values_list("donation_id", "export__last_day"))
    marks: dict[int, DonationMark] = {}
    pending = []
    for d in donations:
        if d.pk in linked or d.station_verified:
            marks[d.pk] = DonationMark("verified", _("血站核实"), "")
        else:
            pending.append(d)
    if not pending:
        return marks
    paths = {d.pk: d.unit.jurisdiction.path for d in pending}
    ancestors = {int(p) for path in paths.values() for p in path.split("/") if p}
    days = [d.donated_on for d in pending]
    exports = list(
        StationExport.objects.filter(
            jurisdiction_id__in=ancestors, first_day__lte=max(days), last_day__gte=min(days)
        ).values_list("jurisdiction__path", "first_day", "last_day")
    )
    for d in pending:
        covering = [e for e in exports if _covers(*e, paths[d.pk], d.donated_on)]
        if covering:
            first = min(e[1] for e in covering)
            last = max(e[2] for e in covering)
            reason = _(
                "血站 %(first)s 至 %(last)s 的采血记录中没有此人在这一天的献血记录。请核对日期、身份证号和献血类型；"
                "确实献过血的，请带献血证向献血办说明。"
            ) % {"first": first.isoformat(), "last": last.isoformat()}
            marks[d.pk] = DonationMark("unseen", _("未见采血记录"), reason)
    return marks


def verified_counts(unit_ids, year: int) -> dict[int, int]:
    """{unit id: counted donations of that year the station confirms} (reported or from its records)."""
    return dict(
        Donation.objects.filter(unit_id__in=list(unit_ids), donated_on__year=year, station_verified=True)
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

    Reported and verified count the donations units reported (not those made from station
    records, which are the station-only column). Five queries whatever the number of units: the
    exports (coverage), the donations grouped by unit with conditional counts, the station-only
    records grouped by unit, the unattributed count, and the units named.
    """
    covered = coverage(root, year)
    linked = Q(collection_record__isnull=False)
    donations = (
        Donation.objects.filter(
            unit__jurisdiction__path__startswith=root.path, donated_on__year=year, source=Donation.Source.REPORTED
        )
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
    # Station-only: attributed to a unit and not reported by it (made a donation of it, or not).
    records = CollectionRecord.objects.filter(
        unit__jurisdiction__path__startswith=root.path,
        collected_on__year=year,
        outcome__in=[CollectionRecord.Outcome.STATION_ONLY, CollectionRecord.Outcome.CREATED],
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
