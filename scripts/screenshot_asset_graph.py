"""A picture of the asset graph from the running Dagster UI, for the README.

Starts `analytics-pipeline dev` on the local state (run `make demo` first, so the graph has
materializations to show), waits for the webserver, and drives Debian's headless Chromium
through Selenium: the global asset lineage, every group expanded (the UI's Alt+E), saved
to docs/asset-graph.png. Needs `apt-get install chromium chromium-driver` (Selenium comes with the test extras).

    .venv/bin/python scripts/screenshot_asset_graph.py [--port 3123] [--out docs/asset-graph.png]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.chromium import chromium, chromium_binaries  # noqa: E402  (run as a script from anywhere)
from scripts.serving import running, wait_for  # noqa: E402

# The webserver's first-visit dialog, answered the way its "Skip" button does.
SKIP_NUX = b'{"query": "mutation { setNuxSeen }"}'
IN_FLIGHT = json.dumps(
    {"query": "{ runsOrError(filter: {statuses: [QUEUED, STARTING, STARTED]}) { ... on Runs { results { runId } } } }"}
).encode()


def graphql(base: str, body: bytes) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_until_idle(base: str, settle: float = 30, timeout: float = 600) -> None:
    """The daemon's sensors start runs when it comes up: let them finish, so the picture shows
    their results rather than runs cut short when this script stops the UI."""
    time.sleep(settle)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not graphql(base, IN_FLIGHT)["data"]["runsOrError"]["results"]:
            return
        time.sleep(5)
    raise SystemExit(f"error: runs still in flight after {timeout:.0f} s")


def take(url: str, out: Path) -> None:
    with chromium(window="3000,1700", scale=0.6) as driver:
        driver.get(url)
        WebDriverWait(driver, 120).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "svg")))
        time.sleep(5)  # the layout settles after the first paint
        ActionChains(driver).key_down(Keys.ALT).send_keys("e").key_up(Keys.ALT).perform()
        # The UI remembers expanded groups; a fresh load lays the whole graph out to fit.
        driver.refresh()
        WebDriverWait(driver, 120).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "svg")))
        time.sleep(8)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3123)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "asset-graph.png")
    parser.add_argument("--landing", type=Path, default=ROOT / "landing")
    args = parser.parse_args()
    if chromium_binaries() is None:
        raise SystemExit(
            "error: Chromium not found; install Debian's packages: apt-get install chromium chromium-driver"
        )

    with running("dev", "--landing", str(args.landing), "--port", str(args.port)):
        base = f"http://127.0.0.1:{args.port}"
        wait_for(f"{base}/server_info", timeout=180)
        graphql(base, SKIP_NUX)
        wait_until_idle(base)
        take(f"{base}/asset-groups", args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
