"""Legacy Office and WPS files: Word 97–2003 (.doc), WPS Writer (.wps), WPS Spreadsheets (.et).

Pure Python. The three share the OLE compound-file container with .xls; what is inside tells
them apart, never the name: a `WordDocument` stream is a Word-binary document (.doc, and .wps
as WPS Office writes it), a `Workbook`/`Book` stream a BIFF workbook (.xls, and .et, which xlrd
reads like an .xls; `read_grids` tries that first).

Word-binary files, and workbooks xlrd cannot read, are converted by LibreOffice headless
(`soffice --convert-to docx|xlsx`) in a subprocess of its own session, with an address-space
and CPU-time limit, a wall-clock timeout after which the whole process group is killed, and a
private, throw-away profile directory (two conversions at once never share one). The result is
read by the .docx/.xlsx readers with all their guards. Without LibreOffice on the server the
message says so and what to do instead.

Settings from the environment (this module has no Django import): `SOFFICE` (the program;
default `soffice` on the PATH), `SOFFICE_TIMEOUT_SECONDS` (default 60), `SOFFICE_MEMORY_MB`
(default 2048).
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

WORD = "doc"
WORKBOOK = "xls"

ERROR_NO_LIBREOFFICE = "服务器未安装 LibreOffice，无法读取 {what} 文件；请另存为 .docx 或 .xlsx 后再上传。"
ERROR_CONVERT_TIMEOUT = "转换 {what} 文件超过 {seconds} 秒，已停止：文件可能异常，请另存为 .docx 或 .xlsx 后再上传。"
ERROR_CONVERT_FAILED = (
    "无法转换这个 {what} 文件（文件可能已损坏或设置了密码）：请用 Word 或 WPS 打开后另存为 .docx 或 .xlsx 再上传。"
)
WHAT = {WORD: ".doc/.wps", WORKBOOK: ".xls/.et"}


class ConvertError(ValueError):
    """The file could not be converted; the message is for staff."""


def ole_kind(data: bytes) -> str:
    """WORD for a Word-binary document (.doc/.wps), else WORKBOOK (.xls/.et, or not known)."""
    from xlrd.compdoc import CompDoc

    try:
        document = CompDoc(data, logfile=io.StringIO())
        names = {document.dirlist[did].name for did in document.dirlist[0].children}
    except Exception:  # noqa: BLE001 - a damaged container: the workbook reader says what is wrong
        return WORKBOOK
    if "WordDocument" in names and not names & {"Workbook", "Book"}:
        return WORD
    return WORKBOOK


def soffice_path() -> str | None:
    """The LibreOffice program, or None when the server has none."""
    program = os.environ.get("SOFFICE")
    if program:
        return shutil.which(program)
    return shutil.which("soffice") or shutil.which("libreoffice")


def _lowered(which: int, value: int) -> tuple[int, int]:
    """(value, value), or the current hard limit where that is lower: a process may only keep or
    lower its limits (inside the upload sandbox they are already set)."""
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    return value, value


def _limits(memory_mb: int, cpu_seconds: int):
    memory = _lowered(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    cpu = _lowered(resource.RLIMIT_CPU, cpu_seconds)

    def apply():  # in the child, between fork and exec: nothing but the two calls
        resource.setrlimit(resource.RLIMIT_AS, memory)
        resource.setrlimit(resource.RLIMIT_CPU, cpu)

    return apply


def convert(data: bytes, kind: str, *, timeout: float | None = None) -> bytes:
    """The file converted by LibreOffice: a .docx for WORD, an .xlsx for WORKBOOK."""
    what = WHAT[kind]
    program = soffice_path()
    if program is None:
        raise ConvertError(ERROR_NO_LIBREOFFICE.format(what=what))
    timeout = timeout or float(os.environ.get("SOFFICE_TIMEOUT_SECONDS", 60))
    memory_mb = int(os.environ.get("SOFFICE_MEMORY_MB", 2048))
    source_suffix, target = (".doc", "docx") if kind == WORD else (".xls", "xlsx")
    with tempfile.TemporaryDirectory(prefix="notice-convert-") as work:
        folder = Path(work)
        source = folder / f"notice{source_suffix}"
        source.write_bytes(data)
        profile = folder / "profile"
        command = [
            program,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            target,
            "--outdir",
            str(folder / "out"),
            str(source),
        ]
        env = {**os.environ, "HOME": str(folder), "TMPDIR": str(folder)}
        try:
            process = subprocess.Popen(  # noqa: S603 - a fixed program; the file is a path we made
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                cwd=folder,
                start_new_session=True,  # its own process group: a timeout kills every helper
                preexec_fn=_limits(memory_mb, int(timeout) + 5),
            )
        except OSError as exc:
            raise ConvertError(ERROR_NO_LIBREOFFICE.format(what=what)) from exc
        try:
            process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            raise ConvertError(ERROR_CONVERT_TIMEOUT.format(what=what, seconds=int(timeout))) from exc
        finally:
            _kill_group(process)  # soffice may leave a helper behind even when it exits
        result = folder / "out" / f"notice.{target}"
        if process.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            raise ConvertError(ERROR_CONVERT_FAILED.format(what=what))
        return result.read_bytes()


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
