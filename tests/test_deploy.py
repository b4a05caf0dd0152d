"""Production settings pass Django's deployment checklist, and logins are throttled."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings_production",
    "DJANGO_SECRET_KEY": "k8Jz2Wq9vR4tY7uI0pL3aS6dF1gH5jK8lZ2xC4vB7nM0qW3eR6tY9uI2oP5aS8dF",
    "DJANGO_ALLOWED_HOSTS": "xueban.example.cn",
    "DONOR_ID_KEY": "9pXyq4o3m6B8sQv2cN1tR5wZ7uE0aF3hJ6kL9dG2iM4=",
    "DONOR_ID_HMAC_KEY": "a-real-secret-hmac-key-from-the-vault-5c1e",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
}


def _manage(*args, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DONOR_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_production_settings_prints_no_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_has_no_benchmark_commands():
    assert "bench_dashboard" in _manage("help", "--commands").stdout  # development settings
    result = _manage("help", "--commands", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "load_demo" in result.stdout
    assert not [c for c in result.stdout.split() if c.startswith("bench_") or c == "generate_scale_data"]


def test_production_settings_refuse_the_demo_keys():
    env = PRODUCTION_ENV | {"DONOR_ID_HMAC_KEY": "demo-and-tests-only-hmac-key"}
    result = _manage("check", **env)
    assert result.returncode != 0 and "demo keys" in result.stderr


@pytest.mark.django_db
def test_failed_logins_lock_the_account_for_a_while():
    UserFactory(username="clerk", password="right-password-1")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": "clerk", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post("/accounts/login/", {"username": "clerk", "password": "wrong"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": "clerk", "password": "right-password-1"})
    assert locked.status_code == 429 and "登录已暂时锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_send_a_content_security_policy_without_inline_script(leader_client):
    response = leader_client.get("/dashboard/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


# -- weak keys: system check errors under the production settings ----------------------------

STRONG = {
    "REQUIRE_STRONG_KEYS": True,
    "SECRET_KEY": PRODUCTION_ENV["DJANGO_SECRET_KEY"],
    "DONOR_ID_KEY": PRODUCTION_ENV["DONOR_ID_KEY"],
    "DONOR_ID_HMAC_KEY": PRODUCTION_ENV["DONOR_ID_HMAC_KEY"],
}


def _key_errors(**overrides) -> list[str]:
    from django.test import override_settings

    from core.checks import check_keys

    with override_settings(**(STRONG | overrides)):
        return [error.id for error in check_keys()]


def test_proper_keys_pass_the_key_checks():
    assert _key_errors() == []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"SECRET_KEY": "dev-only-not-secret-3f9a1c7e5b2d4a6c8e0f1a2b3c4d5e6f"}, "core.E001"),
        ({"SECRET_KEY": "short"}, "core.E001"),
        ({"DONOR_ID_KEY": "bW9jay1rZXktZm9yLWRlbW8tYW5kLXRlc3RzLW9ubHk="}, "core.E003"),
        ({"DONOR_ID_KEY": " bW9jay1rZXktZm9yLWRlbW8tYW5kLXRlc3RzLW9ubHk="}, "core.E003"),  # a leading space
        ({"DONOR_ID_KEY": "bW9jay1rZXktZm9yLWRlbW8tYW5kLXRlc3RzLW9ubHk"}, "core.E003"),  # no padding
        ({"DONOR_ID_KEY": "not a key"}, "core.E002"),
        ({"DONOR_ID_HMAC_KEY": ""}, "core.E004"),
        ({"DONOR_ID_HMAC_KEY": "x" * 31}, "core.E004"),
        ({"DONOR_ID_HMAC_KEY": "demo-and-tests-only-hmac-key"}, "core.E004"),
    ],
)
def test_weak_keys_are_errors(overrides, error):
    assert _key_errors(**overrides) == [error]


def test_a_32_byte_hmac_key_is_enough():
    assert _key_errors(DONOR_ID_HMAC_KEY="k" * 32) == []


def test_development_settings_do_not_check_keys():
    assert _key_errors(REQUIRE_STRONG_KEYS=False, SECRET_KEY="short", DONOR_ID_HMAC_KEY="") == []


def test_production_check_refuses_the_demo_fernet_key_with_a_leading_space():
    env = PRODUCTION_ENV | {"DONOR_ID_KEY": " bW9jay1rZXktZm9yLWRlbW8tYW5kLXRlc3RzLW9ubHk="}
    result = _manage("check", "--deploy", **env)
    assert result.returncode != 0 and "core.E003" in result.stderr and "ERRORS" in result.stderr


# -- the lockout behind nginx: the client's address from X-Forwarded-For ------------------------


def _fail_login(client, username: str, forwarded: str):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",  # nginx
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.fixture
def behind_nginx(settings):
    settings.AXES_IPWARE_PROXY_COUNT = 0  # ipware's count of proxies listed in the header: AXES_PROXY_COUNT=1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]


@pytest.mark.django_db
def test_behind_the_proxy_a_locked_attacker_does_not_lock_the_user_out_for_others(behind_nginx):
    UserFactory(username="clerk", password="right-password-1")
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # whatever the attacker writes in the header, nginx appends the address it saw
        _fail_login(attacker, "clerk", "10.9.9.9, 203.0.113.7")
    assert _fail_login(attacker, "clerk", "203.0.113.7").status_code == 429
    colleague = Client()
    response = colleague.post(
        "/accounts/login/",
        {"username": "clerk", "password": "right-password-1"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert response.status_code == 302 and "_auth_user_id" in colleague.session


@pytest.mark.django_db
def test_a_password_sprayed_across_user_names_locks_the_address(behind_nginx):
    client = Client()
    for i in range(settings.AXES_ADDRESS_FAILURE_LIMIT - 1):
        assert _fail_login(client, f"user{i}", "203.0.113.7").status_code == 200
    assert _fail_login(client, "one-more", "203.0.113.7").status_code == 429
    assert _fail_login(client, "one-more", "198.51.100.20").status_code == 200  # another address


def test_without_a_proxy_the_forwarded_header_is_ignored(rf):
    from axes.helpers import get_client_ip_address

    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert settings.AXES_IPWARE_META_PRECEDENCE_ORDER == ["REMOTE_ADDR"]  # AXES_PROXY_COUNT=0 in tests
    assert get_client_ip_address(request) == "192.0.2.1"
