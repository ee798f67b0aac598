"""The observation and calibration-frame sequences against the simulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import DeviceEvent, Exposure, FileBatch, Heartbeat, WorkOrder
from observatory.db.session import session_scope
from observatory.devices.camera import CameraAdapter, Frame, Stop
from observatory.devices.dome import ShutterState
from observatory.errors import InvalidTarget, StorageFull, UnsafeConditions
from observatory.settings import Settings, SupervisorSettings
from observatory.telescope.calibration import take_calibration_frames
from observatory.telescope.observation import observe
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import SequenceInterrupted
from observatory.telescope.targets import TargetNotObservable
from tests.helpers import small_disk
from tests.unit.telescope.conftest import claimed_order, set_safe
from tests.unit.test_intake import Broker

pytestmark = pytest.mark.timeout(120)


def zenith(rig: TelescopeRig, settings: Settings) -> dict[str, float]:
    """A target near the zenith now (right ascension = sidereal time)."""
    return {"ra": rig.mount.sidereal_time_hours() * 15.0, "dec": settings.site.latitude_deg - 5}


def events(settings: Settings, pk: int) -> list[tuple[str, str]]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(
            select(DeviceEvent).where(DeviceEvent.work_order_pk == pk).order_by(DeviceEvent.pk)
        )
        return [(e.device, e.event) for e in rows]


def exposures(settings: Settings) -> list[Exposure]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = list(session.scalars(select(Exposure).order_by(Exposure.pk)))
        session.expunge_all()
        return rows


def test_observation_writes_lights_and_submits_the_calibration(settings: Settings) -> None:
    rig = TelescopeRig.from_settings(settings)
    rig.mount.park()
    broker = Broker()
    plan = [
        {"filter": "R", "exposure_s": 2.0, "count": 2, "binning": 2},
        {"filter": "b", "exposure_s": 1.0, "count": 1, "binning": 2},
    ]
    target = zenith(rig, settings)
    claimed = claimed_order(settings, broker, "observation", exposures=plan, **target)
    outputs = observe(settings, claimed, rig, broker)

    folder = Path(outputs["folder"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert [f["path"] for f in manifest["files"]] == [
        "light_R_2s_0001.fits",
        "light_R_2s_0002.fits",
        "light_B_1s_0003.fits",
    ]
    with fits.open(folder / "light_B_1s_0003.fits", checksum=True) as hdul:
        header, data = hdul[0].header, hdul[0].data
    assert data.shape == (128, 128) and data.dtype.name == "uint16"
    assert header["FILTER"] == "B" and header["IMAGETYP"] == "Light Frame"
    assert abs(header["RA"] - claimed.payload["ra"]) < 0.2
    assert header["FOCALLEN"] == pytest.approx(530.0) and header["XPIXSZ"] == 18.0
    rows = exposures(settings)
    assert [(r.filter, r.binning, r.naxis1) for r in rows] == [("R", 2, 128)] * 2 + [("B", 2, 128)]

    # Devices are left as found: dome closed again, mount parked again.
    assert rig.dome.status().shutter is ShutterState.CLOSED
    assert rig.mount.status().at_park
    timeline = events(settings, claimed.pk)
    for expected in [
        ("dome", "shutter_opened"),
        ("mount", "slew_started"),
        ("mount", "slew_ended"),
        ("camera", "exposure_started"),
        ("camera", "exposure_ended"),
        ("dome", "shutter_closed"),
    ]:
        assert expected in timeline
    assert timeline.index(("dome", "shutter_opened")) < timeline.index(("mount", "slew_ended"))
    assert timeline.count(("camera", "exposure_ended")) == 3

    with session_scope(settings.sqlalchemy_url) as session:
        child = session.get_one(WorkOrder, outputs["calibration_order_pk"])
        assert child.parent_pk == claimed.pk and child.request == "calibrate_file_batch"
        assert child.payload["url"] == str(folder) and child.user == "telescope"
        assert child.order_id == f"calibrate-{outputs['batch']}"
        beat = session.get_one(Heartbeat, "telescope-worker")
        assert beat.details["phase"] == "idle"
    assert broker.sent[-1]["task"] == "observatory.processor.calibrate_file_batch"


def test_calibration_frames_take_bias_dark_and_levelled_flats(settings: Settings) -> None:
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    claimed = claimed_order(
        settings,
        broker,
        "calibration_frames",
        bias_count=2,
        darks=[{"exposure_s": 3.0, "count": 1}],
        flats=[{"filter": "R", "count": 2, "target_adu": 20000.0}],
        binning=2,
    )
    outputs = take_calibration_frames(settings, claimed, rig, broker)
    rows = exposures(settings)
    assert [(r.imagetyp, r.filter, r.binning) for r in rows] == [
        ("bias", None, 2),
        ("bias", None, 2),
        ("dark", None, 2),
        ("flat", "R", 2),
        ("flat", "R", 2),
    ]
    assert rows[2].exptime_s == 3.0
    flat_s = outputs["flat_exposures_s"]["R"]
    limits = settings.telescope
    assert limits.flat_min_exposure_s <= flat_s <= limits.flat_max_exposure_s
    folder = Path(outputs["folder"])
    with fits.open(folder / rows[3].path) as hdul:
        level = float(hdul[0].data.mean())
        assert hdul[0].header["IMAGETYP"] == "Flat Field" and hdul[0].header["EXPTIME"] == flat_s
    assert abs(level - 20000.0) < 0.15 * 20000.0
    with fits.open(folder / rows[2].path) as hdul:
        assert hdul[0].header["IMAGETYP"] == "Dark Frame" and "FILTER" not in hdul[0].header
    status = rig.panel.status()
    assert (status.cover.name, status.lamp.name) == ("OPEN", "OFF")
    assert ("covercalibrator", "lamp_on") in events(settings, claimed.pk)


class UnsafeAfterFirstFrame(CameraAdapter):
    """The real camera; the weather turns unsafe once the first frame is read out."""

    def __init__(self, address: str, *args: Any) -> None:
        super().__init__(*args)
        self.address = address

    def expose(
        self, exposure_s: float, light: bool, binning: int = 1, stop: Stop | None = None
    ) -> Frame:
        frame = super().expose(exposure_s, light, binning, stop)
        set_safe(self.address, False)
        return frame


def test_unsafe_mid_observation_keeps_the_frame_and_closes_the_dome(
    settings: Settings, simulator
) -> None:
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    rig.camera = UnsafeAfterFirstFrame(simulator.address, settings.devices, settings.telescope)
    broker = Broker()
    plan = [{"filter": "L", "exposure_s": 1.0, "count": 3, "binning": 4}]
    target = zenith(rig, settings)
    claimed = claimed_order(settings, broker, "observation", exposures=plan, **target)
    with pytest.raises(SequenceInterrupted) as caught:
        observe(settings, claimed, rig, broker)
    assert isinstance(caught.value.__cause__, UnsafeConditions)
    assert caught.value.frames_written == 1
    assert rig.dome.status().shutter is ShutterState.CLOSED
    with session_scope(settings.sqlalchemy_url) as session:
        batch = session.scalars(select(FileBatch)).one()
        assert batch.state == "failed"
        assert batch.manifest is not None and batch.manifest["complete"] is False
        assert "UnsafeConditions" in batch.manifest["interrupted"]
        assert [f["path"] for f in batch.manifest["files"]] == ["light_L_1s_0001.fits"]
        children = session.scalars(select(WorkOrder).where(WorkOrder.parent_pk == claimed.pk))
        assert list(children) == []
    manifest = json.loads((Path(batch.path) / "manifest.json").read_text())
    assert manifest["complete"] is False
    timeline = events(settings, claimed.pk)
    assert ("safetymonitor", "unsafe") in timeline and ("dome", "shutter_closed") in timeline


def test_unsafe_before_start_takes_nothing_and_leaves_the_dome_closed(
    settings: Settings, simulator
) -> None:
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    plan = [{"filter": "L", "exposure_s": 1.0}]
    target = zenith(rig, settings)
    claimed = claimed_order(settings, broker, "observation", exposures=plan, **target)
    set_safe(simulator.address, False)
    with pytest.raises(SequenceInterrupted) as caught:
        observe(settings, claimed, rig, broker)
    assert caught.value.frames_written == 0
    assert rig.dome.status().shutter is ShutterState.CLOSED
    assert ("dome", "shutter_opened") not in events(settings, claimed.pk)


def on_disk(settings: Settings, disk: Path, min_free_mib: float) -> Settings:
    """``settings`` writing their batches on ``disk``, keeping ``min_free_mib`` free."""
    telescope = settings.telescope.model_copy(update={"batches_dir": disk})
    return settings.model_copy(update={"telescope": telescope, "min_free_mib": min_free_mib})


def test_frames_stop_at_the_disk_reserve_and_the_batch_keeps_those_taken(
    settings: Settings, tmp_path: Path
) -> None:
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    plan = [{"filter": "L", "exposure_s": 1.0, "count": 4, "binning": 1}]
    # 1 MiB, 0.7 MiB of it kept: room for two frames of 256 x 256 (132 KiB each), not three.
    with small_disk(tmp_path / "disk", 1024) as disk:
        settings = on_disk(settings, disk, 0.7)
        claimed = claimed_order(settings, broker, "observation", exposures=plan,
                                **zenith(rig, settings))  # fmt: skip
        with pytest.raises(SequenceInterrupted) as caught:
            observe(settings, claimed, rig, broker)
        cause = caught.value.__cause__
        assert isinstance(cause, StorageFull), cause
        assert str(cause).startswith("frame 3 of batch ") and "min_free_mib (0.7 MiB)" in str(cause)
        assert caught.value.frames_written == 2
        manifest = json.loads((disk / caught.value.batch / "manifest.json").read_text())
        assert manifest["complete"] is False and len(manifest["files"]) == 2
    started = [e for e in events(settings, claimed.pk) if e == ("camera", "exposure_started")]
    assert len(started) == 2
    # Safe conditions: the interrupted order left the dome open; the module's simulator
    # serves the next test, which expects to find it closed.
    rig.dome.close_shutter()


def test_a_full_disk_starts_nothing(settings: Settings, tmp_path: Path) -> None:
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    plan = [{"filter": "L", "exposure_s": 1.0}]
    with small_disk(tmp_path / "disk", 1024) as disk:
        settings = on_disk(settings, disk, 2.0)
        claimed = claimed_order(settings, broker, "observation", exposures=plan,
                                **zenith(rig, settings))  # fmt: skip
        with pytest.raises(SequenceInterrupted, match="less than min_free_mib") as caught:
            observe(settings, claimed, rig, broker)
    assert isinstance(caught.value.__cause__, StorageFull)
    assert str(caught.value.__cause__).startswith(f"observation into batch {caught.value.batch}: ")
    assert caught.value.frames_written == 0
    assert rig.dome.status().shutter is ShutterState.CLOSED
    assert events(settings, claimed.pk) == []


def test_a_target_below_the_limit_is_refused(settings: Settings) -> None:
    # (A target given by name has its coordinates from the intake: tests/unit/orders.)
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    plan = [{"filter": "L", "exposure_s": 1.0}]
    here = zenith(rig, settings)
    # Opposite the zenith in right ascension and south: far below the horizon.
    below = {"ra": (here["ra"] + 180.0) % 360.0, "dec": -60.0}
    low = claimed_order(settings, broker, "observation", exposures=plan, **below)
    with pytest.raises(TargetNotObservable, match="below the limit"):
        observe(settings, low, rig, broker)
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(FileBatch)).all() == []


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"filter": "Luminance", "exposure_s": 1.0}, r"exposures\.1\.filter: filter 'Luminance'"),
        ({"filter": "R", "exposure_s": 1.0, "binning": 8}, r"exposures\.1\.binning: 8"),
    ],
)
def test_a_plan_the_devices_cannot_take_is_refused_before_anything_moves(
    settings: Settings, plan: dict[str, Any], message: str
) -> None:
    # The intake checks the settings' lists, which need not be this wheel's and camera's.
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    exposures = [{"filter": "R", "exposure_s": 1.0}, plan]
    target = zenith(rig, settings)
    claimed = claimed_order(settings, broker, "observation", exposures=exposures, **target)
    with pytest.raises(InvalidTarget, match=message):
        observe(settings, claimed, rig, broker)
    assert events(settings, claimed.pk) == []
    assert rig.dome.status().shutter is ShutterState.CLOSED
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(FileBatch)).all() == []


def _inject(address: str, device: Any, spec: dict[str, Any]) -> None:
    alpyca = device(address, 0)
    alpyca.Connected = True
    alpyca.Action("simulator:fault", json.dumps(spec))


def test_a_mount_without_focal_length_and_a_camera_without_temperature(
    settings: Settings, simulator
) -> None:
    # Both members are optional in ASCOM (0x400 not implemented): the frame is written
    # without FOCALLEN and CCD-TEMP instead of the observation failing.
    from alpaca.camera import Camera
    from alpaca.telescope import Telescope

    rig = TelescopeRig.from_settings(settings)
    not_implemented = {"kind": "error", "error_number": 0x400, "message": "not implemented"}
    _inject(simulator.address, Telescope, not_implemented | {"member": "focallength"})
    _inject(simulator.address, Camera, not_implemented | {"member": "ccdtemperature"})
    try:
        plan = [{"filter": "R", "exposure_s": 1.0, "binning": 4}]
        claimed = claimed_order(
            settings, Broker(), "observation", exposures=plan, **zenith(rig, settings)
        )
        outputs = observe(settings, claimed, rig, Broker())
    finally:
        _inject(simulator.address, Telescope, {"kind": "clear"})
        _inject(simulator.address, Camera, {"kind": "clear"})
    header = fits.getheader(Path(outputs["folder"]) / "light_R_1s_0001.fits")
    assert "FOCALLEN" not in header and "CCD-TEMP" not in header
    assert header["FILTER"] == "R" and header["XBINNING"] == 4


def test_opening_waits_for_the_supervisors_verdict(settings: Settings, simulator) -> None:
    # A supervisor is expected but has published nothing: unknown is unsafe.
    expected = settings.model_copy(update={"supervisor": SupervisorSettings(enabled=True)})
    rig = TelescopeRig.from_settings(expected)
    rig.dome.close_shutter()
    broker = Broker()
    target = zenith(rig, expected)
    plan = [{"filter": "L", "exposure_s": 1.0}]
    claimed = claimed_order(expected, broker, "observation", exposures=plan, **target)
    with pytest.raises(SequenceInterrupted, match="refused by the safety supervisor"):
        observe(expected, claimed, rig, broker)
    assert rig.dome.status().shutter is ShutterState.CLOSED
    assert ("dome", "open_requested") not in events(expected, claimed.pk)


def test_a_mount_without_altitude_and_azimuth_observes_and_the_dome_follows(
    settings: Settings, simulator
) -> None:
    # Both are optional in ASCOM: the dome follows the alt/az computed from the mount's
    # RA/Dec and sidereal time at the site.
    from alpaca.telescope import Telescope

    rig = TelescopeRig.from_settings(settings)
    rig.dome.slew_to_alt_az(0.0, 0.0)
    not_implemented = {"kind": "error", "error_number": 0x400, "message": "not implemented"}
    for member in ("altitude", "azimuth"):
        _inject(simulator.address, Telescope, not_implemented | {"member": member})
    try:
        # A target an hour west of the meridian, low in the south-west.
        target = zenith(rig, settings)
        target = {"ra": (target["ra"] - 15.0) % 360.0, "dec": 0.0}
        plan = [{"filter": "R", "exposure_s": 1.0, "binning": 4}]
        claimed = claimed_order(settings, Broker(), "observation", exposures=plan, **target)
        outputs = observe(settings, claimed, rig, Broker())
        mount = rig.mount.status()
    finally:
        _inject(simulator.address, Telescope, {"kind": "clear"})
    assert outputs["files"] == 1 and mount.azimuth_deg is None
    # The simulator's own azimuth of the target, now that it answers again.
    rig.mount.unpark()
    rig.mount.set_tracking(True)
    truth = rig.mount.slew_to_radec(target["ra"], target["dec"])
    rig.mount.park()
    assert truth.azimuth_deg is not None and 180.0 < truth.azimuth_deg < 270.0
    with session_scope(settings.sqlalchemy_url) as session:
        moved = session.scalars(
            select(DeviceEvent).where(
                DeviceEvent.work_order_pk == claimed.pk, DeviceEvent.event == "slit_moved"
            )
        ).first()
    assert moved is not None
    assert abs(moved.details["azimuth_deg"] - truth.azimuth_deg) < 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"darks": [{"exposure_s": 1.0, "count": 1, "binning": 8}]}, r"darks\.0\.binning: 8"),
        ({"darks": [{"exposure_s": 7200.0, "count": 1}]}, r"darks\.0\.exposure_s: 7200 s"),
        ({"flats": [{"filter": "Luminance", "count": 1}]}, r"flats\.0\.filter: filter 'Lum"),
        ({"binning": 8}, r"binning: 8 is more than"),
    ],
)
def test_calibration_frames_the_devices_cannot_take_are_refused_before_the_first(
    settings: Settings, fields: dict[str, Any], message: str
) -> None:
    # Biases were taken first and the order failed at the set the camera or wheel could
    # not take (a flat filter only once the panel was lit).
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    claimed = claimed_order(settings, broker, "calibration_frames", **{"bias_count": 1, **fields})
    with pytest.raises(InvalidTarget, match=message):
        take_calibration_frames(settings, claimed, rig, broker)
    assert events(settings, claimed.pk) == []
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(FileBatch)).all() == []


def test_a_failed_flat_set_leaves_the_lamp_off(settings: Settings) -> None:
    # The lamp stayed lit under the closed cover: the next darks of a camera without a
    # shutter (most CMOS) saw it. Here no exposure up to 0.01 s reaches the level.
    short = settings.telescope.model_copy(update={"flat_max_exposure_s": 0.01})
    settings = settings.model_copy(update={"telescope": short})
    rig = TelescopeRig.from_settings(settings)
    broker = Broker()
    flats = [{"filter": "R", "count": 1, "target_adu": 20000.0}]
    claimed = claimed_order(settings, broker, "calibration_frames", flats=flats, binning=2)
    with pytest.raises(SequenceInterrupted, match="FlatLevelUnreachable"):
        take_calibration_frames(settings, claimed, rig, broker)
    status = rig.panel.status()
    assert (status.cover.name, status.lamp.name) == ("OPEN", "OFF")
    assert ("covercalibrator", "lamp_off") in events(settings, claimed.pk)
