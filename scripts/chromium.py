"""Debian's Chromium driven by Selenium through Debian's chromedriver: no browser download.
Used by the screenshot scripts and the dashboard's browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver

# Without the background-networking flags Chromium keeps dialling Google's hosts, which a
# closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium_binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver), or None when Debian's packages are not installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@contextmanager
def chromium(
    window: str = "1400,1000", scale: float = 1.0, downloads: Path | None = None
) -> Iterator[webdriver.Chrome]:
    binaries = chromium_binaries()
    if binaries is None:
        raise RuntimeError("Debian's chromium and chromium-driver are needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binaries[0]
    for flag in (*FLAGS, f"--window-size={window}", f"--force-device-scale-factor={scale}"):
        options.add_argument(flag)
    if downloads:
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        )
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(binaries[1]))
    try:
        if downloads:
            driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver
    finally:
        driver.quit()
