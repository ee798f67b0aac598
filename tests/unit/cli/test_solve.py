"""``observatory solve``: per-file results, JSON shape, and unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory.bench.skyframes import SkyFrame
from observatory.cli.main import main as cli_main
from observatory.simulator.sky.projection import angular_separation_deg
from tests.unit.platesolve.conftest import require_engine, sky_frame, sky_frame_file

__all__ = ["sky_frame", "sky_frame_file"]  # fixtures
KEYS = {"file", "solved", "ra_deg", "dec_deg", "scale_arcsec", "seconds", "solver", "matched_stars"}


def test_json_lists_one_result_per_file_with_the_documented_keys(
    sky_frame: SkyFrame, sky_frame_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_engine()
    not_fits = tmp_path / "notes.fits"
    not_fits.write_text("not a frame\n")
    code = cli_main(["solve", "--json", str(sky_frame_file), str(not_fits)])
    results = json.loads(capsys.readouterr().out)
    assert code == 1  # one solved, one unreadable
    solved, unreadable = results
    assert set(solved) == KEYS and solved["solved"] is True and solved["solver"] == "engine"
    assert solved["file"] == str(sky_frame_file)
    error_deg = angular_separation_deg(
        solved["ra_deg"], solved["dec_deg"], *sky_frame.true_centre_deg
    )
    assert error_deg * 3600 < 0.5
    assert solved["scale_arcsec"] == pytest.approx(sky_frame.scale_arcsec, rel=1e-3)
    assert 0 < solved["seconds"] < 30
    assert set(unreadable) == KEYS | {"error"} and unreadable["solved"] is False
    assert unreadable["error"].startswith("not a readable FITS file")


def test_when_no_file_can_be_read_each_gets_one_line_and_the_exit_is_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing, empty = tmp_path / "missing.fits", tmp_path / "empty.fits"
    empty.write_bytes(b"")
    code = cli_main(["solve", str(missing), str(empty)])
    out, err = capsys.readouterr()
    assert code == 2 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2 and "Traceback" not in out
    assert lines[0].startswith(f"{missing}: not a readable FITS file")
    assert lines[1].startswith(f"{empty}: ")
