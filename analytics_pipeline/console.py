"""The console scripts. Each exits without the interpreter's last garbage collections, which
walk every object the process still holds: Dagster's, dagster-dbt's and dbt's definitions are
hundreds of thousands of them, at the end of every `analytics-pipeline` command and of every
dbt command, which a run waits for (it reads dbt's output to its end). The operating system
reclaims the memory at once."""

import gc
import sys
from collections.abc import Callable


def _exit_frozen(main: Callable[[], int | None]) -> None:
    try:
        code = main()
    except SystemExit as stop:  # click, dbt's command line, always ends this way
        code = stop.code
    gc.freeze()
    sys.exit(code)


def analytics_pipeline() -> None:
    from analytics_pipeline.cli import main

    _exit_frozen(main)


def dbt() -> None:
    from dbt.cli.main import cli

    _exit_frozen(cli)
