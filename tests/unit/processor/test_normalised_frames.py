"""Frames re-saved by PixInsight or Siril (32-bit float, the camera's 0..65535 mapped to
0..1) are refused in one line naming the file, by whichever unit reads them: never
stacked, screened as "underexposed" or calibrated into wrong pixels. Frames in the
camera's ADU, integer or float (MaxIm's 32-bit float option), calibrate as before."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from observatory.db.session import dispose_engines, session_scope
from observatory.processor.normalised import NormalisedFrame, refuse_normalised
from observatory.processor.plan import plan_units
from observatory.processor.stacks import stack_flat
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import primary, write, write_night

SHAPE = (24, 32)
BIAS_ADU = 1000.0
DARK_ADU = 40.0  # dark current over the 5 s exposure
FLAT_ADU = 20000.0
SKY_ADU = 3000.0
ALL_STEPS = ("bias", "dark", "flat_dark", "flat", "light")
LINE = (
    "pixel values lie within [0, 1]: a frame normalised by PixInsight or Siril, "
    "not the camera's ADU; calibrate the raw frames"
)


@pytest.fixture
def settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    made = make_settings(tmp_path / "data", _sqlite_migrated_file)
    yield made
    dispose_engines(made.sqlalchemy_url)


def pixinsight(adu: np.ndarray, **cards: Any) -> fits.PrimaryHDU:
    """A frame as PixInsight saves it: BITPIX -32, no BZERO/BSCALE, ADU / 65535."""
    hdu = primary((adu / 65535.0).astype(np.float32), SWCREATE="PixInsight 1.8.9-3", **cards)
    hdu.header.add_history("Saved by PixInsight")
    return hdu


def siril(adu: np.ndarray, **cards: Any) -> fits.PrimaryHDU:
    """A frame as Siril saves it in 32-bit float: BITPIX -32, ADU / 65535, PROGRAM."""
    hdu = primary((adu / 65535.0).astype(np.float32), PROGRAM="Siril 1.2.4", **cards)
    hdu.header.add_history("Converted by Siril")
    return hdu


def camera_uint16(adu: np.ndarray, **cards: Any) -> fits.PrimaryHDU:
    """The camera's own frame: BITPIX 16 with BZERO 32768."""
    return primary(np.clip(np.round(adu), 0, 65535).astype(np.uint16), **cards)


def maxim_float(adu: np.ndarray, **cards: Any) -> fits.PrimaryHDU:
    """MaxIm DL's 32-bit float option: BITPIX -32 holding ADU."""
    return primary(adu.astype(np.float32), SWCREATE="MaxIm DL Version 6.40", **cards)


def night(writers: dict[str, Any]) -> dict[str, list[Any]]:
    """Three biases, three 5 s darks, three R flats and one R light; each type written
    by ``writers[type]`` (a function of the ADU image and the cards)."""
    rng = np.random.default_rng(11)

    def adu(level: float) -> np.ndarray:
        return np.round(level + rng.normal(0, 3, SHAPE))

    def cards(kind: str, exptime: float, minute: int) -> dict[str, Any]:
        return {"IMAGETYP": kind, "EXPTIME": exptime, "FILTER": "R",
                "DATE_OBS": f"2026-12-05T03:{minute:02d}:00"}  # fmt: skip

    files: dict[str, list[Any]] = {}
    for k in range(3):
        files[f"bias_{k}.fits"] = [writers["bias"](adu(BIAS_ADU), **cards("Bias Frame", 0.0, k))]
        files[f"dark_{k}.fits"] = [
            writers["dark"](adu(BIAS_ADU + DARK_ADU), **cards("Dark Frame", 5.0, 5 + k))
        ]
        files[f"flat_{k}.fits"] = [
            writers["flat"](adu(BIAS_ADU + DARK_ADU + FLAT_ADU), **cards("Flat Field", 5.0, 10 + k))
        ]
    files["light_0.fits"] = [
        writers["light"](adu(BIAS_ADU + DARK_ADU + SKY_ADU), **cards("Light Frame", 5.0, 20))
    ]
    return files


def with_overscan(writer: Any) -> Any:
    """``writer`` with 8 overscan columns at the bias level right of the data, and the
    TRIMSEC and BIASSEC cards saying so (the frame is then cut before any step)."""

    def write_with_overscan(adu: np.ndarray, **cards: Any) -> fits.PrimaryHDU:
        overscan = np.full((SHAPE[0], 8), BIAS_ADU)
        return writer(np.hstack([adu, overscan]), TRIMSEC=f"[1:{SHAPE[1]},1:{SHAPE[0]}]",
                      BIASSEC=f"[{SHAPE[1] + 1}:{SHAPE[1] + 8},1:{SHAPE[0]}]", **cards)  # fmt: skip

    return write_with_overscan


def writers(default: Any, **by_type: Any) -> dict[str, Any]:
    return {kind: by_type.get(kind, default) for kind in ("bias", "dark", "flat", "light")}


def failed(outcomes: dict[str, list[dict[str, Any]]], step: str) -> list[str]:
    return [o["error"] for o in outcomes[step] if not o["ok"]]


def test_pixinsight_biases_fail_the_bias_unit_naming_the_file(settings: Settings) -> None:
    url = write_night(settings.batches_dir / "pi", night(writers(camera_uint16, bias=pixinsight)))
    outcomes = run_chain(settings, url, ("bias",))
    (error,) = failed(outcomes, "bias")
    assert error == f"NormalisedFrame: bias_0.fits: {LINE}"


def test_siril_darks_fail_the_dark_unit(settings: Settings) -> None:
    url = write_night(settings.batches_dir / "si", night(writers(camera_uint16, dark=siril)))
    outcomes = run_chain(settings, url, ("bias", "dark"))
    assert all(o["ok"] for o in outcomes["bias"]), outcomes["bias"]
    (error,) = failed(outcomes, "dark")
    assert error == f"NormalisedFrame: dark_0.fits: {LINE}"


def test_a_normalised_flat_is_refused_not_screened_as_underexposed(settings: Settings) -> None:
    url = write_night(settings.batches_dir / "fl", night(writers(camera_uint16, flat=pixinsight)))
    outcomes = run_chain(settings, url, ALL_STEPS[:4])
    (error,) = failed(outcomes, "flat_dark")
    assert error == f"NormalisedFrame: flat_0.fits: {LINE}"
    assert "underexposed" not in str(outcomes["flat"])


def test_a_normalised_flat_is_refused_by_the_flat_screening(settings: Settings) -> None:
    """The flat step run where the flat-dark copies already exist (made by an earlier
    run, or another host) reads only the raw flats' planes for its screening: a flat
    re-saved by Siril since is refused there, not left out as underexposed."""
    folder = settings.batches_dir / "fs"
    url = write_night(folder, night(writers(camera_uint16)))
    outcomes = run_chain(settings, url, ALL_STEPS[:4])
    assert all(o["ok"] for o in outcomes["flat"]), outcomes
    old = fits.getheader(folder / "flat_1.fits")
    level = BIAS_ADU + DARK_ADU + FLAT_ADU + np.random.default_rng(3).normal(0, 3, SHAPE)
    kept = {k.replace("-", "_"): old[k] for k in ("IMAGETYP", "EXPTIME", "FILTER", "DATE-OBS")}
    write(folder / "flat_1.fits", [siril(level, **kept)])
    with session_scope(settings.sqlalchemy_url) as session:
        (unit,) = plan_units(session, "fs", url, "flat")
    with pytest.raises(NormalisedFrame, match=re.escape(f"flat_1.fits: {LINE}")):
        stack_flat(settings, unit)


@pytest.mark.parametrize("saver", [pixinsight, siril], ids=["pixinsight", "siril"])
def test_a_normalised_light_fails_its_unit_with_adu_masters(settings: Settings, saver: Any) -> None:
    url = write_night(settings.batches_dir / "li", night(writers(camera_uint16, light=saver)))
    outcomes = run_chain(settings, url, ALL_STEPS)
    assert all(o["ok"] for step in ALL_STEPS[:4] for o in outcomes[step]), outcomes
    (error,) = failed(outcomes, "light")
    assert error == f"NormalisedFrame: light_0.fits: {LINE}"
    assert not (settings.products_dir / "li" / "calibrated").exists()


def test_normalised_frames_with_overscan_are_refused_as_read(settings: Settings) -> None:
    """Frames cut by their sections (read as planes, not handed on as a path) are
    checked on the planes read: the biases' unit and the light's fail."""
    chosen = writers(with_overscan(camera_uint16), bias=with_overscan(siril),
                     light=with_overscan(pixinsight))  # fmt: skip
    url = write_night(settings.batches_dir / "os", night(chosen))
    outcomes = run_chain(settings, url, ALL_STEPS)
    assert failed(outcomes, "bias") == [f"NormalisedFrame: bias_0.fits: {LINE}"]
    assert failed(outcomes, "light") == [f"NormalisedFrame: light_0.fits: {LINE}"]


@pytest.mark.parametrize("saver", [camera_uint16, maxim_float], ids=["uint16", "maxim-float"])
def test_frames_in_adu_calibrate_as_before(settings: Settings, saver: Any) -> None:
    """Integer frames (BZERO 32768) and float frames holding ADU go through every step;
    the light comes out at its sky level over a flat normalised to 1."""
    url = write_night(settings.batches_dir / "adu", night(writers(saver)))
    outcomes = run_chain(settings, url, ALL_STEPS)
    assert all(o["ok"] for step in ALL_STEPS for o in outcomes[step]), outcomes
    (light,) = outcomes["light"]
    data = fits.getdata(settings.products_dir / light["outputs"]["path"])
    assert abs(float(np.median(data)) - SKY_ADU) < 5.0


def test_float_frames_of_adu_at_or_below_one_somewhere_pass(tmp_path: Path) -> None:
    """A float frame is normalised only when every finite pixel lies within [0, 1]: one
    pixel above 1 (or below 0) is ADU; NaN and infinity are not counted."""
    values = np.full(SHAPE, 0.5, np.float32)
    values[0, 0] = np.nan
    values[0, 1] = np.inf
    path = write(tmp_path / "n.fits", [primary(values)])
    with pytest.raises(NormalisedFrame):
        refuse_normalised(path)
    values[1, 1] = 1.5
    refuse_normalised(write(tmp_path / "a.fits", [primary(values)]))
    values[1, 1] = -0.01
    refuse_normalised(write(tmp_path / "b.fits", [primary(values)]))
    ints = (np.full(SHAPE, 1)).astype(np.int16)
    refuse_normalised(write(tmp_path / "i.fits", [primary(ints)]))


def test_the_check_of_a_4096_square_float_frame_is_cheap(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    adu = rng.normal(1000, 5, (4096, 4096)).astype(np.float32)
    path = write(tmp_path / "big.fits", [primary(adu)])
    refuse_normalised(path)  # the file in the page cache, as a unit finds it
    start = time.perf_counter()
    refuse_normalised(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed


@pytest.fixture
def whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The planes each whole read of the check asked for (the reads still happen)."""
    from observatory.processor import normalised

    reads: list[list[int]] = []
    read = normalised.read_plane_values

    def counted(path: Path, planes: Any) -> dict[int, np.ndarray]:
        reads.append(list(planes))
        return read(path, planes)

    monkeypatch.setattr(normalised, "read_plane_values", counted)
    return reads


def test_a_float_frame_in_adu_is_settled_by_its_first_rows(
    tmp_path: Path, whole_reads: list[list[int]]
) -> None:
    """MaxIm's float ADU frame is not read whole for the check (the calibration reads it
    once, not twice), in a plain file as in a tile-compressed extension."""
    adu = np.full((64, 48), BIAS_ADU, np.float32)
    refuse_normalised(write(tmp_path / "maxim.fits", [primary(adu)]))
    compressed = fits.CompImageHDU(adu, compression_type="RICE_1", quantize_level=16)
    refuse_normalised(write(tmp_path / "packed.fits", [fits.PrimaryHDU(), compressed]), [1])
    assert whole_reads == []


def test_a_float_frame_within_unit_at_the_top_is_read_whole(
    tmp_path: Path, whole_reads: list[list[int]]
) -> None:
    """First rows within [0, 1] settle nothing: the whole plane decides, both ways."""
    values = np.full((64, 48), 0.25, np.float32)
    values[-1, -1] = 900.0  # ADU after all: a dark frame's hot pixel at the bottom
    refuse_normalised(write(tmp_path / "adu.fits", [primary(values)]))
    values[-1, -1] = 0.5
    with pytest.raises(NormalisedFrame, match=re.escape(LINE)):
        refuse_normalised(write(tmp_path / "norm.fits", [primary(values)]))
    assert whole_reads == [[0], [0]]
