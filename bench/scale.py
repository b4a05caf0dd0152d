"""Finding one's way in the scale data set (`generate_scale_data`), which is uneven on purpose."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count

from units.models import Jurisdiction, Unit

SIZES = ("largest", "median")


def pick(level: int, year: int, size: str = "largest") -> tuple[Jurisdiction | None, int]:
    """A jurisdiction of `level` with a plan for `year` and sub-jurisdictions, and the number of
    units in its subtree: the one with the most units (the heaviest page of its level) or the
    median one (a typical page)."""
    units = Counter()
    for path, n in Unit.objects.values_list("jurisdiction__path").annotate(n=Count("id")).order_by():
        ids = [int(part) for part in path.strip("/").split("/") if part]
        if len(ids) >= level:
            units[ids[level - 1]] += n
    candidates = Jurisdiction.objects.filter(level=level, children__isnull=False, plans__year=year).distinct()
    ranked = sorted(candidates, key=lambda j: (units[j.pk], -j.pk))
    if not ranked:
        return None, 0
    chosen = ranked[-1] if size == "largest" else ranked[len(ranked) // 2]
    return chosen, units[chosen.pk]
