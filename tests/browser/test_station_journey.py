"""Issue 21 in a real browser: staff upload the blood station's collection export, confirm two
workplace suggestions in the preview and apply it; the dashboard's station-verified share
changes, and leadership can count only the verified donations; the liaison sees 未见采血记录 on
their donation that the station has no record of."""

from __future__ import annotations

import re

import pytest

from campaigns.models import Donation
from stations.models import CollectionRecord
from tests.browser.test_journeys import EARLIER, login, world  # noqa: F401 - the shared world
from tests.factories import UserFactory, make_donation, make_liaison
from tests.stations.conftest import station_row, station_xlsx
from units.models import StaffProfile, UnitAlias

pytestmark = pytest.mark.django_db(transaction=True)


def _headline_verified(page) -> str:
    return page.inner_text(".headline .verified")


def test_staff_reconcile_a_station_export_and_the_dashboard_and_liaison_see_it(page, live_server, world, shoot):  # noqa: F811
    ours, county = world["ours"], world["county"]
    # the world's donations: 教育局 seq 501 and 仪化公司 seq 503 on EARLIER; one more of 仪化公司
    unseen = make_donation(ours, donated_on=EARLIER, seq=505, donor_name="孙八")
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=county)
    leader = UserFactory(username="leader", role="领导")
    StaffProfile.objects.create(user=leader, jurisdiction=county)
    make_liaison(UserFactory(username="liaison", role="联络员"), ours)

    # Before: three reported, none verified.
    login(page, live_server, "leader", "/dashboard/")
    page.wait_for_selector(".headline .verified")
    assert re.search(r"血站核实\s*0\s*·\s*0\.0%", _headline_verified(page))

    # Staff upload the export: 503 matches 仪化公司's donation; two workplaces are only similar.
    export = station_xlsx(
        [
            station_row(503, EARLIER, "仪化公司"),
            station_row(701, EARLIER, "仪征市教育局机关"),
            station_row(703, EARLIER, "仪化公司机关"),
        ]
    )
    page.context.clear_cookies()
    login(page, live_server, "office", "/stations/import/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "station.xlsx", "mimeType": "application/octet-stream", "buffer": export}],
    )
    page.fill("#id_first_day", EARLIER.isoformat())
    page.fill("#id_last_day", EARLIER.isoformat())
    page.click("main button[type=submit]")
    page.wait_for_selector("#station-suggestions")
    selects = page.locator("#station-suggestions select[name=unit]")
    assert selects.count() == 2
    for i in range(2):  # confirm each suggestion: its first proposed unit
        selects.nth(i).select_option(index=1)
    shoot(page, "station-preview")
    page.click("text=确认导入 3 条新记录")
    page.wait_for_selector("text=血站核对")
    assert CollectionRecord.objects.count() == 3
    assert set(UnitAlias.objects.values_list("name", flat=True)) == {"仪征市教育局机关", "仪化公司机关"}
    assert Donation.objects.filter(source="station").count() == 2

    # The dashboard: five completed (three reported, two from the station's records), three verified.
    page.context.clear_cookies()
    login(page, live_server, "leader", "/dashboard/")
    page.wait_for_selector(".headline .verified")
    assert re.search(r"血站核实\s*3\s*·\s*60\.0%", _headline_verified(page))
    assert "5" in page.inner_text(".headline .figure:nth-child(2) strong")
    # Leadership counts only the station-verified donations.
    page.click(".basis-toggle >> text=仅血站核实")
    page.wait_for_selector(".basis-note")
    assert "仅计血站核实" in page.inner_text("h1")
    assert page.inner_text(".headline .figure:nth-child(2) strong").strip() == "3"
    rows = page.locator("table.units tbody tr")
    assert "仪化公司" in rows.nth(0).inner_text()
    shoot(page, "dashboard-verified")
    # a drill-down or year change keeps the basis; the other choice goes back
    page.click(".basis-toggle >> text=全部上报")
    page.wait_for_selector(".headline .verified")
    assert page.locator(".basis-note").count() == 0

    # The liaison sees 血站核实 on 503 and 未见采血记录 on 505 (the station covered that day).
    page.context.clear_cookies()
    login(page, live_server, "liaison", "/liaison/donations/")
    page.wait_for_selector("text=未见采血记录")
    row = page.locator("tr", has_text="孙八")
    assert "未见采血记录" in row.inner_text()
    assert Donation.objects.get(pk=unseen.pk).station_verified is False
    shoot(page, "liaison-unseen")
