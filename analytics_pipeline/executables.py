"""Console scripts installed beside this Python (dbt, dagster), found also when the
virtualenv is not activated."""

import shutil
import sys
from pathlib import Path


def console_script(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name) or name
