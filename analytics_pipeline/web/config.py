"""The web app's configuration, read from the environment when the app is made."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from analytics_pipeline.monitoring.sla import INGEST_LAG_SECONDS, MART_FRESHNESS_SECONDS
from analytics_pipeline.settings import ConfigurationError

WEB_ROLE = "analytics_web"
PARTS = ("ingest", "admin", "dashboard")


@dataclass(frozen=True)
class JwtSettings:
    """LMS-signed tokens: HS256 with a shared secret, or RS256 with the LMS's public key.
    The `role_claim` names the database role the request runs as."""

    hs256_secret: str | None = None
    rs256_public_key: str | None = None
    audience: str | None = None
    issuer: str | None = None
    role_claim: str = "role"

    @property
    def enabled(self) -> bool:
        return bool(self.hs256_secret or self.rs256_public_key)


@dataclass(frozen=True)
class WebConfig:
    landing: Path
    database_url: str  # as the web login role, which can only switch into tenant roles
    pii_key: bytes
    parts: tuple[str, ...] = PARTS
    jwt: JwtSettings = field(default_factory=JwtSettings)
    cors_origins: tuple[str, ...] = ()
    write_key_rate: float = 50.0  # requests per second per write key, with a burst of twice that
    max_batch_bytes: int = 1024 * 1024
    max_events: int = 1000
    status_cache_seconds: float = 5.0  # ingest lag lists the landing zone: not on every request
    mart_freshness_seconds: int = MART_FRESHNESS_SECONDS
    ingest_lag_seconds: int = INGEST_LAG_SECONDS
    pool_size: int = 10


def web_database_url(database_url: str) -> str:
    """ANALYTICS_WEB_DATABASE_URL, else the analytics database as the web role on the same
    server (which works where the server trusts local connections, as the embedded one does)."""
    explicit = os.environ.get("ANALYTICS_WEB_DATABASE_URL")
    if explicit:
        return explicit
    url = make_url(database_url).set(drivername="postgresql", username=WEB_ROLE, password=None)
    return url.render_as_string(hide_password=False)


def _read_key(value: str | None) -> str | None:
    """A PEM given inline or as a file path."""
    if value and not value.lstrip().startswith("-----BEGIN"):
        path = Path(value)
        if not path.is_file():
            raise ConfigurationError(f"ANALYTICS_JWT_PUBLIC_KEY is neither a PEM key nor a file: {value}")
        return path.read_text()
    return value


def web_config(landing: Path, database_url: str, pii_key: bytes, parts: tuple[str, ...] = PARTS) -> WebConfig:
    env = os.environ.get
    try:
        rate = float(env("ANALYTICS_WRITE_KEY_RATE", "50"))
        cache = float(env("ANALYTICS_WEB_STATUS_CACHE_SECONDS", "5"))
    except ValueError as exc:
        raise ConfigurationError(
            f"ANALYTICS_WRITE_KEY_RATE and ANALYTICS_WEB_STATUS_CACHE_SECONDS are numbers: {exc}"
        ) from exc
    return WebConfig(
        landing=landing,
        database_url=web_database_url(database_url),
        pii_key=pii_key,
        parts=parts,
        jwt=JwtSettings(
            hs256_secret=env("ANALYTICS_JWT_SECRET") or None,
            rs256_public_key=_read_key(env("ANALYTICS_JWT_PUBLIC_KEY") or None),
            audience=env("ANALYTICS_JWT_AUDIENCE") or None,
            issuer=env("ANALYTICS_JWT_ISSUER") or None,
            role_claim=env("ANALYTICS_JWT_ROLE_CLAIM", "role"),
        ),
        cors_origins=tuple(o.strip() for o in env("ANALYTICS_CORS_ORIGINS", "").split(",") if o.strip()),
        write_key_rate=rate,
        status_cache_seconds=cache,
    )
