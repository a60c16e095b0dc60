"""Pictures of the org dashboard from the running web app, for the README.

Starts `analytics-pipeline serve` on the local state (run `make demo` first), signs in with a
new demo token of the org's admin (who sees learners at risk by name) in Debian's headless
Chromium, and saves the dashboard at laptop and phone widths to docs/dashboard.png and
docs/dashboard-phone.png.

    .venv/bin/python scripts/screenshot_dashboard.py [--port 8123] [--org org_1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.chromium import chromium  # noqa: E402  (run as a script from anywhere)
from scripts.serving import CLI, running, wait_for  # noqa: E402


def org_admin_token(org: str) -> str:
    done = subprocess.run([CLI, "demo-tokens"], cwd=ROOT, capture_output=True, text=True, check=True)
    return next(line.split()[-1] for line in done.stdout.splitlines() if f"({org}) admin" in line)


def shoot(base: str, token: str, org: str, window: str, out: Path) -> None:
    with chromium(window=window) as driver:
        driver.get(f"{base}/login")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        driver.get(f"{base}/?organization_id={org}")
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        time.sleep(1.5)  # the charts' entry animation
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(int(window.split(",")[0]), height + 40)
        time.sleep(0.5)
        driver.save_screenshot(str(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--org", default="org_1")
    parser.add_argument("--landing", type=Path, default=ROOT / "landing")
    args = parser.parse_args()
    token = org_admin_token(args.org)
    with running("serve", "--landing", str(args.landing), "--port", str(args.port)):
        base = f"http://127.0.0.1:{args.port}"
        wait_for(f"{base}/api/health", timeout=120)
        shoot(base, token, args.org, "1400,900", ROOT / "docs" / "dashboard.png")
        shoot(base, token, args.org, "390,844", ROOT / "docs" / "dashboard-phone.png")
    print("wrote docs/dashboard.png and docs/dashboard-phone.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
