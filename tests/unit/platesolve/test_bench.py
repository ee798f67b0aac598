"""The plate-solving benchmark runs both solvers on the same simulator frame."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from observatory.bench.astrometry import format_table, run_astrometry_benchmark
from tests.unit.platesolve.conftest import require_engine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning"),
    pytest.mark.skipif(shutil.which("solve-field") is None, reason="solve-field is absent"),
]


def test_one_field_is_measured_by_both_solvers(tmp_path: Path) -> None:
    require_engine()
    results = run_astrometry_benchmark(fields=1, repeats=1, workdir=tmp_path, cameras=("1024",))
    (frame,) = results["cameras"]["1024"]["frames"]
    assert frame["engine_solved"] and frame["solve_field_solved"]
    assert frame["engine_error_arcsec"] < 0.5 and frame["solve_field_error_arcsec"] < 2.0
    assert frame["floor_s"] > 0 and 0 < frame["engine_s"] < frame["solve_field_s"]
    ratios = results["ratios"]
    assert ratios["all_solved_1024"] is True and ratios["speedup_vs_solve_field_1024"] > 1
    assert '1024x1024 at 7"/px' in format_table(results)
    assert list(tmp_path.iterdir()) == []  # the frames were removed
