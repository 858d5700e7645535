"""A real browser for the report: Debian's headless Chromium (packages ``chromium`` and ``chromium-driver``)
driven by selenium (the ``test`` extra). The tests open reports in it to check that every figure renders and
the console stays clean; ``scripts/report_screenshot.py`` takes the README's picture with it. Nothing here is
needed to write a report."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import tempfile

CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = "chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Chromium run offline and alone: no sandbox (root in containers), no GPU, no update or sync traffic."""


def unavailable() -> str | None:
    """Why no browser can be started here (None: one can)."""
    missing = []
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (pip install '.[test]')")
    if not any(shutil.which(name) for name in CHROMIUM):
        missing.append("chromium (apt-get install chromium)")
    if shutil.which(CHROMEDRIVER) is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    return "needs " + ", ".join(missing) if missing else None


@contextlib.contextmanager
def headless_chromium(width: int = 1200, height: int = 900):
    """A selenium WebDriver on a fresh headless Chromium (its own profile folder, removed after), with the
    browser console's messages kept for ``driver.get_log("browser")``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="neurodeploy-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = next(shutil.which(name) for name in CHROMIUM if shutil.which(name))
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(shutil.which(CHROMEDRIVER)))
        try:
            yield driver
        finally:
            driver.quit()
