"""The org dashboard in a real browser (Debian's Chromium through Selenium) against the real
web app on loopback, after a real pipeline run."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from analytics_pipeline.access.credentials import create_token
from analytics_pipeline.access.grants import ensure_role, grant
from scripts.chromium import chromium, chromium_binaries
from tests.browser_helpers import chart, wait_loaded
from tests.web_helpers import bearer, web_server

pytestmark = pytest.mark.skipif(
    chromium_binaries() is None and not os.environ.get("CI"),
    reason="Debian's chromium and chromium-driver are not installed",
)


@pytest.fixture(scope="module")
def dashboard(platform, tmp_path_factory):
    """A role granted org_1 and org_2 (not org_3), the app with no status caching, a browser."""
    role = platform["roles"]["tenant_a"] + "_two"
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        ensure_role(conn, role)
        grant(conn, role, "org_1")
        grant(conn, role, "org_2")
        token = create_token(conn, role).token
    downloads = tmp_path_factory.mktemp("downloads")
    with (
        web_server(platform["landing"], platform["url"], status_cache_seconds=0) as base,
        chromium(window="1280,900", downloads=downloads) as driver,
    ):
        yield {**platform, "base": base, "token": token, "driver": driver, "downloads": downloads}


def completion(url: str, org: str, course: str | None = None) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            "SELECT course_id, course_title, completion_rate FROM marts.view_course_completion_rate "
            "WHERE org_id = %s AND (%s::text IS NULL OR course_id = %s) ORDER BY course_id",
            (org, course, course),
        )
        return pd.DataFrame(cur.fetchall(), columns=["course_id", "title", "rate"])


def sign_in(dashboard) -> None:
    """Signs in afresh; the dashboard opens on the caller's first org."""
    driver = dashboard["driver"]
    driver.delete_all_cookies()
    driver.get(dashboard["base"] + "/")
    assert driver.current_url.endswith("/login")
    driver.find_element(By.ID, "token").send_keys(dashboard["token"] + Keys.ENTER)
    wait_loaded(driver, first_org(dashboard))


def first_org(dashboard) -> str:
    """The org the dashboard opens on: the first the API lists (by name)."""
    return requests.get(
        dashboard["base"] + "/api/admin/analytics/organizations", headers=bearer(dashboard["token"]), timeout=10
    ).json()["organizations"][0]["organization_id"]


def test_sign_in_refuses_a_bad_token_and_keeps_a_good_one_out_of_scripts(dashboard):
    driver = dashboard["driver"]
    driver.get(dashboard["base"] + "/login")
    driver.find_element(By.ID, "token").send_keys("apt_000000000000_" + "x" * 43 + Keys.ENTER)
    alert = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "login-error"))
    assert "unknown token" in alert.text
    sign_in(dashboard)
    cookie = driver.get_cookie("analytics_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "analytics_session" not in driver.execute_script("return document.cookie")


def test_the_selector_lists_only_granted_orgs_and_switching_changes_the_charts(dashboard):
    driver, url = dashboard["driver"], dashboard["url"]
    sign_in(dashboard)
    org_select = Select(driver.find_element(By.ID, "org-select"))
    assert sorted(o.get_attribute("value") for o in org_select.options) == ["org_1", "org_2"]

    first = first_org(dashboard)
    for org in (first, *({"org_1", "org_2"} - {first})):
        if org != first:
            org_select.select_by_value(org)
            wait_loaded(driver, org)
        expected = completion(url, org)
        drawn = chart(driver, "completion-chart")
        assert drawn["labels"] == list(expected.title)
        assert drawn["data"][0] == pytest.approx([float(r) * 100 for r in expected.rate])
        badge = driver.find_element(By.ID, "org-badge").text
        assert (
            badge
            == requests.get(
                dashboard["base"] + "/api/admin/analytics/organizations", headers=bearer(dashboard["token"]), timeout=10
            ).json()["organizations"][[o.get_attribute("value") for o in org_select.options].index(org)]["name"]
        )

    if org != "org_2":
        org_select.select_by_value("org_2")
        wait_loaded(driver, "org_2")
    course = completion(url, "org_2").course_id[1]
    Select(driver.find_element(By.ID, "course-select")).select_by_value(course)
    wait_loaded(driver, "org_2", course)
    assert chart(driver, "completion-chart")["labels"] == list(completion(url, "org_2", course).title)
    funnel = chart(driver, "dropoff-chart")
    with psycopg.connect(url) as conn:
        started = [
            r[0]
            for r in conn.execute(
                "SELECT learners_started FROM marts.view_lesson_dropoff WHERE org_id = 'org_2' AND course_id = %s "
                "ORDER BY lesson_position",
                (course,),
            )
        ]
    assert funnel["data"][0] == started


def test_the_freshness_banner_turns_yellow_then_red(dashboard):
    driver, url, landing = dashboard["driver"], dashboard["url"], dashboard["landing"]
    sign_in(dashboard)
    banner = driver.find_element(By.ID, "freshness")
    assert banner.get_attribute("data-level") == "ok"
    with psycopg.connect(url, autocommit=True) as conn:
        fresh = conn.execute("SELECT max(data_fresh_as_of) FROM marts.org_engagement_daily").fetchone()[0]
        newest = conn.execute(
            "SELECT batch_id, max_received_at FROM raw.analytics_event_batches ORDER BY max_received_at DESC LIMIT 1"
        ).fetchone()
        pending = landing / "events" / "received_date=2026-04-06" / "waiting-batch.ndjson"
        try:
            # The marts 30 minutes old, and a batch ingested since: past the 10-minute SLA.
            conn.execute(
                "UPDATE marts.org_engagement_daily SET data_fresh_as_of = now() - interval '30 minutes' "
                "WHERE data_fresh_as_of = %s",
                (fresh,),
            )
            conn.execute(
                "UPDATE raw.analytics_event_batches SET max_received_at = now() WHERE batch_id = %s", (newest[0],)
            )
            driver.refresh()
            wait_loaded(driver, first_org(dashboard))
            banner = driver.find_element(By.ID, "freshness")
            assert banner.get_attribute("data-level") == "yellow"
            assert "30 min old" in banner.text and "newer data is waiting" in banner.text
            assert banner.value_of_css_property("background-color") != "rgba(255, 255, 255, 1)"

            # A landed file waiting for 5 minutes: ingestion lags past its 2-minute SLA.
            pending.write_text("{}\n")
            os.utime(pending, (time.time() - 300, time.time() - 300))
            driver.refresh()
            wait_loaded(driver, first_org(dashboard))
            banner = driver.find_element(By.ID, "freshness")
            assert banner.get_attribute("data-level") == "red" and "Ingestion is lagging" in banner.text
        finally:
            pending.unlink(missing_ok=True)
            conn.execute(
                "UPDATE marts.org_engagement_daily SET data_fresh_as_of = %s "
                "WHERE data_fresh_as_of > now() - interval '31 minutes'",
                (fresh,),
            )
            conn.execute(
                "UPDATE raw.analytics_event_batches SET max_received_at = %s WHERE batch_id = %s",
                (newest[1], newest[0]),
            )


def test_a_csv_downloads_with_the_rows_on_screen(dashboard):
    driver, downloads = dashboard["driver"], Path(dashboard["downloads"])
    sign_in(dashboard)
    driver.find_element(By.CSS_SELECTOR, "a.download[data-dataset=completion]").click()
    org = first_org(dashboard)
    target = downloads / f"{org}-completion.csv"
    WebDriverWait(driver, 30).until(lambda d: target.exists() and target.stat().st_size > 0)
    downloaded = pd.read_csv(io.StringIO(target.read_text()))
    assert list(downloaded.title) == chart(driver, "completion-chart")["labels"]
    assert set(downloaded.org_id) == {org}


def test_every_control_is_labelled_and_reachable_by_keyboard(dashboard):
    driver = dashboard["driver"]
    sign_in(dashboard)
    unlabelled = driver.execute_script(
        "return [...document.querySelectorAll('select, input')].filter(e => e.labels.length === 0).map(e => e.id);"
    )
    assert unlabelled == []
    assert all(c.get_attribute("aria-label") for c in driver.find_elements(By.TAG_NAME, "canvas"))
    body = driver.find_element(By.TAG_NAME, "body")
    reached = set()
    for _ in range(12):
        body.send_keys(Keys.TAB) if not reached else driver.switch_to.active_element.send_keys(Keys.TAB)
        reached.add(driver.switch_to.active_element.get_attribute("id"))
    assert {"org-select", "course-select", "date-from", "date-to"} <= reached


def test_at_risk_learners_videos_and_quiz_items_show_the_marts(dashboard):
    driver, url = dashboard["driver"], dashboard["url"]
    sign_in(dashboard)
    org = first_org(dashboard)
    with psycopg.connect(url) as conn:
        at_risk = conn.execute(
            "SELECT risk_level, count(*) FROM marts.learners_at_risk WHERE org_id = %s AND risk_level <> 'low' "
            "GROUP BY risk_level",
            (org,),
        ).fetchall()
        flagged = {
            r[0]
            for r in conn.execute(
                "SELECT question_id FROM marts.quiz_item_difficulty WHERE org_id = %s AND flag IS NOT NULL", (org,)
            )
        }
    counts = dict(at_risk)
    rows = driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody tr")
    assert len(rows) == sum(counts.values()) > 0
    shown = [r.get_attribute("data-risk") for r in rows]
    assert shown == sorted(shown, key=["high", "medium"].index), "riskiest first"

    # Sorting by risk again reverses the order; sorting by reason groups the reason codes.
    risk_button = driver.find_element(By.CSS_SELECTOR, "button.sort[data-key='risk']")
    risk_button.click()
    reversed_order = [
        r.get_attribute("data-risk") for r in driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody tr")
    ]
    assert reversed_order == sorted(shown, key=["medium", "high"].index)
    assert risk_button.find_element(By.XPATH, "..").get_attribute("aria-sort") == "descending"
    driver.find_element(By.CSS_SELECTOR, "button.sort[data-key='reasons']").click()
    reasons = [
        r.find_elements(By.TAG_NAME, "td")[2].text
        for r in driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody tr")
    ]
    assert reasons == sorted(reasons, key=lambda text: text.replace(" ", "_").replace(",_", ","))

    video_select = Select(driver.find_element(By.ID, "video-select"))
    course, lesson = video_select.first_selected_option.get_attribute("value").split("|")
    with psycopg.connect(url) as conn:
        reach = [
            float(r[0] or 0) * 100
            for r in conn.execute(
                "SELECT reach_rate FROM marts.video_engagement WHERE org_id = %s AND course_id = %s AND lesson_id = %s "
                "ORDER BY segment",
                (org, course, lesson),
            )
        ]
    drawn = chart(driver, "video-chart")
    assert len(drawn["labels"]) == 10 and drawn["data"][0] == pytest.approx(reach)

    items = {
        r.find_element(By.TAG_NAME, "td").text for r in driver.find_elements(By.CSS_SELECTOR, "#quiz-table tbody tr")
    }
    assert items == flagged and flagged


def test_an_org_admin_sees_learners_at_risk_by_name_and_copies_their_e_mails(dashboard):
    import csv

    from analytics_pipeline.ingestion.pii import Tokenizer
    from tests.conftest import TEST_PII_KEY

    driver, url = dashboard["driver"], dashboard["url"]
    tokenizer = Tokenizer(TEST_PII_KEY.encode())
    with (dashboard["landing"] / "reference" / "learners.csv").open(newline="") as handle:
        learners = {tokenizer.token(row["user_id"]): (row["name"], row["email"]) for row in csv.DictReader(handle)}
    with psycopg.connect(url, autocommit=True) as conn:
        admin = {**dashboard, "token": create_token(conn, dashboard["roles"]["admin_a"]).token}
        at_risk = conn.execute(
            "SELECT user_token FROM marts.learners_at_risk WHERE org_id = 'org_1' AND risk_level <> 'low'"
        ).fetchall()
    sign_in(admin)  # admin_a sees org_1 alone
    rows = driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody tr")
    shown = []
    for row in rows:
        learner = row.find_elements(By.TAG_NAME, "td")[4]
        link = learner.find_element(By.CSS_SELECTOR, "a.email")
        shown.append((learner.text.removesuffix(link.text).strip(), link.get_attribute("href").removeprefix("mailto:")))
    assert sorted(shown) == sorted(learners[token] for (token,) in at_risk)
    boxes = driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody input.pick")
    assert boxes[0].is_displayed()
    boxes[0].click()
    boxes[1].click()
    driver.find_element(By.ID, "contact-selected").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "contact-status").text)
    copied = driver.find_element(By.ID, "contact-list").get_attribute("value").split(", ")
    assert copied == list(dict.fromkeys(shown[i][1] for i in (0, 1)))
    # A tenant of the same org sees tokens, no e-mail, nothing to select.
    sign_in(dashboard)
    rows = driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody tr")
    assert rows and not rows[0].find_elements(By.CSS_SELECTOR, "a.email")
    tokens = {row.find_elements(By.TAG_NAME, "td")[4].text for row in rows}
    assert all(len(token) == 12 for token in tokens)
    assert not rows[0].find_element(By.CSS_SELECTOR, "input.pick").is_displayed()
    assert not driver.find_element(By.ID, "contact-selected").is_displayed()


def test_a_platform_admin_reaches_every_org_from_the_overview_page(dashboard):
    driver, url = dashboard["driver"], dashboard["url"]
    with psycopg.connect(url, autocommit=True) as conn:
        admin = {**dashboard, "token": create_token(conn, dashboard["roles"]["platform"]).token}
        insights = dict(conn.execute("SELECT org_id, active_learners_7d FROM marts.org_insights").fetchall())
    sign_in(admin)
    link = driver.find_element(By.ID, "overview-link")
    assert link.is_displayed()
    link.click()
    WebDriverWait(driver, 30, ignored_exceptions=[WebDriverException]).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "overview"
    )
    rows = driver.find_elements(By.CSS_SELECTOR, "#overview-table tbody tr")
    shown = {row.get_attribute("data-org"): int(row.find_elements(By.TAG_NAME, "td")[1].text) for row in rows}
    assert shown == insights and len(shown) == 3
    target = rows[-1].get_attribute("data-org")
    rows[-1].find_element(By.TAG_NAME, "a").click()
    wait_loaded(driver, target)
    # A caller of one org has no overview to go to.
    with psycopg.connect(url, autocommit=True) as conn:
        one_org = {**dashboard, "token": create_token(conn, dashboard["roles"]["tenant_b"]).token}
    sign_in(one_org)
    assert not driver.find_element(By.ID, "overview-link").is_displayed()
