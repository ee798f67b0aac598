"""On receipt, an order is checked against the devices the site has: no filter named
without a filter wheel, no flats without a flat panel, a filter named with a wheel."""

from __future__ import annotations

from typing import Any

import pytest

from observatory.errors import WorkOrderInvalid
from observatory.orders.models import CalibrationFramesOrder, ObservationOrder
from observatory.orders.receipt import settle_on_receipt
from observatory.orders.validation import parse_order
from observatory.settings import PlannedExposures, Settings, TelescopeSettings
from tests.unit.orders.test_receipt import NOW, TRAIN, observation

NO_WHEEL = {"filterwheel_address": None}
NO_PANEL = {"covercalibrator_address": None}


def settle(data: dict[str, Any], devices: dict[str, Any], telescope: TelescopeSettings) -> Any:
    return settle_on_receipt(Settings(devices=devices, telescope=telescope), parse_order(data), NOW)


def calibration(**fields: Any) -> dict[str, Any]:
    return {"id": "c", "request": "calibration_frames", "datetime": "2026-12-07T00:00:00",
            "user": "tests", **fields}  # fmt: skip


def test_without_a_filter_wheel_an_observation_naming_no_filter_is_accepted() -> None:
    exposures = [{"exposure_s": 10.0, "count": 2}]
    order = settle(observation(ra=1.0, dec=2.0, exposures=exposures), NO_WHEEL, TelescopeSettings())
    assert isinstance(order, ObservationOrder)
    assert [e.filter for e in order.exposures or []] == [None]


def test_without_a_filter_wheel_a_filter_named_is_refused_naming_the_setting() -> None:
    exposures = [{"filter": "R", "exposure_s": 10.0}]
    with pytest.raises(
        WorkOrderInvalid,
        match=r"^exposures\.0\.filter: 'R' named, but this site has no filter wheel"
        r" \(devices\.filterwheel_address is empty\)$",
    ):
        settle(observation(ra=1.0, dec=2.0, exposures=exposures), NO_WHEEL, TelescopeSettings())


def test_without_a_filter_wheel_a_default_plan_naming_a_filter_is_refused() -> None:
    plan = TelescopeSettings(default_exposures=[PlannedExposures(filter="L", exposure_s=20.0)])
    with pytest.raises(WorkOrderInvalid, match=r"^exposures\.0\.filter: 'L' named, but"):
        settle(observation(ra=1.0, dec=2.0), NO_WHEEL, plan)
    colour = TelescopeSettings(default_exposures=[PlannedExposures(exposure_s=20.0)])
    order = settle(observation(ra=1.0, dec=2.0), NO_WHEEL, colour)
    assert [e.filter for e in order.exposures or []] == [None]


def test_with_a_filter_wheel_an_exposure_naming_no_filter_is_refused() -> None:
    exposures = [{"exposure_s": 10.0}]
    with pytest.raises(
        WorkOrderInvalid, match=r"^exposures\.0\.filter: none named; the filter wheel holds L, R"
    ):
        settle(observation(ra=1.0, dec=2.0, exposures=exposures), {}, TRAIN)
    # The wheel's filters not listed in the settings: refused all the same.
    with pytest.raises(
        WorkOrderInvalid,
        match=r"^exposures\.0\.filter: none named, and this site has a filter wheel"
        r" \(devices\.filterwheel_address\); name one of its filters$",
    ):
        settle(observation(ra=1.0, dec=2.0, exposures=exposures), {}, TelescopeSettings())


def test_flats_without_a_flat_panel_are_refused_naming_the_setting() -> None:
    with pytest.raises(
        WorkOrderInvalid,
        match=r"^flats: this site has no flat panel \(devices\.covercalibrator_address is empty\)",
    ):
        settle(calibration(flats=[{"filter": "R"}]), NO_PANEL, TRAIN)
    order = settle(
        calibration(bias_count=2, darks=[{"exposure_s": 5.0}]), NO_PANEL | NO_WHEEL, TRAIN
    )
    assert isinstance(order, CalibrationFramesOrder)


def test_flats_without_a_filter_wheel_take_no_filter_or_are_refused() -> None:
    order = settle(calibration(flats=[{"count": 3}]), NO_WHEEL, TelescopeSettings())
    assert [f.filter for f in order.flats] == [None]
    with pytest.raises(WorkOrderInvalid, match=r"^flats\.0\.filter: 'R' named, but this site"):
        settle(calibration(flats=[{"filter": "R"}]), NO_WHEEL, TelescopeSettings())


def test_autofocus_naming_a_filter_without_a_filter_wheel_is_refused() -> None:
    devices = NO_WHEEL | {"focuser_address": "127.0.0.1:11111"}
    data = {"id": "a", "request": "autofocus", "datetime": "2026-12-07T00:00:00",
            "user": "tests", "filter": "R"}  # fmt: skip
    with pytest.raises(WorkOrderInvalid, match=r"^filter: 'R' named, but this site has no filter"):
        settle(data, devices, TelescopeSettings())
