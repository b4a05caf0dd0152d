"""Uploads are parsed in a child process with an address-space and CPU-time limit."""

from __future__ import annotations

import resource
import time

import pytest

from core.sandbox import Limits, SandboxError, run_bounded

from . import hogs


def test_the_child_answers_with_the_readers_result():
    assert run_bounded(hogs.answer, 21) == {"doubled": 42}


def test_a_reader_that_wants_too_much_memory_is_stopped_and_the_worker_keeps_its_own():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SandboxError) as caught:
        run_bounded(hogs.eat_memory, 2000, limits=Limits(memory_mb=200, cpu_seconds=20))
    assert caught.value.kind == "memory" and "内存超过上限（200 MB）" in str(caught.value)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50  # the 2 GB were asked for by the child, never by this process


def test_a_reader_that_never_ends_is_stopped_at_its_cpu_limit():
    started = time.monotonic()
    with pytest.raises(SandboxError) as caught:
        run_bounded(hogs.spin, limits=Limits(memory_mb=200, cpu_seconds=1))
    assert caught.value.kind == "time" and "时间超过上限（1 秒）" in str(caught.value)
    assert time.monotonic() - started < Limits(200, 1).wall_seconds + 2


def test_a_reader_that_crashes_gives_a_message_not_a_server_error():
    with pytest.raises(SandboxError) as caught:
        run_bounded(hogs.fail)
    assert caught.value.kind == "crashed" and "文件可能已损坏" in str(caught.value)


def _in_forked_child(conn) -> None:
    try:
        conn.send(run_bounded(hogs.answer, 5))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        conn.send(repr(exc))
    finally:
        conn.close()


def test_a_process_forked_after_the_fork_server_started_starts_its_own():
    import multiprocessing

    run_bounded(hogs.answer, 1)  # this process's fork server is running
    context = multiprocessing.get_context("fork")  # as gunicorn forks its workers, or a benchmark a child
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_in_forked_child, args=(send,))
    child.start()
    assert receive.poll(60) and receive.recv() == {"doubled": 10}
    child.join(10)
    assert run_bounded(hogs.answer, 2) == {"doubled": 4}
