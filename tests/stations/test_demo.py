"""load_station_demo on a small world shaped like the demo's 仪征市."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from stations.models import CollectionRecord, StationExport
from tests.factories import JurisdictionFactory, UnitFactory, UserFactory, make_donation
from units.models import UnitAlias

pytestmark = pytest.mark.django_db


def test_load_station_demo_reconciles_and_is_idempotent():
    yizheng = JurisdictionFactory(name="仪征市")
    yihua = UnitFactory(name="仪化公司", jurisdiction=yizheng)
    for name in ("刘集镇", "真州镇", "新城镇"):
        UnitFactory(name=name, jurisdiction=yizheng)
    UserFactory(username="office", role="献血办")
    for i in range(20):
        make_donation(yihua, donated_on=dt.date(2026, 3, 1) + dt.timedelta(days=i), seq=200 + i)
    out = io.StringIO()
    call_command("load_station_demo", today=dt.date(2026, 12, 2), stdout=out)
    export = StationExport.objects.get()
    assert (export.first_day, export.last_day) == (dt.date(2026, 1, 1), dt.date(2026, 11, 30))
    assert export.matched + export.volume_differs == 18  # two of twenty left out: 未见采血记录
    assert export.volume_differs == 1  # the eighth
    assert CollectionRecord.objects.filter(attribution="name").count() == 5
    assert CollectionRecord.objects.filter(attribution="alias").get().unit == yihua
    assert UnitAlias.objects.get().name == "仪征化纤"
    assert CollectionRecord.objects.filter(attribution="none").count() == 4
    call_command("load_station_demo", today=dt.date(2026, 12, 2), stdout=out)
    assert StationExport.objects.count() == 1
