"""A throwaway PostgreSQL server for tests, started from the installed binaries.

The server listens only on a Unix socket in its own temporary folder (no TCP port, so
parallel test runs cannot collide), trusts local connections, and trades durability for
speed (fsync off). PostgreSQL refuses to run as root: as root, the server runs as the
``postgres`` system user (created if missing).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

SUPERUSER = "postgres"
_SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed here."""


def find_bindir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (newest version first).

    Raises ``PostgresUnavailable`` naming where it looked.
    """
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        "/usr/lib/postgresql/*/bin or on PATH; install Debian's postgresql package"
    )


class PostgresServer:
    """One running server; use :meth:`start` / :meth:`stop` or ``with PostgresServer():``."""

    def __init__(self, bindir: Path | None = None, *, durable_commits: bool = False) -> None:
        """``durable_commits``: a commit survives the server's crash (an immediate stop);
        by default commits are not waited for on disk (``synchronous_commit=off``)."""
        self.bindir = bindir or find_bindir()
        self.durable_commits = durable_commits
        self.root = Path(tempfile.mkdtemp(prefix="obs-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self._run_as: str | None = _SYSTEM_USER if os.geteuid() == 0 else None
        self._running = False
        version = subprocess.run(
            [str(self.bindir / "postgres"), "--version"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
        self.major_version = int(version.split(")")[1].split(".")[0])

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server (psycopg2, Unix socket)."""
        return f"postgresql+psycopg2://{SUPERUSER}@/{database}?host={self.root}"

    def start(self) -> None:
        """initdb and start; raises ``subprocess.CalledProcessError`` with the log on failure."""
        if self._run_as is not None:
            _ensure_system_user(self._run_as)
            account = pwd.getpwnam(self._run_as)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._pg(
            "initdb",
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
        )  # fmt: skip
        synchronous_commit = "on" if self.durable_commits else "off"
        options = (
            f"-k {self.root} -c listen_addresses='' -c fsync=off "
            f"-c synchronous_commit={synchronous_commit} -c full_page_writes=off "
            "-c max_connections=200"
        )
        try:
            self._pg(
                "pg_ctl", "start", "--wait", "--timeout", "60",
                "--pgdata", str(self.data_dir), "--log", str(self.log_file),
                "--options", options,
            )  # fmt: skip
        except subprocess.CalledProcessError as error:
            log = self.log_file.read_text() if self.log_file.exists() else "(no log)"
            raise subprocess.CalledProcessError(
                error.returncode, error.cmd, error.output, f"{error.stderr}\n{log}"
            ) from error
        self._running = True

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        try:
            if self._running:
                self._pg(
                    "pg_ctl", "stop", "--wait", "--mode", "immediate",
                    "--pgdata", str(self.data_dir),
                )  # fmt: skip
                self._running = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create a database (a random name unless given), copied from ``template`` when
        given, and return its URL."""
        name = name or f"test_{uuid.uuid4().hex[:16]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        if template and self.major_version >= 15:
            # Copying the files is ten times faster than the default WAL-logged copy.
            clause += " STRATEGY FILE_COPY"
        self.execute_autocommit(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        self.execute_autocommit(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute_autocommit(self, sql: str) -> None:
        """Run one statement outside a transaction in the ``postgres`` database."""
        import psycopg2

        connection = psycopg2.connect(host=str(self.root), user=SUPERUSER, dbname="postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def _pg(self, tool: str, *args: str) -> None:
        command: Sequence[str] = [str(self.bindir / tool), *args]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
            text=True,
        )
