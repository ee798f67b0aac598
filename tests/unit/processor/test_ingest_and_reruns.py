"""Ingest (vocabularies, rejected files, upserts), missing masters and re-runs."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from observatory.db.models import CalibratedFrame, Exposure, MasterFrame
from observatory.db.session import session_scope
from observatory.errors import MasterFrameMissing
from observatory.hashing import sha256_of
from observatory.platesolve.solvefield import run_solver
from observatory.processor import astrometry, ingest_batch, run_unit, transfer_batch, units_of
from observatory.processor.imagetypes import normalise_imagetyp
from observatory.settings import Settings
from tests.helpers import wait_for
from tests.unit.processor.conftest import Night, batch_url, run_chain


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Bias Frame", "bias"), ("ZERO", "bias"), ("dark frame", "dark"), ("Flat Field", "flat"),
     ("Sky Flat", "flat"), ("dome  flat", "flat"), ("Twilight Flat", "flat"),
     ("Light Frame", "light"), ("object", "light"), ("Science", "light"), ("focus", None)],
)  # fmt: skip
def test_imagetyp_vocabularies(value: str, expected: str | None) -> None:
    assert normalise_imagetyp(value) == expected


def _count(settings: Settings, model: type) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_broken_files_are_rejected_and_the_rest_kept(settings: Settings, night: Night) -> None:
    good = batch_url(settings, "20261123-observation-0", night.bias[:1])
    folder = Path(good.removeprefix("file://"))
    raw = (folder / "bias_none_0s_0001.fits").read_bytes()
    flipped = bytearray(raw)
    flipped[2880 * 2 + 100] ^= 0xFF  # a data byte: DATASUM no longer verifies
    # A letter of a card's comment: the header no longer sums to CHECKSUM's -0.
    renamed = bytearray(raw)
    comment = raw.index(b"/", raw.index(b"IMAGETYP")) + 2
    renamed[comment] ^= 0x20
    url = batch_url(
        settings, "20261123-observation-2", night.bias[:3],
        **{"bad_checksum.fits": bytes(flipped), "truncated.fits": raw[: 2880 + 1000],
           "notes.fits": b"not a FITS file at all", "bad_header.fits": bytes(renamed),
           "bad_checksum.fits.gz": gzip.compress(bytes(flipped))},
    )  # fmt: skip
    outputs = ingest_batch(settings, transfer_batch(settings, url)[0])
    assert outputs["ok"] == {"bias": 3}
    rejected = outputs["rejected"]
    assert set(rejected) == {"bad_checksum.fits", "truncated.fits", "notes.fits",
                             "bad_header.fits", "bad_checksum.fits.gz"}  # fmt: skip
    assert "Datasum verification failed" in rejected["bad_checksum.fits"]
    assert "Datasum verification failed" in rejected["bad_checksum.fits.gz"]
    assert "Checksum verification failed" in rejected["bad_header.fits"]
    assert "Datasum" not in rejected["bad_header.fits"]
    assert "FITS" in rejected["notes.fits"]
    with session_scope(settings.sqlalchemy_url) as session:
        states = {e.path: (e.state, e.error) for e in session.scalars(select(Exposure))}
    assert states["truncated.fits"][0] == "rejected" and states["truncated.fits"][1]
    # The batch still calibrates: the bias step uses the three good frames.
    (unit,) = units_of(settings, "20261123-observation-2", url, "bias")
    assert run_unit(settings, unit)["inputs"] == 3


def test_ingest_records_the_sha256_of_each_file(settings: Settings, night: Night) -> None:
    url = batch_url(settings, "20261123-observation-40", night.bias[:2])
    located, _ = transfer_batch(settings, url)
    ingest_batch(settings, located)
    with session_scope(settings.sqlalchemy_url) as session:
        rows = [(e.path, e.checksum) for e in session.scalars(select(Exposure))]
    assert len(rows) == 2
    assert all(checksum == sha256_of(located.folder / path) for path, checksum in rows)


def test_ingest_updates_rows_instead_of_adding(settings: Settings, night: Night) -> None:
    url = batch_url(settings, "20261123-observation-3", night.bias[:3])
    located, _ = transfer_batch(settings, url)
    ingest_batch(settings, located)
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.scalars(select(Exposure)).first()
        assert row is not None
        row.imagetyp, row.object, first_pk = "dark", "written by the telescope", row.pk
    ingest_batch(settings, located)
    assert _count(settings, Exposure) == 3
    with session_scope(settings.sqlalchemy_url) as session:
        again = session.get_one(Exposure, first_pk)
        assert (again.imagetyp, again.object) == ("bias", "calibration")


def test_light_without_masters_fails_naming_what_is_missing(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-4", night.lights[:1])
    outcomes = run_chain(settings, url, ("bias", "light"))
    assert outcomes["bias"] == []
    (light,) = outcomes["light"]
    assert not light["ok"] and "no master bias for binning 2" in light["error"]
    with pytest.raises(MasterFrameMissing):
        run_unit(settings, units_of(settings, "20261123-observation-4", url, "light")[0])
    assert _count(settings, CalibratedFrame) == 0


def test_lights_use_library_masters_and_reruns_add_nothing(
    settings: Settings, night: Night
) -> None:
    calibration = [*night.bias[:3], *night.darks[:3], *night.flats[:3]]
    run_chain(settings, batch_url(settings, "20261123-calibration_frames-5", calibration))
    url = batch_url(settings, "20261123-observation-6", night.lights[:1])
    for _ in range(2):
        outcomes = run_chain(settings, url, ("bias", "dark", "light"))
        (light,) = outcomes["light"]
        assert light["ok"], light.get("error")
        masters = light["outputs"]["masters"]
        assert masters["flat"].startswith("20261123-calibration_frames-5/")
        assert light["outputs"]["dark_scale"] == pytest.approx(10.0 / 20.0)
    assert (_count(settings, MasterFrame), _count(settings, CalibratedFrame)) == (3, 1)
    assert _count(settings, Exposure) == 10
    products = sorted(p.name for p in (settings.products_dir).rglob("*.fits"))
    assert len(products) == len(set(products)) == 3 + 3 + 1  # masters, flat_dark, light


def test_solver_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"import subprocess,time; p=subprocess.Popen(['sleep','60']); open({str(pid_file)!r},'w').write(str(p.pid)); time.sleep(60)"  # noqa: E501
    started = time.monotonic()
    assert run_solver([sys.executable, "-c", script], timeout_s=1.0) is False
    assert time.monotonic() - started < 5
    child = int(pid_file.read_text())
    state = Path(f"/proc/{child}/stat")

    def dead() -> bool:
        try:
            return state.read_text().split()[2] in ("Z", "X")
        except FileNotFoundError:
            return True

    # SIGKILL is delivered asynchronously: the grandchild may still be on its way out
    # when the solver's own process has been reaped.
    wait_for(dead, 2.0, interval=0.01, message="the solver's child to die")
    subprocess.run(["true"], check=True)


def test_without_any_solver_the_frames_are_marked_skipped_with_the_reason(
    settings: Settings, night: Night, tmp_path: Path
) -> None:
    nowhere = {"solve_field": "no-solver", "index_glob": str(tmp_path / "no-index-*.fits")}
    missing = settings.model_copy(
        update={"processor": settings.processor.model_copy(update=nowhere)}
    )
    assert astrometry.solver_missing(settings) is None  # installed on this machine
    reason = astrometry.solver_missing(missing)
    assert reason is not None and "astrometry.net" in reason
    calibration = [*night.bias[:3], *night.darks[:3], *night.flats[:3]]
    run_chain(missing, batch_url(missing, "20261123-calibration_frames-8", calibration))
    url = batch_url(missing, "20261123-observation-9", night.lights[:1])
    run_chain(missing, url, ("bias", "dark", "flat", "light"))
    assert astrometry.mark_skipped(missing, "20261123-observation-9") == 1
    with session_scope(missing.sqlalchemy_url) as session:
        assert session.scalars(select(CalibratedFrame.wcs_status)).all() == ["skipped"]
