"""The processor's products against the simulator's ground truth."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ccdproc
import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, Exposure, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.platesolve.frame import engine_usable
from observatory.settings import Settings
from observatory.simulator.sky.projection import angular_separation_deg
from tests.unit.processor.conftest import (
    BINNING,
    BINNING_AREA,
    DARK_S,
    Night,
    batch_url,
    full_batch,
    make_settings,
    run_chain,
)

pytestmark = pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")


@dataclass
class Processed:
    settings: Settings
    outcomes: dict[str, list[dict[str, Any]]]
    masters: dict[str, MasterFrame]
    calibrated: dict[str, CalibratedFrame]

    def data(self, relative: str) -> np.ndarray:
        return np.asarray(fits.getdata(self.settings.products_dir / relative), dtype=np.float64)


@pytest.fixture(scope="module")
def processed(
    night: Night, tmp_path_factory: pytest.TempPathFactory, _sqlite_migrated_file: Path
) -> Iterator[Processed]:
    if shutil.which("solve-field") is None:
        pytest.skip("astrometry.net (solve-field) is not installed")
    settings = make_settings(tmp_path_factory.mktemp("chain"), _sqlite_migrated_file)
    outcomes = run_chain(settings, batch_url(settings, "20261123-observation-1", full_batch(night)))
    with session_scope(settings.sqlalchemy_url) as session:
        masters = {m.kind.value: m for m in session.scalars(select(MasterFrame))}
        calibrated = {
            e.path: e.calibrated_frame
            for e in session.scalars(select(Exposure))
            if e.calibrated_frame is not None
        }
    yield Processed(settings, outcomes, masters, calibrated)
    dispose_engines(settings.sqlalchemy_url)


def test_every_unit_of_every_step_succeeds(processed: Processed) -> None:
    failures = [o for units in processed.outcomes.values() for o in units if not o["ok"]]
    assert failures == []
    assert {step: len(units) for step, units in processed.outcomes.items()} == {
        "bias": 1, "dark": 1, "flat_dark": 1, "flat": 1, "light": 3, "astrometry": 3,
    }  # fmt: skip
    assert set(processed.masters) == {"bias", "dark", "flat"}


def test_median_master_bias_is_ccdproc_combine(processed: Processed, night: Night) -> None:
    bias = processed.masters["bias"]
    folder = processed.settings.batches_dir / "20261123-observation-1"
    with session_scope(processed.settings.sqlalchemy_url) as session:
        inputs = [folder / session.get_one(Exposure, pk).path for pk in bias.inputs]
    reference = ccdproc.combine([str(p) for p in inputs], method="median", unit="adu")
    ours = fits.getdata(processed.settings.products_dir / bias.path)
    assert bias.method == "median" and len(inputs) == 5
    assert np.array_equal(ours, reference.data.astype(np.float32))


def test_master_bias_noise_falls_as_read_noise_over_sqrt_n(
    night: Night, tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    # Two masters of five different frames each: their difference holds only noise.
    masters = []
    for half in (0, 1):
        settings = make_settings(tmp_path / str(half), _sqlite_migrated_file, combine_method="mean")
        frames = night.bias[5 * half : 5 * half + 5]
        run_chain(settings, batch_url(settings, f"20261123-bias-{half}", frames), ("bias",))
        with session_scope(settings.sqlalchemy_url) as session:
            (row,) = session.scalars(select(MasterFrame))
            masters.append(fits.getdata(settings.products_dir / row.path).astype(np.float64))
        dispose_engines(settings.sqlalchemy_url)
    noise_adu = np.std(masters[0] - masters[1]) / np.sqrt(2)
    truth = night.truth
    expected_adu = truth["read_noise_e"] / truth["gain_e_per_adu"] / np.sqrt(5)
    assert noise_adu == pytest.approx(expected_adu, rel=0.05)


def test_master_dark_current_per_second_matches_truth(processed: Processed, night: Night) -> None:
    dark = processed.masters["dark"]
    assert dark.exptime_s == DARK_S and dark.filter is None
    truth = night.darks[0].truth
    per_pixel_e = np.median(processed.data(dark.path)) * truth["gain_e_per_adu"] / BINNING_AREA
    expected = truth["last_exposure"]["dark_current_e_per_s"]
    assert per_pixel_e / DARK_S == pytest.approx(expected, rel=0.1)


def _blocks(image_yx: np.ndarray, block: int) -> np.ndarray:
    xy = image_yx.T
    nx, ny = xy.shape[0] // block, xy.shape[1] // block
    return xy[: nx * block, : ny * block].reshape(nx, block, ny, block).mean(axis=(1, 3))


def test_master_flat_matches_the_simulated_flat_response(
    processed: Processed, night: Night
) -> None:
    flat = processed.masters["flat"]
    assert flat.filter == "R"
    truth_blocks = np.asarray(night.truth["flat_response_blocks"])
    ours = _blocks(processed.data(flat.path), 64 // int(np.sqrt(BINNING_AREA)))
    assert ours.shape == truth_blocks.shape
    ratio = ours / truth_blocks
    ratio /= np.median(ratio)
    assert truth_blocks.max() / truth_blocks.min() > 1.05  # a flat with structure to find
    assert np.abs(ratio - 1).max() < 0.01


def test_calibrated_panel_light_is_flat_to_the_expected_noise(
    processed: Processed, night: Night
) -> None:
    frame = processed.calibrated["light_R_1s_0016.fits"]
    data = processed.data(frame.path)
    level_adu = np.median(data)
    gain = night.truth["gain_e_per_adu"]
    read_adu = night.truth["read_noise_e"] / gain
    light_adu = np.sqrt(level_adu / gain + read_adu**2)
    # The master flat (median of 5 flats as bright as this frame) adds its own noise:
    # a median of 5 has 1.43 times the variance of their mean.
    expected_adu = light_adu * np.sqrt(1 + 1.43 / 5)
    robust_std = 1.4826 * np.median(np.abs(data - level_adu))
    assert robust_std == pytest.approx(expected_adu, rel=0.1)
    blocks = _blocks(data, 16)
    raw_blocks = _blocks(night.panel_light.data.astype(np.float64), 16)
    assert np.std(raw_blocks) / np.median(raw_blocks) > 0.02  # the raw frame was not flat
    assert np.std(blocks) / np.median(blocks) < 0.003


def test_solved_centre_is_the_true_pointing(processed: Processed, night: Night) -> None:
    for seq, light in enumerate(night.lights, start=17):
        frame = processed.calibrated[f"light_R_10s_{seq:04d}.fits"]
        mount = light.truth["mount"]
        assert frame.wcs_status == "solved"
        assert frame.ra_center_deg is not None and frame.dec_center_deg is not None
        error_arcsec = 3600 * angular_separation_deg(
            frame.ra_center_deg, frame.dec_center_deg, mount["true_ra_deg"], mount["true_dec_deg"]
        )
        assert error_arcsec < 2.0
        assert frame.pixel_scale_arcsec == pytest.approx(
            light.truth["pixel_scale_arcsec"] * BINNING, rel=0.01
        )
        header = fits.getheader(processed.settings.products_dir / frame.path)
        assert header["WCSSTAT"] == "solved" and header["CTYPE1"].startswith("RA---TAN")
        # The engine in process where it can run here, else solve-field.
        solver = "engine" if engine_usable(processed.settings) else "solve-field"
        assert frame.plate_solver == header["SOLVER"] == solver
        assert frame.matched_stars is not None and frame.matched_stars >= 10
        assert header["BIASFILE"] == processed.masters["bias"].path
        assert header["FLATFILE"] == processed.masters["flat"].path


def test_quality_is_the_rendered_psf_and_zero_point(processed: Processed, night: Night) -> None:
    """FWHM against the PSF the simulator rendered (its defocus included); the zero point
    (ours for 1 ADU/s, the simulator's for 1 e-/s, hence its gain) where the engine's
    catalogue matches give one."""
    for seq, light in enumerate(night.lights, start=17):
        frame = processed.calibrated[f"light_R_10s_{seq:04d}.fits"]
        header = fits.getheader(processed.settings.products_dir / frame.path)
        quality, rendered = frame.quality, light.truth["last_exposure"]
        assert quality is not None and frame.quality_flags == []
        assert quality["fwhm_px"] == pytest.approx(rendered["psf_fwhm_px"] / BINNING, rel=0.1)
        assert header["FWHM"] == quality["fwhm_arcsec"] and header["QFLAGS"] == "none"
        assert quality["airmass"] is not None and 1.0 <= quality["airmass"] < 3.0
        if frame.plate_solver != "engine":
            assert quality["zero_point_mag"] is None
            continue
        gain_mag = 2.5 * np.log10(light.truth["gain_e_per_adu"])
        assert quality["zero_point_mag"] + gain_mag == pytest.approx(
            light.truth["filter_model"]["zero_point_mag"], abs=0.05
        )
        assert quality["zero_point_stars"] >= 10 and header["MAGZPN"] == quality["zero_point_stars"]


def test_masters_carry_their_provenance(processed: Processed) -> None:
    header = fits.getheader(processed.settings.products_dir / processed.masters["flat"].path)
    assert header["IMAGETYP"] == "MASTER FLAT" and header["NCOMBINE"] == 5
    assert header["COMBMETH"] == "median" and header["PIPENAME"] == "observatory"
    assert header["IMCMB001"].startswith("flat_R_1s_")
    assert processed.masters["flat"].path.startswith("20261123-observation-1/")
