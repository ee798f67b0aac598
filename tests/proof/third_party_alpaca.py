"""The ``alpaca-simulators`` package (a third-party Alpaca server), run offline.

Its camera draws stars from a Gaia catalogue that it fetches over the internet; here it
reads a local SQLite catalogue instead (``tap_source``), generated with a seed by
:func:`write_star_catalogue` - no third-party data is fetched or committed.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import free_port, wait_for

# The package's own template, with what our tests need changed: a small sensor, not
# square, so that an image transposed on its way shows in its shape.
CAMERA_WIDTH_PX = 160
CAMERA_HEIGHT_PX = 96


def write_star_catalogue(path: Path, stars: int = 20_000, seed: int = 7) -> Path:
    """A whole-sky catalogue in the layout the server's SQLite source reads
    (``gaia_sources``: ``ra``, ``dec`` in degrees, ``phot_g_mean_mag``)."""
    rng = random.Random(seed)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE gaia_sources (ra REAL, dec REAL, phot_g_mean_mag REAL)")
        rows = [(rng.uniform(0, 360), rng.uniform(-90, 90), rng.uniform(6, 15))
                for _ in range(stars)]  # fmt: skip
        db.executemany("INSERT INTO gaia_sources VALUES (?, ?, ?)", rows)
    return path


def server_config(catalogue: Path) -> dict[str, Any]:
    """The package's template configuration, offline and small."""
    template = resources.files("alpaca_simulators") / "config" / "template.yaml"
    config: dict[str, Any] = yaml.safe_load(template.read_text(encoding="utf-8"))
    devices = config["devices"]
    devices["camera"][0].update(
        cameraxsize=CAMERA_WIDTH_PX, cameraysize=CAMERA_HEIGHT_PX,
        numx=CAMERA_WIDTH_PX, numy=CAMERA_HEIGHT_PX,
    )  # fmt: skip
    config["tap_source"] = str(catalogue)
    config["gaia_query_timeout"] = 10
    return config


class ThirdPartyServer:
    """A running ``alpaca-simulators`` process on loopback."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.catalogue = write_star_catalogue(folder / "stars.db")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self.folder / "config.yaml"
        config.write_text(yaml.safe_dump(server_config(self.catalogue)))
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "alpaca_simulators.run_simulator", "--host", "127.0.0.1",
             "--port", str(self.port), "--config", str(config)],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "MPLCONFIGDIR": str(self.folder / "mpl"),
                 "HOME": str(self.folder)},
        )  # fmt: skip
        wait_for(self.answers, 60, message="alpaca-simulators to answer")

    def answers(self) -> bool:
        # It serves no /management API (see the test's list of departures).
        url = f"http://{self.address}/api/v1/camera/0/camerastate?ClientTransactionID=1"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as reply:
                return bool(reply.status == 200)
        except OSError:
            assert self.process is not None and self.process.poll() is None, "server exited"
            return False

    def stop(self) -> None:
        # uvicorn's graceful shutdown waits for background tasks, such as an exposure
        # that AbortExposure did not stop (see the test's departure 6): killed after 10 s.
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextmanager
def third_party_server(folder: Path) -> Iterator[ThirdPartyServer]:
    server = ThirdPartyServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
