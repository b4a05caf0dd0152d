"""The portal's session backend reads what Django's database backend would."""

from __future__ import annotations

import datetime as dt

from django.contrib.sessions.models import Session
from django.utils import timezone

from config.sessions import SessionStore


def test_a_saved_session_loads_and_an_expired_or_unknown_one_does_not(db):
    store = SessionStore()
    store["unit"] = 7
    store.save()
    assert SessionStore(session_key=store.session_key)["unit"] == 7

    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    expired = SessionStore(session_key=store.session_key)
    assert expired.load() == {} and expired.session_key is None

    unknown = SessionStore(session_key="x" * 32)
    assert unknown.load() == {} and unknown.session_key is None


def test_signing_in_and_out_go_through_it(client, django_user_model):
    django_user_model.objects.create_user(username="s1", password="pw-long-enough-1")
    client.force_login(django_user_model.objects.get(username="s1"))
    assert client.get("/").wsgi_request.user.username == "s1"
    client.logout()
    assert not client.get("/").wsgi_request.user.is_authenticated
