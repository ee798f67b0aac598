"""Which queue and which task serve each request.

Task names follow ``observatory.<queue>.<verb>``; the Celery side routes by that prefix.
"""

from __future__ import annotations

from typing import NamedTuple


class Route(NamedTuple):
    queue: str
    task_name: str


QUEUES = ("dome", "telescope", "processor")

ROUTES: dict[str, Route] = {
    "dome_status": Route("dome", "observatory.dome.status"),
    "dome_open": Route("dome", "observatory.dome.open"),
    "dome_close": Route("dome", "observatory.dome.close"),
    "dome_park": Route("dome", "observatory.dome.park"),
    "dome_set_azimuth": Route("dome", "observatory.dome.set_azimuth"),
    "dome_goto": Route("dome", "observatory.dome.goto"),
    "observation": Route("telescope", "observatory.telescope.observe"),
    "calibration_frames": Route("telescope", "observatory.telescope.calibration_frames"),
    "autofocus": Route("telescope", "observatory.telescope.autofocus"),
    "calibrate_file_batch": Route("processor", "observatory.processor.calibrate_file_batch"),
    "resume_file_batch": Route("processor", "observatory.processor.resume_file_batch"),
    "restart_file_batch": Route("processor", "observatory.processor.restart_file_batch"),
}


def route_for(request: str) -> Route:
    """The route of a request name; KeyError names unknown requests."""
    try:
        return ROUTES[request]
    except KeyError:
        raise KeyError(f"no queue serves request {request!r}") from None
