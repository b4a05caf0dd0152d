"""The completion dashboard: counting, roll-ups, drill-down, scope, fixed queries, export, bulletins."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.dashboard.figures import dashboard_figures
from campaigns.dashboard.kept import invalidate_all
from campaigns.models import Bulletin
from tests.factories import (
    JurisdictionFactory,
    PlanFactory,
    QuotaFactory,
    UnitFactory,
    UserFactory,
    make_donation,
    make_liaison,
)
from units.models import Jurisdiction, StaffProfile

JULY = dt.date(2026, 7, 15)


class Tree:
    """A city with its own plan (units, a group, an advisory number, two counties) and a county
    with its own plan; the other county has none."""

    def __init__(self):
        self.city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
        self.county1 = JurisdictionFactory(name="仪征市", parent=self.city)
        self.county2 = JurisdictionFactory(name="高邮市", parent=self.city)
        self.a = UnitFactory(name="市教育局", jurisdiction=self.city)
        self.b = UnitFactory(name="市建设银行", jurisdiction=self.city, category="企业")
        self.c = UnitFactory(name="市工商银行", jurisdiction=self.city, category="企业")
        self.d = UnitFactory(name="市文联", jurisdiction=self.city)
        self.e = UnitFactory(name="仪化公司", jurisdiction=self.county1, category="企业")
        self.e1 = UnitFactory(name="仪化公司热电厂", jurisdiction=self.county1, parent=self.e, category="企业")
        self.g = UnitFactory(name="高邮中学", jurisdiction=self.county2, category="学校")
        city_plan = PlanFactory(jurisdiction=self.city, year=2026)
        self.qa = QuotaFactory(plan=city_plan, label="市教育局", target=10, units=[self.a], seq=1)
        self.qbc = QuotaFactory(
            plan=city_plan,
            label="市建设银行、市工商银行",
            target=6,
            units=[self.b, self.c],
            seq=2,
            period_text="8月份",
            period_start=dt.date(2026, 8, 1),
            period_end=dt.date(2026, 8, 31),
        )
        self.qd = QuotaFactory(plan=city_plan, label="市文联", target=5, advisory=True, units=[self.d], seq=3)
        QuotaFactory(plan=city_plan, label="仪征市", target=20, sub_jurisdiction=self.county1, seq=4)
        QuotaFactory(plan=city_plan, label="高邮市", target=15, sub_jurisdiction=self.county2, seq=5)
        county_plan = PlanFactory(jurisdiction=self.county1, year=2026)
        self.qe = QuotaFactory(
            plan=county_plan,
            label="仪化公司",
            target=25,
            units=[self.e],
            period_text="6月份",
            period_start=dt.date(2026, 6, 1),
            period_end=dt.date(2026, 6, 30),
        )
        PlanFactory(jurisdiction=self.county2, year=2026, status="draft")  # drafts never count
        seq = iter(range(1, 999, 2))

        def give(unit, n, day=dt.date(2026, 3, 10), **kw):
            for _ in range(n):
                make_donation(unit, donated_on=day, seq=next(seq), **kw)

        give(self.a, 8)
        give(self.a, 2, day=dt.date(2025, 3, 10))  # another year
        give(self.b, 2)
        give(self.c, 3, day=dt.date(2026, 7, 1))
        give(self.d, 4)
        give(self.e, 5, day=dt.date(2026, 5, 20))
        give(self.e1, 3, day=dt.date(2026, 7, 2))  # after the county quota's June deadline
        give(self.g, 7, amount=200)
        give(self.g, 1, status="rejected")


@pytest.fixture
def tree(db):
    return Tree()


def by_label(rows):
    return {r["label"]: r for r in rows}


def test_city_headline_and_unit_table(tree):
    f = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    h = f["headline"]
    assert h["task"] == 10 + 6 + 20 + 15  # advisory 5 never summed; drafts never count
    assert h["completed"] == 8 + 2 + 3 + 4 + 5 + 3 + 7  # every counted 2026 donation in the subtree
    assert h["blood_units"] == pytest.approx(25 * 2 + 7 * 1)
    assert h["shortfall"] == 51 - 32 and h["rate"] == pytest.approx(32 / 51, abs=1e-4)
    units = by_label(f["units"])
    assert units["市教育局"]["completed"] == 8 and units["市教育局"]["status"] == "overdue"  # due March
    assert units["市建设银行、市工商银行"]["completed"] == 5 and units["市建设银行、市工商银行"]["group"]
    assert units["市文联"]["advisory"] and units["市文联"]["completed"] == 4
    assert "仪征市" not in units  # sub-jurisdiction quotas are the lines above, not units
    # on time: 8 for 教育局 by March, group 5 by August, 仪化公司 5 of 8 by June
    assert h["on_time"] == 8 + 5 + 5


def test_drill_down_line_equals_the_county_page(tree):
    city = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    lines = {c["name"]: c for c in city["children"]}
    county = dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY)["headline"]
    line = lines["仪征市"]
    for key in ("task", "completed", "blood_units", "on_time", "rate", "shortfall", "status", "status_counts"):
        assert line[key] == county[key], key
    assert line["allocated"] == 20 and line["task"] == 25 and line["completed"] == 8
    # 高邮市 has only a draft plan: no task of its own, its donations still roll up
    assert lines["高邮市"]["task"] == 0 and lines["高邮市"]["completed"] == 7 and lines["高邮市"]["allocated"] == 15


def test_subordinate_unit_counts_for_its_parent_quota(tree):
    county = dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY)
    [row] = county["units"]
    assert (row["completed"], row["on_time"], row["shortfall"], row["status"]) == (8, 5, 17, "overdue")
    assert county["overdue_total"] == 1 and county["shortfalls"][0]["label"] == "仪化公司"


def test_lists_and_monthly_series(tree):
    f = dashboard_figures(jurisdiction=tree.city, year=2026, today=dt.date(2026, 8, 10))
    assert [r["label"] for r in f["overdue"]] == ["仪化公司", "市教育局"]  # largest shortfall first
    assert [r["label"] for r in f["this_month"]] == ["市建设银行、市工商银行"]
    h = f["headline"]
    assert sum(h["monthly_due"]) == h["task"] and sum(h["monthly_done"]) == h["completed"]
    assert h["monthly_due"][2] == 10 + 20 + 15 and h["monthly_done"][2] == 8 + 2 + 4 + 7


def test_a_donation_logged_now_is_in_the_figures_now(tree):
    before = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)["headline"]["completed"]
    make_donation(tree.a, donated_on=dt.date(2026, 7, 14), seq=997)
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)["headline"]["completed"] == before + 1


def _leader(jurisdiction) -> Client:
    user = UserFactory(username=f"leader-{jurisdiction.pk}", role="领导")
    StaffProfile.objects.create(user=user, jurisdiction=jurisdiction)
    client = Client()
    client.force_login(user)
    return client


def test_page_drills_down_and_keeps_leaders_in_their_jurisdiction(tree):
    city_leader = _leader(tree.city)
    page = city_leader.get("/dashboard/?year=2026").content.decode()
    assert "扬州市2026年无偿献血任务完成情况" in page and f"j={tree.county1.pk}" in page
    assert 'id="chart-data"' in page and "<script>" not in page  # charts read json_script data
    county_page = city_leader.get(f"/dashboard/?year=2026&j={tree.county1.pk}").content.decode()
    assert "仪化公司" in county_page and "市教育局" not in county_page
    county_leader = _leader(tree.county1)
    assert county_leader.get(f"/dashboard/?j={tree.city.pk}").status_code == 404
    assert county_leader.get("/dashboard/?j=all").status_code == 404
    assert county_leader.get("/dashboard/?year=abc").status_code == 404


def test_unit_table_sorts_and_filters(tree):
    client = _leader(tree.city)
    page = client.get("/dashboard/?year=2026&sort=shortfall&category=企业").content.decode()
    assert "市建设银行、市工商银行" in page and "市教育局</td>" not in page


def _trail(page: str) -> list[str]:
    nav = page.split('<nav class="trail"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r">([^<>›]+)</(?:a|strong)>", nav)


def test_breadcrumbs_run_from_the_users_own_jurisdiction_down(tree):
    province = JurisdictionFactory(name="江苏省", level=Jurisdiction.Level.PROVINCE)
    Jurisdiction.objects.filter(pk=tree.city.pk).update(parent=province, path=f"{province.path}{tree.city.pk}/")
    for county in (tree.county1, tree.county2):
        Jurisdiction.objects.filter(pk=county.pk).update(path=f"{province.path}{tree.city.pk}/{county.pk}/")
    town = JurisdictionFactory(name="真州镇", parent=Jurisdiction.objects.get(pk=tree.county1.pk))
    assert town.path.startswith(province.path)
    leader = _leader(tree.city)  # the province above the leader's city is not theirs
    assert _trail(leader.get("/dashboard/?year=2026").content.decode()) == ["扬州市"]
    assert _trail(leader.get(f"/dashboard/?year=2026&j={town.pk}").content.decode()) == ["扬州市", "仪征市", "真州镇"]
    assert leader.get(f"/dashboard/?year=2026&j={province.pk}").status_code == 404
    assert leader.get("/dashboard/?year=2026&j=999999").status_code == 404
    for wrong in ("-1", "²", "３", "99999999999999999999"):
        assert leader.get(f"/dashboard/?year=2026&j={wrong}").status_code == 404, wrong
    everyone = Client()
    everyone.force_login(UserFactory(username="office-all", is_superuser=True))  # a superuser: all
    page = everyone.get(f"/dashboard/?year=2026&j={town.pk}").content.decode()
    assert _trail(page) == ["全部", "江苏省", "扬州市", "仪征市", "真州镇"]


def test_the_ten_latest_bulletins_are_listed(tree):
    staff = UserFactory(username="office-list", is_superuser=True)  # sees the national bulletins too
    for i in range(12):
        Bulletin.objects.create(jurisdiction=tree.city, year=2026, title=f"第{i}期", as_of=JULY, figures={})
    Bulletin.objects.create(jurisdiction=None, year=2026, title="全国一期", as_of=JULY, figures={})
    Bulletin.objects.create(jurisdiction=tree.city, year=2025, title="去年", as_of=JULY, figures={})
    client = Client()
    client.force_login(staff)
    listed = re.findall(
        r'class="bulletin-line"><a href="[^"]+">([^<]+)</a>',
        client.get(f"/dashboard/?year=2026&j={tree.city.pk}").content.decode(),
    )
    assert listed == [b.title for b in Bulletin.objects.filter(jurisdiction=tree.city, year=2026)[:10]]
    assert listed == [f"第{i}期" for i in range(11, 1, -1)]
    national = client.get("/dashboard/?year=2026&j=all").content.decode()
    assert re.findall(r'class="bulletin-line"><a href="[^"]+">([^<]+)</a>', national) == ["全国一期"]


def test_queries_do_not_grow_with_units_or_jurisdictions(
    tree, django_assert_num_queries, django_assert_max_num_queries
):
    client = _leader(tree.city)
    client.get("/dashboard/?year=2026")  # warm the session, the content types and the summaries
    # session, user, scope, jurisdiction with ancestors, subtree, plans, version, marks and kept rows
    # of each kind, the own plan's unit table (its quotas, their donations), labels, members,
    # bulletins: 16, every plan's summary and jurisdiction's months kept; and the kept
    # station-verified counts of the subtree (one query, campaigns.VerifiedTally): 17; and the unit
    # table's station-verified column (the own plan's donor sums on the verified basis, its terms
    # read once for both bases): 18
    with django_assert_num_queries(18):
        client.get("/dashboard/?year=2026")
    invalidate_all()
    # all recomputed: the months (marks taken, one query, one write), the other plans' size, marks
    # taken, quotas and donations (two queries) and one write (the own plan's come with its unit
    # table); each recomputation in a transaction of its own (a savepoint and its release here)
    with django_assert_num_queries(30):
        client.get("/dashboard/?year=2026")
    for i in range(6):
        county = JurisdictionFactory(name=f"新县{i}", parent=tree.city)
        town = JurisdictionFactory(name=f"新镇{i}", parent=county, level=Jurisdiction.Level.TOWN)
        plan = PlanFactory(jurisdiction=county, year=2026)
        for k in range(4):
            unit = UnitFactory(name=f"新单位{i}-{k}", jurisdiction=town if k % 2 else county)
            QuotaFactory(plan=plan, target=3, units=[unit])
            make_donation(unit, donated_on=dt.date(2026, 3, 1), seq=1 + 2 * (i * 10 + k))
        QuotaFactory(plan=tree.city.plans.get(), label=county.name, target=9, sub_jurisdiction=county)
    # the new plans, quotas and units: their plans and jurisdictions stale (the size of the stale
    # plans is asked only when some of them have a kept summary, which depends on the date)
    with django_assert_max_num_queries(30):
        page = client.get("/dashboard/?year=2026").content.decode()
    assert "新县5" in page
    with django_assert_num_queries(18):
        client.get("/dashboard/?year=2026")
    # Only station-verified donations: nothing kept is read or written — session, user, scope,
    # jurisdiction, subtree, plans, the verified months (one query), every plan's quotas on that
    # basis (two queries), the verified counts, labels, members, bulletins: 13 whatever the
    # number of plans and units.
    with django_assert_num_queries(13):
        client.get("/dashboard/?year=2026&basis=verified")


def test_a_recount_leaves_the_summaries_warm(tree, django_assert_num_queries):
    from django.core.management import call_command

    client = _leader(tree.city)
    client.get("/dashboard/?year=2026")  # the session and the content types
    today = timezone.localdate()
    fresh = dashboard_figures(jurisdiction=tree.city, year=2026, today=today)
    call_command("recount_tallies", "--no-warm", stdout=io.StringIO())
    with django_assert_num_queries(30):  # invalidated: the first reader recomputes
        client.get("/dashboard/?year=2026")
    out = io.StringIO()
    call_command("recount_tallies", stdout=out)
    assert "2026" in out.getvalue()
    with django_assert_num_queries(18):  # kept: the recount computed them (16 + the verified counts and column)
        client.get("/dashboard/?year=2026")
    # kept too (asked for by id: it and its ancestors are one query); a county's page also reads
    # what the city's plan allocated to it (上级下达): one query
    with django_assert_num_queries(19):
        client.get(f"/dashboard/?year=2026&j={tree.county1.pk}")
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=today) == fresh


def test_liaison_sees_only_their_own_units_card(tree):
    user = UserFactory(username="liaison-e", role="联络员")
    make_liaison(user, tree.e)
    client = Client()
    client.force_login(user)
    page = client.get("/dashboard/?year=2026").content.decode()
    assert "仪化公司" in page and "市教育局" not in page and "高邮" not in page
    assert client.get("/dashboard/export.xlsx").status_code == 403


def test_excel_export_has_the_page_numbers(tree):
    client = _leader(tree.city)
    response = client.get("/dashboard/export.xlsx?year=2026")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    rows = list(workbook["汇总"].iter_rows(values_only=True))
    assert rows[0][0] == "扬州市2026年无偿献血任务完成情况" and "数据截至" in rows[1][0]
    headline = rows[4]
    assert headline[0:2] == (51, 32)
    unit_rows = {r[1]: r for r in workbook["单位完成情况"].iter_rows(values_only=True) if r and isinstance(r[1], str)}
    assert unit_rows["市教育局"][4:6] == (10, 8)
    assert unit_rows["市文联（指导性，不计入合计）"][4] == 5
    assert unit_rows["单位任务合计（不含指导性）"][4] == 16  # 10 + 6, the advisory 5 left out


def test_bulletin_stays_frozen_and_compares_with_today(tree):
    staff = UserFactory(username="office-city", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=tree.city)
    client = Client()
    client.force_login(staff)
    response = client.post("/dashboard/bulletins/new/", {"year": 2026, "j": tree.city.pk, "title": "第一期通报"})
    bulletin = Bulletin.objects.get()
    assert response.status_code == 302 and bulletin.figures["headline"]["completed"] == 32
    make_donation(tree.a, donated_on=dt.date(2026, 7, 14), seq=997)
    page = client.get(f"/dashboard/bulletins/{bulletin.pk}/").content.decode()
    assert "第一期通报" in page and ">32<" in page
    compare = client.get(f"/dashboard/bulletins/{bulletin.pk}/compare/").content.decode()
    assert ">32<" in compare and ">33<" in compare and "+1" in compare
    ws = load_workbook(io.BytesIO(client.get(f"/dashboard/bulletins/{bulletin.pk}/export.xlsx").content)).active
    assert ws["B5"].value == 32
    leader = _leader(tree.city)
    assert leader.get(f"/dashboard/bulletins/{bulletin.pk}/").status_code == 200
    assert leader.post("/dashboard/bulletins/new/", {"year": 2026}).status_code == 403
    assert _leader(tree.county2).get(f"/dashboard/bulletins/{bulletin.pk}/").status_code == 404


# -- kept summaries: a page is as fresh as with none kept -------------------------------------


def _fresh(jurisdiction, today):
    invalidate_all()
    return dashboard_figures(jurisdiction=jurisdiction, year=2026, today=today)


def test_kept_summaries_give_the_same_page_as_computing_afresh(tree):
    for jurisdiction in (tree.city, tree.county1, None):
        fresh = _fresh(jurisdiction, JULY)
        assert dashboard_figures(jurisdiction=jurisdiction, year=2026, today=JULY) == fresh


def test_a_donation_logged_now_moves_statuses_and_lists_now(tree):
    before = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    assert before["headline"]["status_counts"]["done"] == 0
    for seq in range(701, 705, 2):  # 市教育局 had 8 of 10
        make_donation(tree.a, donated_on=dt.date(2026, 7, 1), seq=seq)
    after = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    assert after["headline"]["status_counts"]["done"] == 1
    assert "市教育局" not in [r["label"] for r in after["shortfalls"]]
    assert after == _fresh(tree.city, JULY)


def test_a_rejection_a_new_target_and_a_new_parent_move_the_page_now(tree):
    from campaigns.models import Donation

    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    Donation.objects.filter(unit=tree.a).update(status=Donation.Status.REJECTED)  # the tally trigger marks
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY) == _fresh(tree.city, JULY)
    tree.qbc.target = 4  # met by the 5 donations of the group: a version bump
    tree.qbc.save()
    page = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    assert page == _fresh(tree.city, JULY) and page["headline"]["status_counts"]["done"] == 1
    tree.g.parent = tree.e  # 高邮中学 now counts toward 仪化公司 (a unit edit)
    tree.g.save()
    assert dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY) == _fresh(tree.county1, JULY)


@pytest.mark.django_db(transaction=True)
def test_a_donation_still_uncommitted_while_a_view_takes_the_marks_is_not_lost(tree):
    """The view takes the plan's and jurisdiction's marks while another transaction that logged a
    donation for them is still open; that donation must still reach the page once committed."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions (PostgreSQL)")
    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)  # everything kept
    make_donation(tree.a, donated_on=dt.date(2026, 7, 1), seq=801)  # committed: its marks are there
    logged, release = threading.Event(), threading.Event()

    def log_and_wait():
        try:
            with transaction.atomic():
                make_donation(tree.a, donated_on=dt.date(2026, 7, 2), seq=803)
                logged.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=log_and_wait)
    other.start()
    assert logged.wait(10)
    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)  # takes the committed marks
    release.set()
    other.join()
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY) == _fresh(tree.city, JULY)


def test_statuses_follow_the_date(tree):
    june = dashboard_figures(jurisdiction=tree.county1, year=2026, today=dt.date(2026, 6, 20))
    july = dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY)
    assert june["overdue_total"] == 0 and july["overdue_total"] == 1  # 仪化公司's June quota
    assert july == _fresh(tree.county1, JULY)


def test_every_day_of_the_year_the_kept_page_equals_a_fresh_one(tree):
    """Kept summaries are reused across days only while no status can change (`valid_until`)."""
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        for jurisdiction in (tree.city, None):
            kept = dashboard_figures(jurisdiction=jurisdiction, year=2026, today=day)
            assert kept == _fresh(jurisdiction, day), (jurisdiction, day)
            dashboard_figures(jurisdiction=jurisdiction, year=2026, today=day)  # keep for tomorrow
        day += dt.timedelta(days=3)


def test_a_summary_is_reused_on_later_days_until_a_status_can_change(tree):
    from campaigns.models import PlanProgress

    county_plan = tree.qe.plan_id
    dashboard_figures(jurisdiction=tree.county1, year=2026, today=dt.date(2026, 4, 1))
    kept = PlanProgress.objects.get(plan_id=county_plan)
    assert kept.valid_until == dt.date(2026, 5, 1)  # not started before June; "due this month" changes
    dashboard_figures(jurisdiction=tree.county1, year=2026, today=dt.date(2026, 4, 20))
    assert PlanProgress.objects.get(plan_id=county_plan).started == kept.started  # reused
    dashboard_figures(jurisdiction=tree.county1, year=2026, today=dt.date(2026, 5, 1))
    assert PlanProgress.objects.get(plan_id=county_plan).started > kept.started  # recomputed


def test_a_staff_edit_recomputes_only_the_plans_it_touched(tree):
    from campaigns.models import PlanProgress

    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    started = dict(PlanProgress.objects.values_list("plan_id", "started"))
    tree.qe.target = 8  # the county plan's quota: 仪化公司 now met (8 credited)
    tree.qe.save()
    page = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    after = dict(PlanProgress.objects.values_list("plan_id", "started"))
    assert after[tree.qa.plan_id] == started[tree.qa.plan_id]  # the city plan was not touched
    assert after[tree.qe.plan_id] > started[tree.qe.plan_id]
    assert page["headline"]["status_counts"]["done"] == 1
    assert page == _fresh(tree.city, JULY)


def test_moving_members_and_units_moves_the_kept_figures(tree):
    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    tree.qa.units.add(tree.d)  # 市文联's 4 donations now count for 市教育局's quota too
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY) == _fresh(tree.city, JULY)
    tree.qa.units.remove(tree.d)
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY) == _fresh(tree.city, JULY)
    for jurisdiction in (tree.city, tree.county1, tree.county2):
        dashboard_figures(jurisdiction=jurisdiction, year=2026, today=JULY)
    tree.g.jurisdiction = tree.county1  # 高邮中学's 7 donations move to 仪征市
    tree.g.save()
    for jurisdiction in (tree.county1, tree.county2, tree.city):
        kept = dashboard_figures(jurisdiction=jurisdiction, year=2026, today=JULY)
        assert kept == _fresh(jurisdiction, JULY), jurisdiction
    assert dashboard_figures(jurisdiction=tree.county2, year=2026, today=JULY)["headline"]["completed"] == 0
    tree.e1.parent = None  # 热电厂's 3 donations no longer count toward 仪化公司
    tree.e1.save()
    page = dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY)
    assert page == _fresh(tree.county1, JULY) and by_label(page["units"])["仪化公司"]["completed"] == 5


@pytest.mark.django_db(transaction=True)
def test_deleting_a_plan_after_it_was_shown_commits(tree):
    """Deleting a plan deletes its quotas first, whose trigger marks the plan: the mark must not
    hold a foreign key that fails the commit."""
    from quotas.models import AnnualPlan

    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    with transaction.atomic():
        AnnualPlan.objects.filter(pk=tree.qe.plan_id).delete()
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY) == _fresh(tree.city, JULY)


def test_an_edited_allocation_to_a_county_shows_now(tree):
    from quotas.models import Quota

    dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    Quota.objects.filter(sub_jurisdiction=tree.county1).update(target=30)  # one statement, as an import
    page = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    assert {c["name"]: c["allocated"] for c in page["children"]}["仪征市"] == 30
    assert page["headline"]["task"] == 10 + 6 + 30 + 15 and page == _fresh(tree.city, JULY)


def test_the_figures_survive_the_json_round_trip_readers_share_them_by(tree):
    # core.shared hands waiting readers the figures through JSON: they must come back unchanged.
    for jurisdiction in (None, tree.city, tree.county1):
        figures = dashboard_figures(jurisdiction=jurisdiction, year=2026, today=JULY)
        assert json.loads(json.dumps(figures)) == figures


def test_only_the_wide_pages_are_shared(tree, settings):
    seen = []

    def record(key, variant, compute):
        seen.append((key, variant))
        return compute()

    client = _leader(tree.city)
    with mock.patch("campaigns.dashboard.views.shared", side_effect=record):
        assert client.get("/dashboard/?year=2026").status_code == 200
        assert seen == []  # a city: computed by each reader
        settings.DASHBOARD_SHARED_LEVEL = Jurisdiction.Level.CITY
        client.get("/dashboard/?year=2026&basis=verified")
    key = f"dashboard:{tree.city.pk}:2026:verified:{settings.DASHBOARD_RECOMPUTE_QUOTAS}"
    assert seen == [(key, timezone.localdate().isoformat())]
