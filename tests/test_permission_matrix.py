"""Every URL of the portal, admin included, for every role and method, against a written table.

Roles: anonymous, the liaison of unit A, the liaison of unit B, leadership, blood-office staff.
Outcomes: OK (2xx, or a redirect that is not to a login page), LOGIN (redirect to a login
page), DENIED (403), MISSING (404: what another unit's liaison gets for unit A's record), METHOD
(405). Each POST runs in a transaction rolled back afterwards, so a delete or an import does not
change what the next request sees.

A URL pattern with no row here fails `test_every_url_has_a_row`: add the row when adding a URL.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from campaigns.dashboard.figures import dashboard_figures
from campaigns.models import AccessEvent, Bulletin, DonationDrive
from quotas.models import PlanSource
from tests.factories import JurisdictionFactory, QuotaFactory, UnitFactory, UserFactory, make_donation, make_liaison
from units.models import StaffProfile, UnitAlias

OK, LOGIN, DENIED, MISSING, METHOD = "ok", "login", "denied", "missing", "method"
ROLES = ["anonymous", "liaison_a", "liaison_b", "leader", "staff"]

# ---- The admin: which rights each role has on each model (the roles' groups, migration 0002).
VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ALL = {VIEW, ADD, CHANGE, DELETE}
ADMIN_RIGHTS: dict[str, tuple[set[str], set[str]]] = {
    # model: (blood-office staff, leadership); liaisons and anonymous users never enter the admin
    "units.jurisdiction": (ALL, {VIEW}),
    "units.unit": (ALL, {VIEW}),
    "units.unitalias": (ALL, {VIEW}),
    "units.liaison": (ALL, {VIEW}),
    "units.staffprofile": (ALL, {VIEW}),
    "quotas.annualplan": (ALL, {VIEW}),
    "quotas.quota": (ALL, {VIEW}),
    "quotas.plansource": ({VIEW, CHANGE, DELETE}, {VIEW}),  # files arrive through imports only
    "quotas.plandraft": (ALL, set()),  # drafting an allocation is staff work
    "campaigns.donationdrive": (ALL, {VIEW}),
    "campaigns.donation": (ALL, set()),  # leadership sees numbers only, never donors
    "campaigns.accessevent": ({VIEW}, set()),  # the access log is read-only, even for staff
    "campaigns.bulletin": ({VIEW, DELETE}, {VIEW}),  # made from the dashboard, never in the admin
    # the audit trail: read-only, for whoever may see the records themselves
    "units.historicalunit": ({VIEW}, {VIEW}),
    "units.historicalunitalias": ({VIEW}, {VIEW}),
    "quotas.historicalannualplan": ({VIEW}, {VIEW}),
    "quotas.historicalquota": ({VIEW}, {VIEW}),
    "campaigns.historicaldonation": ({VIEW}, set()),
    "auth.user": (set(), set()),  # superusers manage accounts
    "auth.group": (set(), set()),
    "axes.accessattempt": (set(), set()),
    "axes.accesslog": (set(), set()),
    "axes.accessfailurelog": (set(), set()),
    "django_tasks_database.dbtaskresult": (set(), set()),  # background tasks: superusers look
}
# Admin views and the rights they need, for GET and POST.
ADMIN_VIEWS = {
    "changelist": ({VIEW, CHANGE}, {VIEW, CHANGE}),
    "add": ({ADD}, {ADD}),
    "change": ({VIEW, CHANGE}, {CHANGE}),
    "history": ({VIEW, CHANGE}, {VIEW, CHANGE}),
    "delete": ({DELETE}, {DELETE}),
    # one past version of a record (django-simple-history); reverting is switched off
    "simple_history": ({VIEW, CHANGE}, set()),
}


def _row(anonymous, liaison_a, liaison_b, leader, staff) -> dict[str, str]:
    return dict(zip(ROLES, [anonymous, liaison_a, liaison_b, leader, staff], strict=True))


def admin_only(leader=OK, staff=OK) -> dict[str, str]:
    return _row(LOGIN, LOGIN, LOGIN, leader, staff)


EVERYONE = _row(OK, OK, OK, OK, OK)
LIAISONS = _row(LOGIN, OK, OK, DENIED, DENIED)
OWN_UNIT = _row(LOGIN, OK, MISSING, DENIED, DENIED)
READERS = _row(LOGIN, DENIED, DENIED, OK, OK)
SIGNED_IN = _row(LOGIN, OK, OK, OK, OK)
NOBODY = _row(METHOD, METHOD, METHOD, METHOD, METHOD)
STAFF_ONLY = _row(LOGIN, DENIED, DENIED, DENIED, OK)

# ---- Everything else, by URL name: (GET, POST).
TABLE: dict[str, tuple[dict, dict]] = {
    "home": (SIGNED_IN, NOBODY),
    "favicon.ico": (EVERYONE, NOBODY),
    "login": (EVERYONE, EVERYONE),
    "logout": (NOBODY, _row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),  # back to the login page
    "set_language": (EVERYONE, EVERYONE),
    "javascript-catalog": (EVERYONE, NOBODY),
    "admin:index": (admin_only(), admin_only()),
    "admin:login": (EVERYONE, EVERYONE),
    "admin:logout": (_row(OK, OK, OK, METHOD, METHOD), _row(OK, OK, OK, LOGIN, LOGIN)),
    "admin:password_change": (admin_only(), admin_only()),
    "admin:password_change_done": (admin_only(), admin_only(METHOD, METHOD)),
    "admin:auth_user_password_change": (admin_only(DENIED, DENIED), admin_only(DENIED, DENIED)),
    "admin:autocomplete": (admin_only(DENIED, DENIED), admin_only(METHOD, METHOD)),
    "admin:jsi18n": (admin_only(), admin_only(METHOD, METHOD)),
    "admin:view_on_site": (admin_only(MISSING, MISSING), admin_only(MISSING, MISSING)),
    "admin:app_list": (admin_only(), admin_only()),
    "admin catch-all": (admin_only(MISSING, MISSING), admin_only(MISSING, MISSING)),
    # the notice import (issue 3) and the flat-format import/export of quotas
    "admin:quotas_annualplan_import": (admin_only(DENIED), admin_only(DENIED)),
    "admin:quotas_annualplan_import_into": (admin_only(DENIED), admin_only(DENIED)),
    # a scan's reading progress: the uploader's own staged upload only (here nobody's: a 404)
    "admin:quotas_annualplan_import_status": (admin_only(DENIED, MISSING), admin_only(METHOD, METHOD)),
    "admin:quotas_quota_import": (admin_only(DENIED), admin_only(DENIED)),
    "admin:quotas_quota_process_import": (admin_only(METHOD, METHOD), admin_only(DENIED)),
    "admin:quotas_quota_export": (admin_only(), admin_only()),
    # drafting (issue 22): staff only, inside their jurisdiction
    "admin:quotas_plandraft_headcounts": (admin_only(DENIED), admin_only(DENIED)),
    "admin:quotas_plandraft_line": (admin_only(DENIED), admin_only(DENIED)),
    "admin:quotas_plandraft_export": (admin_only(DENIED), admin_only(METHOD, METHOD)),
    "admin:quotas_plandraft_publish": (admin_only(DENIED), admin_only(DENIED)),
    "admin:quotas_plandraft_reopen": (admin_only(METHOD, METHOD), admin_only(DENIED)),
    # showing a full ID number is staff-only and recorded; GET only leads back to the record
    "admin:campaigns_donation_show_id": (admin_only(DENIED), admin_only(DENIED)),
    # 核实 / 退回 from the record page (issue 17): POST only, staff only
    "admin:campaigns_donation_review": (admin_only(METHOD, METHOD), admin_only(DENIED)),
    # reopening a closed plan (issue 17): asks on GET, staff only (an open plan: back to its page)
    "admin:quotas_annualplan_reopen": (admin_only(DENIED), admin_only(DENIED)),
    # liaison pages
    "campaigns:liaison_home": (LIAISONS, NOBODY),
    "campaigns:log_donation": (LIAISONS, LIAISONS),
    "campaigns:edit_donation": (OWN_UNIT, OWN_UNIT),
    "campaigns:donor_list": (LIAISONS, NOBODY),
    "campaigns:withdraw_donation": (OWN_UNIT, OWN_UNIT),  # GET: the confirmation page
    "campaigns:upload_roster": (LIAISONS, LIAISONS),
    "campaigns:roster_template": (LIAISONS, _row(METHOD, METHOD, METHOD, METHOD, METHOD)),
    # the dashboard: a liaison gets their own unit's card only
    "campaigns:dashboard": (SIGNED_IN, NOBODY),
    "campaigns:dashboard_export": (READERS, NOBODY),
    "campaigns:bulletin_create": (_row(LOGIN, METHOD, METHOD, METHOD, METHOD), _row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "campaigns:bulletin": (READERS, NOBODY),
    "campaigns:bulletin_export": (READERS, NOBODY),
    "campaigns:bulletin_compare": (READERS, NOBODY),
    # the station's records (issue 21): blood-office staff only
    "stations:overview": (STAFF_ONLY, NOBODY),
    "stations:upload": (STAFF_ONLY, STAFF_ONLY),
    "stations:export": (STAFF_ONLY, NOBODY),
    "stations:unit": (STAFF_ONLY, NOBODY),
}
ADMIN_MODEL_VIEW = {f"{m.replace('.', '_')}_{v}": (m, v) for m in ADMIN_RIGHTS for v in ADMIN_VIEWS}


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(x for x in (namespace, pattern.namespace) if x)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        else:
            name = pattern.name
            yield prefix + str(pattern.pattern), (f"{namespace}:{name}" if namespace else name) if name else None


def _key(route: str, name: str | None) -> str | None:
    """The table row of a URL pattern (None: no row)."""
    if name is None:
        if route == "favicon.ico":
            return "favicon.ico"
        if route.endswith("(?P<url>.*)$"):
            return "admin catch-all"
        if route.startswith("admin/") and route.endswith("<path:object_id>/"):
            return "admin object redirect"  # admin/app/model/<id>/ -> .../change/
        return None
    if name in TABLE:
        return name
    if name.startswith("admin:") and name.removeprefix("admin:") in ADMIN_MODEL_VIEW:
        return name
    return None


def test_every_url_has_a_row():
    missing = [f"{route} ({name})" for route, name in _walk(get_resolver().url_patterns) if not _key(route, name)]
    assert not missing, "URLs without a row in the permission table: " + ", ".join(missing)
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert registered == set(ADMIN_RIGHTS), "admin models without a row: " + ", ".join(registered ^ set(ADMIN_RIGHTS))


@pytest.fixture
def world(db, jurisdiction, unit_a, unit_b, plan):
    """One object of every kind, the users of every role, and a donation of unit A."""
    users = {
        "liaison_a": UserFactory(username="liaison-a", role="联络员"),
        "liaison_b": UserFactory(username="liaison-b", role="联络员"),
        "leader": UserFactory(username="leader", role="领导"),
        "staff": UserFactory(username="office", role="献血办"),
    }
    make_liaison(users["liaison_a"], unit_a)
    make_liaison(users["liaison_b"], unit_b)
    quota = QuotaFactory(plan=plan, label=unit_a.name, units=[unit_a])
    donation = make_donation(unit_a, donated_on=dt.date(2026, 3, 3), logged_by=users["liaison_a"])
    objects = {
        # a town of the staff's jurisdiction: their own jurisdiction is read-only for them (test_scope)
        "units.jurisdiction": JurisdictionFactory(name="真州镇", parent=jurisdiction, level=4),
        "units.unit": unit_a,
        "units.unitalias": UnitAlias.objects.create(
            unit=unit_a, jurisdiction=jurisdiction, name="仪化", normalized_name="仪化"
        ),
        "units.liaison": users["liaison_a"].liaison,
        "units.staffprofile": StaffProfile.objects.create(user=users["staff"], jurisdiction=jurisdiction),
        "leader's profile": StaffProfile.objects.create(user=users["leader"], jurisdiction=jurisdiction),
        "quotas.annualplan": plan,
        "quotas.quota": quota,
        "quotas.plansource": PlanSource.objects.create(
            plan=plan, original_name="a.xlsx", sha256="0" * 64, file="notices/a.xlsx"
        ),
        "quotas.plandraft": _draft(jurisdiction, unit_a),
        "campaigns.donationdrive": DonationDrive.objects.create(
            plan=plan, start_date=dt.date(2026, 3, 3), end_date=dt.date(2026, 3, 3), place="广场"
        ),
        "campaigns.donation": donation,
        "campaigns.accessevent": AccessEvent.objects.create(user=users["staff"], action="show_id", donation=donation),
        "campaigns.bulletin": Bulletin.objects.create(
            jurisdiction=jurisdiction,
            year=2026,
            title="通报",
            as_of=dt.date(2026, 3, 3),
            figures=dashboard_figures(jurisdiction=jurisdiction, year=2026, today=dt.date(2026, 3, 3)),
        ),
        "auth.user": users["leader"],
        "auth.group": Group.objects.get(name="领导"),
    }
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    objects["axes.accessattempt"] = AccessAttempt.objects.create(
        username="x", ip_address="127.0.0.1", failures_since_start=1
    )
    objects["axes.accesslog"] = AccessLog.objects.create(username="x", ip_address="127.0.0.1")
    objects["axes.accessfailurelog"] = AccessFailureLog.objects.create(username="x", ip_address="127.0.0.1")
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    objects["django_tasks_database.dbtaskresult"] = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="quotas.tasks.read_scan_task",
        backend_name="default",
        run_after=timezone.now(),
    )
    for tracked in ("units.unit", "units.unitalias", "quotas.annualplan", "quotas.quota", "campaigns.donation"):
        app, model = tracked.split(".")
        objects[f"{app}.historical{model}"] = objects[tracked].history.earliest()
    UnitFactory(name="别的单位", jurisdiction=jurisdiction)
    return users, objects


def _draft(jurisdiction, unit):
    """Next year's draft with one line (the plan of the world's year is its base)."""
    from quotas.drafting.services import draft_create

    return draft_create(jurisdiction=jurisdiction, year=2027, today=dt.date(2026, 12, 1))


def _concrete(route: str, name: str | None, key: str, objects: dict) -> str:
    donation = objects["campaigns.donation"]
    if key == "favicon.ico":
        return "/favicon.ico"
    if key == "admin catch-all":
        return "/admin/no-such-page/"
    if key == "admin object redirect":
        app, model = route.split("/")[1:3]
        return f"/admin/{app}/{model}/{objects[f'{app}.{model}'].pk}/"
    if key in ("admin:view_on_site",):
        return reverse(name, kwargs={"content_type_id": 999, "object_id": 1})
    if key == "admin:auth_user_password_change":
        return reverse(name, kwargs={"id": objects["auth.user"].pk})
    if key == "admin:app_list":
        return reverse(name, kwargs={"app_label": "campaigns"})
    if key in (
        "campaigns:edit_donation",
        "campaigns:withdraw_donation",
        "admin:campaigns_donation_show_id",
        "admin:campaigns_donation_review",
    ):
        return reverse(name, kwargs={"pk": donation.pk})
    if key in ("campaigns:bulletin", "campaigns:bulletin_export", "campaigns:bulletin_compare"):
        return reverse(name, kwargs={"pk": objects["campaigns.bulletin"].pk})
    if key in ("admin:quotas_plandraft_publish", "admin:quotas_plandraft_reopen"):
        return reverse(name, kwargs={"object_id": objects["quotas.plandraft"].pk})
    if key == "admin:quotas_plandraft_export":
        return reverse(name, kwargs={"object_id": objects["quotas.plandraft"].pk, "fmt": "xlsx"})
    if key == "admin:quotas_plandraft_line":
        line = objects["quotas.plandraft"].lines.first()
        return reverse(name, kwargs={"object_id": line.draft_id, "line_id": line.pk})
    if key == "stations:unit":
        return reverse(name, kwargs={"pk": objects["units.unit"].pk})
    if key == "admin:quotas_annualplan_reopen":
        return reverse(name, kwargs={"object_id": objects["quotas.annualplan"].pk})
    if key == "admin:quotas_annualplan_import_status":
        return reverse(name, kwargs={"token": "6f1c2b1e-0000-4000-8000-000000000000"})
    if key == "admin:quotas_annualplan_import_into":
        return reverse(name, kwargs={"plan_id": objects["quotas.annualplan"].pk})
    short = name.removeprefix("admin:") if name else ""
    if short in ADMIN_MODEL_VIEW:
        model, view = ADMIN_MODEL_VIEW[short]
        if view in ("change", "history", "delete"):
            return reverse(name, kwargs={"object_id": objects[model].pk})
        if view == "simple_history":
            record = objects[model]
            return reverse(name, args=[record.pk, record.history.earliest().history_id])
    return reverse(name)


def _expected(key: str, name: str | None, role: str, method: str) -> str:
    if key == "admin object redirect":
        return LOGIN if role in ("anonymous", "liaison_a", "liaison_b") else OK
    short = name.removeprefix("admin:") if name else ""
    if short in ADMIN_MODEL_VIEW and key not in TABLE:
        if role in ("anonymous", "liaison_a", "liaison_b"):
            return LOGIN
        model, view = ADMIN_MODEL_VIEW[short]
        rights = ADMIN_RIGHTS[model][0 if role == "staff" else 1]
        needed = ADMIN_VIEWS[view][0 if method == "get" else 1]
        return OK if rights & needed else DENIED
    get, post = TABLE[key]
    return (get if method == "get" else post)[role]


def _outcome(response) -> str:
    if response.status_code in (301, 302):
        location = response["Location"]
        return LOGIN if location.split("?")[0].endswith("/login/") else OK
    return {403: DENIED, 404: MISSING, 405: METHOD, 429: DENIED}.get(
        response.status_code, OK if response.status_code < 400 else str(response.status_code)
    )


def test_permission_matrix(world, settings):
    settings.AXES_ENABLED = False  # logins in this test are not attacks
    users, objects = world
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    wrong = []
    visited = 0
    for route, name in _walk(get_resolver().url_patterns):
        key = _key(route, name)
        url = _concrete(route, name, key, objects)
        for role in ROLES:
            for method in ("get", "post"):
                expected = _expected(key, name, role, method)
                client = clients[role]
                cookies = copy.deepcopy(client.cookies)  # a logout must not log out the next request
                with transaction.atomic():
                    response = getattr(client, method)(url)
                    transaction.set_rollback(True)
                client.cookies = cookies
                visited += 1
                got = _outcome(response)
                if got != expected:
                    wrong.append(f"{method.upper()} {url} as {role}: expected {expected}, got {got}")
    assert visited > 400
    assert not wrong, "\n".join(wrong)
