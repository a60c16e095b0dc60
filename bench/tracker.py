"""The browser tracker (`python -m bench.tracker`): how many events one Chromium tab delivers
per second through the tracker (track, persist, batch, send, answer), beside the same events
posted straight to the batch route from the same tab with `fetch` in batches of 1000 (what
the server and the network alone cost); and the bundle's size, gzipped, against its goal."""

from __future__ import annotations

import csv
import gzip
import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import psycopg

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.web.routes.sdk import SDK
from bench.common import Figure, bench_environment, free_port, pipeline_tokenizer, report, work_dir
from scripts.chromium import chromium
from scripts.serving import running, wait_for

EVENTS = 5000
BUNDLE_GOAL_BYTES = 5 * 1024
PAGE = """<!doctype html><meta charset="utf-8"><script src="{api}/sdk/tracker.js"></script>
<script>
const event = (n) => ({{ eventType: "lesson_started", userId: "u" + (n % 5), courseId: "c1", lessonId: "c1_l1" }});
window.viaTracker = async (count) => {{
  const tracker = AnalyticsTracker.createTracker({{ endpoint: "{api}", writeKey: "{key}", flushIntervalMs: 20 }});
  const started = performance.now();
  for (let n = 0; n < count; n += 1) tracker.track(event(n));
  await tracker.flush();
  return (performance.now() - started) / 1000;
}};
window.viaFetch = async (count) => {{
  const started = performance.now();
  for (let first = 0; first < count; first += 1000) {{
    const events = [];
    for (let n = first; n < Math.min(count, first + 1000); n += 1) {{
      events.push({{ ...event(n), clientEventId: crypto.randomUUID(), occurredAt: new Date().toISOString() }});
    }}
    await fetch("{api}/api/analytics/events/batch", {{
      method: "POST", body: JSON.stringify({{ events }}),
      headers: {{ "Content-Type": "application/json", Authorization: "Bearer {key}" }},
    }});
  }}
  return (performance.now() - started) / 1000;
}};
</script>"""


def reference(landing) -> None:
    folder = landing / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "organizations": (["org_id", "name"], [["org_a", "Org A"]]),
        "courses": (["course_id", "title"], [["c1", "Course"]]),
        "lessons": (
            ["lesson_id", "course_id", "position", "title", "kind", "duration_seconds"],
            [["c1_l1", "c1", 1, "Lesson", "reading", ""]],
        ),
        "enrollments": (
            ["org_id", "user_id", "course_id", "assigned_at", "due_at"],
            [["org_a", f"u{n}", "c1", "2026-01-01T00:00:00Z", ""] for n in range(5)],
        ),
    }
    for name, (header, rows) in tables.items():
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


def main() -> int:
    work = work_dir("tracker")
    reference(work / "landing")
    env = bench_environment(work)
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        load_reference(conn, env.landing, pipeline_tokenizer(env))
        key = create_write_key(conn, "bench").key
    site = work / "site"
    site.mkdir()
    page_server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{page_server.server_address[1]}"
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    (site / "index.html").write_text(PAGE.format(api=api, key=key))
    serve_env = {**os.environ, "ANALYTICS_CORS_ORIGINS": origin, "ANALYTICS_WRITE_KEY_RATE": "1000"}
    with running("serve", "--only", "ingest", "--landing", str(env.landing), "--port", str(port), env=serve_env):
        wait_for(f"{api}/api/health", timeout=120)
        with chromium() as driver:
            driver.set_script_timeout(600)
            driver.get(f"{origin}/index.html")
            driver.execute_async_script("const done = arguments[0]; viaFetch(200).then(done);")  # warm up
            fetch_seconds = driver.execute_async_script(f"const done = arguments[0]; viaFetch({EVENTS}).then(done);")
            tracker_seconds = driver.execute_async_script(
                f"const done = arguments[0]; viaTracker({EVENTS}).then(done);"
            )
    page_server.shutdown()
    bundle = (SDK / "tracker.js").read_bytes()
    gzipped = len(gzip.compress(bundle, compresslevel=9))
    figures = [
        Figure(
            f"events one tab delivers through the tracker ({EVENTS})",
            EVENTS / tracker_seconds,
            "e/s",
            "the same tab posting batches of 1000 with fetch",
            EVENTS / fetch_seconds,
            higher_is_better=True,
        ),
        Figure(
            "the tracker's bundle, gzipped",
            gzipped / 1024,
            "kB",
            "the bundle as served, not compressed",
            len(bundle) / 1024,
            higher_is_better=False,
            target="under 5 kB gzipped",
            meets_target=gzipped < BUNDLE_GOAL_BYTES,
        ),
    ]
    print(report(figures, {"events": EVENTS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
