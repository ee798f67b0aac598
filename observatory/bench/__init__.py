"""Benchmarks: ``python -m observatory.bench`` (also ``observatory bench``, ``make bench``)
measures the calibration maths against the time to read the frames and against ccdproc."""

from observatory.bench.calibration import main, run_calibration_benchmark

__all__ = ["main", "run_calibration_benchmark"]
