"""Configuration read from the environment, always at call time (never at import time)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message says which and what to do."""


def state_dir() -> Path:
    """Where the project keeps local state: the embedded PostgreSQL, DAGSTER_HOME, the demo key."""
    path = Path(os.environ.get("ANALYTICS_HOME", ".analytics")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def landing_root(value: str | Path) -> Path:
    """A landing zone location: a local folder, or an object-store URL (s3://bucket/prefix,
    gs://…) opened through fsspec/UPath, which behaves as a Path."""
    if "://" in str(value):
        from upath import UPath

        return UPath(str(value))
    return Path(value).resolve()


def landing_dir() -> Path:
    return landing_root(os.environ.get("ANALYTICS_LANDING_DIR", "landing"))


def is_production() -> bool:
    return os.environ.get("ANALYTICS_ENV", "dev").lower() == "production"


def pii_key() -> bytes:
    """The HMAC key for learner tokens.

    Production must bring its own key: tokens made with a throw-away key could not be joined
    with anything later. Elsewhere a local key is generated once and kept under the state dir.
    """
    key = os.environ.get("ANALYTICS_PII_KEY")
    if key:
        return key.encode()
    if is_production():
        raise ConfigurationError(
            "ANALYTICS_PII_KEY is not set: production refuses to tokenize learner ids "
            "without a managed key. Set ANALYTICS_PII_KEY and retry."
        )
    key_file = state_dir() / "pii.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
        logging.getLogger(__name__).warning("ANALYTICS_PII_KEY is not set: generated a local demo key in %s", key_file)
    return key_file.read_text().strip().encode()
