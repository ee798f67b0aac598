"""Calibration maths: pure functions on FITS paths, arrays and CCDData-like frames.

One module per concept: ``stacking`` (combine frames), ``bias``, ``dark``, ``flat``,
``light``, ``products`` (master frames, provenance headers, atomic FITS writing),
``statistics``. Nothing here touches the database or the task queue; functions read
their input frames and return new objects, and only ``write_product`` writes files.
"""

from observatory.calibration.bias import make_master_bias
from observatory.calibration.clipping import SigmaClip
from observatory.calibration.dark import dark_scale, make_master_dark
from observatory.calibration.flat import central_region, correct_flat, make_master_flat
from observatory.calibration.light import CORRECTIONS, Corrections, calibrate_light
from observatory.calibration.overscan import PreparedFrame
from observatory.calibration.products import (
    CalibratedFrame,
    MasterFrame,
    read_master_frame,
    write_product,
)
from observatory.calibration.stacking import combine_frames, tile_rows_for_budget
from observatory.calibration.statistics import FrameStatistics, frame_statistics

__all__ = [
    "CORRECTIONS",
    "CalibratedFrame",
    "Corrections",
    "FrameStatistics",
    "MasterFrame",
    "PreparedFrame",
    "SigmaClip",
    "calibrate_light",
    "central_region",
    "combine_frames",
    "correct_flat",
    "dark_scale",
    "frame_statistics",
    "make_master_bias",
    "make_master_dark",
    "make_master_flat",
    "read_master_frame",
    "tile_rows_for_budget",
    "write_product",
]
