"""The console script. It exits without the interpreter's last garbage collections, which
walk every object the process still holds: Dagster's, dagster-dbt's and dbt's definitions are
hundreds of thousands of them, at the end of every `analytics-pipeline` command. The operating
system reclaims the memory at once."""

import gc
import sys
from collections.abc import Callable


def _exit_frozen(main: Callable[[], int | None]) -> None:
    try:
        code = main()
    except SystemExit as stop:
        code = stop.code
    gc.freeze()
    sys.exit(code)


def analytics_pipeline() -> None:
    from analytics_pipeline.cli import main

    _exit_frozen(main)
