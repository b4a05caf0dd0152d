"""A staged upload is applied once: a second 确认导入 / 确认保存 with the same token writes nothing.

The concurrent tests send two confirmations at the same moment from two threads (two database
connections), as a double click or two tabs do against gunicorn. They need PostgreSQL: the
SQLite test database lives in one in-memory connection that threads cannot share.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client

import quotas.views
from campaigns.models import Donation
from core.models import StagedUpload
from quotas.models import AnnualPlan, PlanSource, Quota
from quotas.services import plan_import
from tests.factories import QuotaFactory, id_number
from tests.quotas.workbooks import xlsx

URL = "/admin/quotas/annualplan/import/"
ROSTER_URL = "/liaison/roster/"
DAY = dt.date(2026, 3, 3)
ALREADY_IMPORTED = "这个文件已导入，没有重复导入。"
ALREADY_SAVED = "这份名单已保存，没有重复保存。"


def notice(units: int, target: int) -> bytes:
    return xlsx([["单位", "目标数"], *[[f"测试单位{i:04d}", target] for i in range(units)]])


def preview_notice(client, jurisdiction, data) -> str:
    response = client.post(
        URL, {"jurisdiction": jurisdiction.pk, "year": 2026, "file": SimpleUploadedFile("n.xlsx", data)}
    )
    assert response.context["token"], response.context["report"].errors
    return response.context["token"]


@pytest.fixture
def unit_plan(plan, unit_a):
    QuotaFactory(plan=plan, label=unit_a.name, units=[unit_a], target=50)
    return plan


def roster_file(count: int) -> bytes:
    lines = ["姓名,身份证号,献血日期,献血量"] + [f"献血者{i},{id_number(seq=100 + i)},{DAY},400" for i in range(count)]
    return "\r\n".join(lines).encode()


def preview_roster(client, unit, data) -> str:
    response = client.post(ROSTER_URL, {"unit": unit.pk, "file": SimpleUploadedFile("名单.csv", data)})
    assert response.context["token"], [c.errors for c in response.context["preview"].rows if c.errors]
    return response.context["token"]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# -- one after the other: both databases ---------------------------------------------------


@pytest.mark.django_db
def test_a_second_confirmation_of_a_notice_says_already_imported_and_writes_nothing(staff_client, jurisdiction):
    token = preview_notice(staff_client, jurisdiction, notice(30, 5))
    staff_client.post(URL, {"token": token})
    again = staff_client.post(URL, {"token": token})
    plan = AnnualPlan.objects.get()
    assert ALREADY_IMPORTED in messages_of(again) and again["Location"].endswith(f"/{plan.pk}/change/")
    assert Quota.objects.count() == 30 and PlanSource.objects.count() == 1


@pytest.mark.django_db
def test_a_second_confirmation_of_a_roster_says_already_saved_and_writes_nothing(liaison_client, unit_a, unit_plan):
    token = preview_roster(liaison_client, unit_a, roster_file(3))
    liaison_client.post(ROSTER_URL, {"token": token})
    again = liaison_client.post(ROSTER_URL, {"token": token})
    assert ALREADY_SAVED in messages_of(again) and Donation.objects.count() == 3


@pytest.mark.django_db
def test_a_notice_whose_apply_fails_can_be_confirmed_again(staff_client, jurisdiction, monkeypatch):
    token = preview_notice(staff_client, jurisdiction, notice(3, 5))

    def broken(**kwargs):
        raise ValueError("数据库暂时不可用")

    monkeypatch.setattr(quotas.views, "plan_import", broken)
    failed = staff_client.post(URL, {"token": token})
    assert "数据库暂时不可用" in messages_of(failed) and StagedUpload.objects.get().claimed_at is None
    monkeypatch.undo()
    staff_client.post(URL, {"token": token})
    assert Quota.objects.count() == 3


# -- at the same moment: PostgreSQL --------------------------------------------------------

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent requests need a database that several connections share; SQLite's test "
    "database is one in-memory connection (SQLite serialises writers anyway: the claim is its first write)",
)


def confirm_together(clients: list[Client], url: str, token: str) -> list:
    """POST the same confirmation from each client at once; the responses in client order."""
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)
    errors: list = []

    def confirm(i: int) -> None:
        try:
            barrier.wait()
            responses[i] = clients[i].post(url, {"token": token})
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return responses


def slow(monkeypatch, module, name: str) -> None:
    """Make the apply take a moment inside its transaction, so the two requests overlap."""
    original = getattr(module, name)

    def slowed(*args, **kwargs):
        time.sleep(0.5)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slowed)


def two_clients(user) -> list[Client]:
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(user)
    return clients


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_confirmations_of_an_amended_notice_apply_it_once(staff_user, jurisdiction, monkeypatch):
    plan_import(data=notice(40, 10), filename="v1.xlsx", jurisdiction=jurisdiction, year=2026)  # 400
    clients = two_clients(staff_user)
    token = preview_notice(clients[0], jurisdiction, notice(60, 5))  # amended: 60 units of 5 = 300
    slow(monkeypatch, quotas.views, "plan_import")
    responses = confirm_together(clients, URL, token)
    said = sorted(m for r in responses for m in messages_of(r))
    assert sum(m.startswith("已导入 60 条任务") for m in said) == 1 and said.count(ALREADY_IMPORTED) == 1
    plan = AnnualPlan.objects.get()
    assert plan.quotas.count() == 60 and sum(plan.quotas.values_list("target", flat=True)) == 300
    assert PlanSource.objects.filter(plan=plan).count() == 2  # v1 and the amendment, once


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_confirmations_of_a_new_notice_create_one_plan(staff_user, jurisdiction, monkeypatch):
    clients = two_clients(staff_user)
    token = preview_notice(clients[0], jurisdiction, notice(50, 6))
    slow(monkeypatch, quotas.views, "plan_import")
    responses = confirm_together(clients, URL, token)
    said = sorted(m for r in responses for m in messages_of(r))
    assert said.count(ALREADY_IMPORTED) == 1, said
    assert AnnualPlan.objects.count() == 1 and Quota.objects.count() == 50 and PlanSource.objects.count() == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_confirmations_of_a_roster_save_it_once(liaison_user, unit_a, unit_plan, monkeypatch):
    import campaigns.liaison.views

    clients = two_clients(liaison_user)
    token = preview_roster(clients[0], unit_a, roster_file(20))
    slow(monkeypatch, campaigns.liaison.views, "roster_commit")
    responses = confirm_together(clients, ROSTER_URL, token)
    said = sorted(m for r in responses for m in messages_of(r))
    assert said.count(ALREADY_SAVED) == 1 and "已保存名单中的 20 条献血记录。" in said, said
    assert Donation.objects.count() == 20
