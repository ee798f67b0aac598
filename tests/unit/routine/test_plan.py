"""Reading the routine plan: the shipped plan, offsets, and errors naming entry and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from observatory.orders.validation import parse_order
from observatory.routine.plan import (
    RoutinePlanInvalid,
    load_plan,
    order_for_run,
    parse_at,
    parse_plan,
)
from observatory.settings import PROJECT_ROOT, Settings

CALIBRATION = {"request": "calibration_frames", "bias_count": 5}


def entry(**fields: Any) -> dict[str, Any]:
    return {"name": "bias", "cron": "0 18 * * *", "order": CALIBRATION} | fields


def test_the_shipped_plan_is_valid_and_its_orders_validate() -> None:
    plan = load_plan(PROJECT_ROOT / "config" / "routine.toml")
    assert len(plan.entries) >= 3
    requests = {e.order["request"] for e in plan.entries}
    assert requests == {"calibration_frames", "autofocus", "observation"}
    run_at = dt.datetime(2026, 11, 23, 21, 30, tzinfo=dt.UTC)
    for item in plan.entries:
        order = parse_order(order_for_run(plan, item, run_at))
        assert order.id == f"routine-{item.name}-20261123T213000"
        assert order.user == "routine"


@pytest.mark.parametrize(
    ("text", "event", "offset_s"),
    [
        ("sunset", "sunset", 0.0),
        ("sunset+30min", "sunset", 1800.0),
        ("dawn-60min", "dawn", -3600.0),
        ("nautical_dusk + 1.5h", "nautical_dusk", 5400.0),
        ("sunrise-90s", "sunrise", -90.0),
    ],
)
def test_sun_times_parse(text: str, event: str, offset_s: float) -> None:
    at = parse_at(text)
    assert (at.event, at.offset_s) == (event, offset_s)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": None}, "exactly one of cron and at"),
        ({"at": "sunset"}, "exactly one of cron and at"),
        ({"cron": "61 * * * *"}, "cron: Value error, '61 * * * *' is not a cron expression"),
        ({"cron": None, "at": "moonrise+1h"}, "unknown Sun event 'moonrise'"),
        ({"cron": None, "at": "sunset+30 days"}, "is not <event>"),
        ({"cron": None, "at": "sunset+13h"}, "more than 12 h"),
        ({"name": "Bad Name"}, "name: String should match pattern"),
        ({"order": CALIBRATION | {"id": "x"}}, "id are set per run"),
        ({"window_min": 30}, "window_min: only observations"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_entries_are_named_with_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutinePlanInvalid) as caught:
        parse_plan({"entries": [entry(name="good"), entry(**fields)]}, "plan.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("plan.toml: entry ")
    name = fields.get("name", "bias")
    assert f"entry {name!r}" in str(caught.value)


def test_an_invalid_order_template_names_the_entry_and_the_order_field() -> None:
    bad = {"request": "observation", "target": "Vega", "exposures": [{"exposure_s": -5}]}
    with pytest.raises(RoutinePlanInvalid, match=r"entry 'vega': order: exposures\.0\.exposure_s"):
        parse_plan({"entries": [entry(name="vega", order=bad)]})


def test_duplicate_names_and_plan_level_errors() -> None:
    with pytest.raises(RoutinePlanInvalid, match="unique: bias"):
        parse_plan({"entries": [entry(), entry()]})
    with pytest.raises(RoutinePlanInvalid, match="grace_s"):
        parse_plan({"grace_s": -1, "entries": [entry()]})
    with pytest.raises(RoutinePlanInvalid, match="entry #1: name: Field required"):
        parse_plan({"entries": [{"cron": "* * * * *", "order": CALIBRATION}]})


def test_a_missing_or_broken_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RoutinePlanInvalid, match=r"nowhere\.toml"):
        load_plan(tmp_path / "nowhere.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[entries]\nname = 1\n")
    with pytest.raises(RoutinePlanInvalid, match=r"broken\.toml"):
        load_plan(broken)


def test_window_sets_not_after_from_the_run_time() -> None:
    observation = {"request": "observation", "target": "Vega", "ra": 279.2, "dec": 38.8}
    plan = parse_plan({"entries": [entry(name="vega", order=observation, window_min=20)]})
    run_at = dt.datetime(2026, 11, 23, 19, 0, tzinfo=dt.UTC)
    order = order_for_run(plan, plan.entries[0], run_at)
    assert order["not_after"] == "2026-11-23T19:20:00+00:00"


def test_the_shipped_plan_passes_the_receipt_checks_of_the_default_settings() -> None:
    settings = Settings()
    plan = load_plan(PROJECT_ROOT / "config" / "routine.toml", settings)
    assert len(plan.entries) >= 3


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ({"request": "observation", "target": "Nowhere Nebula 99"}, "target: 'Nowhere Nebula 99'"),
        (
            {"request": "observation", "ra": 10.0, "dec": 20.0,
             "exposures": [{"exposure_s": 5, "filter": "Halpha-9"}]},
            "exposures.0.filter: 'Halpha-9' is not in the filter wheel",
        ),
        (
            {"request": "observation", "ra": 10.0, "dec": 20.0, "exposures": [{"exposure_s": 5}]},
            "exposures.0.filter: none named; the filter wheel holds L, R, G, B",
        ),
        (
            {"request": "calibration_frames", "bias_count": 5, "binning": 6},
            "binning: the camera bins at most",
        ),
    ],
)  # fmt: skip
def test_receipt_checks_refuse_a_bad_entry_when_the_plan_is_loaded(
    order: dict[str, Any], message: str
) -> None:
    settings = Settings(telescope={"filters": ["L", "R", "G", "B"], "max_binning": 4})
    good = entry(name="good")
    with pytest.raises(RoutinePlanInvalid) as caught:
        parse_plan({"entries": [good, entry(name="bad", order=order)]}, "plan.toml", settings)
    assert str(caught.value).startswith("plan.toml: entry 'bad': order: ")
    assert message in str(caught.value)
    # Without settings only the order's own schema is checked (time-free receipt checks
    # need the imaging train and the catalogues).
    parse_plan({"entries": [good, entry(name="bad", order=order)]}, "plan.toml")


def test_an_observation_without_exposures_needs_a_default_plan() -> None:
    settings = Settings(telescope={"default_exposures": []})
    bare = {"request": "observation", "ra": 10.0, "dec": 20.0}
    with pytest.raises(RoutinePlanInvalid, match=r"entry 'bare': order: exposures: none given"):
        parse_plan({"entries": [entry(name="bare", order=bare)]}, "plan.toml", settings)
