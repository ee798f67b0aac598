"""Stopping and starting a PostgreSQL server by its data directory (``pg_ctl``).

A chaos run on PostgreSQL (``observatory run --chaos SEED --postgres-data DIR``) takes the
database away for a while and gives it back. The server is started again exactly as it
was started before: its binary and command-line options are read from the data
directory's ``postmaster.opts`` (PostgreSQL writes it at every start; ``pg_ctl restart``
reads it the same way). PostgreSQL refuses to run as root: when this process is root,
``pg_ctl`` runs as the owner of the data directory (``runuser``).
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from observatory.errors import ConfigurationError

PG_CTL_TIMEOUT_S = 90.0
# pg_ctl shutdown modes: "fast" ends every session and shuts down cleanly; "immediate"
# ends the server like a crash (recovery from the WAL at the next start).
STOP_MODES = ("fast", "immediate")


@dataclass(frozen=True)
class PostgresControl:
    """One running server: ``data_dir`` (its PGDATA), ``bindir`` (where its ``postgres``
    and ``pg_ctl`` live), ``options`` (its start options, ``-D`` aside), ``log_path``
    (where its output goes after a start from here) and ``run_as`` (a user name, or None
    for this process's own)."""

    data_dir: Path
    bindir: Path
    options: tuple[str, ...]
    log_path: Path
    run_as: str | None

    @classmethod
    def of(cls, data_dir: Path, log_path: Path) -> PostgresControl:
        """The control of the server running on ``data_dir``. Raises ConfigurationError
        (one line) when the folder is not the data directory of a running server."""
        data_dir = data_dir.expanduser().resolve()
        if not (data_dir / "PG_VERSION").is_file():
            raise ConfigurationError(
                f"{data_dir} is not a PostgreSQL data directory (no PG_VERSION)"
            )
        opts_path = data_dir / "postmaster.opts"
        if not (data_dir / "postmaster.pid").is_file() or not opts_path.is_file():
            raise ConfigurationError(f"no PostgreSQL server runs on {data_dir} (no postmaster.pid)")
        words = shlex.split(opts_path.read_text(encoding="utf-8"))
        bindir = Path(words[0]).parent
        if not (bindir / "pg_ctl").is_file():
            raise ConfigurationError(f"pg_ctl not found beside {words[0]} (from {opts_path})")
        owner = data_dir.stat().st_uid
        run_as = pwd.getpwuid(owner).pw_name if os.geteuid() == 0 and owner != 0 else None
        control = cls(data_dir, bindir, _without_data_dir(words[1:]), log_path, run_as)
        control.status()
        return control

    def status(self) -> None:
        """Raise ConfigurationError unless ``pg_ctl status`` says the server runs."""
        done = self._pg_ctl("status", check=False)
        if done.returncode != 0:
            raise ConfigurationError(
                f"no PostgreSQL server runs on {self.data_dir}: "
                + done.stdout.decode(errors="replace").strip()
            )

    def stop(self, mode: str) -> None:
        """Stop the server (``mode``: one of STOP_MODES) and wait until it has stopped.
        Raises subprocess.CalledProcessError with pg_ctl's output when it cannot."""
        if mode not in STOP_MODES:
            raise ValueError(f"unknown pg_ctl stop mode {mode!r}; one of {STOP_MODES}")
        self._pg_ctl("stop", "--wait", "--mode", mode)

    def start(self) -> None:
        """Start the server with its earlier options and wait until it accepts
        connections; its output goes to ``log_path`` (opened here: the server's user
        need not be able to open it). Raises subprocess.CalledProcessError with the end
        of that log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            done = self._pg_ctl(
                "start", "--wait", "--timeout", str(int(PG_CTL_TIMEOUT_S) - 10),
                "--options", shlex.join(self.options), check=False, output=log,
            )  # fmt: skip
        if done.returncode != 0:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise subprocess.CalledProcessError(done.returncode, done.args, tail)

    def _pg_ctl(
        self, *args: str, check: bool = True, output: IO[bytes] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        # Output to ``output`` when given (a started server keeps it open), else captured.
        command = [str(self.bindir / "pg_ctl"), *args, "--pgdata", str(self.data_dir)]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output if output is not None else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=PG_CTL_TIMEOUT_S,
            # A server started from here lives on its own: a Ctrl-C of the run must not
            # reach it (SIGINT is PostgreSQL's fast shutdown).
            start_new_session=True,
        )
        if check and done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, command, done.stdout)
        return done


def _without_data_dir(words: list[str]) -> tuple[str, ...]:
    # pg_ctl gives -D itself; the recorded options repeat it.
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "-D":
            skip = True
        elif not word.startswith("-D"):
            kept.append(word)
    return tuple(kept)
