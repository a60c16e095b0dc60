"""The project's configuration: one object, read from the environment each time it is asked
for (never at import), so a test or a child process that changes a variable is seen."""

from __future__ import annotations

import logging
import math
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from analytics_pipeline.db.urls import sqlalchemy_psycopg2_url
from analytics_pipeline.errors import ConfigurationError

__all__ = ["Config", "ConfigurationError", "load_config"]


def landing_root(value: str | Path) -> Path:
    """A landing zone location: a local folder, or an object-store URL (s3://bucket/prefix,
    gs://…) opened through fsspec/UPath, which behaves as a Path. An object store is listed
    afresh every time: fsspec's listings cache never expires by default, and a long-running
    sensor would not see the files other processes land after its first look."""
    text = str(value)
    if not text.strip():
        raise ConfigurationError("a landing zone is a folder or an object-store URL, not an empty name")
    if "://" in text:
        from upath import UPath

        protocol, _, location = text.partition("://")
        if not location.split("/", 1)[0]:
            raise ConfigurationError(f"the landing zone {text} names no bucket: {protocol}://BUCKET/PREFIX")
        fresh = {"use_listings_cache": False} if protocol in LISTING_CACHED else {}
        try:
            root = UPath(text, **fresh)
            root.fs  # noqa: B018 - the store's driver, loaded now: one that is missing fails here, not mid-run
        except (ImportError, ValueError, OSError) as error:  # no driver, an unknown protocol, no such host
            raise ConfigurationError(f"cannot open the landing zone {text}: {error}") from error
        return root
    return Path(value).resolve()


# The object stores whose fsspec drivers cache listings (s3fs, gcsfs, adlfs).
LISTING_CACHED = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})


def _read_key(value: str | None) -> str | None:
    """A PEM given inline or as a file path."""
    if value and not value.lstrip().startswith("-----BEGIN"):
        path = Path(value)
        if not path.is_file():
            raise ConfigurationError(f"ANALYTICS_JWT_PUBLIC_KEY is neither a PEM key nor a file: {value}")
        return path.read_text()
    return value


def usable_number(text: str, kind: type = float, zero: bool = False) -> int | float | None:
    """`text` as a finite number of `kind` above 0, or 0 or more when `zero`; None when it is
    not one. The rule for every count, rate, window and timeout, set or typed."""
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and (value >= 0 if zero else value > 0) else None


def _number(environ: Mapping[str, str], name: str, default: str, kind: type = float, zero: bool = False):
    """A setting's number (usable_number): 0 is allowed when `zero` (a cache time, a share, a
    retention window). A negative window would drop today's data, a rate of 0 refuse every
    request."""
    text = environ.get(name) or default
    value = usable_number(text, kind, zero)
    if value is None:
        least = "0 or more" if zero else "above 0"
        raise ConfigurationError(f"{name} must be a number {least}, not {text!r}")
    return value


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
class WebSettings:
    web_database_url: str | None = None  # the web login role's URL; derived from database_url when unset
    jwt: JwtSettings = field(default_factory=JwtSettings)
    cors_origins: tuple[str, ...] = ()
    write_key_rate: float = 50.0  # requests per second per write key, with a burst of twice that
    status_cache_seconds: float = 5.0  # ingest lag lists the landing zone: not on every request
    # How long a role's rendered admin document is reused while the marts have not moved (0: never).
    document_cache_seconds: float = 5.0
    # The statements resource as a strict LRS: a request with an invalid statement stores nothing
    # (400). By default each invalid statement is dead-lettered on its own and the rest land.
    xapi_strict: bool = False
    # Where users reach the web app (https://… behind a TLS-terminating proxy): the session
    # cookie is Secure and HSTS is sent whenever it is HTTPS, whatever the proxy says.
    public_url: str | None = None
    session_idle_seconds: int = 30 * 60  # a dashboard session ends after this long unused
    session_max_seconds: int = 12 * 3600  # and after this long in any case
    # Failed sign-ins and bad admin tokens one client may present in 5 minutes before a 429.
    failed_sign_in_limit: int = 10


def _http_url(environ: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL with a host, or None when unset."""
    value = environ.get(name) or None
    if value is not None and not (value.startswith(("http://", "https://")) and urlsplit(value).netloc):
        raise ConfigurationError(f"{name} must be an http:// or https:// URL, not {value!r}")
    return value


def _origins(environ: Mapping[str, str]) -> tuple[str, ...]:
    """ANALYTICS_CORS_ORIGINS as browsers send an origin (scheme://host[:port], lower case, no
    path), or `*`: one written with a path or a trailing slash would match no request, and the
    browser would block the tracker's posts from that page."""
    origins = tuple(o.strip().lower() for o in environ.get("ANALYTICS_CORS_ORIGINS", "").split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        shaped = (
            parts.scheme in ("http", "https") and parts.netloc and not (parts.path or parts.query or parts.fragment)
        )
        if origin != "*" and not shaped:
            raise ConfigurationError(
                f"ANALYTICS_CORS_ORIGINS holds {origin!r}: an origin is scheme://host[:port], like"
                " https://lms.example.org, with no path or trailing slash"
            )
    return origins


def _environment(environ: Mapping[str, str]) -> str:
    """`dev` or `production`. Anything else is refused: a mistyped `prod` would run as dev,
    and a production process without its keys would generate local ones instead of stopping."""
    value = (environ.get("ANALYTICS_ENV") or "dev").strip().lower()
    if value not in ("dev", "production"):
        raise ConfigurationError(f"ANALYTICS_ENV must be dev or production, not {environ.get('ANALYTICS_ENV')!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = (environ.get(name) or "false").strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigurationError(f"{name} must be true or false, not {environ.get(name)!r}")
    return value in ("true", "1", "yes")


@dataclass(frozen=True)
class SlaSettings:
    """The service levels, in one place: the asset checks, the alert sensors' checks, the admin
    API, the dashboard and the metrics judge freshness, ingest lag and dead letters by these."""

    mart_freshness_seconds: int = 600  # marts older than this while newer data waits: stale
    ingest_lag_seconds: int = 120  # a landed file waiting longer than this: ingestion lags
    dead_letter_rate_max: float = 0.05  # over this share of dead-lettered lines: a warning
    dead_letter_window_days: int = 7  # over the last days with data


SLA_VARIABLES = {
    "mart_freshness_seconds": "ANALYTICS_SLA_MART_FRESHNESS_SECONDS",
    "ingest_lag_seconds": "ANALYTICS_SLA_INGEST_LAG_SECONDS",
    "dead_letter_rate_max": "ANALYTICS_SLA_DEAD_LETTER_RATE_MAX",
    "dead_letter_window_days": "ANALYTICS_SLA_DEAD_LETTER_WINDOW_DAYS",
}


@dataclass(frozen=True)
class RetentionSettings:
    """How long each kind of data is kept, in days (the retention schedule applies them)."""

    raw_days: int = 400  # raw events and survey free text, and the landed files of those days
    event_id_days: int = 400  # the event-id ledger: how far back a repeated clientEventId is a duplicate
    dead_letter_days: int = 90
    quarantine_days: int = 30  # quarantined (unreadable) landing files
    run_history_days: int = 90  # Dagster's runs and their event logs


RETENTION_VARIABLES = {
    "raw_days": "ANALYTICS_RAW_RETENTION_DAYS",
    "event_id_days": "ANALYTICS_EVENT_ID_RETENTION_DAYS",
    "dead_letter_days": "ANALYTICS_DEAD_LETTER_RETENTION_DAYS",
    "quarantine_days": "ANALYTICS_QUARANTINE_RETENTION_DAYS",
    "run_history_days": "ANALYTICS_RUN_HISTORY_RETENTION_DAYS",
}


@dataclass(frozen=True)
class Config:
    home: Path
    production: bool
    landing: Path
    database_url: str | None  # None: the embedded server, resolved by bootstrap
    dagster_postgres_url: str | None
    dagster_home: Path | None
    pii_key_text: str | None
    directory_key_text: str | None
    alert_webhook_url: str | None
    landing_sensor_seconds: int
    # How long after a sensor's run failed for good (its run retries spent, or never retried) the
    # sensor asks for the same work again; the wait doubles with each further request.
    request_again_seconds: int
    # Runs whose worker is presumed dead: one not started after this long, or still going after that.
    run_start_timeout_seconds: int
    run_max_runtime_seconds: int
    web: WebSettings = field(default_factory=WebSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)

    def state_dir(self) -> Path:
        """Where the project keeps local state: the embedded PostgreSQL, DAGSTER_HOME, the demo key."""
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home

    def embedded_data_dir(self) -> Path:
        """The embedded PostgreSQL's data directory."""
        return self.state_dir() / "pgdata"

    def pii_key(self) -> bytes:
        """The HMAC key for learner tokens.

        Production must bring its own key: tokens made with a throw-away key could not be joined
        with anything later. Elsewhere a local key is generated once and kept under the state dir.
        """
        return self._key("ANALYTICS_PII_KEY", self.pii_key_text, "pii.key", "tokenize learner ids")

    def directory_key(self) -> bytes:
        """The key that seals the learner directory's names and e-mails, its own so that the
        token key can be shared (with the LMS, say) without opening the directory. As the PII
        key: production brings it, elsewhere a local one is generated once."""
        return self._key("ANALYTICS_DIRECTORY_KEY", self.directory_key_text, "directory.key", "seal learners' names")

    def _key(self, variable: str, given: str | None, file_name: str, purpose: str) -> bytes:
        if given:
            return given.encode()
        if self.production:
            raise ConfigurationError(
                f"{variable} is not set: production refuses to {purpose} without a managed key."
                f" Set {variable} and retry."
            )
        key_file = self.state_dir() / file_name
        if not key_file.exists() and _create_secret_file(key_file, secrets.token_hex(32)):
            logging.getLogger(__name__).warning("%s is not set: generated a local demo key in %s", variable, key_file)
        return key_file.read_text().strip().encode()

    def environment(self, dagster_storage_url: str) -> dict[str, str]:
        """This configuration as the variables a child process reads: Dagster's code server,
        daemon and run workers (through EnvVar and dagster.yaml) and dbt."""
        variables = {
            "ANALYTICS_HOME": str(self.home),
            "ANALYTICS_LANDING_DIR": str(self.landing),
            "ANALYTICS_DAGSTER_STORAGE_URL": sqlalchemy_psycopg2_url(dagster_storage_url),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        for name, value in (
            ("ANALYTICS_DATABASE_URL", self.database_url),
            ("ANALYTICS_PII_KEY", self.pii_key_text),
            ("ANALYTICS_DIRECTORY_KEY", self.directory_key_text),
            ("DAGSTER_HOME", self.dagster_home and str(self.dagster_home)),
        ):
            if value:
                variables[name] = value
        return variables


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration as the environment states it now."""
    env = os.environ if environ is None else environ
    return Config(
        home=Path(env.get("ANALYTICS_HOME") or ".analytics").resolve(),
        production=_environment(env) == "production",
        landing=landing_root(env.get("ANALYTICS_LANDING_DIR") or "landing"),
        database_url=env.get("ANALYTICS_DATABASE_URL") or None,
        dagster_postgres_url=env.get("DAGSTER_POSTGRES_URL") or None,
        dagster_home=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
        pii_key_text=env.get("ANALYTICS_PII_KEY") or None,
        directory_key_text=env.get("ANALYTICS_DIRECTORY_KEY") or None,
        # Checked now: a mistyped webhook would lose every alert, each only logged as undelivered.
        alert_webhook_url=_http_url(env, "ANALYTICS_ALERT_WEBHOOK_URL"),
        landing_sensor_seconds=_number(env, "ANALYTICS_LANDING_SENSOR_SECONDS", "5", int),
        request_again_seconds=_number(env, "ANALYTICS_REQUEST_AGAIN_SECONDS", "600", int),
        run_start_timeout_seconds=_number(env, "ANALYTICS_RUN_START_TIMEOUT_SECONDS", "120", int),
        run_max_runtime_seconds=_number(env, "ANALYTICS_RUN_MAX_RUNTIME_SECONDS", "900", int),
        web=WebSettings(
            web_database_url=env.get("ANALYTICS_WEB_DATABASE_URL") or None,
            jwt=JwtSettings(
                hs256_secret=env.get("ANALYTICS_JWT_SECRET") or None,
                rs256_public_key=_read_key(env.get("ANALYTICS_JWT_PUBLIC_KEY") or None),
                audience=env.get("ANALYTICS_JWT_AUDIENCE") or None,
                issuer=env.get("ANALYTICS_JWT_ISSUER") or None,
                role_claim=env.get("ANALYTICS_JWT_ROLE_CLAIM") or "role",
            ),
            cors_origins=_origins(env),
            write_key_rate=_number(env, "ANALYTICS_WRITE_KEY_RATE", "50"),
            status_cache_seconds=_number(env, "ANALYTICS_WEB_STATUS_CACHE_SECONDS", "5", zero=True),
            document_cache_seconds=_number(env, "ANALYTICS_WEB_DOCUMENT_CACHE_SECONDS", "5", zero=True),
            xapi_strict=_flag(env, "ANALYTICS_XAPI_STRICT"),
            public_url=(_http_url(env, "ANALYTICS_PUBLIC_URL") or "").rstrip("/") or None,
            session_idle_seconds=_number(env, "ANALYTICS_SESSION_IDLE_SECONDS", "1800", int),
            session_max_seconds=_number(env, "ANALYTICS_SESSION_MAX_SECONDS", "43200", int),
            failed_sign_in_limit=_number(env, "ANALYTICS_FAILED_SIGN_IN_LIMIT", "10", int),
        ),
        retention=RetentionSettings(
            **{
                # A window of 0 days keeps nothing from before today.
                name: _number(env, variable, str(getattr(RetentionSettings, name)), int, zero=True)
                for name, variable in RETENTION_VARIABLES.items()
            }
        ),
        sla=SlaSettings(
            **{
                name: _number(
                    env,
                    variable,
                    str(getattr(SlaSettings, name)),
                    type(getattr(SlaSettings, name)),
                    zero=name == "dead_letter_rate_max",  # a share: 0 warns of any dead letter
                )
                for name, variable in SLA_VARIABLES.items()
            }
        ),
    )


def _create_secret_file(path: Path, text: str) -> bool:
    """`path` holding `text`, readable by its owner only, unless it exists; whether this call
    made it. The file appears whole (linked in once written) and is never replaced: commands
    starting at the same moment on a new machine all read the one key the first of them made,
    instead of each keeping its own while the file holds the last."""
    descriptor, staged = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.link(staged, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(staged)
