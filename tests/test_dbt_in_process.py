"""dbt's commands run in the step's own process (defs/dbt/in_process.py), read by dagster-dbt
as it reads a dbt process: the exit status, the errors, an interrupt, and nothing of the
command's environment or working folder left behind."""

from __future__ import annotations

import os
import signal
import time

import psycopg

from analytics_pipeline.defs.dbt.project import dbt_resource


def test_a_failed_command_is_a_failure_with_dbts_reason_and_leaves_the_process_as_it_was(migrated_db, tmp_path):
    before_cwd, before_env = os.getcwd(), dict(os.environ)
    unknown = dbt_resource(migrated_db).cli(["no-such-command"], target_path=tmp_path, raise_on_error=False)
    assert not unknown.is_successful() and unknown.process.returncode == 2
    assert "no-such-command" in str(unknown.get_error())

    broken = dbt_resource(migrated_db).cli(
        ["show", "--inline", "select * from no_such_schema.no_such_table"], target_path=tmp_path, raise_on_error=False
    )
    assert not broken.is_successful() and broken.process.returncode == 2
    assert "no_such_schema.no_such_table" in str(broken.get_error())
    assert (tmp_path / "dbt.log").stat().st_size > 0

    shown = dbt_resource(migrated_db).cli(["show", "--inline", "select 41 + 1 as answer"], target_path=tmp_path).wait()
    assert shown.is_successful() and shown.process.returncode == 0
    assert os.getcwd() == before_cwd and dict(os.environ) == before_env


def test_the_log_keeps_every_statement_with_dbts_secrets_scrubbed(migrated_db, tmp_path):
    """dbt.log is what whoever is on call reads after a failed build: the statements dbt sent
    (debug lines) and its errors, with the values of DBT_ENV_SECRET_ variables masked, as dbt's
    own log masks them."""
    secret = "s3cr3t-" + os.urandom(4).hex()
    query = f"select '{secret}' as token, 6 * 7 as answer"
    command = dbt_resource(migrated_db).cli(
        ["show", "--inline", query], env={"DBT_ENV_SECRET_TOKEN": secret}, target_path=tmp_path
    )
    assert command.wait().is_successful()
    log = (tmp_path / "dbt.log").read_text()
    assert "[debug]" in log and "6 * 7 as answer" in log  # the statement, a debug line
    assert secret not in log and "select '*****' as token" in log
    assert "DBT_ENV_SECRET_TOKEN" not in os.environ


def test_an_interrupt_stops_the_command_and_its_query(migrated_db, tmp_path):
    """Dagster forwards a run's termination to dbt as Ctrl-C: the command ends, failed, and
    the query it was running is cancelled rather than left to finish."""
    invocation = dbt_resource(migrated_db).cli(
        ["show", "--inline", "select pg_sleep(120) as slept"], target_path=tmp_path, raise_on_error=False
    )

    def sleeping() -> int:
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(120)%%' AND pid <> pg_backend_pid()"
            ).fetchone()[0]

    deadline = time.monotonic() + 60
    while not sleeping():
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.2)
    started = time.monotonic()
    invocation.process.send_signal(signal.SIGINT)
    assert invocation.process.wait(timeout=60) != 0
    assert time.monotonic() - started < 60
    assert not invocation.is_successful()
    assert sleeping() == 0


def test_each_database_keeps_its_own_parse_state(new_database, tmp_path, monkeypatch):
    """dbt parses the whole project again when its state was made on another connection: a
    command on one database, after another database's, still starts from its own state."""
    from analytics_pipeline.defs.dbt import project

    monkeypatch.setattr(project, "PARSE_STATES", tmp_path / "states")
    first, second = new_database(migrated=True), new_database(migrated=True)
    state = project.parse_state
    assert state("postgresql://u:one@h:5432/db") == state("postgresql://u:two@h:5432/db")  # no password in it
    assert state("postgresql://u:one@h:5432/db") != state("postgresql://u:one@h:5432/other") != state(first)

    def listing(url: str, folder: str) -> str:
        target = tmp_path / folder
        dbt_resource(url).cli(["ls", "--select", "stg_courses"], target_path=target).wait()
        project.keep_parse_state(target / project.PARSE_STATE.name, url)
        return (target / "dbt.log").read_text()

    listing(first, "first")
    listing(second, "second")
    again = listing(first, "first-again")
    assert "Partial parsing enabled: 0 files deleted" in again and "Unable to do partial parsing" not in again

    for n in range(project.KEEP_PARSE_STATES + 3):
        project.keep_parse_state(tmp_path / "first" / project.PARSE_STATE.name, f"postgresql://u@h/db{n}")
    assert len(list(project.PARSE_STATES.glob("*.msgpack"))) == project.KEEP_PARSE_STATES
