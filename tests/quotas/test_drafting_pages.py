"""The drafting pages and services: scope, adjusting, the curve's data, exports, publishing,
the cascade to sub-jurisdictions, headcount import, and what is refused."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from quotas.drafting.allocation import RATE
from quotas.drafting.publishing import draft_publish
from quotas.drafting.selectors import SUB_JURISDICTION, allocation_from_above, drafting_scope
from quotas.drafting.services import (
    DraftError,
    draft_create,
    draft_refresh_figures,
    draft_update,
    line_update,
    lines_add,
)
from quotas.models import AnnualPlan, DraftLine, PlanDraft, Quota
from tests.factories import JurisdictionFactory, PlanFactory, QuotaFactory, UnitFactory, UserFactory, make_donation
from units.models import Jurisdiction, StaffProfile, Unit

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def county(db):
    city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
    return JurisdictionFactory(name="仪征市", parent=city)


@pytest.fixture
def last_year(county):
    """2026: three units, one of them in two months, one group of two."""
    plan = PlanFactory(jurisdiction=county, year=2026, status=AnnualPlan.Status.CLOSED)
    yihua = UnitFactory(name="仪化公司", jurisdiction=county, category=Unit.Category.ENTERPRISE)
    education = UnitFactory(name="教育局", jurisdiction=county, headcount=400)
    health = UnitFactory(name="卫健委", jurisdiction=county, headcount=100)
    hospital = UnitFactory(name="人民医院", jurisdiction=county, category=Unit.Category.HEALTH, headcount=900)
    june, july = (dt.date(2026, 6, 1), dt.date(2026, 6, 30)), (dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    QuotaFactory(
        plan=plan,
        label="仪化公司",
        units=[yihua],
        target=150,
        period_text="六月",
        period_start=june[0],
        period_end=june[1],
    )
    QuotaFactory(
        plan=plan,
        label="仪化公司",
        units=[yihua],
        target=100,
        period_text="七月",
        period_start=july[0],
        period_end=july[1],
    )
    QuotaFactory(plan=plan, label="教育局", units=[education], target=50)
    QuotaFactory(plan=plan, label="卫健委、人民医院", units=[health, hospital], target=80)
    for seq in range(3):
        make_donation(yihua, donated_on=dt.date(2026, 6, 10), seq=100 + seq)
    return plan


@pytest.fixture
def staff(county):
    user = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=user, jurisdiction=county)
    return user


@pytest.fixture
def client_of(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def draft(county, last_year, staff):
    return draft_create(jurisdiction=county, year=2027, today=TODAY, user=staff)


def test_a_draft_starts_from_last_years_unit_sets(draft):
    lines = {line.label: line for line in draft.lines.all()}
    assert set(lines) == {"仪化公司", "教育局", "卫健委、人民医院"}
    assert (lines["仪化公司"].last_task, lines["仪化公司"].last_completed) == (250, 3)
    assert lines["仪化公司"].fixed_periods == [5, 6] and lines["仪化公司"].split_amounts == [150, 100]
    assert lines["卫健委、人民医院"].headcount == 1000 and lines["卫健委、人民医院"].category == "party_gov"
    assert draft.total == 380 and draft.result["total"] == 380
    assert draft.history.get().history_change_reason.startswith("新建草稿：3 个单位")
    with pytest.raises(DraftError):
        draft_create(jurisdiction=draft.jurisdiction, year=2027, today=TODAY)


def test_the_workbench_shows_each_unit_with_its_rule_and_change(client_of, staff, draft, django_assert_num_queries):
    draft_update(draft=draft, rules={**draft.rules, "party_gov": {"kind": RATE, "value": "0.15"}}, total=None)
    client = client_of(staff)
    url = reverse("admin:quotas_plandraft_change", args=[draft.pk])
    # session, the user with role and permissions (config.backends), the scope, the draft, its
    # categories, its lines and their units, the base plan, other units to add, the plan of the
    # year, the parent's plan, the parent: 12, however many lines
    with django_assert_num_queries(12):
        page = client.get(url).content.decode()
    lines_add(draft=draft, units=[UnitFactory(jurisdiction=draft.jurisdiction) for _ in range(5)])
    with django_assert_num_queries(12):
        client.get(url)
    assert "总人数 400 × 15%" in page  # 教育局: 60 where it had 50
    assert "+10" in page and "120%" not in page
    assert 'id="draft-chart"' in page and "<script>" not in page.replace("<script src", "")


def test_staff_of_another_jurisdiction_and_leadership_cannot_see_a_draft(client_of, draft):
    other = JurisdictionFactory(name="如皋市")
    stranger = UserFactory(username="other-office", role="献血办")
    StaffProfile.objects.create(user=stranger, jurisdiction=other)
    url = reverse("admin:quotas_plandraft_change", args=[draft.pk])
    assert client_of(stranger).get(url).status_code == 404
    assert client_of(stranger).get(reverse("admin:quotas_plandraft_export", args=[draft.pk, "xlsx"])).status_code == 404
    listing = client_of(stranger).get(reverse("admin:quotas_plandraft_changelist")).content.decode()
    assert "仪征市 2027" not in listing
    leader = UserFactory(username="leader", role="领导")
    assert client_of(leader).get(url).status_code == 403
    nobody = UserFactory(username="no-profile", role="献血办")
    assert drafting_scope(nobody).empty and client_of(nobody).get(url).status_code == 404


def test_adjusting_a_line_refits_the_others_and_is_recorded(client_of, staff, draft):
    education = draft.lines.get(label="教育局")
    response = client_of(staff).post(
        reverse("admin:quotas_plandraft_line", args=[draft.pk, education.pk]),
        {"override": "80", "category": "party_gov", "period_mode": "fixed", "fixed_periods": ["2"], "label": "教育局"},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    education.refresh_from_db()
    assert education.proposal == 80 and education.parts == [[80, 2]]
    assert draft.result["total"] == 380  # the others gave up 30 between them
    assert draft.lines.get(label="仪化公司").proposal + draft.lines.get(label="卫健委、人民医院").proposal == 300
    reason = draft.history.first().history_change_reason
    assert "调整“教育局”" in reason and "指定任务数 — → 80" in reason
    assert draft.history.first().history_user == staff


def test_a_missing_figure_blocks_publishing_until_resolved(staff, draft, county):
    newcomer = UnitFactory(name="新单位", jurisdiction=county, category=Unit.Category.ENTERPRISE)
    assert lines_add(draft=draft, units=[newcomer], user=staff) == 1
    draft.refresh_from_db()
    assert draft.result["missing"] == {"last_task": 1}
    with pytest.raises(DraftError, match="没有任务数"):
        draft_publish(draft=draft, user=staff)
    line_update(line=draft.lines.get(label="新单位"), excluded=True, user=staff)
    draft.refresh_from_db()
    assert draft.result["missing"] == {} and draft.result["excluded"] == 1


def test_dekads_move_fixed_months_and_print_dekad_labels(staff, draft):
    draft_update(draft=draft, period_kind=PlanDraft.PeriodKind.DEKAD, user=staff)
    yihua = draft.lines.get(label="仪化公司")
    assert yihua.fixed_periods == [15, 18]  # 6月上旬, 7月上旬
    assert len(draft.result["period_labels"]) == 36 and draft.result["period_labels"][15] == "6月上旬"
    from quotas.drafting.rows import draft_attachment

    assert {r.period for r in draft_attachment(draft).rows if r.unit == "仪化公司"} == {"6月上旬", "7月上旬"}


def test_export_downloads_the_attachment(client_of, staff, draft):
    response = client_of(staff).get(reverse("admin:quotas_plandraft_export", args=[draft.pk, "xlsx"]))
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "附件1" and "2027" in sheet["A2"].value
    word = client_of(staff).get(reverse("admin:quotas_plandraft_export", args=[draft.pk, "docx"]))
    assert word.status_code == 200 and word.content[:2] == b"PK"
    assert client_of(staff).get(reverse("admin:quotas_plandraft_export", args=[draft.pk, "pdf"])).status_code == 404


def test_publishing_from_the_page(client_of, staff, draft):
    client = client_of(staff)
    url = reverse("admin:quotas_plandraft_publish", args=[draft.pk])
    preview = client.get(url).content.decode()
    assert "新增 4" in preview  # 仪化公司 twice, 教育局, the group; no plan before
    response = client.post(url)
    plan = AnnualPlan.objects.get(jurisdiction=draft.jurisdiction, year=2027)
    assert response.status_code == 302 and response["Location"].endswith(f"/{plan.pk}/change/")
    assert plan.status == AnnualPlan.Status.PUBLISHED and plan.quotas.count() == 4
    group = plan.quotas.get(label="卫健委、人民医院")
    assert sorted(group.units.values_list("name", flat=True)) == ["人民医院", "卫健委"]
    # published: the page is read-only until reopened
    assert (
        client.post(reverse("admin:quotas_plandraft_line", args=[draft.pk, draft.lines.first().pk])).status_code == 403
    )


def test_republishing_a_revised_draft_updates_the_plan_as_a_diff(staff, draft):
    from quotas.drafting.publishing import draft_reopen

    plan = draft_publish(draft=draft, user=staff)
    kept = set(plan.quotas.values_list("pk", flat=True))
    draft_reopen(draft=draft, user=staff)
    line_update(line=draft.lines.get(label="教育局"), override=70, user=staff)
    draft_publish(draft=draft, user=staff)
    assert set(plan.quotas.values_list("pk", flat=True)) == kept  # same quotas, numbers changed
    assert plan.quotas.get(label="教育局").target == 70
    assert plan.quotas.aggregate(total=__import__("django.db.models", fromlist=["Sum"]).Sum("target"))["total"] == 380


@pytest.mark.django_db(transaction=True)
def test_a_publication_that_would_read_back_to_another_unit_writes_nothing():
    city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
    county = JurisdictionFactory(name="仪征市", parent=city)
    UnitFactory(name="教育局", jurisdiction=city)
    UnitFactory(name="教育局", jurisdiction=county)  # the notice import matches names over the subtree
    draft = draft_create(jurisdiction=city, year=2027, today=TODAY)
    line = draft.lines.get(label="教育局")
    line_update(line=line, override=10)
    line_update(line=draft.lines.get(label="仪征市"), override=100)
    with pytest.raises(DraftError, match="核对不一致"):
        draft_publish(draft=draft)
    assert not AnnualPlan.objects.filter(year=2027).exists() and not Quota.objects.exists()
    assert PlanDraft.objects.get(pk=draft.pk).status == PlanDraft.Status.DRAFT


def test_the_cascade_city_to_county_to_town(client_of):
    city = JurisdictionFactory(name="张家界市", level=Jurisdiction.Level.CITY)
    county = JurisdictionFactory(name="慈利县", parent=city)
    other = JurisdictionFactory(name="桑植县", parent=city)
    town = JurisdictionFactory(name="零阳镇", parent=county, level=Jurisdiction.Level.TOWN)
    school = UnitFactory(name="慈利一中", jurisdiction=county, category=Unit.Category.SCHOOL, headcount=300)
    clinic = UnitFactory(name="零阳镇卫生院", jurisdiction=town, category=Unit.Category.HEALTH, headcount=60)
    city_staff = UserFactory(username="city-office", role="献血办")
    StaffProfile.objects.create(user=city_staff, jurisdiction=city)

    # The city drafts: its two counties are lines of their own (annual, no month).
    city_draft = draft_create(jurisdiction=city, year=2027, today=TODAY, user=city_staff)
    assert {(line.label, line.category, line.period_mode) for line in city_draft.lines.all()} == {
        ("慈利县", SUB_JURISDICTION, DraftLine.PeriodMode.ANNUAL),
        ("桑植县", SUB_JURISDICTION, DraftLine.PeriodMode.ANNUAL),
    }
    line_update(line=city_draft.lines.get(label="慈利县"), override=2700)
    line_update(line=city_draft.lines.get(label="桑植县"), override=1800)
    plan = draft_publish(draft=city_draft, user=city_staff)
    assert plan.quotas.get(label="慈利县").sub_jurisdiction == county

    # The county's office sees 2,700 from above and drafts its own units against it.
    county_staff = UserFactory(username="county-office", role="献血办")
    StaffProfile.objects.create(user=county_staff, jurisdiction=county)
    assert allocation_from_above(county, 2027).total == 2700
    assert allocation_from_above(other, 2027).total == 1800
    listing = client_of(county_staff).get(reverse("admin:quotas_plandraft_changelist")).content.decode()
    assert "2700" in listing and "草拟分解" in listing
    county_draft = draft_create(jurisdiction=county, year=2027, today=TODAY, user=county_staff)
    assert county_draft.total == 2700
    assert {line.label for line in county_draft.lines.all()} == {"慈利一中", "零阳镇"}
    line_update(line=county_draft.lines.get(label="零阳镇"), override=600)
    draft_update(draft=county_draft, fit_total=False, rules={"school": {"kind": RATE, "value": "0.2"}})
    county_draft.refresh_from_db()
    page = client_of(county_staff).get(reverse("admin:quotas_plandraft_change", args=[county_draft.pk]))
    text = page.content.decode()
    assert "上级下达" in text and "未覆盖，还差 2040" in text  # 600 + 60 of 2,700
    draft_update(draft=county_draft, fit_total=True)
    county_draft.refresh_from_db()
    assert county_draft.result["total"] == 2700 and county_draft.lines.get(label="慈利一中").proposal == 2100
    text = (
        client_of(county_staff).get(reverse("admin:quotas_plandraft_change", args=[county_draft.pk])).content.decode()
    )
    assert "恰好覆盖" in text
    draft_publish(draft=county_draft, user=county_staff)

    # …and the town in turn (any depth).
    assert allocation_from_above(town, 2027).total == 600
    town_draft = draft_create(jurisdiction=town, year=2027, today=TODAY)
    assert town_draft.total == 600 and town_draft.lines.get().label == clinic.name
    assert school.pk  # the county's own unit stays with the county


def test_a_sub_jurisdictions_last_year_is_its_subtrees_donations():
    city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
    county = JurisdictionFactory(name="仪征市", parent=city)
    town = JurisdictionFactory(name="刘集镇", parent=county, level=Jurisdiction.Level.TOWN)
    plan = PlanFactory(jurisdiction=city, year=2026, status=AnnualPlan.Status.CLOSED)
    Quota.objects.create(plan=plan, year=2026, label="仪征市", sub_jurisdiction=county, target=3000)
    school = UnitFactory(name="刘集中学", jurisdiction=town, category=Unit.Category.SCHOOL)
    for seq in range(4):
        make_donation(school, donated_on=dt.date(2026, 5, 2 + seq), seq=300 + seq)
    draft = draft_create(jurisdiction=city, year=2027, today=TODAY)
    line = draft.lines.get(label="仪征市")
    assert (line.last_task, line.last_completed, line.sub_jurisdiction) == (3000, 4, county)
    assert line.period_mode == DraftLine.PeriodMode.ANNUAL and line.proposal == 3000


def test_refreshing_last_years_figures_reads_donations_since(staff, draft, last_year):
    yihua = Unit.objects.get(name="仪化公司")
    make_donation(yihua, donated_on=dt.date(2026, 12, 20), seq=200)
    draft_refresh_figures(draft=draft, today=dt.date(2026, 12, 31), user=staff)
    line = draft.lines.get(label="仪化公司")
    assert line.last_completed == 4 and draft.figures_as_of == dt.date(2026, 12, 31)
    assert draft.history.first().history_change_reason == "刷新上年数据（截至 2026-12-31）"


def test_a_published_draft_is_not_published_twice(staff, draft):
    draft_publish(draft=draft, user=staff)
    with pytest.raises(DraftError, match="已发布"):
        draft_publish(draft=draft, user=staff)
    assert AnnualPlan.objects.get(jurisdiction=draft.jurisdiction, year=2027).history.count() == 2


def test_last_year_figures_read_completion_through_the_registered_counting_core(monkeypatch):
    """Drafting (quotas) asks campaigns' counting core through a hook, never by import; without
    a reader, last year's completed is unknown (None), never a made-up 0."""
    from campaigns.dashboard.figures import plan_completed
    from quotas.drafting import selectors
    from tests.factories import PlanFactory, QuotaFactory, UnitFactory, make_donation

    plan = PlanFactory(year=2025)
    unit = UnitFactory(jurisdiction=plan.jurisdiction)
    QuotaFactory(plan=plan, target=5, units=[unit])
    make_donation(unit, donated_on=dt.date(2025, 3, 10), seq=1)
    make_donation(unit, donated_on=dt.date(2025, 6, 10), seq=2)
    today = dt.date(2026, 3, 1)
    assert selectors._completed_reader == [plan_completed]
    assert [f.completed for f in selectors.last_year_figures(plan, today=today)] == [2]
    monkeypatch.setattr(selectors, "_completed_reader", [])
    assert [f.completed for f in selectors.last_year_figures(plan, today=today)] == [None]
