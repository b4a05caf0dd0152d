"""The interval rule holds both ways: whichever donation was entered first, a breaching pair is
flagged on both donations, each naming the other's date — for single entries, rosters, edits,
withdrawals and staff rejection. Fixed dates in 2026 (the `plan` fixture's year)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from campaigns.donors.rules import person_flags
from campaigns.models import Donation
from campaigns.services import donation_log, donation_update, donation_withdraw, donations_review
from tests.factories import QuotaFactory, id_number

pytestmark = pytest.mark.django_db
D = dt.date
SEQ = 31


@pytest.fixture(autouse=True)
def quota(plan, unit_a):
    return QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)


def log(unit, day, kind="whole", seq=SEQ, **fields):
    amount = 1 if kind == "platelets" else 400
    return donation_log(
        unit=unit, donor_name="王献", id_number=id_number(seq=seq), donated_on=day, kind=kind, amount=amount, **fields
    )[0]


def flags_of(day):
    return Donation.objects.get(donated_on=day).flags


def test_backdated_whole_blood_flags_both(unit_a, plan):
    log(unit_a, D(2026, 11, 30))
    log(unit_a, D(2026, 11, 20))
    later, earlier = flags_of(D(2026, 11, 30)), flags_of(D(2026, 11, 20))
    assert [(f["code"], f["other"]) for f in later] == [("whole_interval", "2026-11-20")]
    assert [(f["code"], f["other"]) for f in earlier] == [("whole_interval", "2026-11-30")]
    assert "2026-11-20" in later[0]["message"] and "2026-11-30" in earlier[0]["message"]
    # the re-flag is in the audit trail of the later donation
    stored = Donation.objects.get(donated_on=D(2026, 11, 30))
    assert stored.history.first().history_change_reason.startswith("规则提示重新计算")


def test_backdated_platelets_flag_both(unit_a, plan):
    log(unit_a, D(2026, 11, 30), kind="platelets")
    log(unit_a, D(2026, 11, 29), kind="platelets")
    assert [f["code"] for f in flags_of(D(2026, 11, 30))] == ["platelet_interval"]
    assert [f["code"] for f in flags_of(D(2026, 11, 29))] == ["platelet_interval"]


def test_mixed_kinds_use_the_limit_of_their_order(unit_a, plan):
    log(unit_a, D(2026, 11, 30), kind="platelets")
    log(unit_a, D(2026, 10, 1), kind="whole")  # whole then platelets 60 days later: < 91
    assert [f["code"] for f in flags_of(D(2026, 11, 30))] == ["whole_to_platelet"]
    assert [f["code"] for f in flags_of(D(2026, 10, 1))] == ["whole_to_platelet"]
    log(unit_a, D(2026, 9, 1), kind="platelets", seq=33)  # another person: nothing of theirs
    assert flags_of(D(2026, 9, 1)) == []


def test_a_far_apart_late_entry_changes_nothing(unit_a, plan, django_assert_max_num_queries):
    log(unit_a, D(2026, 1, 10))
    # plan years, savepoint, the person's lock (PostgreSQL only), history, insert, history row, release
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 6):
        log(unit_a, D(2026, 11, 30))
    assert flags_of(D(2026, 1, 10)) == [] and flags_of(D(2026, 11, 30)) == []


def test_edit_moving_a_date_removes_and_adds_flags(unit_a, plan):
    log(unit_a, D(2026, 3, 1))
    moved = log(unit_a, D(2026, 3, 20))
    assert flags_of(D(2026, 3, 1)) and flags_of(D(2026, 3, 20))
    fields = {"unit": unit_a, "donor_name": "王献", "kind": "whole", "amount": 400}
    donation_update(donation=moved, donated_on=D(2026, 11, 20), **fields)
    assert flags_of(D(2026, 3, 1)) == [] and flags_of(D(2026, 11, 20)) == []
    donation_update(donation=moved, donated_on=D(2026, 2, 1), **fields)  # now before the other
    assert [f["other"] for f in flags_of(D(2026, 3, 1))] == ["2026-02-01"]
    assert [f["other"] for f in flags_of(D(2026, 2, 1))] == ["2026-03-01"]


def test_withdrawal_and_rejection_remove_the_flags_they_caused(unit_a, plan, staff_user):
    log(unit_a, D(2026, 11, 30))
    wrong = log(unit_a, D(2026, 11, 20))
    donation_withdraw(donation=wrong)
    assert flags_of(D(2026, 11, 30)) == []
    rejected = log(unit_a, D(2026, 11, 25))
    assert flags_of(D(2026, 11, 30))
    donations_review(donations=[rejected], status=Donation.Status.REJECTED, reviewer=staff_user, reason="误登")
    assert flags_of(D(2026, 11, 30)) == []


def test_a_rejected_donation_flags_no_one_and_keeps_its_flags_only_in_its_history(unit_a, plan, staff_user):
    log(unit_a, D(2026, 11, 30))
    rejected = log(unit_a, D(2026, 11, 20))
    log(unit_a, D(2026, 5, 25))  # 179 days before 11-20 (a breach), 189 before 11-30 (none)
    assert [f["other"] for f in Donation.objects.get(pk=rejected.pk).flags] == ["2026-05-25", "2026-11-30"]
    donations_review(donations=[rejected], status=Donation.Status.REJECTED, reviewer=staff_user, reason="误登")
    rejected.refresh_from_db()
    assert rejected.flags == []  # it does not count, so the rule has nothing to say about it
    before = rejected.history.order_by("-history_id")[1]  # the entry before the rejection
    assert [f["other"] for f in before.flags] == ["2026-05-25", "2026-11-30"]
    assert flags_of(D(2026, 11, 30)) == [] and flags_of(D(2026, 5, 25)) == []  # its partners lose the flag
    # un-rejected, it counts again: its flags and its partners' come back
    donations_review(donations=[rejected], status=Donation.Status.VERIFIED, reviewer=staff_user, reason="核实")
    assert [f["other"] for f in flags_of(D(2026, 11, 20))] == ["2026-05-25", "2026-11-30"]
    assert [f["other"] for f in flags_of(D(2026, 11, 30))] == ["2026-11-20"]
    assert [f["other"] for f in flags_of(D(2026, 5, 25))] == ["2026-11-20"]


def test_rejecting_both_partners_of_a_breach_in_one_batch_clears_both(unit_a, plan, staff_user):
    pair = [log(unit_a, D(2026, 11, 30)), log(unit_a, D(2026, 11, 20))]
    log(unit_a, D(2026, 3, 1))
    donations_review(donations=pair, status=Donation.Status.REJECTED, reviewer=staff_user, reason="重复")
    assert {tuple(d.flags) for d in Donation.objects.all()} == {()}


def roster(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "姓名", "性别", "身份证号", "献血日期", "献血量", "单位"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_roster_rows_breach_each_other_and_the_database(liaison_client, unit_a, unit_b, plan):
    log(unit_a, D(2026, 11, 30))
    data = roster(
        [
            [1, "王献", "男", id_number(seq=SEQ), D(2026, 11, 10), 400, ""],  # breaches the stored 11-30
            [2, "李献", "男", id_number(seq=35), D(2026, 6, 1), 400, ""],
            [3, "李献", "男", id_number(seq=35), D(2026, 5, 1), 400, ""],  # breaches row 2, entered later
        ]
    )
    preview = liaison_client.post(
        "/liaison/roster/", {"unit": unit_a.pk, "file": SimpleUploadedFile("名单.xlsx", data)}
    )
    page = preview.content.decode()
    assert "2026-06-01" in page and "2026-05-01" in page and "2026-11-30" in page
    liaison_client.post("/liaison/roster/", {"token": preview.context["token"]})
    assert [f["other"] for f in flags_of(D(2026, 11, 30))] == ["2026-11-10"]
    assert [f["other"] for f in flags_of(D(2026, 11, 10))] == ["2026-11-30"]
    assert [f["other"] for f in flags_of(D(2026, 6, 1))] == ["2026-05-01"]
    assert [f["other"] for f in flags_of(D(2026, 5, 1))] == ["2026-06-01"]


# The oracle: written from the rule's statement, not from campaigns.donors.rules.
LIMITS = {
    ("whole", "whole"): ("whole_interval", "WHOLE_BLOOD_INTERVAL_DAYS"),
    ("platelets", "platelets"): ("platelet_interval", "PLATELET_INTERVAL_DAYS"),
    ("platelets", "whole"): ("platelet_to_whole", "PLATELET_TO_WHOLE_DAYS"),
    ("whole", "platelets"): ("whole_to_platelet", "WHOLE_TO_PLATELET_DAYS"),
}


def oracle(donations: list[tuple[dt.date, str]]) -> set[tuple]:
    """(day, other day, code) for every ordered pair closer than its interval, and (day, None,
    "platelets_per_year") for each platelet donation after the yearly maximum, by date."""
    rules = django_settings.DONOR_RULES
    found = set()
    ordered = sorted(donations)
    for i, (a, ka) in enumerate(ordered):
        for b, kb in ordered[i + 1 :]:
            code, setting = LIMITS[(ka, kb)]
            if (b - a).days < rules[setting]:
                found |= {(a, b, code), (b, a, code)}
    platelets = [d for d, k in ordered if k == "platelets"]
    for n, day in enumerate(platelets):
        if sum(1 for d in platelets[: n + 1] if d.year == day.year) > rules["PLATELETS_PER_YEAR"]:
            found.add((day, None, "platelets_per_year"))
    return found


def stored() -> set[tuple]:
    return {
        (d.donated_on, f.get("other") and D.fromisoformat(f["other"]), f["code"])
        for d in Donation.objects.exclude(status=Donation.Status.REJECTED)
        for f in d.flags
    }


donation_days = st.lists(
    st.tuples(st.integers(0, 330), st.sampled_from(["whole", "platelets"])),
    min_size=1,
    max_size=7,
    unique_by=lambda t: t[0],
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=donation_days, order=st.randoms(use_true_random=False), changes=st.lists(st.integers(0, 6), max_size=3))
def test_stored_flags_are_the_pairs_closer_than_the_interval_whatever_the_order(
    unit_a, plan, staff_user, entries, order, changes
):
    Donation.objects.all().delete()
    start = D(2026, 1, 1)
    entries = [(start + dt.timedelta(days=offset), kind) for offset, kind in entries]
    order.shuffle(entries)
    for day, kind in entries:
        log(unit_a, day, kind=kind)
    assert stored() == oracle(entries)
    # then withdraw, reject or move some of them, still in any order
    for n, pick in enumerate(changes):
        donations = list(Donation.objects.filter(status=Donation.Status.LOGGED).order_by("pk"))
        if not donations:
            break
        target = donations[pick % len(donations)]
        if n % 3 == 0:
            donation_withdraw(donation=target)
        elif n % 3 == 1:
            donations_review(donations=[target], status=Donation.Status.REJECTED, reviewer=staff_user, reason="x")
        else:
            taken = set(Donation.objects.values_list("donated_on", flat=True))
            day = next(d for d in (target.donated_on + dt.timedelta(days=k) for k in range(1, 400)) if d not in taken)
            if day.year != 2026:
                continue
            amount = 1 if target.kind == "platelets" else 400
            donation_update(
                donation=target, unit=unit_a, donor_name="王献", donated_on=day, kind=target.kind, amount=amount
            )
        counted = Donation.objects.exclude(status=Donation.Status.REJECTED).values_list("donated_on", "kind")
        assert stored() == oracle(list(counted))
        assert not Donation.objects.filter(status=Donation.Status.REJECTED).exclude(flags=[]).exists()


@given(entries=donation_days)
def test_person_flags_agree_with_the_oracle(entries):
    start = D(2026, 1, 1)
    donations = {n: (start + dt.timedelta(days=offset), kind) for n, (offset, kind) in enumerate(entries)}
    flags = person_flags(donations, django_settings.DONOR_RULES)
    found = {
        (donations[n][0], f.get("other") and D.fromisoformat(f["other"]), f["code"]) for n in flags for f in flags[n]
    }
    assert found == oracle(list(donations.values()))
