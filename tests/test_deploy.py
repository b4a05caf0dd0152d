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
