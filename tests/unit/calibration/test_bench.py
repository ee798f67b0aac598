"""The calibration benchmark runs end to end on tiny frames."""

import json

import pytest

from observatory.bench.calibration import format_table, main, run_calibration_benchmark


@pytest.mark.slow  # every suite figure, compiled kernels included (7 s)
def test_benchmark_reports_every_figure(tmp_path):
    results = run_calibration_benchmark(frame_count=3, size=48, workdir=tmp_path, repeats=1)
    assert results["ccdproc_equal"] is True
    for key in ("median_vs_read", "sigma_clip_vs_read", "ccdproc_vs_median", "light_s",
                "light_overscan_s", "statistics_numpy_vs_ours", "checksums_astropy_vs_ours",
                "screening_astropy_vs_ours"):  # fmt: skip
        assert results["ratios"][key] > 0
    assert 50 < results["peak_memory"]["process_peak_mib"] < 2048
    assert "ccdproc.combine median" in format_table(results)
    assert "overscan + trim + calibrate one light" in format_table(results)
    assert "median and MAD by np.median" in format_table(results)
    assert "by astropy (checksum=True)" in format_table(results)
    assert "by astropy's sigma_clipped_stats" in format_table(results)
    assert list(tmp_path.iterdir()) == []  # the frames were removed


def test_main_writes_the_json(tmp_path, capsys):
    target = tmp_path / "figures.json"
    arguments = ["--frames", "3", "--size", "32", "--repeats", "1", "--no-ccdproc"]
    assert main([*arguments, "--workdir", str(tmp_path), "--json", str(target)]) == 0
    figures = json.loads(target.read_text())
    assert figures["frames"] == 3 and "ccdproc_median" not in figures["seconds"]
    assert "median combine (numba)" in capsys.readouterr().out
