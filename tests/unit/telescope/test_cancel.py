"""A cancel request stops a running sequence: exposure aborted, mount stopped, the dome
closed again, and the frames already taken kept as a whole batch for the processor."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.devices.camera import CameraState
from observatory.devices.dome import ShutterState
from observatory.errors import DeviceError
from observatory.orders.cancel import cancel_pk
from observatory.settings import Settings
from observatory.telescope.calibration import take_calibration_frames
from observatory.telescope.observation import observe
from observatory.telescope.rig import TelescopeRig
from tests.helpers import wait_for
from tests.unit.telescope.conftest import claimed_order
from tests.unit.telescope.test_sequences import events, exposures, zenith
from tests.unit.test_intake import Broker

pytestmark = pytest.mark.timeout(120)


def in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["outputs"] = call()
        except Exception as error:  # noqa: BLE001 (handed to the test, which asserts on it)
            result["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.slow
def test_cancel_aborts_the_exposure_and_keeps_the_frames_taken(settings: Settings) -> None:
    rig = TelescopeRig.from_settings(settings)
    rig.mount.park()
    broker = Broker()
    # At the simulator's 50x, a 600 s exposure lasts 12 s: the cancel comes during it.
    plan = [
        {"filter": "R", "exposure_s": 1.0, "count": 1, "binning": 2},
        {"filter": "R", "exposure_s": 600.0, "count": 3, "binning": 2},
    ]
    claimed = claimed_order(
        settings, broker, "observation", exposures=plan, **zenith(rig, settings)
    )
    thread, result = in_thread(lambda: observe(settings, claimed, rig, broker))
    watcher = TelescopeRig.from_settings(settings)
    wait_for(
        lambda: (
            not thread.is_alive()
            or (
                len(exposures(settings)) == 1
                and watcher.camera.exposure_status().state is CameraState.EXPOSING
            )
        ),
        timeout=60,
    )
    assert thread.is_alive(), result
    cancelled_at = time.monotonic()
    cancel_pk(settings, claimed.pk, by="night operator", reason="wind rising")
    thread.join(30)
    assert not thread.is_alive()
    stopped_s = time.monotonic() - cancelled_at
    assert "error" not in result, result.get("error")
    outputs = result["outputs"]
    assert outputs["cancelled"] == "cancelled by night operator: wind rising"
    # Seen within a second, aborted at once; the dome's closing takes the rest.
    assert stopped_s < 10.0
    assert watcher.camera.exposure_status().state is CameraState.IDLE
    assert watcher.dome.status().shutter is ShutterState.CLOSED
    assert watcher.mount.status().tracking is False

    manifest = json.loads((Path(outputs["folder"]) / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["cancelled"] == outputs["cancelled"]
    on_disk = sorted(p.name for p in Path(outputs["folder"]).glob("*.fits"))
    assert [f["path"] for f in manifest["files"]] == on_disk == ["light_R_1s_0001.fits"]
    assert ("camera", "exposure_aborted") in events(settings, claimed.pk)
    with session_scope(settings.sqlalchemy_url) as session:
        child = session.scalar(select(WorkOrder).where(WorkOrder.parent_pk == claimed.pk))
        assert child is not None and child.request == "calibrate_file_batch"
        assert child.pk == outputs["calibration_order_pk"]
    assert [sent["pk"] for sent in broker.sent][-1] == child.pk


def test_cancel_before_the_first_frame_submits_nothing(settings: Settings) -> None:
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    darks = [{"exposure_s": 600.0, "count": 2}]
    claimed = claimed_order(settings, broker, "calibration_frames", bias_count=0, darks=darks)
    thread, result = in_thread(lambda: take_calibration_frames(settings, claimed, rig, broker))
    watcher = TelescopeRig.from_settings(settings)
    wait_for(
        lambda: (
            not thread.is_alive() or watcher.camera.exposure_status().state is CameraState.EXPOSING
        ),
        timeout=60,
    )
    assert thread.is_alive(), result
    cancel_pk(settings, claimed.pk, by="ops")
    thread.join(30)
    outputs = result["outputs"]
    assert outputs["cancelled"] == "cancelled by ops" and outputs["files"] == 0
    assert outputs["calibration_order_pk"] is None
    assert watcher.camera.exposure_status().state is CameraState.IDLE


def test_a_cancel_during_a_slew_stops_waiting_and_the_mount_is_stopped(
    settings: Settings,
) -> None:
    mount = TelescopeRig.from_settings(settings).mount
    mount.park()
    mount.unpark()
    mount.set_tracking(True)
    # Four hours west on the equator, far from the park position: the slew is still under
    # way at the first poll.
    target_ra_deg = (mount.sidereal_time_hours() * 15.0 - 60.0) % 360.0
    with pytest.raises(DeviceError, match="cancelled by ops"):
        mount.slew_to_radec(target_ra_deg, 0.0, stop=lambda: "cancelled by ops")
    assert mount.status().slewing
    assert not mount.abort().slewing
    mount.park()
