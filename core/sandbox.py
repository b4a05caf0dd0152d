"""Run a file reader in a child process with an address-space and CPU-time limit.

Every upload (notice, roster, flat quota import) is parsed by `run_bounded`: the web worker
only waits for the answer, so a file that would take gigabytes or minutes — one the readers'
own checks did not foresee — costs a child process that the kernel stops at its limits, and the
worker's memory stays what it was. The child is forked from multiprocessing's fork server (a
small single-threaded process started once per worker), never from a threaded web worker.

Limits (settings, from the environment): `UPLOAD_PARSE_MEMORY_MB` of address space above what
the child starts with, `UPLOAD_PARSE_CPU_SECONDS` of CPU time, and twice that of wall time, after
which the parent kills the child: nothing keeps burning CPU after the client has given up.

A reader may tell how far it is (`report_progress(done, total)`, e.g. pages read by OCR): the
child sends it up the pipe and `run_bounded(..., on_progress=callback)` calls the callback in
the parent (the background task that reads a scan writes it on the staged upload).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

ERROR_MEMORY = _(
    "读取这个文件需要的内存超过上限（%(mb)d MB），已停止：文件可能异常，请检查后再上传，或拆分成几个文件。"
)
ERROR_TIME = _("读取这个文件的时间超过上限（%(seconds)d 秒），已停止：文件可能异常，请检查后再上传，或拆分成几个文件。")
ERROR_CRASHED = _("读取这个文件时出错，已停止：文件可能已损坏，请用 Excel 或 WPS 另存后再上传。")

# Modules the fork server imports once, so each child starts with the readers loaded.
PRELOAD = ["quotas.notice.reader", "quotas.notice.pdf", "campaigns.rosters.reader"]


class SandboxError(Exception):
    """The child was refused memory, ran out of time or crashed; the message is for the user."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    cpu_seconds: int

    @property
    def wall_seconds(self) -> float:
        return self.cpu_seconds * 2 + 5

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.UPLOAD_PARSE_MEMORY_MB, settings.UPLOAD_PARSE_CPU_SECONDS)


_context = None
_progress = None  # in a child: the pipe to the parent, for `report_progress`


def report_progress(done: int, total: int) -> None:
    """In a bounded child: tell the parent that `done` of `total` steps are done. Elsewhere
    (a reader called directly, a test, the command line) it does nothing."""
    if _progress is not None:
        _progress.send(("progress", int(done), int(total)))


def _forget_the_parents_fork_server() -> None:
    """In a process forked from one that had started the fork server (gunicorn's master with
    --preload, a benchmark forking a child): that server is the parent's, not ours — waiting
    on it fails with ECHILD. Forget it, so the first upload here starts this process's own.
    Uses multiprocessing's private state; Python has no public way to do this."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        with contextlib.suppress(OSError):
            os.close(server._forkserver_alive_fd)
    server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None


os.register_at_fork(after_in_child=_forget_the_parents_fork_server)


def _get_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _vm_size() -> int:
    """The process's address space now, in bytes (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(conn, limits: Limits, func, args, kwargs) -> None:
    """In the child: set the limits, run, send ("ok", result) or ("error", kind, detail),
    after any number of ("progress", done, total)."""
    global _progress
    _progress = conn
    headroom = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + headroom,) * 2)
    # The soft limit sends SIGXCPU (which ends the process); the hard one a second later SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    try:
        result = func(*args, **kwargs)
        message = ("ok", result)
    except MemoryError:
        message = ("error", "memory", "")
    except RecursionError as exc:
        message = ("error", "crashed", repr(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which logs it
        message = ("error", "crashed", f"{type(exc).__name__}: {exc}"[:300])
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("error", "memory", ""))
    conn.close()


def run_bounded(func, *args, limits: Limits | None = None, on_progress=None, **kwargs):
    """`func(*args, **kwargs)` in a bounded child process; its result, or SandboxError.

    `func` and its arguments and result must pickle (a module-level function, plain data).
    `on_progress(done, total)` is called in this process each time the child reports progress
    (`report_progress`); the wall-clock limit counts from the start whatever it reports.
    """
    limits = limits or Limits.from_settings()
    context = _get_context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, limits, func, args, kwargs), daemon=True)
    started = time.monotonic()
    process.start()
    send.close()
    try:
        message = None
        while receive.poll(max(0.0, limits.wall_seconds - (time.monotonic() - started))):
            try:
                message = receive.recv()
            except (EOFError, OSError):
                message = None
                break
            if message[0] != "progress":
                break
            if on_progress is not None:
                on_progress(message[1], message[2])
            message = None
        if message is None:
            process.join(1)
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receive.close()
    elapsed = time.monotonic() - started
    if message is not None and message[0] == "ok":
        return message[1]
    kind = _why(message, process.exitcode, elapsed, limits)
    logger.warning(
        "upload reader %s stopped (%s) after %.1f s, exit code %s: %s",
        getattr(func, "__qualname__", func),
        kind,
        elapsed,
        process.exitcode,
        message[2] if message else "",
    )
    if kind == "memory":
        raise SandboxError(str(ERROR_MEMORY % {"mb": limits.memory_mb}), kind)
    if kind == "time":
        raise SandboxError(str(ERROR_TIME % {"seconds": limits.cpu_seconds}), kind)
    raise SandboxError(str(ERROR_CRASHED), kind)


def _why(message, exitcode: int | None, elapsed: float, limits: Limits) -> str:
    if message is not None:
        return message[1]
    if exitcode is None or exitcode == -signal.SIGXCPU or elapsed >= limits.wall_seconds:
        return "time"  # over its CPU time, or still running at the wall-clock limit and killed
    if exitcode == -signal.SIGKILL:
        return "memory"  # killed by someone else than us: the kernel's out-of-memory killer
    return "crashed"
