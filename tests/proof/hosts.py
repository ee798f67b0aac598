"""Hosts on one machine for the more-than-one-host proof.

A host is a data folder (its own batches, repository and products), a file server of
that folder whose address is the host's ``fileserver.public_url``, and the processes
started "on" it. A processor worker of one host runs in its own mount namespace in
which every other host's data folder is covered by an empty tmpfs: it cannot read the
telescope's batch or another host's products from the disk, only fetch them over HTTP,
as a worker on another machine would.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from observatory.fileserver import FileServerProcess, start_file_server_process
from observatory.settings import FileServerSettings, Settings


@dataclass
class Host:
    """One simulated host: its data folder and its running file server."""

    name: str
    data_dir: Path
    file_server: FileServerProcess

    @property
    def public_url(self) -> str:
        return self.file_server.base_url

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir, fileserver=FileServerSettings(public_url=self.public_url)
        )

    def worker_env(self) -> dict[str, str]:
        """Settings of a processor worker on this host (loopback transfers allowed)."""
        return {
            "OBSERVATORY_DATA_DIR": str(self.data_dir),
            "OBSERVATORY_FILESERVER__PUBLIC_URL": self.public_url,
            "OBSERVATORY_PROCESSOR__ALLOW_PRIVATE_ADDRESSES": "true",
            "OBSERVATORY_PROCESSOR__SOLVE_TIMEOUT_S": "120",
        }


def start_host(root: Path, name: str) -> Host:
    """A host with data folder ``root / name`` and its file server on a free loopback
    port; stop it with ``host.file_server.stop()``."""
    data_dir = root / name
    for sub in ("batches", "repository", "products"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    server = start_file_server_process(Settings(data_dir=data_dir), "127.0.0.1", 0)
    return Host(name, data_dir, server)


def isolation_problem() -> str | None:
    """Why workers cannot be put in mount namespaces here (None when they can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"cannot make a mount namespace (needs root): {probe.stderr.strip()}"
    return None


def isolated(hidden: list[Path]) -> list[str]:
    """A command prefix that runs the command in a new mount namespace where each of
    ``hidden`` is covered by an empty tmpfs (gone with the namespace)."""
    mounts = " && ".join(f"mount -t tmpfs hidden {shlex.quote(str(p))}" for p in hidden)
    script = f'{mounts} && exec "$0" "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
