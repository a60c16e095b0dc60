"""Alerts to a Slack-compatible webhook (ANALYTICS_ALERT_WEBHOOK_URL), logged when unset."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from analytics_pipeline.config import load_config

log = logging.getLogger(__name__)


def check_alert(asset: str, check: str, passed: bool, severity: str, metadata: dict[str, Any]) -> dict:
    figure, threshold = metadata.get("figure"), metadata.get("threshold")
    if passed:
        text = (
            f":white_check_mark: Resolved: check `{check}` on `{asset}` passes again "
            f"(figure {figure}, threshold {threshold})."
        )
    else:
        text = (
            f":rotating_light: {severity} check `{check}` failed on `{asset}`: figure {figure}, threshold {threshold}."
        )
    return {
        "text": text,
        "alert": {
            "kind": "check",
            "asset": asset,
            "check": check,
            "passed": passed,
            "severity": severity,
            "figure": figure,
            "threshold": threshold,
        },
    }


def run_failure_alert(job: str, run_id: str, partition: str | None, error: str) -> dict:
    where = f" (partition {partition})" if partition else ""
    return {
        "text": f":x: Run of `{job}`{where} failed: {error[:300]} — run {run_id}",
        "alert": {"kind": "run_failure", "job": job, "run_id": run_id, "partition": partition, "error": error[:2000]},
    }


def deliver(payload: dict, url: str | None = None, attempts: int = 3, backoff_seconds: float = 0.5) -> bool:
    """POST the alert; retries server errors and network faults. True once delivered (or
    logged, with no URL configured); False when every attempt failed."""
    url = url if url is not None else load_config().alert_webhook_url
    if not url:
        log.warning("alert (no ANALYTICS_ALERT_WEBHOOK_URL set): %s", payload["text"])
        return True
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=payload, timeout=5)
            if response.status_code < 300:
                return True
            if response.status_code < 500:  # the hook refuses this payload: retrying won't help
                log.error("alert webhook refused the alert: HTTP %s", response.status_code)
                return False
            log.warning("alert webhook answered HTTP %s (attempt %d/%d)", response.status_code, attempt, attempts)
        except requests.RequestException as exc:
            log.warning("alert webhook unreachable (attempt %d/%d): %s", attempt, attempts, exc)
        if attempt < attempts:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
    return False
