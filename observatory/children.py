"""Child processes that end with the process that started them.

Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``) is set in each child between
fork and exec, so a SIGKILL of ``observatory up`` or ``observatory run`` - which runs no
clean-up of its own - still ends every child. Celery's prefork pool sets the same signal
in its own processes, so a worker's pool ends with the worker.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
# Loaded before any fork: the child must not load libraries between fork and exec.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def ends_with_parent(signum: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child receives ``signum`` when
    the thread that started it ends (in practice, the stack's main thread: its process).

    Raises OSError (in the child, so Popen raises SubprocessError) when prctl fails; on a
    system without prctl the child starts without the guarantee."""
    parent_pid = os.getpid()

    def preexec() -> None:
        if _LIBC is None:
            return
        if _LIBC.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        # The parent may have died between fork and prctl: then no signal will come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec
