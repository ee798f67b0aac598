"""FITS files, the batch folder, its manifest and its SQL rows (no devices)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import observatory.telescope.batch as batch_module
from observatory.clock import night_of
from observatory.db import retry
from observatory.db.models import Exposure, FileBatch, ImageType
from observatory.db.session import session_scope
from observatory.processor.headers import read_exposure
from observatory.settings import ClockSettings, Settings
from observatory.telescope.batch import MANIFEST_NAME, BatchWriter, batch_name
from observatory.telescope.fits import FrameMetadata, frame_filename, frame_header, write_frame
from tests.unit.telescope.conftest import claimed_order
from tests.unit.test_intake import Broker

START = dt.datetime(2026, 11, 24, 1, 30, 15, 250000, tzinfo=dt.UTC)


def metadata(imagetyp: ImageType = ImageType.LIGHT, **fields: object) -> FrameMetadata:
    values: dict[str, object] = {
        "imagetyp": imagetyp,
        "exposure_s": 30.0,
        "date_obs": START,
        "binning": 2,
        "object": "M 42",
        "instrument": "Cam",
        "telescope": "Scope",
        "site_latitude_deg": 37.2,
        "site_longitude_deg": -2.5,
        "order_id": "o-1",
        "order_pk": 7,
        "batch": "20261123-observation-7",
        "filter": "R",
        "ra_deg": 83.82,
        "dec_deg": -5.39,
        "ccd_temp_c": -10.5,
        "pixel_size_um": 9.0,
        "focal_length_mm": 530.0,
    }
    values.update(fields)
    return FrameMetadata(**values)  # type: ignore[arg-type]


def frame(rows: int = 12, columns: int = 20) -> np.ndarray:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 65536, size=(rows, columns), dtype=np.uint16)
    data[0, 0], data[0, 1] = 0, 65535  # both ends of the range survive the BZERO offset
    return data


def test_file_names_follow_the_contract() -> None:
    assert frame_filename(ImageType.LIGHT, "R", 30.0, 3) == "light_R_30s_0003.fits"
    assert frame_filename(ImageType.BIAS, None, 0.0, 12) == "bias_none_0s_0012.fits"
    assert frame_filename(ImageType.FLAT, "H/a", 1.25, 1) == "flat_H-a_1.25s_0001.fits"


def test_night_is_the_utc_date_of_the_evening() -> None:
    # 01:30 UTC at longitude -2.5 is still the night that began on the 23rd.
    assert night_of(START, -2.5) == dt.date(2026, 11, 23)
    assert night_of(dt.datetime(2026, 11, 23, 19, 0, tzinfo=dt.UTC), -2.5) == dt.date(2026, 11, 23)
    # Far east, 23:00 UTC is already the next local morning... of the evening of the 23rd.
    assert night_of(dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC), 150.0) == dt.date(2026, 11, 23)
    assert batch_name("observation", 42, START, -2.5) == "20261123-observation-42"


def test_frame_is_uint16_with_standard_headers_and_valid_checksums(tmp_path: Path) -> None:
    data = frame()
    path = tmp_path / "light_R_30s_0001.fits"
    sha = write_frame(path, data, frame_header(metadata()))
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    with fits.open(path, checksum=True) as hdul:
        assert len(hdul) == 1
        header = hdul[0].header
        np.testing.assert_array_equal(hdul[0].data, data)
        assert hdul[0].data.dtype == np.uint16
        assert header["BITPIX"] == 16 and header["BZERO"] == 32768
    assert header["IMAGETYP"] == "Light Frame"
    assert header["EXPTIME"] == header["EXPOSURE"] == 30.0
    assert header["DATE-OBS"] == "2026-11-24T01:30:15.250"
    assert (header["RA"], header["DEC"], header["FILTER"]) == (83.82, -5.39, "R")
    assert (header["XBINNING"], header["YBINNING"], header["XPIXSZ"]) == (2, 2, 18.0)
    assert (header["ORDERID"], header["ORDERPK"], header["CCD-TEMP"]) == ("o-1", 7, -10.5)
    assert header["FOCALLEN"] == 530.0 and header["SITELONG"] == -2.5
    assert "CHECKSUM" in header and "DATASUM" in header
    with pytest.raises(FileExistsError):
        write_frame(path, data, frame_header(metadata()))


def test_frames_say_their_rows_run_top_down(tmp_path: Path) -> None:
    # An Alpaca ImageArray starts at the image's top-left corner and the rows are written
    # first row first: without ROWORDER, FITS readers (and the processor) take the file
    # as bottom-up, mirroring it, and a master of NINA's top-down frames would not serve.
    path = tmp_path / "light_R_30s_0001.fits"
    write_frame(path, frame(), frame_header(metadata()))
    assert fits.getheader(path)["ROWORDER"] == "TOP-DOWN"
    assert read_exposure(path)["camera_setup"] == "rows top-down"


def test_a_colour_sensor_s_frames_name_their_filter_matrix() -> None:
    assert frame_header(metadata(bayer_pattern="GRBG"))["BAYERPAT"] == "GRBG"
    assert "BAYERPAT" not in frame_header(metadata())


def test_dark_has_no_filter_nor_pointing_cards() -> None:
    header = frame_header(metadata(ImageType.DARK, filter=None, ra_deg=None, dec_deg=None))
    assert header["IMAGETYP"] == "Dark Frame"
    assert "FILTER" not in header and "RA" not in header and "DEC" not in header


def test_batch_records_rows_and_writes_the_manifest_last(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    claimed = claimed_order(settings, Broker(), "observation", ra=10.0, dec=20.0)
    batch = BatchWriter(settings, claimed.pk, claimed.request)
    assert batch.folder.parent == (tmp_path / "batches").resolve()
    assert batch.name.endswith(f"-observation-{claimed.pk}")
    first = batch.add(frame(), metadata(batch=batch.name))
    second = batch.add(frame(8, 6), metadata(ImageType.FLAT, exposure_s=1.5, batch=batch.name))
    assert not (batch.folder / MANIFEST_NAME).exists()
    manifest = batch.finish()

    on_disk = json.loads((batch.folder / MANIFEST_NAME).read_text())
    assert on_disk == manifest
    assert manifest["complete"] is True and "interrupted" not in manifest
    assert [f["path"] for f in manifest["files"]] == [first.path, second.path]
    assert second.path == "flat_R_1.5s_0002.fits"
    for entry in manifest["files"]:
        content = (batch.folder / entry["path"]).read_bytes()
        assert entry["size"] == len(content)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert sorted(p.name for p in batch.folder.iterdir()) == sorted(
        [first.path, second.path, MANIFEST_NAME]
    )
    with session_scope(database_url) as session:
        row = session.scalars(select(FileBatch)).one()
        assert (row.name, row.state, row.work_order_pk) == (batch.name, "complete", claimed.pk)
        assert row.path == str(batch.folder) and row.url is None
        assert row.completed_at is not None and row.manifest == manifest
        exposures = session.scalars(select(Exposure).order_by(Exposure.pk)).all()
        assert [(e.imagetyp, e.exptime_s, e.filter) for e in exposures] == [
            ("light", 30.0, "R"),
            ("flat", 1.5, "R"),
        ]
        assert (exposures[1].naxis1, exposures[1].naxis2) == (6, 8)
        assert exposures[0].checksum == first.sha256 and exposures[0].ra_deg == 83.82
        assert exposures[0].date_obs == START
        assert exposures[0].header["IMAGETYP"] == "Light Frame"


def test_interrupted_batch_lists_what_was_written_and_fails(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    claimed = claimed_order(settings, Broker(), "calibration_frames", bias_count=2)
    batch = BatchWriter(settings, claimed.pk, claimed.request)
    batch.add(frame(), metadata(ImageType.BIAS, exposure_s=0.0, filter=None))
    manifest = batch.finish(interrupted="DeviceError: camera gone")
    assert manifest["complete"] is False
    assert manifest["interrupted"] == "DeviceError: camera gone"
    assert [f["path"] for f in manifest["files"]] == ["bias_none_0s_0001.fits"]
    with session_scope(database_url) as session:
        assert session.scalars(select(FileBatch.state)).one() == "failed"

    # A redelivered order continues the same batch and its numbering.
    again = BatchWriter(settings, claimed.pk, claimed.request)
    assert again.name == batch.name
    assert again.add(frame(), metadata(ImageType.BIAS, exposure_s=0.0, filter=None)).path == (
        "bias_none_0s_0002.fits"
    )
    assert len(again.finish()["files"]) == 2


def test_batch_takes_the_date_of_the_observatory_clocks_night(
    database_url: str, tmp_path: Path
) -> None:
    # Nights simulated back to back in one afternoon: each batch carries its own night's
    # date, not the wall clock's; a redelivery keeps the batch the first attempt opened.
    names = []
    for dusk in (
        dt.datetime(2026, 12, 6, 17, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC),
    ):
        clock = ClockSettings(start_utc=dusk, epoch_unix_s=None, time_scale=1.0)
        settings = Settings(database_url=database_url, data_dir=tmp_path, clock=clock)
        claimed = claimed_order(settings, Broker(), "calibration_frames", bias_count=1)
        names.append(BatchWriter(settings, claimed.pk, claimed.request).name)
        later = clock.model_copy(update={"start_utc": dusk + dt.timedelta(hours=20)})
        again = BatchWriter(
            settings.model_copy(update={"clock": later}), claimed.pk, claimed.request
        )
        assert again.name == names[-1]
    assert [name.split("-")[0] for name in names] == ["20261206", "20261207"]


def test_a_frame_row_committed_but_not_acknowledged_is_recorded_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    claimed = claimed_order(settings, Broker(), "observation", ra=10.0, dec=20.0)
    batch = BatchWriter(settings, claimed.pk, claimed.request)
    scopes = 0

    @contextmanager
    def answer_lost_once(url: str | None = None) -> Iterator[Session]:
        # The first transaction commits, then the database goes away before answering.
        nonlocal scopes
        scopes += 1
        with session_scope(url) as session:
            yield session
        if scopes == 1:
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    monkeypatch.setattr(batch_module, "session_scope", answer_lost_once)
    written = batch.add(frame(), metadata(batch=batch.name))
    monkeypatch.undo()
    assert scopes == 2
    with session_scope(database_url) as session:
        assert session.scalars(select(Exposure.pk)).all() == [written.exposure_pk]
