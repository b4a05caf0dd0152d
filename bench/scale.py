"""Finding one's way in the scale data set (`generate_scale_data`), which is uneven on purpose."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count

from units.models import Jurisdiction, Unit


def largest(level: int, year: int) -> tuple[Jurisdiction | None, int]:
    """The jurisdiction of `level` with a plan for `year` and sub-jurisdictions whose subtree
    holds the most units, and that number: the heaviest page of its level, not a typical one."""
    units = Counter()
    for path, n in Unit.objects.values_list("jurisdiction__path").annotate(n=Count("id")).order_by():
        ids = [int(part) for part in path.strip("/").split("/") if part]
        if len(ids) >= level:
            units[ids[level - 1]] += n
    candidates = Jurisdiction.objects.filter(level=level, children__isnull=False, plans__year=year).distinct()
    best = max(candidates, key=lambda j: (units[j.pk], -j.pk), default=None)
    return best, units[best.pk] if best else 0
