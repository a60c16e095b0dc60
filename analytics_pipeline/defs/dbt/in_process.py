"""A dbt command run in this process (dbt's programmatic invocation, `dbtRunner`) behind the
handle dagster-dbt reads a dbt process through: its structured log as JSON lines on `stdout`,
its exit status from `wait()`, `send_signal()` to interrupt it. A command then costs dbt's own
work, not a new interpreter importing dbt again."""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import orjson

from analytics_pipeline.env_vars import variables_set

if TYPE_CHECKING:
    from dbt_common.events.base_types import EventMsg

# dbt prints and files nothing itself: dagster-dbt echoes each event it reads, and this
# module files every event, debug included, in dbt.log in the command's log folder. dbt's own
# file log would make each line a JSON document and pass it through Python's logging, with a
# flush and a check for rotation: a large share of a small build's time.
_QUIET = ["--log-level", "none", "--log-level-file", "none"]


class _Lines:
    """The command's log as a pipe of JSON lines, ending when the command ends."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.closed = False

    def put(self, line: bytes | None) -> None:
        self._queue.put(line)

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            try:  # waits in slices, so that Dagster's interrupt reaches the reading thread
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            yield line
        self.closed = True

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc) -> None:
        self.closed = True


class DbtCommand:
    """`args` (dbt's argv, the executable first) run by dbt in a thread, with the variables
    of `env` set in the process's environment and `cwd` as its working folder for as long as
    it runs (dbt reads its profile's variables from the environment, and moves into the
    project folder itself)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        self.stdout = _Lines()
        self._logged_error = False
        self._log_path = Path(env.get("DBT_LOG_PATH", cwd / "logs")) / "dbt.log"
        self._log: TextIO
        self._log_lock = threading.Lock()
        self._secrets: list[str] = []
        self._thread = threading.Thread(target=self._run, args=(dict(env), cwd), name="dbt", daemon=True)
        self._thread.start()

    def _run(self, env: dict[str, str], cwd: Path) -> None:
        # dbt's command line is imported by the first command: a process that loads the
        # definitions without building anything (the code server, a sensor) never needs it.
        from dbt.cli.main import dbtRunner
        from dbt_common.exceptions.base import env_secrets

        code, before = 2, os.getcwd()
        try:
            with variables_set(env), self._opened_log():
                os.chdir(cwd)
                self._secrets = env_secrets()
                result = dbtRunner(callbacks=[self._echo]).invoke([*self.args[1:], *_QUIET])
            # dbt's exit statuses: 1 when a node failed, 2 when dbt itself stopped.
            code = 0 if result.success else 1 if result.exception is None else 2
            if result.exception is not None and not self._logged_error:
                self.stdout.put(_error_line(result.exception))
        except BaseException as error:  # an interrupt, or dbt failing outside its own handling
            self.stdout.put(_error_line(error))
        finally:
            os.chdir(before)
            self.returncode = code
            self.stdout.put(None)

    @contextlib.contextmanager
    def _opened_log(self) -> Iterator[None]:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("a", encoding="utf-8") as self._log:
            yield

    def _echo(self, msg: EventMsg) -> None:
        from dbt_common.events.functions import msg_to_json
        from dbt_common.exceptions.base import scrub_secrets

        info = msg.info
        # dbt's debug line, its secrets scrubbed as dbt's own log does; written through at
        # every line above debug, so a killed command's log ends near where it stopped.
        line = f"{info.ts.ToJsonString()} [{info.level:<5}] [{info.thread}]: {scrub_secrets(info.msg, self._secrets)}\n"
        with self._log_lock:  # dbt's threads log at once
            self._log.write(line)
            if info.level != "debug":
                self._log.flush()
        # What dbt's own log on stdout would show at its default level.
        if info.level != "debug":
            self._logged_error |= info.level == "error"
            self.stdout.put(msg_to_json(msg).encode())

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """As dbt takes Ctrl-C: a KeyboardInterrupt in its thread, which stops the command
        and cancels its queries. The thread sees it once it wakes, so the queries it waits on
        are cancelled here first (a driver's cancel request, safe from any thread)."""
        from dbt.adapters.factory import FACTORY

        if not (self._thread.ident and self._thread.is_alive()):
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self._thread.ident), ctypes.py_object(KeyboardInterrupt)
        )
        for adapter in list(FACTORY.adapters.values()):
            for connection in list(adapter.connections.thread_connections.values()):
                with contextlib.suppress(Exception):  # not opened yet, or closed meanwhile
                    connection.handle.cancel()


def _error_line(error: BaseException) -> bytes:
    """An error dbt did not log (a usage error), logged the way dbt logs one, for dagster-dbt
    to report with the command's failure."""
    message = str(error) or type(error).__name__
    return orjson.dumps({"info": {"name": "MainEncounteredError", "level": "error", "msg": message}, "data": {}})
