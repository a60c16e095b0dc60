"""One configuration object, read from the environment when asked for; bootstrap resolves it
and hands it to child processes; dbt connects where the configuration says."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from analytics_pipeline.config import ConfigurationError, load_config
from tests.conftest import pipeline_environment


def test_the_configuration_is_read_when_asked_not_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYTICS_LANDING_DIR", str(tmp_path / "one"))
    monkeypatch.setenv("ANALYTICS_LANDING_SENSOR_SECONDS", "7")
    first = load_config()
    monkeypatch.setenv("ANALYTICS_LANDING_DIR", str(tmp_path / "two"))
    assert first.landing == tmp_path / "one" and load_config().landing == tmp_path / "two"
    assert first.landing_sensor_seconds == 7
    assert load_config({"ANALYTICS_CORS_ORIGINS": "https://a.example, https://b.example"}).web.cors_origins == (
        "https://a.example",
        "https://b.example",
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ANALYTICS_WRITE_KEY_RATE", "fast"),
        ("ANALYTICS_WRITE_KEY_RATE", "0"),
        ("ANALYTICS_WRITE_KEY_RATE", "nan"),
        ("ANALYTICS_LANDING_SENSOR_SECONDS", "-5"),
        ("ANALYTICS_RUN_MAX_RUNTIME_SECONDS", "0"),
        ("ANALYTICS_SLA_INGEST_LAG_SECONDS", "inf"),
        ("ANALYTICS_RAW_RETENTION_DAYS", "-1"),
        ("ANALYTICS_WEB_STATUS_CACHE_SECONDS", "-1"),
    ],
)
def test_a_setting_that_is_not_a_number_it_can_use_names_itself(variable, value):
    with pytest.raises(ConfigurationError, match=f"{variable} must be a number .*, not '{value}'"):
        load_config({variable: value})


@pytest.mark.parametrize(
    ("landing", "complaint"), [("s3://", "names no bucket"), ("nosuch://b/x", "Unsupported filesystem: 'nosuch'")]
)
def test_a_landing_zone_that_cannot_be_opened_says_why(landing, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        load_config({"ANALYTICS_LANDING_DIR": landing})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ANALYTICS_ALERT_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/x"),
        ("ANALYTICS_ALERT_WEBHOOK_URL", "https://"),
        ("ANALYTICS_PUBLIC_URL", "analytics.example.org"),
    ],
)
def test_a_url_setting_that_is_not_an_http_url_names_itself(variable, value):
    with pytest.raises(ConfigurationError, match=f"{variable} must be an http:// or https:// URL, not '{value}'"):
        load_config({variable: value})


def test_a_webhook_is_kept_as_given_and_the_public_url_without_its_last_slash():
    config = load_config(
        {
            "ANALYTICS_ALERT_WEBHOOK_URL": "https://hooks.example.org/T0/",
            "ANALYTICS_PUBLIC_URL": "https://a.example.org/",
        }
    )
    assert config.alert_webhook_url == "https://hooks.example.org/T0/"
    assert config.web.public_url == "https://a.example.org"


@pytest.mark.parametrize("origin", ["https://lms.example.org/", "lms.example.org", "https://lms.example.org/courses"])
def test_a_cors_origin_a_browser_would_never_send_is_refused(origin):
    with pytest.raises(ConfigurationError, match="an origin is scheme://host"):
        load_config({"ANALYTICS_CORS_ORIGINS": f"https://a.example, {origin}"})
    assert load_config({"ANALYTICS_CORS_ORIGINS": "https://LMS.example.org:8443"}).web.cors_origins == (
        "https://lms.example.org:8443",
    )


def test_an_environment_other_than_dev_or_production_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="ANALYTICS_ENV must be dev or production, not 'prod'"):
        load_config({"ANALYTICS_ENV": "prod", "ANALYTICS_HOME": str(tmp_path)})
    assert load_config({"ANALYTICS_ENV": "Production"}).production
    assert not load_config({}).production


def test_zero_is_a_setting_where_it_means_none():
    config = load_config(
        {
            "ANALYTICS_RUN_HISTORY_RETENTION_DAYS": "0",
            "ANALYTICS_WEB_STATUS_CACHE_SECONDS": "0",
            "ANALYTICS_SLA_DEAD_LETTER_RATE_MAX": "0",
        }
    )
    assert config.retention.run_history_days == 0 and config.web.status_cache_seconds == 0
    assert config.sla.dead_letter_rate_max == 0


def test_bootstrap_hands_the_resolved_configuration_to_child_processes(new_database, tmp_path):
    from analytics_pipeline.environment import bootstrap

    url = new_database()
    with pipeline_environment(url, new_database(), tmp_path / "home"):
        config = bootstrap(tmp_path / "landing")
        code = (
            "from analytics_pipeline.config import load_config; c = load_config(); "
            "print(c.database_url); print(c.landing); print(c.dagster_home)"
        )
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert child.stdout.split("\n")[:3] == [config.database_url, str(config.landing), str(config.dagster_home)]
    assert config.dagster_home == tmp_path / "home" / "dagster_home"
    assert (config.dagster_home / "dagster.yaml").is_file()


def test_the_web_process_sets_up_its_database_without_dagster_or_dbt(new_database, tmp_path):
    """`serve` and `collect` outside production migrate their database and hold the keys, but
    load neither Dagster nor dbt and make no Dagster home: they read neither."""
    url = new_database()
    code = (
        "import sys; from analytics_pipeline.environment import web_process;"
        " from analytics_pipeline.web.app import create_app; from analytics_pipeline.web.config import web_config;"
        f" create_app(web_config(web_process({str(tmp_path / 'landing')!r})));"
        " print(sorted({'dagster', 'dbt', 'dagster_dbt'} & set(sys.modules)))"
    )
    with pipeline_environment(url, new_database(), tmp_path / "home"):
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"
    assert not (tmp_path / "home" / "dagster_home").exists()
    with psycopg.connect(url) as conn:  # migrated
        assert conn.execute("SELECT to_regclass('raw.analytics_events')").fetchone()[0] is not None


def test_a_dagster_home_that_is_not_a_folder_is_refused(tmp_path):
    from analytics_pipeline.environment import ensure_dagster_home

    with pytest.raises(ConfigurationError, match=f"DAGSTER_HOME {tmp_path / 'missing'} is not a folder"):
        ensure_dagster_home(load_config({"DAGSTER_HOME": str(tmp_path / "missing")}))
    assert ensure_dagster_home(load_config({"DAGSTER_HOME": str(tmp_path)})) == tmp_path


def test_dbt_connects_to_the_configured_database_from_the_url_alone(new_database, tmp_path):
    """The dbt resource derives dbt's connection from the one URL: no other variable is set."""
    from analytics_pipeline.defs.dbt.project import dbt_resource
    from analytics_pipeline.environment import ensure_dbt_manifest

    ensure_dbt_manifest()
    url = new_database()
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith("ANALYTICS_DBT_")]:
            del os.environ[name]
        invocation = dbt_resource(url).cli(["debug"], target_path=Path(tmp_path)).wait()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert invocation.is_successful()


def test_production_brings_its_own_keys_and_dev_generates_two_distinct_ones(tmp_path):
    production = load_config({"ANALYTICS_ENV": "production", "ANALYTICS_HOME": str(tmp_path / "prod")})
    for key, variable in (
        (production.pii_key, "ANALYTICS_PII_KEY"),
        (production.directory_key, "ANALYTICS_DIRECTORY_KEY"),
    ):
        with pytest.raises(ConfigurationError, match=variable):
            key()
    assert not (tmp_path / "prod").exists() or not any((tmp_path / "prod").iterdir())
    dev = load_config({"ANALYTICS_HOME": str(tmp_path / "dev")})
    pii, directory = dev.pii_key(), dev.directory_key()
    assert len(pii) == len(directory) == 64 and pii != directory
    assert (dev.pii_key(), dev.directory_key()) == (pii, directory)  # kept, not made again
    given = load_config({"ANALYTICS_HOME": str(tmp_path / "dev"), "ANALYTICS_DIRECTORY_KEY": "from-the-vault"})
    assert given.directory_key() == b"from-the-vault"


def test_commands_starting_at_once_on_a_new_machine_share_one_generated_key(tmp_path):
    """`make dev` beside `make serve` on a new machine: each would generate the demo key.
    They all use the one the first of them stored, readable by its owner only (else one
    command tokenizes learners with a key the file no longer holds). Ten tries of eight."""
    for attempt in range(10):
        home = tmp_path / str(attempt)
        config = load_config({"ANALYTICS_HOME": str(home)})
        start, keys = threading.Barrier(8), []

        def command(config=config, start=start, keys=keys) -> None:
            start.wait()
            keys.append(config.pii_key())

        threads = [threading.Thread(target=command) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        key_file = home / "pii.key"
        assert set(keys) == {key_file.read_text().strip().encode()}, attempt
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in home.iterdir()) == ["pii.key"]  # no staged copy left


def local_instance_on(storage_url: str, monkeypatch, tmp_path, **env: str):
    """The Dagster instance the local dagster.yaml describes for `env`, storing in `storage_url`."""
    import dagster as dg

    from analytics_pipeline.db.urls import sqlalchemy_psycopg2_url
    from analytics_pipeline.environment import ensure_dagster_home

    monkeypatch.setenv("ANALYTICS_DAGSTER_STORAGE_URL", sqlalchemy_psycopg2_url(storage_url))
    config = load_config({"ANALYTICS_HOME": str(tmp_path), **env})
    return dg.DagsterInstance.from_config(str(ensure_dagster_home(config)))


@pytest.mark.parametrize(("start", "runtime", "poll"), [("120", "900", 10), ("20", "25", 4), ("3", "600", 1)])
def test_run_monitoring_fails_a_dead_run_within_a_fifth_of_its_timeout(
    new_database, monkeypatch, tmp_path, start, runtime, poll
):
    """The local instance polls its runs every 10 s, or more often when a timeout is short."""
    instance = local_instance_on(
        new_database(),
        monkeypatch,
        tmp_path,
        ANALYTICS_RUN_START_TIMEOUT_SECONDS=start,
        ANALYTICS_RUN_MAX_RUNTIME_SECONDS=runtime,
    )
    assert instance.run_monitoring_start_timeout_seconds == int(start)
    assert instance.run_monitoring_max_runtime_seconds == int(runtime)
    assert instance.run_monitoring_poll_interval_seconds == poll
    # The pool slot a dead run's dbt step held is freed by the same poll.
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == poll
    assert instance.get_concurrency_config().pool_config.pool_granularity.value == "run"


def test_an_in_process_run_whose_process_is_gone_is_failed_and_frees_its_pool(new_database, monkeypatch, tmp_path):
    """A `run` killed in a dbt step leaves its run STARTED holding the pool: every later dbt
    build would wait for it forever. The next in-process run fails it and frees the slot; runs
    of a live process, and the daemon's runs (its run monitoring sees to them), stay as they are."""
    import uuid

    import dagster as dg

    from analytics_pipeline.in_process_run import PROCESS_TAG, release_abandoned_runs, this_process

    instance = local_instance_on(new_database(), monkeypatch, tmp_path)
    code = "from analytics_pipeline.in_process_run import this_process; print(this_process())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    storage = instance.event_log_storage
    storage.set_concurrency_slots("dbt_incremental", 1)
    runs = {}
    for name, tags in (("killed", {PROCESS_TAG: dead}), ("running", {PROCESS_TAG: this_process()}), ("daemon", {})):
        run = dg.DagsterRun(job_name="ingest_partition_job", run_id=str(uuid.uuid4()), tags=tags)
        runs[name] = instance.add_run(run.with_status(dg.DagsterRunStatus.STARTED)).run_id
    storage.claim_concurrency_slot("dbt_incremental", runs["killed"], "analytics_dbt_incremental_models")
    assert storage.get_concurrency_info("dbt_incremental").active_slot_count == 1

    assert release_abandoned_runs(instance) == [runs["killed"]]
    assert storage.get_concurrency_info("dbt_incremental").active_slot_count == 0
    status = {name: instance.get_run_by_id(run_id).status for name, run_id in runs.items()}
    assert status == {
        "killed": dg.DagsterRunStatus.FAILURE,
        "running": dg.DagsterRunStatus.STARTED,
        "daemon": dg.DagsterRunStatus.STARTED,
    }
    instance.dispose()


def test_the_local_instance_records_events_over_a_kept_connection(new_database, monkeypatch, tmp_path):
    """Dagster's storage opens a connection per statement unless asked for a pool: a run
    worker would open hundreds. The local instance's storage keeps one open."""
    import dagster as dg
    import psycopg

    storage_url = new_database()
    instance = local_instance_on(storage_url, monkeypatch, tmp_path)

    def sessions() -> int:
        with psycopg.connect(storage_url) as conn:
            (count,) = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return count

    instance.report_runless_asset_event(dg.AssetMaterialization("warm_up"))
    before = sessions()
    for n in range(20):
        instance.report_runless_asset_event(dg.AssetMaterialization(f"asset_{n}"))
    assert sessions() - before <= 2  # the probe's own sessions
    instance.dispose()
