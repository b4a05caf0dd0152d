"""Shared fixtures: one user per role, a jurisdiction with units and a published plan.

`--clock YYYY-MM-DD` runs the whole suite as if it were that day (the clock keeps ticking from
noon there): CI runs it on next January 1 and on a leap day, so no test depends on today's date.
Without it the suite runs from noon of today (Asia/Shanghai), so no run sees the date change.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.test import Client

from tests.factories import JurisdictionFactory, PlanFactory, UnitFactory, UserFactory, make_liaison
from units.models import StaffProfile

LIAISON, LEADERSHIP, BLOOD_OFFICE = "联络员", "领导", "献血办"


@pytest.fixture
def roles(transactional_db):
    """The role groups the data migrations create.

    A transactional test flushes every table afterwards, groups included, and whichever
    transactional test ran before this one may have done so; serialized rollback does not help
    (the flush re-creates content types, which then clash with the serialized copy). So the
    roles are re-created by running their data migrations again when the groups are gone; every
    transactional test asks for them (`_roles_after_flush`).
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group

    if Group.objects.filter(name="献血办").exists():
        return
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0)
    for name in (
        "campaigns.migrations.0002_roles",
        "campaigns.migrations.0004_access_event_permissions",
        "campaigns.migrations.0008_bulletin_permissions",
        "quotas.migrations.0004_draft_permissions",
        "campaigns.migrations.0019_role_permissions",
        "stations.migrations.0002_role_permissions",
    ):
        importlib.import_module(name).forward(apps, None)


@pytest.fixture(autouse=True)
def _roles_after_flush(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("roles")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Background tasks (a scan's OCR, `quotas.tasks`) run inside the request: no worker."""
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def jurisdiction(db):
    return JurisdictionFactory(name="仪征市")


@pytest.fixture
def unit_a(jurisdiction):
    return UnitFactory(name="仪化公司", jurisdiction=jurisdiction)


@pytest.fixture
def unit_b(jurisdiction):
    return UnitFactory(name="教育局", jurisdiction=jurisdiction)


@pytest.fixture
def plan(jurisdiction):
    return PlanFactory(jurisdiction=jurisdiction, year=2026)


@pytest.fixture
def staff_user(jurisdiction):
    """Blood-office staff of the jurisdiction (without one, an account sees nothing: units.scope)."""
    user = UserFactory(username="office", role=BLOOD_OFFICE)
    StaffProfile.objects.create(user=user, jurisdiction=jurisdiction)
    return user


@pytest.fixture
def leader_user(jurisdiction):
    user = UserFactory(username="leader", role=LEADERSHIP)
    StaffProfile.objects.create(user=user, jurisdiction=jurisdiction)
    return user


@pytest.fixture
def liaison_user(unit_a):
    user = UserFactory(username="liaison", role=LIAISON)
    make_liaison(user, unit_a)
    return user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(staff_user):
    return _client_for(staff_user)


@pytest.fixture
def leader_client(leader_user):
    return _client_for(leader_user)


@pytest.fixture
def liaison_client(liaison_user):
    return _client_for(liaison_user)


def pytest_addoption(parser):
    parser.addoption("--clock", default=None, help="run the suite as if today were this date (YYYY-MM-DD)")


_travel = None


def pytest_configure(config):
    """Move the clock before collection, so module-level dates in test files see it too.

    Without `--clock`, to noon of today in the portal's time zone: a run that starts late in the
    evening must not see the date change under it (a module-level TODAY taken at collection and
    the pages' today would then differ)."""
    global _travel
    import time_machine

    day = config.getoption("--clock", default=None)
    if not day:
        day = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()

    # Noon in the portal's time zone, so the local date is the one asked for; the clock ticks on.
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    _travel = time_machine.travel(moment, tick=True)
    _travel.start()


def pytest_unconfigure(config):
    if _travel is not None:
        _travel.stop()
