"""Shared fixtures: one user per role, a jurisdiction with units and a published plan."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import JurisdictionFactory, PlanFactory, UnitFactory, UserFactory, make_liaison

LIAISON, LEADERSHIP, BLOOD_OFFICE = "联络员", "领导", "献血办"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


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
def staff_user(db):
    return UserFactory(username="office", role=BLOOD_OFFICE)


@pytest.fixture
def leader_user(db):
    return UserFactory(username="leader", role=LEADERSHIP)


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
