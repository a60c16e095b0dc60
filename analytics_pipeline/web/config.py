"""The web app's configuration: the project's Config plus the web app's own limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from analytics_pipeline.config import Config, ConfigurationError, JwtSettings, SlaSettings, load_config

WEB_ROLE = "analytics_web"
PARTS = ("ingest", "admin", "dashboard")


@dataclass(frozen=True)
class WebConfig:
    landing: Path
    database_url: str  # as the web login role, which can only switch into tenant roles
    pii_key: bytes
    directory_key: bytes
    # From the project's Config (config.WebSettings, where their defaults live).
    jwt: JwtSettings
    cors_origins: tuple[str, ...]
    write_key_rate: float
    status_cache_seconds: float
    document_cache_seconds: float
    xapi_strict: bool
    public_url: str | None
    session_idle_seconds: int
    session_max_seconds: int
    failed_sign_in_limit: int
    sla: SlaSettings
    parts: tuple[str, ...] = PARTS
    max_batch_bytes: int = 1024 * 1024
    max_events: int = 1000
    pool_size: int = 10

    @property
    def https(self) -> bool:
        """Whether users reach the app over HTTPS, as the public URL says."""
        return bool(self.public_url and self.public_url.startswith("https://"))


def web_database_url(database_url: str, explicit: str | None = None) -> str:
    """ANALYTICS_WEB_DATABASE_URL, else the analytics database as the web role on the same
    server (which works where the server trusts local connections, as the embedded one does)."""
    if explicit:
        return explicit
    url = make_url(database_url).set(drivername="postgresql", username=WEB_ROLE, password=None)
    return url.render_as_string(hide_password=False)


def web_config(config: Config | None = None, parts: tuple[str, ...] = PARTS) -> WebConfig:
    """The web app's settings from a resolved Config (bootstrap's, or the environment's when the
    web process holds only ANALYTICS_WEB_DATABASE_URL)."""
    config = config or load_config()
    web = config.web
    if not (web.web_database_url or config.database_url):
        raise ConfigurationError("set ANALYTICS_WEB_DATABASE_URL (or ANALYTICS_DATABASE_URL) for the web app")
    return WebConfig(
        landing=config.landing,
        database_url=web_database_url(config.database_url or "", web.web_database_url),
        pii_key=config.pii_key(),
        directory_key=config.directory_key(),
        parts=parts,
        jwt=web.jwt,
        cors_origins=web.cors_origins,
        write_key_rate=web.write_key_rate,
        status_cache_seconds=web.status_cache_seconds,
        document_cache_seconds=web.document_cache_seconds,
        xapi_strict=web.xapi_strict,
        public_url=web.public_url,
        session_idle_seconds=web.session_idle_seconds,
        session_max_seconds=web.session_max_seconds,
        failed_sign_in_limit=web.failed_sign_in_limit,
        sla=config.sla,
    )
