"""What the intake settles on receipt: names resolved, default exposures, the train."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from observatory.errors import WorkOrderInvalid
from observatory.orders.models import CalibrationFramesOrder, ObservationOrder
from observatory.orders.receipt import settle_on_receipt, window_instant
from observatory.orders.validation import parse_order
from observatory.settings import PlannedExposures, Settings, TelescopeSettings

NOW = dt.datetime(2026, 12, 6, 21, 0, tzinfo=dt.UTC)
TRAIN = TelescopeSettings(
    filters=["L", "R", "G", "B", "Ha"],
    max_binning=4,
    default_exposures=[PlannedExposures(filter="L", exposure_s=20.0, count=3)],
)


def settings(telescope: TelescopeSettings = TRAIN) -> Settings:
    return Settings(telescope=telescope)


def observation(**fields: Any) -> dict[str, Any]:
    return {
        "id": "1",
        "request": "observation",
        "priority": None,
        "datetime": "2019-03-05T14:34:54.234",
        "user": "Main Module",
        **fields,
    }


def settle(data: dict[str, Any], telescope: TelescopeSettings = TRAIN) -> Any:
    return settle_on_receipt(settings(telescope), parse_order(data), NOW)


def test_the_design_example_gets_the_default_exposure_plan() -> None:
    order = settle(observation(ra=132.23356, dec=34.254534))
    assert isinstance(order, ObservationOrder)
    assert [(e.filter, e.exposure_s, e.count, e.binning) for e in order.exposures or []] == [
        ("L", 20.0, 3, 1)
    ]
    assert order.resolved is None


def test_no_exposures_and_no_default_plan_is_refused_at_receipt() -> None:
    with pytest.raises(WorkOrderInvalid, match=r"^exposures: none given and no default"):
        settle(observation(ra=1.0, dec=2.0), TelescopeSettings())


def test_a_name_is_resolved_and_its_source_recorded() -> None:
    order = settle(observation(target="M 31"))
    assert order.ra == pytest.approx(10.6848, abs=1e-3)
    assert order.dec == pytest.approx(41.2690, abs=1e-3)
    assert order.resolved.name == "NGC0224"
    assert order.resolved.source.startswith("OpenNGC")
    # What is stored is what the telescope reads back.
    stored = ObservationOrder.model_validate(order.model_dump(mode="json"))
    assert (stored.ra, stored.dec, stored.resolved) == (order.ra, order.dec, order.resolved)


def test_coordinates_given_beside_a_name_are_kept_and_the_name_is_a_label() -> None:
    order = settle(observation(target="My field", ra=47.04, dec=40.96))
    assert (order.ra, order.dec, order.resolved) == (47.04, 40.96, None)


def test_an_unknown_name_is_refused_naming_it() -> None:
    with pytest.raises(WorkOrderInvalid, match=r"^target: 'Vulcan' is not a name"):
        settle(observation(target="Vulcan"))


def test_a_submitter_cannot_claim_a_resolution() -> None:
    fake = {"ra_deg": 1.0, "dec_deg": 2.0, "name": "x", "source": "me"}
    with pytest.raises(WorkOrderInvalid, match=r"^resolved: set by the observatory"):
        parse_order(observation(target="M 31", resolved=fake))


def test_a_body_is_found_at_the_middle_of_the_window() -> None:
    start = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)
    order = parse_order(
        observation(target="Moon", not_before=start.isoformat(),
                    not_after=(start + dt.timedelta(hours=2)).isoformat())
    )  # fmt: skip
    assert isinstance(order, ObservationOrder)
    assert window_instant(order, NOW) == start + dt.timedelta(hours=1)
    settled = settle_on_receipt(settings(), order, NOW)
    assert settled.resolved.source.endswith("at 2026-12-07T02:00:00+00:00")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"exposures": [{"filter": "Z", "exposure_s": 10.0}]}, "exposures.0.filter"),
        ({"exposures": [{"filter": "R", "exposure_s": 10.0},
                        {"filter": "OIII", "exposure_s": 10.0}]}, "exposures.1.filter"),
        ({"exposures": [{"filter": "R", "exposure_s": 10.0, "binning": 8}]}, "exposures.0.binning"),
    ],
)  # fmt: skip
def test_a_filter_the_wheel_lacks_or_a_binning_the_camera_cannot_do_is_refused(
    fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        settle(observation(ra=1.0, dec=2.0, **fields))
    assert str(refused.value).startswith(f"{named}: ")


def test_filter_names_match_as_the_wheel_matches_them_ignoring_case() -> None:
    order = settle(observation(ra=1.0, dec=2.0, exposures=[{"filter": "ha", "exposure_s": 5.0}]))
    assert order.exposures[0].filter == "ha"


def test_calibration_frames_are_checked_against_the_train() -> None:
    base = {"id": "2", "request": "calibration_frames", "datetime": "2026-12-06T18:00:00Z",
            "user": "routine"}  # fmt: skip
    with pytest.raises(WorkOrderInvalid, match=r"^flats\.0\.filter: 'V' is not in"):
        settle({**base, "flats": [{"filter": "V"}]})
    with pytest.raises(WorkOrderInvalid, match=r"^binning: the camera bins at most 4"):
        settle({**base, "bias_count": 3, "binning": 5})
    with pytest.raises(WorkOrderInvalid, match=r"^darks\.0\.binning"):
        settle({**base, "darks": [{"exposure_s": 30.0, "binning": 6}]})
    assert isinstance(settle({**base, "flats": [{"filter": "R"}]}), CalibrationFramesOrder)


def test_without_a_described_train_filters_and_binnings_are_left_to_the_devices() -> None:
    open_train = TelescopeSettings(default_exposures=TRAIN.default_exposures)
    exposures = [{"filter": "Z", "exposure_s": 10.0, "binning": 8}]
    assert settle(observation(ra=1.0, dec=2.0, exposures=exposures), open_train)


def autofocus(**fields: Any) -> dict[str, Any]:
    return {**observation(), "request": "autofocus", **fields}


def test_autofocus_without_a_focuser_in_the_settings_is_refused() -> None:
    without = Settings(telescope=TRAIN, devices={"focuser_address": None})
    with pytest.raises(WorkOrderInvalid, match="focuser_address"):
        settle_on_receipt(without, parse_order(autofocus()), NOW)


def test_autofocus_checks_its_filter_and_binning_against_the_train() -> None:
    with_focuser = Settings(telescope=TRAIN, devices={"focuser_address": "127.0.0.1:11111"})
    settle_on_receipt(with_focuser, parse_order(autofocus(filter="Ha", binning=2)), NOW)
    with pytest.raises(WorkOrderInvalid, match="filter: 'Y' is not in the filter wheel"):
        settle_on_receipt(with_focuser, parse_order(autofocus(filter="Y")), NOW)
    with pytest.raises(WorkOrderInvalid, match="binning: the camera bins at most 4"):
        settle_on_receipt(with_focuser, parse_order(autofocus(binning=8)), NOW)
