"""The web app: ingestion routes, the admin analytics API and the org dashboard, one
Starlette app whose parts can also be served alone."""
