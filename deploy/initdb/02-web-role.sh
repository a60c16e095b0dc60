#!/bin/sh
# The web app's login role, with its password, before the first migration (which then finds it).
set -eu
psql -v ON_ERROR_STOP=1 -v web_password="$ANALYTICS_WEB_PASSWORD" --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE analytics_web LOGIN NOINHERIT PASSWORD :'web_password';
SQL
