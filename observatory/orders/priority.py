"""Priority on receipt: a float from 0 (least urgent) to 10 (most urgent).

A priority given by the submitter is kept. Otherwise the request decides: commands that
protect the equipment (closing, parking) come first, then direct dome commands, then
observations, calibration frames and batch processing.
"""

from __future__ import annotations

from observatory.orders.models import WorkOrderBase

DEFAULT_PRIORITY: dict[str, float] = {
    "dome_close": 10.0,
    "dome_park": 9.5,
    "dome_status": 8.0,
    "dome_open": 7.0,
    "dome_set_azimuth": 7.0,
    "dome_goto": 7.0,
    "observation": 5.0,
    "calibration_frames": 4.0,
    "calibrate_file_batch": 3.0,
    "resume_file_batch": 3.0,
    "restart_file_batch": 3.0,
}


def assign_priority(order: WorkOrderBase) -> float:
    """The priority this order runs with (0-10, 10 most urgent)."""
    if order.priority is not None:
        return order.priority
    return DEFAULT_PRIORITY[order.request]
