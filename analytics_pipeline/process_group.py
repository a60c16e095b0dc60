"""A child command in a process group of its own, stopped whole: `dagster dev` left its code
server, webserver and daemon running after an interrupt, so `analytics-pipeline dev` runs it
here and, on Ctrl-C or SIGTERM, asks the whole group to stop, then insists."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil

# (signal, seconds to wait for the group to be gone): a polite interrupt first.
STOP_SEQUENCE = ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0))


def live_members(group: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def stop_group(process: subprocess.Popen) -> None:
    """Stop every process of `process`'s group, escalating until none is left."""
    for sig, seconds in STOP_SEQUENCE:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            process.poll()  # reap our own child so it does not count as alive
            if not live_members(process.pid):
                return
            time.sleep(0.2)


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def run_group(command: list[str]) -> int:
    """Run `command` in its own process group until it exits or this process is interrupted
    (Ctrl-C, SIGTERM); either way no process of the group outlives this call."""
    previous = signal.signal(signal.SIGTERM, _interrupted)
    process = subprocess.Popen(command, start_new_session=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        stop_group(process)
        signal.signal(signal.SIGTERM, previous)
