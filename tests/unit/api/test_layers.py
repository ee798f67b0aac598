"""The intake lives in the library: importing it (and its commands) loads no Celery."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_intake_and_its_commands_loads_no_celery() -> None:
    code = (
        "import sys, observatory.api, observatory.cli.api, observatory.cli.flower, "
        "observatory.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('celery', 'kombu', 'workers', 'tasks')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert done.stdout.decode().strip() == "[]"
