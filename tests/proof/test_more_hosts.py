"""More than one host: processor workers on two "hosts" share one batch, faster than one.

Set-up on one machine: a telescope host whose file server serves the batch (the order's
url is http), and two processor hosts, each a worker process (``-c 1``) with its own data
folder and file server, in its own mount namespace where the other hosts' folders are
hidden, so batches and masters made elsewhere can only be fetched over HTTP. They share
an embedded Redis and a throwaway PostgreSQL server (tests/postgres.py).

Two hosts run first, on cold caches (the solver's index files), then one host: the
order favours the single host, so a lower time with two is not an artefact of warm-up.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from observatory.db.models import CalibratedFrame, Exposure, FileBatch, MasterFrame
from observatory.db.session import session_scope
from observatory.processor import STEPS
from tests.postgres import PostgresServer, PostgresUnavailable, find_bindir
from tests.proof.hosts import Host, isolated, isolation_problem, start_host
from workers.bench_processor import (
    FILTERS,
    RawFrame,
    SharedServices,
    calibrate,
    shared_services,
    take_night,
    write_night_batch,
)

# Enough lights that the CPU-bound units (calibration, plate solving) dominate the fixed
# costs (transfer, stacking, dispatch) on a two-core machine.
LIGHTS_PER_FILTER = 8


def _skip_reason() -> str | None:
    if shutil.which("solve-field") is None:
        return "solve-field (astrometry.net) is not installed"
    try:
        find_bindir()
    except PostgresUnavailable as error:
        return str(error)
    return isolation_problem()


pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]
if (reason := _skip_reason()) is not None:
    pytestmark.append(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def frames() -> list[RawFrame]:
    return take_night(LIGHTS_PER_FILTER)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[SharedServices]:
    with PostgresServer() as server:
        database_url = server.create_database()
        (tmp_path / "services").mkdir()
        with shared_services(tmp_path / "services", database_url) as shared:
            yield shared


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[dict[str, Host]]:
    made = [start_host(tmp_path, name) for name in ("telescope", "host-a", "host-b")]
    try:
        yield {host.name: host for host in made}
    finally:
        for host in made:
            host.file_server.stop()


def run_on(
    services: SharedServices, hosts: dict[str, Host], names: list[str], frames: list[RawFrame],
    batch: str,
) -> dict[str, Any]:  # fmt: skip
    """Write ``batch`` on the telescope host, start one worker per named host (isolated),
    calibrate it from its http url, stop the workers; returns the order's figures."""
    telescope = hosts["telescope"]
    write_night_batch(telescope.data_dir / "batches" / batch, frames)
    try:
        for name in names:
            host = hosts[name]
            hidden = [h.data_dir for h in hosts.values() if h is not host]
            log_file = host.data_dir.parent / f"{name}-worker.log"
            services.start_worker(name, host.worker_env(), log_file, isolated(hidden))
        return calibrate(services, f"{telescope.public_url}/batches/{batch}/", user="telescope")
    finally:
        services.stop_workers()


def products_of(services: SharedServices, batch: str) -> dict[str, list[tuple[str, str | None]]]:
    """(path, origin_url) of the batch's masters and calibrated frames."""
    with session_scope(services.database_url) as session:
        row = session.scalars(select(FileBatch).where(FileBatch.name == batch)).one()
        masters = [(m.path, m.origin_url) for m in row.master_frames]
        calibrated = session.execute(
            select(CalibratedFrame.path, CalibratedFrame.origin_url)
            .join(Exposure, CalibratedFrame.exposure_pk == Exposure.pk)
            .where(Exposure.file_batch_pk == row.pk)
        ).all()
        return {"masters": masters, "calibrated": [(p, o) for p, o in calibrated]}


def row_counts(services: SharedServices) -> dict[str, int]:
    with session_scope(services.database_url) as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (FileBatch, Exposure, MasterFrame, CalibratedFrame)
        }


def test_two_processor_hosts_share_a_batch_and_finish_it_sooner(
    services: SharedServices, hosts: dict[str, Host], frames: list[RawFrame], tmp_path: Path
) -> None:
    two = run_on(services, hosts, ["host-a", "host-b"], frames, "20261123-observation-201")
    one = run_on(services, hosts, ["host-a"], frames, "20261123-observation-202")
    figures = {"two_hosts": two, "one_host": one, "ratio": one["wall_s"] / two["wall_s"]}
    (tmp_path / "figures.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))

    for figures_of in (two, one):
        assert figures_of["state"] == "succeeded", figures_of
        assert figures_of["step_states"] == dict.fromkeys(STEPS, "succeeded")

    lights = len(FILTERS) * LIGHTS_PER_FILTER
    urls = {name: host.public_url for name, host in hosts.items()}
    shared = products_of(services, "20261123-observation-201")
    # Units ran on both hosts: each wrote masters or calibrated frames it serves.
    origins = {origin for _, origin in shared["masters"] + shared["calibrated"]}
    assert origins == {urls["host-a"], urls["host-b"]}
    # Each product is on the host its row names, and a master made on one host was
    # fetched by the other to calibrate its lights.
    by_url = {host.public_url: host for host in hosts.values()}
    for path, origin in shared["masters"] + shared["calibrated"]:
        assert origin is not None and (by_url[origin].data_dir / "products" / path).is_file()
    for name in ("host-a", "host-b"):
        # Each host fetched the batch over HTTP into its own repository, verified.
        copy = hosts[name].data_dir / "repository" / "20261123-observation-201"
        manifest = json.loads((copy / "manifest.json").read_text())
        assert sorted(p.name for p in copy.glob("*.fits")) == sorted(
            entry["path"] for entry in manifest["files"]
        )
    a_products, b_products = (
        {p.relative_to(hosts[n].data_dir / "products") for p in
         (hosts[n].data_dir / "products").rglob("master_*.fits")}
        for n in ("host-a", "host-b")
    )  # fmt: skip
    assert any(p.name.startswith("master_") for p in a_products & b_products)

    # No duplicates: one row per frame, per master group, per light, over both batches.
    masters_per_batch = 1 + 1 + len(FILTERS)  # bias, dark, a flat per filter
    assert row_counts(services) == {
        "file_batches": 2,
        "exposures": 2 * len(frames),
        "master_frames": 2 * masters_per_batch,
        "calibrated_frames": 2 * lights,
    }
    assert len({path for path, _ in shared["calibrated"]}) == lights

    # The point of a second host: the same batch done sooner.
    assert two["wall_s"] < one["wall_s"], figures
