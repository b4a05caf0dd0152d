"""The station benchmark runs end to end on a small file and cleans up after itself."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from campaigns.models import Donation, VerifiedTally
from stations.models import CollectionRecord, StationExport
from units.models import Jurisdiction

pytestmark = pytest.mark.django_db


def test_bench_station_smoke():
    out = io.StringIO()
    call_command("bench_station", "--rows", "200", "--runs", "1", "--units", "20", stdout=out)
    text = out.getvalue()
    assert "'matched': 120" in text and "'name': 40" in text and "'suggested': 10" in text
    assert "nothing written (records 200, donations 180 unchanged)" in text
    assert "station-verified kept for 2025: [180]" in text  # 130 reported + 50 created, none rejected
    assert not Jurisdiction.objects.exists() and not Donation.objects.exists()
    assert not Donation.history.exists()  # nor the history rows its deletes write
    assert not CollectionRecord.objects.exists() and not StationExport.objects.exists()
    assert not VerifiedTally.objects.exists()
