"""generate_scale_data builds a consistent data set (PostgreSQL only), and the dashboard reads it."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from bench.scale import pick
from campaigns import tally
from campaigns.dashboard.figures import dashboard_figures
from campaigns.models import Donation
from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction, Unit

QuotaUnit = Quota.units.through


@pytest.fixture
def postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("generate_scale_data runs on PostgreSQL only")


def test_small_scale_data_set(postgresql):
    call_command("generate_scale_data", "--scale", "0.02", "--units", "300", "--donations", "6000", "--donors", "1500")
    assert Jurisdiction.objects.count() == 1 + 6 + 20 + 33
    assert set(Jurisdiction.objects.values_list("level", flat=True)) == {1, 2, 3, 4}
    assert Unit.objects.count() == 300
    assert AnnualPlan.objects.count() == 60 * 3
    assert Donation.objects.count() == 6000
    assert not Donation.objects.filter(donated_on__gte=timezone.localdate()).exists()
    assert tally.mismatches() == []
    # every top-level unit is in exactly one quota each year: its own or its group's
    unit_quotas = Quota.objects.filter(sub_jurisdiction__isnull=True)
    top = Unit.objects.filter(parent=None)
    assert QuotaUnit.objects.filter(unit__in=top).count() == 3 * top.count()
    assert QuotaUnit.objects.filter(unit__in=top).values("unit", "quota__year").distinct().count() == 3 * top.count()
    # group quotas (2-4 members) and subordinate units with and without a quota of their own
    members = Counter(QuotaUnit.objects.filter(quota__in=unit_quotas).values_list("quota", flat=True))
    assert {1, 2, 3} <= set(members.values()) <= {1, 2, 3, 4}
    subordinates = Unit.objects.exclude(parent=None)
    with_own = subordinates.filter(quotas__isnull=False).distinct().count()
    assert 0 < with_own < subordinates.count()
    # uneven: a few large jurisdictions and units, many small
    per_place = sorted(Counter(Unit.objects.values_list("jurisdiction", flat=True)).values())
    assert per_place[0] >= 1 and per_place[-1] >= 3 * per_place[len(per_place) // 2]
    per_unit = sorted(Counter(Donation.objects.values_list("unit", flat=True)).values())
    assert per_unit[-1] >= 5 * per_unit[len(per_unit) // 2]
    year = timezone.localdate().year
    # the benchmark's county: the one with the most units in its subtree, or the median one
    counties = Jurisdiction.objects.filter(level=3, children__isnull=False).distinct()
    sizes = sorted(Unit.objects.filter(jurisdiction__path__startswith=c.path).count() for c in counties)
    assert pick(3, year, "largest")[1] == sizes[-1] and pick(3, year, "median")[1] == sizes[len(sizes) // 2]
    assert Unit.objects.filter(jurisdiction__path__startswith=pick(3, year)[0].path).count() == sizes[-1]
    country = dashboard_figures(jurisdiction=None, year=year, today=timezone.localdate())
    counted = Donation.objects.counted().filter(donated_on__year=year).count()
    assert country["headline"]["completed"] == counted > 0
    assert sum(c["completed"] for c in country["children"]) == counted
    with pytest.raises(CommandError):
        call_command("generate_scale_data", "--scale", "0.02", "--units", "300", "--donations", "10", "--donors", "300")


@pytest.mark.django_db(transaction=True)
def test_bench_dashboard_runs_and_its_floor_counts_what_the_page_counts():
    """The benchmark's floor is checked against the page inside the command (it stops on a
    difference); a tiny run proves every moment, the readers and the floors still run."""
    if connection.vendor != "postgresql":
        pytest.skip("bench_dashboard measures PostgreSQL only")
    import io

    call_command("generate_scale_data", "--scale", "0.02", "--units", "300", "--donations", "6000", "--donors", "1500")
    out = io.StringIO()
    call_command("bench_dashboard", "--runs", "1", "--activity", "20", "--readers", "0", "--inserts", "0", stdout=out)
    text = out.getvalue()
    # (the readers' processes are not run here: forked children of a test share its database setup)
    for moment in ("kept", "after 20", "exact after 20", "refresh after 20", "month start", "cold", "verified basis"):
        assert moment in text
    assert text.count("floor") >= 6
