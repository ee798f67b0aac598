"""A site without a filter wheel or a flat panel (an OSC camera, no panel flats): the
sequences run without them and send them nothing, against the simulator over HTTP,
through a proxy that records every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CalibratedFrame
from observatory.db.session import session_scope
from observatory.errors import InvalidTarget
from observatory.settings import Settings
from observatory.simulator.server import SimulatorProcess
from observatory.telescope.autofocus import autofocus
from observatory.telescope.calibration import take_calibration_frames
from observatory.telescope.observation import observe
from observatory.telescope.rig import TelescopeRig
from tests.unit.telescope.conftest import claimed_order
from tests.unit.telescope.recording_proxy import RecordingProxy, recording_proxy
from tests.unit.telescope.test_sequences import events, exposures, zenith
from tests.unit.test_intake import Broker

pytestmark = pytest.mark.timeout(120)

ABSENT = ("filterwheel", "covercalibrator")


@pytest.fixture
def proxy(simulator: SimulatorProcess) -> Iterator[RecordingProxy]:
    with recording_proxy(simulator.address) as recording:
        yield recording


def through(settings: Settings, proxy: RecordingProxy, *absent: str) -> Settings:
    """``settings`` with every device reached through ``proxy``, ``absent`` ones unnamed."""
    addresses: dict[str, Any] = {
        f"{role}_address": proxy.address
        for role in ("dome", "telescope", "camera", "filterwheel", "covercalibrator",
                     "safetymonitor")
    }  # fmt: skip
    addresses |= {f"{role}_address": "" for role in absent}
    devices = settings.devices.model_validate(settings.devices.model_dump() | addresses)
    return settings.model_copy(update={"devices": devices})


def assert_nothing_sent_to_absent(proxy: RecordingProxy) -> None:
    assert proxy.requests, "the proxy saw no request at all"
    for role in ABSENT:
        assert proxy.paths_of(role) == [], role


def test_an_observation_without_wheel_or_panel_writes_lights_without_filter(
    settings: Settings, proxy: RecordingProxy
) -> None:
    bare = through(settings, proxy, *ABSENT)
    rig = TelescopeRig.from_settings(bare)
    assert (rig.filterwheel, rig.panel) == (None, None)
    broker = Broker()
    plan = [{"exposure_s": 1.0, "count": 2, "binning": 2}]
    claimed = claimed_order(bare, broker, "observation", exposures=plan, **zenith(rig, bare))
    outputs = observe(bare, claimed, rig, broker)

    folder = Path(outputs["folder"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == [
        "light_none_1s_0001.fits",
        "light_none_1s_0002.fits",
    ]
    with fits.open(folder / "light_none_1s_0001.fits") as hdul:
        assert "FILTER" not in hdul[0].header
    assert [(r.imagetyp, r.filter) for r in exposures(bare)] == [("light", None)] * 2
    timeline = {device for device, _ in events(bare, claimed.pk)}
    assert timeline.isdisjoint(ABSENT), timeline
    assert_nothing_sent_to_absent(proxy)


def test_a_filter_named_without_a_wheel_is_refused_before_anything_moves(
    settings: Settings, proxy: RecordingProxy
) -> None:
    # Stored while the site had a wheel (the intake now refuses it); the settings changed.
    plan = [{"filter": "R", "exposure_s": 1.0}]
    claimed = claimed_order(settings, Broker(), "observation", exposures=plan, ra=10.0, dec=20.0)
    bare = through(settings, proxy, "filterwheel")
    with pytest.raises(
        InvalidTarget,
        match=r"^exposures\.0\.filter: 'R' named, but this site has no filter wheel"
        r" \(devices\.filterwheel_address is empty\)$",
    ):
        observe(bare, claimed, TelescopeRig.from_settings(bare), Broker())
    assert proxy.commands() == []
    assert proxy.paths_of("filterwheel") == []


def test_with_a_wheel_an_exposure_naming_no_filter_is_refused_before_anything_moves(
    settings: Settings, proxy: RecordingProxy
) -> None:
    # Stored while the site had no wheel (the intake now refuses it); a wheel was fitted.
    plan = [{"exposure_s": 1.0}]
    no_wheel = through(settings, proxy, "filterwheel")
    claimed = claimed_order(no_wheel, Broker(), "observation", exposures=plan, ra=10.0, dec=20.0)
    wheel = through(settings, proxy)
    with pytest.raises(InvalidTarget, match=r"^exposures\.0\.filter: none named; filter wheel 0"):
        observe(wheel, claimed, TelescopeRig.from_settings(wheel), Broker())
    assert proxy.commands() == []


def test_biases_and_darks_need_neither_wheel_nor_panel(
    settings: Settings, proxy: RecordingProxy
) -> None:
    bare = through(settings, proxy, *ABSENT)
    broker = Broker()
    claimed = claimed_order(
        bare, broker, "calibration_frames", bias_count=2, darks=[{"exposure_s": 1.0}], binning=2
    )
    rig = TelescopeRig.from_settings(bare)
    assert (rig.filterwheel, rig.panel) == (None, None)
    take_calibration_frames(bare, claimed, rig, broker)
    assert [(r.imagetyp, r.filter) for r in exposures(bare)] == (
        [("bias", None)] * 2 + [("dark", None)] * 10
    )
    assert_nothing_sent_to_absent(proxy)


def test_flats_without_a_panel_are_refused_before_anything_moves(
    settings: Settings, proxy: RecordingProxy
) -> None:
    flats = [{"filter": "R", "count": 1}]
    claimed = claimed_order(settings, Broker(), "calibration_frames", bias_count=1, flats=flats)
    bare = through(settings, proxy, "covercalibrator")
    with pytest.raises(
        InvalidTarget,
        match=r"^flats: this site has no flat panel \(devices\.covercalibrator_address is empty\)",
    ):
        take_calibration_frames(bare, claimed, TelescopeRig.from_settings(bare), Broker())
    assert proxy.commands() == []
    assert exposures(bare) == []


def test_flats_without_a_wheel_are_taken_without_filter(
    settings: Settings, proxy: RecordingProxy
) -> None:
    no_wheel = through(settings, proxy, "filterwheel")
    broker = Broker()
    flats = [{"count": 2, "target_adu": 20000.0}]
    claimed = claimed_order(no_wheel, broker, "calibration_frames", flats=flats, binning=2)
    rig = TelescopeRig.from_settings(no_wheel)
    outputs = take_calibration_frames(no_wheel, claimed, rig, broker)
    assert set(outputs["flat_exposures_s"]) == {"none"}
    rows = exposures(no_wheel)
    assert [(r.imagetyp, r.filter) for r in rows] == [("flat", None)] * 2
    with fits.open(Path(outputs["folder"]) / rows[0].path) as hdul:
        assert "FILTER" not in hdul[0].header
    assert ("covercalibrator", "lamp_on") in events(no_wheel, claimed.pk)
    assert proxy.paths_of("filterwheel") == []
    assert rig.panel is not None and rig.panel.status().lamp.name == "OFF"


def test_a_flat_naming_a_filter_without_a_wheel_is_refused_before_anything_moves(
    settings: Settings, proxy: RecordingProxy
) -> None:
    flats = [{"filter": "R", "count": 1}]
    claimed = claimed_order(settings, Broker(), "calibration_frames", flats=flats)
    no_wheel = through(settings, proxy, "filterwheel")
    with pytest.raises(InvalidTarget, match=r"^flats\.0\.filter: 'R' named, but this site"):
        take_calibration_frames(no_wheel, claimed, TelescopeRig.from_settings(no_wheel), Broker())
    assert proxy.commands() == []


@pytest.mark.slow
def test_a_light_without_filter_is_calibrated_with_a_flat_without_filter(
    settings: Settings, proxy: RecordingProxy
) -> None:
    # An OSC site's night end to end: its frames as the telescope writes them, then the
    # processor's chain: the lights (no FILTER card) get the master flat without filter.
    from tests.unit.processor.conftest import run_chain

    no_wheel = through(settings, proxy, "filterwheel")
    rig, broker = TelescopeRig.from_settings(no_wheel), Broker()
    calibration = claimed_order(
        no_wheel, broker, "calibration_frames", bias_count=3, binning=2,
        darks=[{"exposure_s": 1.0, "count": 3}], flats=[{"count": 3, "target_adu": 20000.0}],
    )  # fmt: skip
    frames = take_calibration_frames(no_wheel, calibration, rig, broker)
    plan = [{"exposure_s": 1.0, "count": 2, "binning": 2}]
    lights = observe(
        no_wheel,
        claimed_order(no_wheel, broker, "observation", exposures=plan, **zenith(rig, no_wheel)),
        rig,
        broker,
    )
    made = run_chain(no_wheel, frames["folder"], ("bias", "dark", "flat_dark", "flat"))
    assert all(o["ok"] for units in made.values() for o in units), made
    used = run_chain(no_wheel, lights["folder"], ("light",))
    assert all(o["ok"] for units in used.values() for o in units), used
    with session_scope(no_wheel.sqlalchemy_url) as session:
        calibrated = list(session.scalars(select(CalibratedFrame)))
        flats = [(f.flat.kind.value, f.flat.filter) for f in calibrated if f.flat is not None]
    assert len(calibrated) == 2 and flats == [("flat", None)] * 2
    assert proxy.paths_of("filterwheel") == []


def test_autofocus_naming_a_filter_without_a_wheel_is_refused_before_anything_moves(
    settings: Settings, proxy: RecordingProxy
) -> None:
    with_focuser = settings.model_copy(
        update={"devices": settings.devices.model_copy(update={"focuser_address": proxy.address})}
    )
    claimed = claimed_order(with_focuser, Broker(), "autofocus", filter="R")
    no_wheel = through(with_focuser, proxy, "filterwheel")
    rig = TelescopeRig.from_settings(no_wheel)
    assert rig.focuser is not None and rig.filterwheel is None
    with pytest.raises(InvalidTarget, match=r"^filter: 'R' named, but this site has no filter"):
        autofocus(no_wheel, claimed, rig, Broker())
    assert proxy.requests == []
