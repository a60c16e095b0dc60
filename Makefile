# Every target sets itself up: a fresh clone needs only python3 (3.11) and make.
VENV ?= .venv
BIN := $(VENV)/bin
LANDING ?= landing
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install demo test lint tracker topology dev serve bench clean

# uv resolves and installs the project's packages as pip does, fetching them in parallel; it
# compiles them as pip does too, since every process the pipeline and its tests start imports them.
$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.13,<0.14'
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $@

install: $(BIN)/.installed
	$(BIN)/analytics-pipeline prepare

## The main job: embedded PostgreSQL, demo data, the whole pipeline, a summary.
demo: install
	$(BIN)/analytics-pipeline generate --landing $(LANDING)
	$(BIN)/analytics-pipeline run --landing $(LANDING)
	$(BIN)/analytics-pipeline demo-tokens --landing $(LANDING)

## The test suite (real PostgreSQL, real dbt, real Dagster, the dashboard in Chromium), after the
## linters and the JS tracker's own tests; the tracker's bundle in the package must be its build.
## One worker per core, each with its own PostgreSQL, given whole modules (their fixtures
## build a pipeline once per module).
test: install lint tracker
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder --durations=25

## The JS tracker (clients/js): installed from its lockfile, built into the Python package, tested.
tracker: clients/js/node_modules/.package-lock.json
	npm --prefix clients/js run build
	@git diff --quiet -- analytics_pipeline/web/sdk || { echo "analytics_pipeline/web/sdk is not the build of clients/js: commit it"; exit 1; }
	npm --prefix clients/js test
	cd clients/js && npm pack --dry-run --silent >/dev/null

clients/js/node_modules/.package-lock.json: clients/js/package-lock.json
	cd clients/js && npm ci --no-audit --no-fund

## ruff (lint and format) and sqlfluff (the project's SQL with psycopg placeholders; dbt's Jinja),
## the latter on every core: it is most of lint's time.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint --processes 0 --templater placeholder analytics_pipeline/sql
	$(BIN)/sqlfluff lint --processes 0 --templater jinja dbt_project/models dbt_project/macros

## The production topology as processes on loopback (PostgreSQL, the gRPC code server, webserver
## and daemon on deploy/dagster.yaml, the web app with its login role only, S3 on moto), checked.
topology: install
	$(BIN)/python -m pytest tests/test_topology.py -v

## Dagster UI + daemon on the demo data, sensors and schedules on: http://localhost:3000
dev: install
	$(BIN)/analytics-pipeline dev --landing $(LANDING)

## The web app on the demo data: dashboard on http://localhost:8080/ (tokens: make demo)
serve: install
	$(BIN)/analytics-pipeline serve --landing $(LANDING)

## Benchmarks (not part of the tests): end-to-end freshness under the running daemon.
bench: install
	-$(BIN)/python -m bench.run
	$(BIN)/python -m bench.freshness

clean:
	-test -x $(BIN)/analytics-pipeline && $(BIN)/analytics-pipeline db stop
	rm -rf .analytics $(LANDING) dbt_project/target dbt_project/logs
