"""The web app as a real HTTP server on loopback, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import requests
import uvicorn

from analytics_pipeline.config import load_config
from analytics_pipeline.web.app import create_app
from analytics_pipeline.web.config import WebConfig, web_config
from tests.conftest import TEST_DIRECTORY_KEY, TEST_PII_KEY, free_port

# The shared secret the tests' LMS signs its JWTs with.
JWT_SECRET = "lms-shared-secret-for-tests-only-32b"


def web_config_for(landing: Path, database_url: str) -> WebConfig:
    """The web app's settings for a test database and landing zone. Tests present bad
    credentials by the dozen from one address: the throttle is tested on its own."""
    config = replace(
        load_config(),
        landing=landing,
        database_url=database_url,
        pii_key_text=TEST_PII_KEY,
        directory_key_text=TEST_DIRECTORY_KEY,
    )
    return replace(web_config(config), failed_sign_in_limit=10_000)


@contextmanager
def web_server(landing: Path, database_url: str, port: int | None = None, **overrides) -> Iterator[str]:
    """Serves every part of the app (or `parts=`) until the block ends, on `port` or a free
    one; yields the base URL."""
    config = replace(web_config_for(landing, database_url), **overrides)
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(base: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {**(bearer(token) if token else {}), **kwargs.pop("headers", {})}
    return requests.get(base + path, headers=headers, timeout=30, **kwargs)
