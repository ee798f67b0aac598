"""Tasks of the ``dome`` queue: the original design's dome API as work orders.

Each takes the pk of a stored work order (or, from a foreign publisher, ``order=`` the
work order itself), runs one recorded step and returns the step's outputs: whether the
dome arrived, and its status afterwards.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Task, shared_task

from observatory import dome_api
from observatory.devices.dome import DomeAdapter
from observatory.orders.lifecycle import Claim
from observatory.settings import get_settings
from observatory.supervisor.permit import require_opening_allowed
from observatory.telescope.heartbeat import require_dome_not_slaved
from tasks.common import run_work_order


@cache
def _dome() -> DomeAdapter:
    # One adapter (one connection) per worker process, made on first use.
    return DomeAdapter(get_settings().devices)


def _arrive(command: Any) -> dict[str, Any]:
    arrived = command()
    return {"arrived": arrived, "status": dome_api.dome_status(_dome())}


def _turn(command: Any) -> dict[str, Any]:
    """``_arrive`` for a command that turns the dome: refused (DomeSlaved) while a
    telescope order keeps the slit on the mount, before anything is sent."""
    require_dome_not_slaved(get_settings())
    return _arrive(command)


@shared_task(bind=True, name="observatory.dome.status")
def status(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return run_work_order(
        self,
        "dome_status",
        lambda _: dome_api.dome_status(_dome()),
        work_order_pk,
        order,
        resume_attempt=resume_attempt,
    )


@shared_task(bind=True, name="observatory.dome.open")
def open_shutter(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return run_work_order(
        self, "open_dome", _open, work_order_pk, order, resume_attempt=resume_attempt
    )


def _open(_claim: Claim) -> dict[str, Any]:
    # The safety supervisor's verdict first: unsafe, unknown, hold-off or dawn refuse with
    # UnsafeConditions before anything is sent to the dome.
    require_opening_allowed(get_settings())
    return _arrive(lambda: dome_api.open_dome(_dome()))


@shared_task(bind=True, name="observatory.dome.close")
def close_shutter(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return run_work_order(
        self,
        "close_dome",
        lambda _: _arrive(lambda: dome_api.close_dome(_dome())),
        work_order_pk,
        order,
        resume_attempt=resume_attempt,
    )


@shared_task(bind=True, name="observatory.dome.park")
def park(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return run_work_order(
        self,
        "park_dome",
        lambda _: _turn(lambda: dome_api.park_dome(_dome())),
        work_order_pk,
        order,
        resume_attempt=resume_attempt,
    )


def _set_azimuth(claim: Claim) -> dict[str, Any]:
    return _turn(lambda: dome_api.set_azimuth(claim.payload["azimuth_deg"], _dome()))


@shared_task(bind=True, name="observatory.dome.set_azimuth")
def set_azimuth(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return run_work_order(
        self, "set_azimuth", _set_azimuth, work_order_pk, order, resume_attempt=resume_attempt
    )


def _goto(claim: Claim) -> dict[str, Any]:
    payload = claim.payload
    return _turn(
        lambda: dome_api.goto_alt_az(payload["altitude_deg"], payload["azimuth_deg"], _dome())
    )


@shared_task(bind=True, name="observatory.dome.goto")
def goto(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return run_work_order(
        self, "goto_alt_az", _goto, work_order_pk, order, resume_attempt=resume_attempt
    )
