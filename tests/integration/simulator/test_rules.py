"""The Alpaca request and reply rules (shared/alpaca/NOTES.md), over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from observatory.simulator.server import SimulatorProcess
from tests.helpers import wait_for
from tests.integration.simulator.conftest import DEVICE_TYPES, TIME_SCALE, Api

pytestmark = pytest.mark.integration

ENVELOPE_KEYS = {"ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage"}


@pytest.mark.parametrize(
    "path",
    [
        "Dome/0/azimuth",
        "dome/0/Azimuth",
        "DOME/0/AZIMUTH",
        "rotator/0/position",
        "widget/0/azimuth",
        "dome/0/nosuchmember",
        "dome/1/azimuth",
        "dome/x/azimuth",
        "dome/-1/azimuth",
        "dome/0/azimuth/extra",
    ],
)
def test_bad_paths_are_plain_text_400(api: Api, path: str) -> None:
    response = api.session.get(api.url(path), timeout=5)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text


def test_wrong_verb_on_a_member_is_400(api: Api) -> None:
    assert api.session.get(api.url("dome/0/slewtoazimuth"), timeout=5).status_code == 400
    assert api.session.put(api.url("dome/0/azimuth"), data={}, timeout=5).status_code == 400


def test_get_parameter_names_are_case_insensitive(api: Api) -> None:
    reply = api.session.get(
        api.url("dome/0/azimuth"), params={"clienttransactionid": "77", "CLIENTID": "5"}, timeout=5
    ).json()
    assert reply["ClientTransactionID"] == 77 and reply["ErrorNumber"] == 0


@pytest.mark.parametrize(
    "form",
    [
        {"azimuth": "10"},
        {"AZIMUTH": "10"},
        {},
        {"Azimuth": "ten"},
        {"Azimuth": "10,5"},
        {"Azimuth": ""},
        {"Azimuth": "10", "ClientID": ""},
        {"Azimuth": "10", "ClientID": "-3"},
        {"Azimuth": "10", "ClientTransactionID": "x"},
    ],
)
def test_put_form_errors_are_400(api: Api, form: dict[str, str]) -> None:
    response = api.session.put(api.url("dome/0/slewtoazimuth"), data=form, timeout=5)
    assert response.status_code == 400 and response.text


@pytest.mark.parametrize("value", ["", "-1", "abc", "4294967296"])
@pytest.mark.parametrize("name", ["ClientID", "ClientTransactionID"])
def test_bad_ids_in_a_get_are_400(api: Api, name: str, value: str) -> None:
    response = api.session.get(api.url("dome/0/azimuth"), params={name: value}, timeout=5)
    assert response.status_code == 400


def test_miscased_ids_in_a_put_are_ignored(api: Api) -> None:
    form = {"Azimuth": "180", "clienttransactionid": "55", "clientid": "9"}
    reply = api.session.put(api.url("dome/0/slewtoazimuth"), data=form, timeout=5).json()
    assert reply["ClientTransactionID"] == 0 and reply["ErrorNumber"] == 0


def test_unknown_extra_parameters_are_ignored_and_booleans_take_any_case(api: Api) -> None:
    api.ok("dome/0/connected", Connected="TRUE", Foo="bar")
    assert api.value("dome/0/connected", Extra="1") is True


def test_get_replies_have_exactly_the_envelope_and_value(api: Api) -> None:
    reply = api.get("dome/0/azimuth", ClientTransactionID=123)
    assert set(reply) == ENVELOPE_KEYS | {"Value"}
    assert reply["ClientTransactionID"] == 123 and reply["ErrorMessage"] == ""


def test_put_replies_have_exactly_the_envelope(api: Api) -> None:
    reply = api.put("dome/0/abortslew")
    assert set(reply) == ENVELOPE_KEYS and reply["ErrorNumber"] == 0


def test_error_replies_are_200_with_number_message_and_value(api: Api) -> None:
    api.ok("dome/0/connected", Connected="false")
    reply = api.get("dome/0/azimuth")
    api.ok("dome/0/connected", Connected="true")
    assert set(reply) == ENVELOPE_KEYS | {"Value"}
    assert reply["ErrorNumber"] == 0x407 and reply["ErrorMessage"]
    invalid = api.put("dome/0/slewtoazimuth", Azimuth="360")
    assert invalid["ErrorNumber"] == 0x401 and invalid["ErrorMessage"]


def test_server_transaction_ids_count_up_from_one(api: Api) -> None:
    ids = [api.get("dome/0/azimuth")["ServerTransactionID"] for _ in range(5)]
    assert ids[0] >= 1 and ids == sorted(ids) and len(set(ids)) == 5


def test_every_device_answers_on_its_type(api: Api) -> None:
    versions = {t: api.value(f"{t}/0/interfaceversion") for t in DEVICE_TYPES}
    assert versions == {
        "camera": 4,
        "covercalibrator": 2,
        "dome": 3,
        "filterwheel": 3,
        "focuser": 4,
        "safetymonitor": 3,
        "telescope": 4,
    }


ALWAYS_ANSWER = [
    "interfaceversion",
    "name",
    "description",
    "driverinfo",
    "driverversion",
    "supportedactions",
    "connected",
    "connecting",
]


@pytest.mark.parametrize(
    "device_type", ["dome", "filterwheel", "focuser", "covercalibrator", "safetymonitor"]
)
def test_only_identity_and_capabilities_answer_while_disconnected(
    api: Api, device_type: str
) -> None:
    state_member = {
        "dome": "azimuth",
        "filterwheel": "position",
        "focuser": "position",
        "covercalibrator": "coverstate",
        "safetymonitor": "issafe",
    }[device_type]
    api.ok(f"{device_type}/0/disconnect")
    try:
        for member in ALWAYS_ANSWER:
            assert api.get(f"{device_type}/0/{member}")["ErrorNumber"] == 0, member
        if device_type == "dome":
            assert api.get("dome/0/canpark")["ErrorNumber"] == 0
            assert api.put("dome/0/openshutter")["ErrorNumber"] == 0x407
        reply = api.get(f"{device_type}/0/{state_member}")
        if device_type == "safetymonitor":  # ISafetyMonitor: IsSafe reads False instead
            assert reply["ErrorNumber"] == 0 and reply["Value"] is False
        else:
            assert reply["ErrorNumber"] == 0x407
        assert api.get(f"{device_type}/0/devicestate")["ErrorNumber"] == 0x407
        reply = api.put(f"{device_type}/0/action", Action="simulator:state", Parameters="")
        assert reply["ErrorNumber"] == 0x407
    finally:
        api.ok(f"{device_type}/0/connected", Connected="true")


def test_connect_is_asynchronous(api: Api) -> None:
    api.ok("safetymonitor/0/disconnect")
    api.ok("safetymonitor/0/connect")
    assert api.value("safetymonitor/0/connecting") is True
    wait_for(lambda: api.value("safetymonitor/0/connected"), 5, 0.01, "connection")
    assert api.value("safetymonitor/0/connecting") is False


def test_dome_commands_return_at_once_showing_motion(api: Api) -> None:
    api.ok("dome/0/closeshutter")
    wait_for(lambda: api.value("dome/0/shutterstatus") == 1, 5, 0.02, "shutter closed")
    api.ok("dome/0/openshutter")
    assert api.value("dome/0/shutterstatus") == 2
    assert api.value("dome/0/slewing") is True
    wait_for(lambda: api.value("dome/0/shutterstatus") == 0, 5, 0.02, "shutter open")
    azimuth = api.value("dome/0/azimuth")
    target = (azimuth + 90.0) % 360.0
    api.ok("dome/0/slewtoazimuth", Azimuth=target)
    assert api.value("dome/0/slewing") is True
    wait_for(lambda: not api.value("dome/0/slewing"), 5, 0.02, "slew end")
    assert api.value("dome/0/azimuth") == pytest.approx(target)
    api.ok("dome/0/closeshutter")
    assert api.value("dome/0/shutterstatus") == 3


@pytest.mark.parametrize(
    ("member", "form"),
    [
        ("slewtoazimuth", {"Azimuth": "-1"}),
        ("slewtoazimuth", {"Azimuth": "360"}),
        ("synctoazimuth", {"Azimuth": "400"}),
        ("slewtoaltitude", {"Altitude": "-0.5"}),
        ("slewtoaltitude", {"Altitude": "91"}),
    ],
)
def test_dome_out_of_range_is_invalid_value(api: Api, member: str, form: dict[str, str]) -> None:
    assert api.put(f"dome/0/{member}", **form)["ErrorNumber"] == 0x401


def test_park_and_home_flags_follow_completion(api: Api) -> None:
    # Away from home first: an earlier test of the session may have left it homed.
    api.ok("dome/0/slewtoazimuth", Azimuth="90")
    wait_for(lambda: not api.value("dome/0/slewing"), 5, 0.02, "the slew to 90 deg")
    assert api.value("dome/0/athome") is False and api.value("dome/0/atpark") is False
    api.ok("dome/0/findhome")
    assert api.value("dome/0/athome") is False
    wait_for(lambda: api.value("dome/0/athome"), 5, 0.02, "at home")
    api.ok("dome/0/park")
    assert api.value("dome/0/atpark") is False and api.value("dome/0/athome") is False
    wait_for(lambda: api.value("dome/0/atpark"), 5, 0.02, "at park")
    assert api.value("dome/0/azimuth") == pytest.approx(180.0)
    api.ok("dome/0/abortslew")
    assert api.value("dome/0/atpark") is True  # aborting an idle dome changes nothing


def test_repeated_puts_are_idempotent_and_quick(api: Api) -> None:
    for member in ("openshutter", "closeshutter", "park", "findhome", "abortslew"):
        for _ in range(5):
            started = time.monotonic()
            api.ok(f"dome/0/{member}")
            assert time.monotonic() - started < 1.0


def test_no_spec_member_is_404(api: Api, simulator: SimulatorProcess) -> None:
    # Not simulated capabilities answer 0x400 as ASCOM errors, never HTTP errors.
    reply = api.put("dome/0/commandblind", Command="x", Raw="false")
    assert reply["ErrorNumber"] == 0x400 and reply["ErrorMessage"]
    assert requests.get(f"{simulator.base_url}/api/v1/dome/0/canpark", timeout=5).status_code == 200


def test_time_scale_speeds_the_shutter(api: Api) -> None:
    """An 8 s shutter takes 8 / TIME_SCALE wall seconds."""
    api.ok("dome/0/closeshutter")
    wait_for(lambda: api.value("dome/0/shutterstatus") == 1, 5, 0.02, "shutter closed")
    started = time.monotonic()
    api.ok("dome/0/openshutter")
    wait_for(lambda: api.value("dome/0/shutterstatus") == 0, 5, 0.005, "shutter open")
    assert time.monotonic() - started == pytest.approx(8.0 / TIME_SCALE, abs=0.15)
