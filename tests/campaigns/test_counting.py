"""The counting core (campaigns.counting), with no database: credit, pools, on time, blood units,
statuses and the day they change, plan summaries and their lists, jurisdiction roll-ups."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from campaigns import counting
from campaigns.counting import DonorSums, QuotaTerms, count_quotas
from campaigns.counting.jurisdictions import JurisdictionTree, jurisdiction_status, roll_up, targets_due_by
from campaigns.counting.plans import merge_lists, summarise_plan
from campaigns.counting.quotas import next_status_change, quota_status, split_by_weight

JULY = dt.date(2026, 7, 15)


def terms(qid, members, *, plan=1, target=10, end=None, start=None, advisory=False, sub=None):
    if end and not start:
        start = end.replace(day=1)
    return QuotaTerms(
        id=qid,
        plan_id=plan,
        year=2026,
        target=target,
        start=start,
        end=end,
        advisory=advisory,
        members=frozenset(members),
        sub_jurisdiction=sub,
    )


def sums(qid, unit, persons, *, parent=None, own=True, by_due=None, units=None):
    return DonorSums(
        quota_id=qid,
        unit_id=unit,
        parent_id=parent,
        has_own_quota=own,
        persons=persons,
        blood_units=Decimal(units if units is not None else persons * 2),
        by_due=persons if by_due is None else by_due,
    )


def test_a_unit_counts_for_its_own_quota_and_a_subordinate_for_its_parents():
    quotas = [terms(1, {10})]
    rows = [sums(1, 10, 4), sums(1, 11, 3, parent=10, own=False)]
    assert count_quotas(quotas, rows, today=JULY)[1].completed == 7


def test_a_subordinate_unit_with_a_quota_of_its_own_in_the_plan_counts_only_there():
    quotas = [terms(1, {10}), terms(2, {11})]
    rows = [sums(1, 11, 3, parent=10, own=True), sums(2, 11, 3, parent=10, own=True)]
    figures = count_quotas(quotas, rows, today=JULY)
    assert (figures[1].completed, figures[2].completed) == (0, 3)


def test_groups_with_the_same_fingerprint_are_different_pools():
    a = 100  # {a, a+2, a+3, a+5} and {a, a+1, a+4, a+5}: same min, max, count and sum
    first, second = {a, a + 2, a + 3, a + 5}, {a, a + 1, a + 4, a + 5}
    quotas = [terms(1, second, end=dt.date(2026, 3, 31)), terms(2, first, end=dt.date(2026, 8, 31))]
    rows = [sums(2, a + 2, 4)]
    figures = count_quotas(quotas, rows, today=JULY)
    assert (figures[1].completed, figures[2].completed) == (0, 4)


def test_each_plan_is_counted_on_its_own():
    march, june = dt.date(2026, 3, 31), dt.date(2026, 6, 30)
    quotas = [terms(1, {10}, plan=1, target=5, end=march), terms(2, {10}, plan=2, target=5, end=june)]
    rows = [sums(1, 10, 5), sums(2, 10, 5)]
    together = count_quotas(quotas, rows, today=JULY)
    apart = count_quotas(quotas[:1], rows[:1], today=JULY) | count_quotas(quotas[1:], rows[1:], today=JULY)
    assert together == apart
    assert {f.status for f in together.values()} == {counting.DONE}


def test_a_pool_fills_its_quotas_in_due_order_and_the_rest_goes_to_the_last():
    june, july, august = dt.date(2026, 6, 30), dt.date(2026, 7, 31), dt.date(2026, 8, 31)
    quotas = [
        terms(3, {10}, target=100, end=august),
        terms(1, {10}, target=150, end=june),
        terms(2, {10}, target=150, end=july),
    ]
    rows = [sums(1, 10, 420, by_due=100), sums(2, 10, 420, by_due=250), sums(3, 10, 420, by_due=420)]
    figures = count_quotas(quotas, rows, today=dt.date(2026, 9, 1))
    assert [figures[i].completed for i in (1, 2, 3)] == [150, 150, 120]
    # on time: the first 100 by June; donations 151-250 by July fill July's; 301-420 by August
    assert [figures[i].on_time for i in (1, 2, 3)] == [100, 100, 100]
    assert sum(f.blood_units for f in figures.values()) == 840


def test_advisory_quotas_show_the_pool_and_take_nothing():
    quotas = [terms(1, {10}, target=5), terms(2, {10}, target=60, advisory=True)]
    figures = count_quotas(quotas, [sums(1, 10, 7), sums(2, 10, 7)], today=JULY)
    assert (figures[1].completed, figures[2].completed) == (7, 7)
    assert counting.quota_totals(figures.values())["target"] == 5


def test_quotas_without_members_are_not_pooled():
    figures = count_quotas([terms(1, set()), terms(2, set())], [], today=JULY)
    assert figures[1].completed == figures[2].completed == 0


@given(st.lists(st.integers(0, 50), min_size=1, max_size=8), st.integers(0, 2000))
def test_blood_units_split_adds_up_exactly(weights, tenths):
    total = Decimal(tenths) / 10
    parts = split_by_weight(total, weights)
    assert sum(parts) == total and all(p >= 0 for p in parts)
    if sum(weights):
        assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


def test_no_status_changes_before_the_day_next_status_change_names_and_then_it_does():
    rng = random.Random(11643)
    for _ in range(3000):
        start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))
        end = start + dt.timedelta(days=rng.randrange(70))
        target = rng.randrange(1, 400)
        completed = rng.randrange(0, target + 2)
        today = start + dt.timedelta(days=rng.randrange(-20, 90))

        def status(day, completed=completed, start=start, end=end, target=target):
            return quota_status(target=target, completed=completed, start=start, end=end, year=2026, today=day)

        change = next_status_change(target=target, completed=completed, start=start, due=end, today=today)
        assert change is None or change > today
        last = change or today + dt.timedelta(days=400)
        day = today + dt.timedelta(days=1)
        while day < last:
            assert status(day) == status(today), (target, completed, start, end, today, day)
            day += dt.timedelta(days=1)
        if change is not None:  # exact: the status differs on that very day
            assert status(change) != status(today)


def _row(qid, *, plan, shortfall, due, status):
    target = 10
    return counting.QuotaFigures(
        id=qid,
        plan_id=plan,
        target=target,
        completed=target - shortfall,
        on_time=0,
        blood_units=Decimal(0),
        start=dt.date(2026, 1, 1),
        due=due,
        advisory=False,
        group=False,
        sub_jurisdiction=None,
        status=status,
    )


def test_lists_break_ties_by_due_date_then_id_whatever_the_row_order():
    today = dt.date(2026, 11, 24)
    rows = [
        _row(
            qid,
            plan=qid % 3,
            shortfall=(3, 5)[qid % 2],  # many equal shortfalls
            due=dt.date(2026, (1, 11, 5)[qid % 3], 28 if qid % 3 != 1 else 30),
            status="overdue" if qid % 3 != 1 else "behind",
        )
        for qid in range(1, 61)
    ]
    expected = None
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(rows)
        by_plan = {plan: [r for r in rows if r.plan_id == plan] for plan in range(3)}
        plans = list(by_plan.items())
        rng.shuffle(plans)
        lists = merge_lists(summarise_plan(plan_rows, year=2026, today=today)[0] for _, plan_rows in plans)
        got = {key: [r["id"] for r in lists[key]] for key in ("overdue", "shortfalls", "this_month")}
        expected = expected or got
        assert got == expected
    counted = sorted(rows, key=lambda r: (-r.shortfall, r.due, r.id))
    assert expected["shortfalls"] == [r.id for r in counted[:10]]
    assert expected["overdue"] == [r.id for r in counted if r.status == "overdue"][:10]
    this_month = sorted((r for r in rows if r.due.month == 11), key=lambda r: (r.due, -r.shortfall, r.id))
    assert expected["this_month"] == [r.id for r in this_month][:30]


def test_a_jurisdiction_without_a_plan_has_no_verdict():
    for today in (dt.date(2026, 3, 1), dt.date(2027, 2, 1)):
        assert jurisdiction_status(task=0, completed=5, due_by_today=0, has_plan=False, year=2026, today=today) == (
            counting.NO_PLAN
        )
    assert jurisdiction_status(task=0, completed=0, due_by_today=0, has_plan=True, year=2026, today=JULY) == (
        counting.NO_TASK
    )


def test_a_months_targets_are_due_once_it_is_over():
    due = [1] * 12
    assert targets_due_by(due, year=2026, today=dt.date(2026, 7, 31)) == 6
    assert targets_due_by(due, year=2026, today=dt.date(2026, 8, 1)) == 7
    assert targets_due_by(due, year=2026, today=dt.date(2027, 1, 1)) == 12
    assert targets_due_by(due, year=2026, today=dt.date(2025, 12, 31)) == 0


def test_roll_up_lines_add_up_to_the_headline():
    # city 1 with a plan (unit quota 10, allocation 20 to county 2); county 2 with a plan of 25;
    # county 3 without one
    tree = JurisdictionTree(root_path="/1/", paths={1: "/1/", 2: "/1/2/", 3: "/1/3/"})
    city = summarise_plan(
        [
            _row(1, plan=10, shortfall=2, due=dt.date(2026, 3, 31), status="overdue"),
            counting.QuotaFigures(
                id=2,
                plan_id=10,
                target=20,
                completed=0,
                on_time=0,
                blood_units=Decimal(0),
                start=None,
                due=dt.date(2026, 12, 31),
                advisory=False,
                group=False,
                sub_jurisdiction=2,
                status="",
            ),
        ],
        year=2026,
        today=JULY,
    )[0]
    county = summarise_plan(
        [_row(3, plan=20, shortfall=10, due=dt.date(2026, 6, 30), status="overdue")], year=2026, today=JULY
    )[0]
    months = {
        1: ([8] + [0] * 11, Decimal(16)),
        2: ([0, 5] + [0] * 10, Decimal(10)),
        3: ([0, 0, 7] + [0] * 9, Decimal(7)),
    }
    rolled = roll_up(
        tree=tree,
        plans={10: 1, 20: 2},
        summaries={10: city, 20: county},
        months=months,
        own_plan=10,
        year=2026,
        today=JULY,
    )
    assert rolled.headline.task == 30 and rolled.headline.completed == 20
    assert rolled.children[2].task == 10 and rolled.children[3].status == counting.NO_PLAN
    assert rolled.own.task + sum(rolled.allocated.values()) == rolled.headline.task
    assert rolled.own.completed + sum(line.completed for line in rolled.children.values()) == 20
