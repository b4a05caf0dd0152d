"""The portal's authentication backend reads the user as Django's would, and their role with them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from config.backends import PortalBackend
from tests.factories import UserFactory
from units.roles import BLOOD_OFFICE, LEADERSHIP, LIAISON, ROLES, role_of

FIELDS = [f.attname for f in get_user_model()._meta.concrete_fields]


@pytest.mark.parametrize(
    ("groups", "role"),
    [((), None), ((LIAISON,), LIAISON), ((LIAISON, LEADERSHIP), LEADERSHIP), ((LIAISON, BLOOD_OFFICE), BLOOD_OFFICE)],
)
def test_the_user_and_role_in_one_query(db, django_assert_num_queries, groups, role):
    user = UserFactory(username="b1")
    user.groups.add(*Group.objects.filter(name__in=groups))
    Group.objects.create(name="其他")  # a group that is no portal role
    user.groups.add(Group.objects.get(name="其他"))
    with django_assert_num_queries(1):
        loaded = PortalBackend().get_user(user.pk)
        assert role_of(loaded) == role
    expected = ModelBackend().get_user(user.pk)
    assert [getattr(loaded, f) for f in FIELDS] == [getattr(expected, f) for f in FIELDS]
    assert loaded.last_login is None or loaded.last_login.tzinfo is not None
    assert not hasattr(loaded, "portal_role")


@pytest.mark.parametrize("groups", [(), (LIAISON,), (LEADERSHIP,), (BLOOD_OFFICE, LIAISON)])
def test_the_permissions_come_with_the_user_as_django_would_read_them(db, django_assert_num_queries, groups):
    user = UserFactory(username="b3")
    user.groups.add(*Group.objects.filter(name__in=groups))
    user.user_permissions.add(Permission.objects.get(codename="view_bulletin"))  # one of the user's own
    with django_assert_num_queries(1):
        loaded = PortalBackend().get_user(user.pk)
        mine = loaded.get_all_permissions()
        for role in ROLES:
            for permission in role.permissions:
                loaded.has_perm(permission)
    assert mine == ModelBackend().get_all_permissions(get_user_model().objects.get(pk=user.pk))
    assert "campaigns.view_bulletin" in mine


def test_no_user_for_an_unknown_malformed_or_inactive_id(db):
    user = UserFactory(username="b2")
    assert PortalBackend().get_user(user.pk + 1000) is None
    assert PortalBackend().get_user("not-a-number") is None
    user.is_active = False
    user.save()
    assert PortalBackend().get_user(user.pk) is None


def test_a_signed_in_request_reads_the_user_through_it(db, client):
    user = UserFactory(username="b3", role=LIAISON)
    client.force_login(user)
    request = client.get("/").wsgi_request
    assert request.user.pk == user.pk and request.user._portal_role == LIAISON
