"""One installation, many offices (issue 19): every admin and staff page cut to the user's scope.

Two offices in different cities — 仪征市 under 扬州市, 如皋市 under 南通市 — each with one record of
every scoped kind. Staff of 仪征 see theirs and never 如皋's: not in a list, not through an object
view (404), not among the choices of a form or an autocomplete, not through an action, an export
or an import. A leader of 扬州市 sees 仪征 and not 如皋; an account without a jurisdiction sees
nothing; a superuser sees both. The lists of admins, fields and lookups are read from the admin
site and the models, so a new admin or a new autocomplete field is tested without a new row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR
from django.test import Client, RequestFactory
from django.urls import reverse

from campaigns.models import AccessEvent, Bulletin, Donation, DonationDrive
from quotas.models import AnnualPlan, PlanDraft, PlanSource
from quotas.resources import QuotaResource
from tests.factories import (
    JurisdictionFactory,
    PlanFactory,
    QuotaFactory,
    UnitFactory,
    UserFactory,
    make_donation,
    make_liaison,
)
from units.admin_scope import ScopedAdmin, SuperuserOnlyAdmin
from units.models import Jurisdiction, Liaison, StaffProfile, Unit, UnitAlias
from units.scope import EVERYTHING, NOTHING, Scope, jurisdiction_of, scope_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # seven accounts a test


CITY, COUNTY, TOWN = Jurisdiction.Level.CITY, Jurisdiction.Level.COUNTY, Jurisdiction.Level.TOWN
# Admins no scope applies to: accounts, groups and lockouts span every office.
SUPERUSER_ONLY = {
    "auth.user",
    "auth.group",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "django_tasks_database.dbtaskresult",
}


def _office(name: str, city, seq: int) -> dict:
    """One county office with one record of every scoped kind."""
    county = JurisdictionFactory(name=name, level=COUNTY, parent=city)
    town = JurisdictionFactory(name=f"{name[:2]}镇", level=TOWN, parent=county)
    unit = UnitFactory(name=f"{name}人民医院", jurisdiction=county)
    plan = PlanFactory(jurisdiction=county, year=2026)
    quota = QuotaFactory(plan=plan, label=unit.name, units=[unit], sub_jurisdiction=None)
    liaison_user = UserFactory(username=f"liaison-{seq}", role="联络员")
    staff = UserFactory(username=f"office-{seq}", role="献血办")
    donation = make_donation(unit, donated_on=dt.date(2026, 3, 3), seq=seq, donor_name=f"{name[:2]}献血者")
    objects = {
        "units.jurisdiction": town,  # the office's own jurisdiction is read-only for it (below)
        "units.unit": unit,
        "units.unitalias": UnitAlias.objects.create(
            unit=unit, jurisdiction=county, name=f"{name[:2]}医院", normalized_name=f"{name[:2]}医院"
        ),
        "units.liaison": make_liaison(liaison_user, unit),
        "units.staffprofile": StaffProfile.objects.create(user=staff, jurisdiction=county),
        "quotas.annualplan": plan,
        "quotas.quota": quota,
        "quotas.plansource": PlanSource.objects.create(
            plan=plan, original_name=f"{seq}.xlsx", sha256="0" * 64, file=f"notices/{seq}.xlsx"
        ),
        "quotas.plandraft": PlanDraft.objects.create(jurisdiction=county, year=2027),
        "campaigns.donationdrive": DonationDrive.objects.create(
            plan=plan, start_date=dt.date(2026, 3, 3), end_date=dt.date(2026, 3, 3), place=f"{name}广场"
        ),
        "campaigns.donation": donation,
        "campaigns.accessevent": AccessEvent.objects.create(user=staff, action="show_id", donation=donation),
        "campaigns.bulletin": Bulletin.objects.create(
            jurisdiction=county, year=2026, title=f"{name}通报", as_of=dt.date(2026, 3, 3), figures={}
        ),
    }
    for tracked in ("units.unit", "units.unitalias", "quotas.annualplan", "quotas.quota", "campaigns.donation"):
        app, model = tracked.split(".")
        objects[f"{app}.historical{model}"] = objects[tracked].history.earliest()
    return {"county": county, "staff": staff, "objects": objects}


@pytest.fixture
def offices(db):
    yangzhou = JurisdictionFactory(name="扬州市", level=CITY)
    nantong = JurisdictionFactory(name="南通市", level=CITY)
    yizheng = _office("仪征市", yangzhou, 11)
    rugao = _office("如皋市", nantong, 13)
    leader = UserFactory(username="leader-yangzhou", role="领导")
    StaffProfile.objects.create(user=leader, jurisdiction=yangzhou)
    return {
        "yangzhou": yangzhou,
        "nantong": nantong,
        "yizheng": yizheng,
        "rugao": rugao,
        "leader": leader,
        "nobody": UserFactory(username="leader-nowhere", role="领导"),
        "root": UserFactory(username="root", is_superuser=True, is_staff=True),
    }


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _scoped_models() -> list[str]:
    return sorted(
        f"{m._meta.app_label}.{m._meta.model_name}"
        for m, a in admin.site._registry.items()
        if isinstance(a, ScopedAdmin)
    )


def _admin_of(label: str):
    return next(a for m, a in admin.site._registry.items() if f"{m._meta.app_label}.{m._meta.model_name}" == label)


def _url(label: str, view: str, obj=None) -> str:
    name = f"admin:{label.replace('.', '_')}_{view}"
    return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)


def _listed(client, label: str) -> set:
    response = client.get(_url(label, "changelist"))
    assert response.status_code == 200, label
    return set(response.context["cl"].queryset.values_list("pk", flat=True))


# -- Every admin is scoped or for superusers only -------------------------------------------------


def test_every_registered_admin_is_scoped_or_superuser_only():
    unscoped = []
    for model, model_admin in admin.site._registry.items():
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if label in SUPERUSER_ONLY:
            assert isinstance(model_admin, SuperuserOnlyAdmin), label
        elif not isinstance(model_admin, ScopedAdmin):
            unscoped.append(label)
    assert not unscoped, "admins neither scoped nor superuser-only: " + ", ".join(unscoped)
    # every scoped admin names a lookup that reaches a jurisdiction (a wrong one raises FieldError)
    for label in _scoped_models():
        model_admin = _admin_of(label)
        model_admin.model._default_manager.filter(Scope(root=Jurisdiction(path="/0/")).q(model_admin.scope_to)).exists()


def test_superuser_only_admins_refuse_staff_with_every_permission(offices):
    from django.contrib.auth.models import Permission

    staff = offices["yizheng"]["staff"]
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["auth", "axes"]))
    client = _client(staff)
    for label in sorted(SUPERUSER_ONLY):
        assert client.get(_url(label, "changelist")).status_code == 403, label
    assert _client(offices["root"]).get(_url("auth.user", "changelist")).status_code == 200


# -- Lists and object views ------------------------------------------------------------------


@pytest.mark.parametrize("label", _scoped_models())
def test_staff_see_their_office_only(offices, label):
    own, other = offices["yizheng"]["objects"][label], offices["rugao"]["objects"][label]
    client = _client(offices["yizheng"]["staff"])
    listed = _listed(client, label)
    assert own.pk in listed and other.pk not in listed
    assert client.get(_url(label, "change", own)).status_code == 200
    assert client.get(_url(label, "change", other)).status_code == 404
    if hasattr(type(_admin_of(label)), "history_view") and not label.split(".")[1].startswith("historical"):
        assert client.get(_url(label, "history", own)).status_code == 200
        assert client.get(_url(label, "history", other)).status_code == 404
    if _admin_of(label).has_delete_permission(_request(offices["yizheng"]["staff"])):
        assert client.get(_url(label, "delete", other)).status_code == 404
        assert client.post(_url(label, "delete", other), {"post": "yes"}).status_code == 404
        assert type(other).objects.filter(pk=other.pk).exists()


def test_past_versions_of_another_office_are_missing(offices):
    client = _client(offices["yizheng"]["staff"])
    for label in ("units.unit", "quotas.annualplan", "campaigns.donation"):
        own, other = offices["yizheng"]["objects"][label], offices["rugao"]["objects"][label]
        name = f"admin:{label.replace('.', '_')}_simple_history"
        assert client.get(reverse(name, args=[own.pk, own.history.earliest().pk])).status_code == 200
        assert client.get(reverse(name, args=[other.pk, other.history.earliest().pk])).status_code == 404


@pytest.mark.parametrize("label", ["units.unit", "quotas.annualplan", "quotas.quota", "campaigns.bulletin"])
def test_a_city_leader_sees_their_counties_and_not_another_city(offices, label):
    listed = _listed(_client(offices["leader"]), label)
    assert offices["yizheng"]["objects"][label].pk in listed
    assert offices["rugao"]["objects"][label].pk not in listed


@pytest.mark.parametrize("label", ["units.unit", "quotas.annualplan", "units.jurisdiction", "campaigns.bulletin"])
def test_an_account_without_a_jurisdiction_sees_nothing_and_a_superuser_everything(offices, label):
    assert _listed(_client(offices["nobody"]), label) == set()
    everything = _listed(_client(offices["root"]), label)
    assert {offices[o]["objects"][label].pk for o in ("yizheng", "rugao")} <= everything


def test_the_offices_own_jurisdiction_is_read_only_for_it(offices):
    yizheng = offices["yizheng"]
    client = _client(yizheng["staff"])
    county = yizheng["county"]
    assert county.pk in _listed(client, "units.jurisdiction")
    assert offices["yangzhou"].pk not in _listed(client, "units.jurisdiction")
    page = client.get(_url("units.jurisdiction", "change", county))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    data = {"name": "仪征", "level": COUNTY, "parent": offices["yangzhou"].pk, "code": ""}
    assert client.post(_url("units.jurisdiction", "change", county), data).status_code == 403
    # a new town under their own jurisdiction, yes; a new root or a town of another office, no
    town = {"name": "新城镇", "level": TOWN, "code": ""}
    client.post(_url("units.jurisdiction", "add"), {**town, "parent": offices["rugao"]["county"].pk})
    client.post(_url("units.jurisdiction", "add"), {**town, "name": "无上级", "parent": ""})
    assert not Jurisdiction.objects.filter(name__in=["新城镇", "无上级"]).exists()
    client.post(_url("units.jurisdiction", "add"), {**town, "parent": county.pk})
    assert Jurisdiction.objects.get(name="新城镇").parent == county


# -- Choices: forms and autocomplete --------------------------------------------------------


def _autocomplete_fields() -> list[tuple[str, str]]:
    """(admin, field) for every autocomplete field whose model is scoped."""
    fields = []
    for label in _scoped_models():
        model_admin = _admin_of(label)
        for name in model_admin.autocomplete_fields:
            remote = model_admin.model._meta.get_field(name).remote_field.model
            if isinstance(admin.site._registry.get(remote), ScopedAdmin):
                fields.append((label, name))
    return fields


def _office_object_of(office: dict, model) -> object:
    label = f"{model._meta.app_label}.{model._meta.model_name}"
    if model is Jurisdiction:
        return office["county"]
    return office["objects"][label]


@pytest.mark.parametrize(("label", "field"), _autocomplete_fields())
def test_autocomplete_offers_nothing_of_another_office(offices, label, field):
    model = _admin_of(label).model
    remote = model._meta.get_field(field).remote_field.model
    response = _client(offices["yizheng"]["staff"]).get(
        reverse("admin:autocomplete"),
        {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field, "term": ""},
    )
    if response.status_code == 403:  # the remote model is not the user's to read (leadership-only rights)
        return
    offered = {int(r["id"]) for r in response.json()["results"]}
    assert _office_object_of(offices["yizheng"], remote).pk in offered
    assert _office_object_of(offices["rugao"], remote).pk not in offered


def _choice_fields() -> list[tuple[str, str]]:
    """(admin, field) for every foreign key and many-to-many field of a scoped admin's model whose
    model is scoped too (the add form's choices)."""
    pairs = []
    for label in _scoped_models():
        model = _admin_of(label).model
        for f in model._meta.get_fields():
            if (f.many_to_one or f.many_to_many) and f.concrete and f.editable:
                remote = f.remote_field.model
                if isinstance(admin.site._registry.get(remote), ScopedAdmin) and remote is not model.__base__:
                    pairs.append((label, f.name))
    return pairs


@pytest.mark.parametrize(("label", "field"), _choice_fields())
def test_form_choices_offer_nothing_of_another_office(offices, label, field):
    model_admin = _admin_of(label)
    request = _request(offices["yizheng"]["staff"])
    db_field = model_admin.model._meta.get_field(field)
    formfield = model_admin.formfield_for_dbfield(db_field, request)
    if formfield is None or not hasattr(formfield, "queryset"):
        return
    remote = db_field.remote_field.model
    choices = set(formfield.queryset.values_list("pk", flat=True))
    assert _office_object_of(offices["yizheng"], remote).pk in choices
    assert _office_object_of(offices["rugao"], remote).pk not in choices


def test_a_unit_cannot_be_moved_to_another_office(offices):
    unit = offices["yizheng"]["objects"]["units.unit"]
    client = _client(offices["yizheng"]["staff"])
    data = {
        "name": unit.name,
        "category": unit.category,
        "jurisdiction": offices["rugao"]["county"].pk,
        "active": "on",
        **{f"{p}-{k}": v for p in ("aliases", "subordinates") for k, v in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))},
    }
    response = client.post(_url("units.unit", "change", unit), data)
    assert response.status_code == 200 and response.context["adminform"].form.errors  # not a valid choice
    unit.refresh_from_db()
    assert unit.jurisdiction == offices["yizheng"]["county"]


def test_a_profile_cannot_be_granted_above_ones_own_jurisdiction(offices):
    newcomer = UserFactory(username="newcomer", role="领导")
    client = _client(offices["yizheng"]["staff"])
    for above in (offices["yangzhou"], offices["rugao"]["county"]):
        client.post(_url("units.staffprofile", "add"), {"user": newcomer.pk, "jurisdiction": above.pk})
        assert not StaffProfile.objects.filter(user=newcomer).exists()
    # another office's staff is not offered either
    form_users = _admin_of("units.staffprofile").formfield_for_dbfield(
        StaffProfile._meta.get_field("user"), _request(offices["yizheng"]["staff"])
    )
    offered = set(form_users.queryset.values_list("username", flat=True))
    assert "newcomer" in offered and "office-13" not in offered and "root" not in offered
    client.post(
        _url("units.staffprofile", "add"), {"user": newcomer.pk, "jurisdiction": offices["yizheng"]["county"].pk}
    )
    assert StaffProfile.objects.get(user=newcomer).jurisdiction == offices["yizheng"]["county"]


# -- Actions, show-ID, exports, imports ------------------------------------------------------


def _action(client, label: str, action: str, obj, **extra):
    return client.post(
        _url(label, "changelist"), {"action": action, admin.helpers.ACTION_CHECKBOX_NAME: [obj.pk], **extra}
    )


def test_closing_another_offices_plan_does_nothing(offices):
    other = offices["rugao"]["objects"]["quotas.annualplan"]
    own = offices["yizheng"]["objects"]["quotas.annualplan"]
    client = _client(offices["yizheng"]["staff"])
    _action(client, "quotas.annualplan", "close", other)
    other.refresh_from_db()
    assert other.status == AnnualPlan.Status.PUBLISHED
    _action(client, "quotas.annualplan", "close", own)
    own.refresh_from_db()
    assert own.status == AnnualPlan.Status.CLOSED


def test_reviewing_and_exporting_another_offices_donations_does_nothing(offices):
    other = offices["rugao"]["objects"]["campaigns.donation"]
    client = _client(offices["yizheng"]["staff"])
    for action in ("verify", "reject"):
        _action(client, "campaigns.donation", action, other)
        other.refresh_from_db()
        assert other.status == Donation.Status.LOGGED and other.reviewed_by is None
    response = _action(client, "campaigns.donation", "export_roster", other)
    assert "如皋献血者" not in _text(response)
    own = offices["yizheng"]["objects"]["campaigns.donation"]
    assert "仪征献血者" in _text(_action(client, "campaigns.donation", "export_roster", own))


def _text(response) -> str:
    """What a download shows: the cells of a workbook, or the page."""
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    return response.content.decode(errors="replace")


def test_showing_another_offices_id_number_is_missing_and_not_recorded(offices):
    other = offices["rugao"]["objects"]["campaigns.donation"]
    before = AccessEvent.objects.count()
    response = _client(offices["yizheng"]["staff"]).post(reverse("admin:campaigns_donation_show_id", args=[other.pk]))
    assert response.status_code == 404
    assert AccessEvent.objects.count() == before


def _request(user, **get):
    request = RequestFactory().get("/admin/", get)
    request.user = user
    return request


@pytest.mark.parametrize("who", ["yizheng", "leader"])
def test_the_quota_export_holds_the_users_scope_only(offices, who):
    user = offices[who] if who == "leader" else offices[who]["staff"]
    exported = set(_admin_of("quotas.quota").get_export_queryset(_request(user)).values_list("pk", flat=True))
    assert exported == {offices["yizheng"]["objects"]["quotas.quota"].pk}


def test_the_flat_import_neither_names_nor_updates_another_offices_plan():
    resource = QuotaResource(scope=NOTHING)
    assert not resource.get_queryset().exists()
    assert QuotaResource().scope is EVERYTHING  # outside a request (commands, tests): trusted code


def test_the_flat_import_is_scoped_through_the_admin(offices):
    resource_kwargs = _admin_of("quotas.quota").get_import_resource_kwargs(_request(offices["yizheng"]["staff"]))
    resource = QuotaResource(**resource_kwargs)
    assert set(resource.get_queryset().values_list("pk", flat=True)) == {
        offices["yizheng"]["objects"]["quotas.quota"].pk
    }
    other_plan = offices["rugao"]["objects"]["quotas.annualplan"]
    with pytest.raises(AnnualPlan.DoesNotExist):
        resource.fields["plan"].widget.clean(str(other_plan.pk), row={})


def test_the_notice_import_offers_and_accepts_only_the_users_jurisdictions(offices):
    client = _client(offices["yizheng"]["staff"])
    page = client.get(reverse("admin:quotas_annualplan_import"))
    offered = set(page.context["form"].fields["jurisdiction"].queryset.values_list("pk", flat=True))
    assert offices["yizheng"]["county"].pk in offered
    assert not offered & {offices["rugao"]["county"].pk, offices["yangzhou"].pk}
    from django.core.files.uploadedfile import SimpleUploadedFile

    posted = client.post(
        reverse("admin:quotas_annualplan_import"),
        {
            "jurisdiction": offices["rugao"]["county"].pk,
            "year": 2027,
            "file": SimpleUploadedFile("a.csv", "序号,单位,任务数\n1,如皋市人民医院,5\n".encode()),
        },
    )
    assert posted.status_code == 200 and "jurisdiction" in posted.context["form"].errors
    other_plan = offices["rugao"]["objects"]["quotas.annualplan"]
    assert client.get(reverse("admin:quotas_annualplan_import_into", args=[other_plan.pk])).status_code == 404


# -- Staff and leadership pages ------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?j=all", "?year=2026&j=all"])
def test_a_leader_without_a_jurisdiction_sees_nothing_on_the_dashboard(offices, query):
    client = _client(offices["nobody"])
    page = client.get(f"/dashboard/{query}")
    assert page.status_code == 403
    text = page.content.decode()
    assert "没有所属行政区划" in text and "仪征" not in text and "如皋" not in text
    assert client.get(f"/dashboard/export.xlsx{query}").status_code == 403


def test_a_superuser_still_sees_every_jurisdiction_on_the_dashboard(offices):
    page = _client(offices["root"]).get("/dashboard/?year=2026&j=all")
    assert page.status_code == 200 and "扬州市" in page.content.decode() and "南通市" in page.content.decode()


def test_a_city_leader_opens_their_counties_and_not_another_citys(offices):
    client = _client(offices["leader"])
    assert client.get(f"/dashboard/?year=2026&j={offices['yizheng']['county'].pk}").status_code == 200
    assert client.get(f"/dashboard/?year=2026&j={offices['rugao']['county'].pk}").status_code == 404
    assert client.get("/dashboard/?year=2026&j=all").status_code == 404
    other = offices["rugao"]["objects"]["campaigns.bulletin"]  # an own bulletin opens: test_permission_matrix
    for name in ("campaigns:bulletin", "campaigns:bulletin_export", "campaigns:bulletin_compare"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404, name


def test_drafting_pages_are_limited_to_the_users_scope(offices):
    client = _client(offices["yizheng"]["staff"])
    other = offices["rugao"]["objects"]["quotas.plandraft"]
    assert client.get(_url("quotas.plandraft", "change", other)).status_code == 404
    page = client.get(_url("quotas.plandraft", "add"))
    offered = set(page.context["form"].fields["jurisdiction"].queryset.values_list("pk", flat=True))
    assert offices["yizheng"]["county"].pk in offered and offices["rugao"]["county"].pk not in offered


# -- The scope itself, over every lookup the admin uses --------------------------------------


def _lookups() -> list[tuple[str, str, bool]]:
    return sorted({(label, _admin_of(label).scope_to, _admin_of(label).scope_many) for label in _scoped_models()})


@pytest.mark.parametrize(("label", "to", "many"), _lookups())
def test_scope_filter_agrees_with_each_rows_jurisdiction(offices, label, to, many):
    """For every lookup and every scope (each jurisdiction's subtree, everything, nothing), the
    database's filter keeps exactly the rows whose jurisdiction the scope allows, read in Python."""
    model = _admin_of(label).model
    rows = list(model._default_manager.all())
    assert rows
    scopes = [EVERYTHING, NOTHING, *(Scope(root=j) for j in Jurisdiction.objects.all())]
    for scope in scopes:
        kept = set(scope.filter(model._default_manager.all(), to, many=many).values_list("pk", flat=True))
        if many:
            head, _, tail = to.partition("__")
            expected = {
                r.pk for r in rows if any(scope.allows(jurisdiction_of(x, tail)) for x in getattr(r, head).all())
            }
        else:
            expected = {r.pk for r in rows if scope.allows(jurisdiction_of(r, to))}
        assert kept == expected, (label, scope.root, scope.everything)


def test_scope_for_each_kind_of_account(offices):
    assert scope_for(offices["root"]) is EVERYTHING
    assert scope_for(offices["nobody"]).empty
    assert scope_for(offices["leader"]).root == offices["yangzhou"]
    liaison = Liaison.objects.get(user__username="liaison-11").user
    assert scope_for(liaison).empty  # liaisons are held to their own units, not a jurisdiction
    assert list(Unit.objects.for_user(liaison)) == [offices["yizheng"]["objects"]["units.unit"]]
    inactive = offices["yizheng"]["staff"]
    inactive.is_active = False
    assert scope_for(inactive).empty


def test_the_popup_and_autocomplete_paths_do_not_widen_the_list(offices):
    """The list opened as a raw-id popup is the same list."""
    client = _client(offices["yizheng"]["staff"])
    response = client.get(_url("units.unit", "changelist"), {IS_POPUP_VAR: 1})
    assert offices["rugao"]["objects"]["units.unit"].pk not in set(
        response.context["cl"].queryset.values_list("pk", flat=True)
    )
