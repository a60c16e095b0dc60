"""What a user sees at the terminal: progress bars on a TTY, one clear line on bad input."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import struct
import subprocess
import termios
import uuid
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest

from analytics_pipeline.db.embedded import SERVER_SETTINGS
from tests.conftest import cli_command, run_cli

pytestmark = pytest.mark.integration  # the installed command, as a user runs it


def run_on_a_terminal(*args: str) -> str:
    """The command with a pseudo-terminal as stdout and stderr, as in an interactive shell."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen(cli_command(*args), stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0, output[-2000:]
    return output.decode(errors="replace")


def test_generate_draws_a_progress_bar_on_a_terminal_only(tmp_path):
    on_terminal = run_on_a_terminal("generate", "--landing", str(tmp_path / "a"), "--days", "3", "--learners", "20")
    assert "writing batch files" in on_terminal and "100%" in on_terminal and "3/3" in on_terminal
    piped = run_cli("generate", "--landing", str(tmp_path / "b"), "--days", "3", "--learners", "20")
    assert piped.returncode == 0 and "writing batch files" not in piped.stdout + piped.stderr


def test_bad_input_gets_one_clear_line(tmp_path, monkeypatch):
    missing = run_cli("run", "--landing", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: landing directory {tmp_path / 'nowhere'} does not exist"

    monkeypatch.setenv("ANALYTICS_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/analytics")
    unreachable = run_cli("report", "--org", "org_1")
    assert unreachable.returncode == 2 and len(unreachable.stderr.strip().splitlines()) == 1
    assert unreachable.stderr.startswith("error: cannot reach the database:")

    monkeypatch.setenv("ANALYTICS_DATABASE_URL", "not a url")
    bad_url = run_cli("report", "--org", "org_1")
    assert bad_url.returncode == 2 and len(bad_url.stderr.strip().splitlines()) == 1, bad_url.stderr
    assert bad_url.stderr.startswith("error: ")

    a_file = tmp_path / "a_file"
    a_file.write_text("")
    unwritable = run_cli("generate", "--landing", str(a_file / "landing"), "--days", "1", "--learners", "2")
    assert unwritable.returncode == 2 and len(unwritable.stderr.strip().splitlines()) == 1, unwritable.stderr
    assert unwritable.stderr.startswith("error: ") and str(a_file) in unwritable.stderr


def test_a_database_role_without_the_privileges_a_command_needs_gets_one_line(new_database, monkeypatch):
    url, role = new_database(), f"t_weak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'weak'")
    try:
        parts = urlsplit(url)
        server = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        monkeypatch.setenv("ANALYTICS_DATABASE_URL", urlunsplit(parts._replace(netloc=f"{role}:weak@{server}")))
        refused = run_cli("db", "migrate")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().startswith("error: the database refused: permission denied for ")
    assert len(refused.stderr.strip().splitlines()) == 1


REFUSED = [
    (("generate", "--orgs", "-3"), "argument --orgs: expected a whole number of at least 1, not '-3'"),
    (("generate", "--learners", "0"), "argument --learners: expected a whole number of at least 1, not '0'"),
    (("generate", "--days", "two"), "argument --days: expected a whole number of at least 1, not 'two'"),
    (("collect", "--port", "99999"), "argument --port: expected a port from 1 to 65535, not '99999'"),
    (("serve", "--port", "-1"), "argument --port: expected a port from 1 to 65535, not '-1'"),
    (("dev", "--port", "0"), "argument --port: expected a port from 1 to 65535, not '0'"),
    (("simulate", "--rate", "0"), "argument --rate: expected a number above 0, not '0'"),
    (("simulate", "--rate", "inf"), "argument --rate: expected a number above 0, not 'inf'"),
    (("simulate", "--seconds", "-1"), "argument --seconds: expected a number above 0, not '-1'"),
    (("generate", "--end-date", "2026-13-01"), "argument --end-date: expected a date as YYYY-MM-DD, not '2026-13-01'"),
    (("replay-dead-letters", "--since", "May"), "argument --since: expected a date as YYYY-MM-DD, not 'May'"),
    (("forget", "--user", " "), "argument --user: expected an id or a name, not ' '"),
    (
        ("generate", "--landing", ""),
        "argument --landing: a landing zone is a folder or an object-store URL, not an empty name",
    ),
    (("run", "--landing", "s3://"), "argument --landing: the landing zone s3:// names no bucket: s3://BUCKET/PREFIX"),
    (
        ("generate", "--landing", "ftp://127.0.0.1:1/x"),
        "argument --landing: cannot open the landing zone ftp://127.0.0.1:1/x: [Errno 111] Connection refused",
    ),
    (
        ("collect", "--landing", "nosuch://bucket/x"),
        "argument --landing: cannot open the landing zone nosuch://bucket/x: Unsupported filesystem: 'nosuch'",
    ),
]


@pytest.mark.parametrize(("args", "complaint"), REFUSED, ids=[" ".join(args) for args, _ in REFUSED])
def test_an_argument_the_command_cannot_use_is_refused_before_anything_runs(args, complaint, tmp_path, capsys):
    """Unchecked, each would crash (a division by zero, a driver's traceback), hang (a server
    asked for no port), quietly write nothing, or run the whole pipeline before failing."""
    from analytics_pipeline.cli import main

    with pytest.raises(SystemExit) as refused:
        main([*args, *([] if "--landing" in args else ["--landing", str(tmp_path / "landing")])])
    assert refused.value.code == 2
    assert (
        capsys.readouterr().err.strip().splitlines()[-1].startswith(f"analytics-pipeline {args[0]}: error: {complaint}")
    )
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_server_starts_configured_is_reused_and_stops_on_db_stop(tmp_path, monkeypatch):
    monkeypatch.delenv("ANALYTICS_DATABASE_URL", raising=False)
    monkeypatch.setenv("ANALYTICS_HOME", str(tmp_path))
    started = run_cli("db", "url")
    assert started.returncode == 0 and started.stdout.startswith("postgresql://"), started.stderr
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    pid = int(pid_file.read_text().split("\n", 1)[0])
    # Started by the command, and restarted once for its settings read only at start.
    with psycopg.connect(started.stdout.strip()) as conn:
        assert conn.execute("SHOW shared_buffers").fetchone()[0] == SERVER_SETTINGS["shared_buffers"]
    # Running, it is reused as it is by the next command.
    assert run_cli("db", "url").returncode == 0
    assert int(pid_file.read_text().split("\n", 1)[0]) == pid
    stopped = run_cli("db", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not pid_file.exists()
    # Gone, or a zombie its parent (this sandbox's init) has yet to reap.
    with contextlib.suppress(psutil.NoSuchProcess):
        assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "not running" in run_cli("db", "stop").stdout


def alive(processes: list[psutil.Process]) -> list[list[str]]:
    """The command lines of those of `processes` still running (a zombie is not)."""
    running = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(process.cmdline())
    return running


def test_interrupting_dev_leaves_no_process_behind(tmp_path, new_database):
    """Ctrl-C reaches `analytics-pipeline dev`; every process `dagster dev` started stops."""
    import signal
    import time

    import requests

    from tests.conftest import free_port, pipeline_environment

    port, log = free_port(), tmp_path / "dev.log"
    # `dev` starts with SIGINT at its default, as a shell starts a foreground command: a suite
    # started in the background (`make test &`) ignores SIGINT, and a child inherits an ignored
    # signal but not a handled one.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pipeline_environment(new_database(), new_database(), tmp_path / "home"), log.open("wb") as output:
            dev = subprocess.Popen(
                cli_command("dev", "--landing", str(tmp_path / "landing"), "--port", str(port)),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert dev.poll() is None
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(1)
        else:
            raise AssertionError("dagster dev did not come up")
        started = psutil.Process(dev.pid).children(recursive=True)
        assert any("webserver" in " ".join(p.cmdline()) for p in started)
        dev.send_signal(signal.SIGINT)
        try:
            assert dev.wait(timeout=90) == 130
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{alive([psutil.Process(dev.pid), *started])}\n{log.read_text()[-3000:]}") from None
        assert alive(started) == []
    finally:
        if dev.poll() is None:
            dev.kill()
