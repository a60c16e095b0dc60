"""What the routes share, built once per app by `create_app` and handed to every request
through Starlette's lifespan state (`request.state.services`): the connection pool, the
status cache, the callers' step, the write keys' one rate limiter, the tokenizer, the
templates, the document cache, the metrics and the OpenAPI documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files

import yaml
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from analytics_pipeline.ingestion.pii import Sealer, Tokenizer
from analytics_pipeline.web.auth import FailureThrottle, RateLimiter
from analytics_pipeline.web.caller import Callers
from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.database import make_pool
from analytics_pipeline.web.document_cache import DocumentCache
from analytics_pipeline.web.pipeline_metrics import CollectorMetrics
from analytics_pipeline.web.status import StatusCache

WEB = files("analytics_pipeline") / "web"


@dataclass
class Services:
    config: WebConfig
    pool: AsyncConnectionPool
    status: StatusCache
    callers: Callers
    limiter: RateLimiter  # one bucket per write key, for every ingestion route
    tokenizer: Tokenizer
    templates: Jinja2Templates
    documents: DocumentCache
    metrics: CollectorMetrics
    admin_spec: dict
    ingest_spec: dict
    export_columns: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # per dataset; never change


def build_services(config: WebConfig) -> Services:
    pool = make_pool(config.database_url, config.pool_size)
    return Services(
        config=config,
        pool=pool,
        status=StatusCache(
            config.database_url, config.landing, config.status_cache_seconds, config.sla.dead_letter_window_days
        ),
        callers=Callers(pool, config.jwt, FailureThrottle(config.failed_sign_in_limit)),
        limiter=RateLimiter(config.write_key_rate),
        tokenizer=Tokenizer(config.pii_key, Sealer(config.directory_key)),
        templates=Jinja2Templates(directory=str(WEB / "templates")),
        documents=DocumentCache(config.document_cache_seconds),
        metrics=CollectorMetrics(),
        admin_spec=yaml.safe_load((WEB / "openapi.yaml").read_text()),
        ingest_spec=yaml.safe_load((WEB / "openapi_ingest.yaml").read_text()),
    )


def services(request: Request) -> Services:
    return request.state.services
