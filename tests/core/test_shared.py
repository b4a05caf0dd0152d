"""Readers arriving together share one computation (core.shared); readers one after another never do."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from core.shared import LOCK_SPACE, shared

pytestmark = pytest.mark.django_db(transaction=True)

_WAITERS = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s"


def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks: PostgreSQL only (SQLite computes every call)")


def _in_thread(results: dict, name: str, *args) -> threading.Thread:
    def run():
        try:
            results[name] = shared(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_waiters(n: int) -> None:
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(_WAITERS, [LOCK_SPACE])
            if cursor.fetchone()[0] >= n:
                return
            time.sleep(0.01)
    raise AssertionError(f"{n} readers never waited")


def _slow(calls: list, value, started: threading.Event, release: threading.Event):
    def compute():
        calls.append(value)
        started.set()
        assert release.wait(10)
        return {"value": value, "rows": [1, 2.5, None, "二"]}

    return compute


def _fast(calls: list, value):
    def compute():
        calls.append(value)
        return {"value": value}

    return compute


def test_readers_one_after_another_each_compute():
    calls = []
    assert shared("page", "2026-12-02", _fast(calls, 1)) == {"value": 1}
    assert shared("page", "2026-12-02", _fast(calls, 2)) == {"value": 2}
    assert calls == [1, 2]


def test_readers_arriving_during_a_computation_take_its_result():
    _postgresql_only()
    calls, results = [], {}
    started, release = threading.Event(), threading.Event()
    first = _in_thread(results, "first", "page", "2026-12-02", _slow(calls, "first", started, release))
    assert started.wait(10)
    others = [_in_thread(results, f"other{i}", "page", "2026-12-02", _fast(calls, f"other{i}")) for i in range(3)]
    _wait_for_waiters(3)
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    expected = {"value": "first", "rows": [1, 2.5, None, "二"]}
    assert calls == ["first"]
    assert results == dict.fromkeys(["first", "other0", "other1", "other2"], expected)
    # The computation is over: the next reader computes afresh, never served the old result.
    assert shared("page", "2026-12-02", _fast(calls, "later")) == {"value": "later"}


def test_a_waiter_for_another_day_or_page_computes_its_own():
    _postgresql_only()
    calls, results = [], {}
    started, release = threading.Event(), threading.Event()
    first = _in_thread(results, "first", "page", "2026-12-31", _slow(calls, "first", started, release))
    assert started.wait(10)
    next_day = _in_thread(results, "next_day", "page", "2027-01-01", _fast(calls, "next_day"))
    _wait_for_waiters(1)
    other_page = _in_thread(results, "other_page", "other", "2026-12-31", _fast(calls, "other_page"))
    other_page.join(10)  # another key: not held up by the first computation at all
    assert results["other_page"] == {"value": "other_page"}
    release.set()
    first.join(10)
    next_day.join(10)
    assert results["next_day"] == {"value": "next_day"}
    assert sorted(calls) == ["first", "next_day", "other_page"]
