"""Reading the dashboard in the browser: when a page has loaded, and what a chart drew."""

from __future__ import annotations

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def wait_loaded(driver, org: str, course: str = "") -> None:
    # A page still navigating (the sign-in form's post) can fail a read of its body with
    # ChromeDriver's "unhandled inspector error"; the wait reads again, and times out if the
    # page never loads.
    WebDriverWait(driver, 30, ignored_exceptions=[WebDriverException]).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == f"{org}|{course}"
    )


def chart(driver, canvas: str) -> dict:
    return driver.execute_script(
        "const c = Chart.getChart(arguments[0]);"
        "return {labels: c.data.labels, data: c.data.datasets.map(d => d.data)};",
        canvas,
    )
