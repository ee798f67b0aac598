"""Work-order validation: the original design's examples pass, bad orders name the field."""

from __future__ import annotations

import datetime as dt

import pytest

from observatory.errors import WorkOrderInvalid
from observatory.orders.models import CalibrateFileBatchOrder, ObservationOrder
from observatory.orders.priority import assign_priority
from observatory.orders.routes import ROUTES
from observatory.orders.validation import known_identity, parse_order, parse_order_json
from observatory.settings import load_settings

SETTINGS = load_settings()
NOW = dt.datetime(2026, 11, 23, 22, 0, tzinfo=dt.UTC)

CALIBRATE_EXAMPLE = {
    "id": "1",
    "request": "calibrate_file_batch",
    "url": "https://...",
    "datetime": "2019-03-05T14:34:54.234",
    "user": "Main Module",
}
OBSERVATION_EXAMPLE = {
    "id": "1",
    "request": "observation",
    "priority": None,
    "datetime": "2019-03-05T14:34:54.234",
    "ra": 132.23356,
    "dec": 34.254534,
    "user": "Main Module",
}


def base(request: str, **fields: object) -> dict[str, object]:
    return {
        "id": "7",
        "request": request,
        "datetime": "2026-11-23T20:00:00",
        "user": "ops",
        **fields,
    }


def test_design_examples_validate_as_written() -> None:
    calibrate = parse_order(CALIBRATE_EXAMPLE)
    observe = parse_order(OBSERVATION_EXAMPLE)
    assert isinstance(calibrate, CalibrateFileBatchOrder)
    assert calibrate.url == "https://..."
    assert isinstance(observe, ObservationOrder)
    assert (observe.ra, observe.dec) == (132.23356, 34.254534)
    # A naive datetime is UTC.
    assert observe.datetime == dt.datetime(2019, 3, 5, 14, 34, 54, 234000, tzinfo=dt.UTC)


def test_every_request_has_a_route_and_a_model() -> None:
    samples = {
        "dome_status": {}, "dome_open": {}, "dome_close": {}, "dome_park": {},
        "dome_set_azimuth": {"azim": 90.0}, "dome_goto": {"alt": 45.0, "az": 180.0},
        "observation": {"ra": 10.0, "dec": 20.0},
        "calibration_frames": {"bias_count": 5}, "autofocus": {"filter": "L"},
        "calibrate_file_batch": {"url": "/data/batch"},
        "resume_file_batch": {"batch": "b1"}, "restart_file_batch": {"batch": "b1"},
    }  # fmt: skip
    assert set(samples) == set(ROUTES)
    for request, fields in samples.items():
        order = parse_order(base(request, **fields))
        assert order.request == request
        assert 0.0 <= assign_priority(order, SETTINGS, NOW).value <= 10.0


@pytest.mark.parametrize(
    ("order", "named"),
    [
        (base("dome_goto", alt=91.0, az=10.0), "alt"),
        (base("dome_set_azimuth", azim=360.0), "azim"),
        (base("dome_set_azimuth"), "azimuth_deg"),
        (base("observation", ra=10.0), "ra and dec"),
        (base("observation", ra=10.0, dec=95.0), "dec"),
        (base("dome_open", colour="red"), "colour"),
        (base("dome_open", priority=11), "priority"),
        (base("dome_open", datetime="yesterday"), "datetime"),
        (base("teleport"), "request"),
        ({"id": "1", "datetime": "2026-11-23T20:00:00", "user": "u"}, "request"),
        (base("calibrate_file_batch", url="ftp://host/x"), "url"),
        (base("calibration_frames"), "nothing to take"),
        (base("observation", ra=float("nan"), dec=1.0), "ra"),
    ],
)
def test_invalid_orders_name_the_problem(order: dict[str, object], named: str) -> None:
    with pytest.raises(WorkOrderInvalid, match=named):
        parse_order(order)


def test_json_text_errors_are_clear() -> None:
    with pytest.raises(WorkOrderInvalid, match="not valid JSON"):
        parse_order_json("{not json")
    with pytest.raises(WorkOrderInvalid, match="JSON object"):
        parse_order_json("[1, 2]")


def test_priority_given_is_kept_and_assigned_otherwise() -> None:
    # Observability and submitter terms: tests/unit/orders/test_priority.py.
    given = parse_order(base("observation", target="M 42", priority=9.5))
    assert assign_priority(given, SETTINGS, NOW).value == 9.5
    close = assign_priority(parse_order(base("dome_close")), SETTINGS, NOW).value
    observe = assign_priority(parse_order(base("observation", target="M 42")), SETTINGS, NOW).value
    assert close > observe  # 10 is the most urgent end


def test_integer_ids_mean_the_same_order_as_their_text() -> None:
    assert parse_order(base("dome_open") | {"id": 42}).id == "42"
    assert known_identity({"id": 42, "user": " ops "}) == ("42", "ops")
    assert known_identity({"id": True, "user": "ops"}) is None
    assert known_identity({"user": "ops"}) is None


# Hostile or sloppy values seen over HTTP, each with the field the refusal must name.
NOT_A_NUMBER = [
    ("dome_set_azimuth", {"azimuth": True}, "azimuth"),
    ("dome_set_azimuth", {"azimuth_deg": "132.2"}, "azimuth_deg"),
    ("dome_goto", {"alt": False, "az": 10.0}, "alt"),
    ("observation", {"ra": "132.2", "dec": 34.25}, "ra"),
    ("observation", {"ra": 132.2, "dec": True}, "dec"),
    ("observation", {"ra": 1.0, "dec": 2.0, "exposures": [{"filter": "R", "exposure_s": "30"}]},
     "exposures.0.exposure_s"),
    ("observation", {"ra": 1.0, "dec": 2.0,
                     "exposures": [{"filter": "R", "exposure_s": 30.0, "count": 3.0}]},
     "exposures.0.count"),
    ("calibration_frames", {"bias_count": True}, "bias_count"),
    ("calibration_frames", {"bias_count": "5"}, "bias_count"),
    ("observation", {"ra": 1.0, "dec": 2.0, "target": 31}, "target"),
    ("dome_open", {"datetime": 1764000000}, "datetime"),
    ("dome_open", {"priority": "5"}, "priority"),
]  # fmt: skip


@pytest.mark.parametrize(("request_name", "fields", "named"), NOT_A_NUMBER)
def test_types_are_strict_as_json_gives_them(
    request_name: str, fields: dict[str, object], named: str
) -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        parse_order(base(request_name, **fields))
    assert str(refused.value).startswith(f"{named}: ")


def test_a_strict_refusal_says_what_kind_was_given() -> None:
    with pytest.raises(WorkOrderInvalid, match=r"azimuth: .*number, not a boolean"):
        parse_order(base("dome_set_azimuth", azimuth=True))
    with pytest.raises(WorkOrderInvalid, match=r"ra: .*number, not text"):
        parse_order(base("observation", ra="132.2", dec=1.0))


def test_integers_stay_numbers_where_a_float_is_meant_and_an_integer_id_is_its_text() -> None:
    order = parse_order(base("dome_set_azimuth", azimuth=90, id=42))
    assert order.id == "42"
    assert order.azimuth_deg == 90.0  # type: ignore[union-attr]


HOSTILE_TEXT = [
    "a\x00b",  # NUL: PostgreSQL cannot store it
    "evil\u202egnp.exe",  # right-to-left override
    "x\u200fy",  # right-to-left mark
    "line\nforged log line",
    "trailing newline\n",
    "tab\there",
    "sep\u2028arator",
    "x" * 129,
]


@pytest.mark.parametrize("field", ["id", "user"])
@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_id_and_user_are_printable_text_of_limited_length(field: str, text: str) -> None:
    data = base("dome_open", **{field: text})
    with pytest.raises(WorkOrderInvalid) as refused:
        parse_order(data)
    assert str(refused.value).startswith(f"{field}: ")
    # Nor is such an identity used to record the rejection.
    assert known_identity(data) is None


def test_printable_text_in_any_script_is_an_id() -> None:
    order = parse_order(base("dome_open", id="Sternwarte-Ω-観測-1", user="Jürgen Müller"))
    assert (order.id, order.user) == ("Sternwarte-Ω-観測-1", "Jürgen Müller")


def test_a_field_name_with_control_characters_is_named_escaped_on_one_line() -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        parse_order(base("dome_open", **{"colour\nforged: line\x00": "red"}))
    message = str(refused.value)
    assert message.startswith("'colour\\nforged: line\\x00': Extra inputs")
    assert "\n" not in message and "\x00" not in message
