"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live server.

Chromium comes from the system (`/usr/bin/chromium`, or BROWSER_EXECUTABLE), never from a
download. Without it these tests are skipped — unless REQUIRE_BROWSER=1 (CI sets it), when
they fail instead. SCREENSHOTS_DIR=docs/screenshots saves a picture of each main page.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# for their set-up are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("BROWSER_EXECUTABLE") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}: apt-get install chromium")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-wqy-zenhei)")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "viewport": {"width": 1280, "height": 900},
        "accept_downloads": True,
    }


@pytest.fixture
def shoot():
    """shoot(page, "name"): a screenshot into SCREENSHOTS_DIR, when it is set."""
    folder = os.environ.get("SCREENSHOTS_DIR")

    def take(page, name: str, *, full_page: bool = True) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)

    return take
