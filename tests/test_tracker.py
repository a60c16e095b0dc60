"""The trackers against the real web app on loopback: the Python tracker across a server
restart and a process restart; the browser tracker (the bundle the app serves at
/sdk/tracker.js) in Debian's Chromium across a server stop and restart, a page reload and a
navigation away (its page-hide beacon). After ingestion every valid event is stored exactly
once, and the invalid ones were reported, not retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import requests
from selenium.webdriver.support.ui import WebDriverWait

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.tracker import Tracker, retry_delay
from analytics_pipeline.web.routes.sdk import SDK
from scripts.chromium import chromium, chromium_binaries
from tests.conftest import TEST_PII_KEY, free_port
from tests.landing_helpers import ingest_landed, utc_today, write_reference
from tests.web_helpers import web_server

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
COURSE = "c1"


@pytest.fixture
def platform_app(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    write_reference(landing, [("org_a", f"u{n}", COURSE) for n in range(5)])
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        key = create_write_key(conn, "lms").key
    return {"landing": landing, "url": migrated_db, "key": key, "port": free_port()}


def event(n: int, event_type: str = "lesson_started") -> dict:
    return {"eventType": event_type, "userId": f"u{n % 5}", "courseId": COURSE, "lessonId": f"{COURSE}_l1"}


def stored_ids(app) -> list[str]:
    with psycopg.connect(app["url"], autocommit=True) as conn:
        ingest_landed(conn, app["landing"], TOKENIZER)
        return [str(row[0]) for row in conn.execute("SELECT client_event_id FROM raw.analytics_events")]


def test_the_python_tracker_delivers_everything_across_a_server_and_a_process_restart(platform_app, tmp_path):
    app, queue = platform_app, tmp_path / "queue.sqlite3"
    endpoint = f"http://127.0.0.1:{app['port']}"
    failed = []
    tracker = Tracker(endpoint, app["key"], queue_path=queue, on_failed=lambda e, reason: failed.append(e))
    ids = []
    with web_server(app["landing"], app["url"], port=app["port"], parts=("ingest",)):
        ids += [tracker.track(event(n)) for n in range(50)]
        bad = tracker.track({**event(0), "eventType": "lesson_teleported"})
        assert tracker.flush(timeout=30) and tracker.pending_count() == 0
    ids += [tracker.track(event(n)) for n in range(50, 80)]  # the server is down
    assert tracker.flush(timeout=1) is False and tracker.pending_count() == 30
    tracker.close()  # the process goes away with its queue on disk
    # Another process, the same queue file: it sends what the first left, once the server is back.
    resume = (
        "import sys; from analytics_pipeline.tracker import Tracker;"
        "t = Tracker(sys.argv[1], sys.argv[2], queue_path=sys.argv[3]); ok = t.flush(timeout=60);"
        "print(ok, t.pending_count())"
    )
    with web_server(app["landing"], app["url"], port=app["port"], parts=("ingest",)):
        done = subprocess.run(
            [sys.executable, "-c", resume, endpoint, app["key"], str(queue)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.stdout.split() == ["True", "0"], done.stderr
    assert [e["clientEventId"] for e in failed] == [bad]
    assert sorted(stored_ids(app)) == sorted(ids)


def test_the_python_tracker_needs_nothing_of_the_platform_but_the_standard_library():
    source = Path(__file__).parents[1] / "analytics_pipeline" / "tracker.py"
    probe = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location('tracker', sys.argv[1]);"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('dagster', 'analytics_pipeline', 'psycopg')))"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(source)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert retry_delay(40, 0, lambda: 0.999) <= 30 and retry_delay(1, 7.0, lambda: 0) == 7.0


def test_the_bundle_is_served_to_any_origin_and_is_the_build_of_the_sources(platform_app):
    app = platform_app
    with web_server(app["landing"], app["url"], parts=("ingest",)) as base:
        current = requests.get(base + "/sdk/tracker.js", timeout=10)
        version = json.loads((SDK / "tracker.json").read_text())["version"]
        pinned = requests.get(base + f"/sdk/tracker-{version}.js", timeout=10)
        other = requests.get(base + "/sdk/tracker-0.0.0.js", timeout=10)
    assert current.status_code == pinned.status_code == 200 and other.status_code == 404
    assert current.headers["content-type"].startswith("text/javascript")
    assert current.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "max-age=300" in current.headers["cache-control"] and "immutable" in pinned.headers["cache-control"]
    assert "window.AnalyticsTracker" in current.text and current.content == pinned.content
    package = json.loads((Path(__file__).parents[1] / "clients" / "js" / "package.json").read_text())
    assert package["version"] == version and package["license"] == "Apache-2.0"


# --- the browser tracker in Chromium -------------------------------------------------------------

PAGE = """<!doctype html><meta charset="utf-8"><title>LMS page</title>
<script src="{api}/sdk/tracker.js"></script>
<script>
  // What this tab's tracker sends by fetch (its beacons aside): the ids of each request.
  window.fetched = [];
  const realFetch = window.fetch.bind(window);
  window.fetch = (url, init) => {{
    window.fetched.push(...JSON.parse(init.body).events.map((e) => e.clientEventId));
    return realFetch(url, init);
  }};
  window.failed = JSON.parse(localStorage.getItem("failed") || "[]");
  window.tracker = AnalyticsTracker.createTracker({{
    endpoint: "{api}/", writeKey: "{key}", maxBatchSize: 50,
    flushIntervalMs: Number(new URLSearchParams(location.search).get("interval") || 200),
    onFailed: (event, reason) => {{
      window.failed.push(event.clientEventId);
      localStorage.setItem("failed", JSON.stringify(window.failed));
    }},
  }});
  window.trackSome = (from, to) => {{
    const ids = [];
    for (let n = from; n < to; n += 1) {{
      const type = n % 50 === 7 ? "lesson_teleported" : "lesson_started";
      ids.push([tracker.track({{ eventType: type, userId: "u" + (n % 5), courseId: "c1", lessonId: "c1_l1" }}), type]);
    }}
    return ids;
  }};
</script>"""

needs_chromium = pytest.mark.skipif(
    chromium_binaries() is None and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)


@pytest.fixture
def lms_page(tmp_path, platform_app):
    """The LMS's page on an origin of its own, embedding the platform's bundle."""
    api = f"http://127.0.0.1:{platform_app['port']}"
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE.format(api=api, key=platform_app["key"]))
    (site / "elsewhere.html").write_text("<!doctype html><title>elsewhere</title><p>another page")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {**platform_app, "api": api, "page": f"http://127.0.0.1:{server.server_address[1]}"}
    server.shutdown()


def open_page(driver, page: str, query: str = "") -> None:
    driver.get(page + "/index.html" + query)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return !!window.tracker"))


def pending(driver) -> int:
    return driver.execute_async_script("const done = arguments[0]; tracker.pendingCount().then(done);")


@needs_chromium
def test_the_browser_tracker_loses_nothing_across_a_restart_a_reload_and_a_navigation(lms_page):
    app, tracked = lms_page, []
    cors = (app["page"],)
    with chromium() as driver:
        driver.set_script_timeout(120)
        with web_server(app["landing"], app["url"], port=app["port"], parts=("ingest",), cors_origins=cors):
            open_page(driver, app["page"])
            tracked += driver.execute_script("return trackSome(0, 250)")
            driver.execute_async_script("const done = arguments[0]; tracker.flush().then(done);")
            assert pending(driver) == 0
        # The platform is down: events queue up, and a reload in the middle loses none of them.
        tracked += driver.execute_script("return trackSome(250, 400)")
        driver.refresh()
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return !!window.tracker"))
        tracked += driver.execute_script("return trackSome(400, 500)")
        assert pending(driver) == 250
        with web_server(app["landing"], app["url"], port=app["port"], parts=("ingest",), cors_origins=cors):
            # Back up: the last events, then the learner navigates away (the page-hide beacon).
            tracked += driver.execute_script("return trackSome(500, 700)")
            driver.get(app["page"] + "/elsewhere.html")
            open_page(driver, app["page"])  # a later visit confirms what the beacon may have sent
            driver.execute_async_script("const done = arguments[0]; tracker.flush().then(done);")
            assert pending(driver) == 0
            failed = driver.execute_script("return window.failed")
    valid = sorted(event_id for event_id, kind in tracked if kind == "lesson_started")
    invalid = sorted(event_id for event_id, kind in tracked if kind != "lesson_started")
    assert len(tracked) == 700 and len(invalid) == 14
    assert sorted(failed) == invalid  # each reported once, none retried after its answer
    assert sorted(stored_ids(app)) == valid  # every valid event, exactly once


def landed_ids(app) -> set[str]:
    ids = set()
    for path in (app["landing"] / "events").rglob("*.ndjson"):
        ids |= {json.loads(line)["clientEventId"] for line in path.read_text().splitlines() if line}
    return ids


@needs_chromium
def test_leaving_the_page_sends_the_queue_by_beacon_and_keeps_it_until_an_answer_confirms_it(lms_page):
    app = lms_page
    with (
        chromium() as driver,
        web_server(app["landing"], app["url"], port=app["port"], parts=("ingest",), cors_origins=(app["page"],)),
    ):
        driver.set_script_timeout(60)
        open_page(driver, app["page"], "?interval=600000")  # nothing goes out on its own
        tracked = [event_id for event_id, _ in driver.execute_script("return trackSome(0, 20)")]
        assert pending(driver) == 20 and not landed_ids(app)
        driver.get(app["page"] + "/elsewhere.html")  # pagehide: the beacon
        WebDriverWait(driver, 30).until(lambda _: landed_ids(app) >= {tracked[0]})
        assert landed_ids(app) == set(tracked) - {tracked[7]}  # the invalid one is refused, not landed
        open_page(driver, app["page"], "?interval=600000")
        driver.execute_async_script("const done = arguments[0]; tracker.flush().then(done);")
        assert pending(driver) == 0
    valid = sorted(set(tracked) - {tracked[7]})
    # Kept until an answer confirmed them: the next visit sent each again (it never saw the
    # beacon's answer), and the id ledger stores each once.
    landings = [
        json.loads(line)["clientEventId"]
        for path in (app["landing"] / "events").rglob("*.ndjson")
        for line in path.read_text().splitlines()
        if line
    ]
    assert sorted(landings) == sorted(valid * 2)
    assert sorted(stored_ids(app)) == valid


@needs_chromium
def test_the_browser_tracker_waits_out_a_full_landing_disk_and_a_rate_limit_and_delivers_everything(lms_page):
    app, tracked = lms_page, []
    today = app["landing"] / "events" / f"received_date={utc_today()}"
    today.parent.mkdir(parents=True, exist_ok=True)
    today.write_text("a file where the day's folder goes: the landing zone cannot take a batch (503)")
    with chromium() as driver:
        driver.set_script_timeout(120)
        with web_server(app["landing"], app["url"], port=app["port"], parts=("ingest",), cors_origins=(app["page"],)):
            open_page(driver, app["page"])
            tracked += driver.execute_script("return trackSome(0, 100)")
            WebDriverWait(driver, 30).until(
                lambda _: requests.get(app["api"] + "/metrics", timeout=5).text.count('status="503"') > 0
            )
            assert pending(driver) == 100  # refused, so kept
            today.unlink()  # space again
            driver.execute_async_script("const done = arguments[0]; tracker.flush().then(done);")
            assert pending(driver) == 0
        # A key over its rate: 429 with Retry-After, waited out.
        with web_server(
            app["landing"],
            app["url"],
            port=app["port"],
            parts=("ingest",),
            cors_origins=(app["page"],),
            write_key_rate=2.0,
        ):
            open_page(driver, app["page"], "?interval=50")
            tracked += driver.execute_script("return trackSome(100, 400)")
            driver.execute_async_script("const done = arguments[0]; tracker.flush().then(done);")
            assert pending(driver) == 0
            limited = requests.get(app["api"] + "/metrics", timeout=5).text
    assert 'collector_batch_requests_total{status="429"}' in limited
    valid = sorted(event_id for event_id, kind in tracked if kind == "lesson_started")
    assert sorted(stored_ids(app)) == valid


@needs_chromium
def test_two_tabs_share_one_queue_and_never_send_an_event_twice(lms_page):
    app = lms_page
    with (
        chromium() as driver,
        web_server(
            app["landing"], app["url"], port=app["port"], parts=("ingest",), cors_origins=(app["page"],)
        ) as base,
    ):
        driver.set_script_timeout(120)
        open_page(driver, app["page"], "?interval=30")
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")
        open_page(driver, app["page"], "?interval=30")
        second = driver.current_window_handle
        tracked = []
        for round_ in range(4):  # both tabs track while the other sends
            for handle in (first, second):
                driver.switch_to.window(handle)
                start = (round_ * 2 + (handle == second)) * 100
                tracked += [i for i, _ in driver.execute_script(f"return trackSome({start}, {start + 100})")]
        fetched = []
        for handle in (first, second):
            driver.switch_to.window(handle)
            driver.execute_async_script("const done = arguments[0]; tracker.flush().then(done);")
            assert pending(driver) == 0  # one queue: both tabs see it empty
        for handle in (first, second):
            driver.switch_to.window(handle)
            fetched += driver.execute_script("return window.fetched")
        exposed = requests.options(
            base + "/api/analytics/events/batch",
            headers={"Origin": app["page"], "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        answer = requests.post(
            base + "/api/analytics/events/batch", json={"events": []}, headers={"Origin": app["page"]}, timeout=10
        )
    assert exposed.status_code == 200 and "retry-after" in answer.headers["access-control-expose-headers"].lower()
    assert len(tracked) == 800
    # One sender at a time: no event went out by fetch twice, from one tab or the two. (A tab
    # switch's beacon may repeat one, which the id ledger makes harmless: stored once.)
    assert len(fetched) == len(set(fetched)) and set(fetched) == set(tracked)
    valid = {event_id for n, event_id in enumerate(tracked) if n % 50 != 7}
    assert sorted(stored_ids(app)) == sorted(valid)
