"""Request parsing and reply envelopes of the Alpaca protocol layer."""

from __future__ import annotations

import threading

import orjson
import pytest

from observatory.simulator.errors import BadRequest, InvalidValue
from observatory.simulator.members import Member, member_for
from observatory.simulator.protocol import (
    UINT32_MAX,
    TransactionCounter,
    ValueWithFields,
    accepts_imagebytes,
    envelope,
    parse_device_path,
    parse_get,
    parse_put,
)


def _member(device_type: str, verb: str, name: str) -> Member:
    member = member_for(device_type, verb, name)
    assert member is not None
    return member


SLEW = _member("dome", "PUT", "slewtoazimuth")
AZIMUTH = _member("dome", "GET", "azimuth")
SLAVED = _member("dome", "PUT", "slaved")
CAN_MOVE_AXIS = _member("telescope", "GET", "canmoveaxis")
CALIBRATOR_ON = _member("covercalibrator", "PUT", "calibratoron")
UTC_DATE = _member("telescope", "PUT", "utcdate")
ACTION = _member("dome", "PUT", "action")


def test_device_path_is_split_into_type_number_member() -> None:
    path = parse_device_path("/api/v1/dome/3/azimuth")
    assert (path.device_type, path.device_number, path.member) == ("dome", 3, "azimuth")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/Dome/0/azimuth",
        "/api/v1/dome/0/Azimuth",
        "/api/v1/dome/x/azimuth",
        "/api/v1/dome/-1/azimuth",
        "/api/v1/dome/4294967296/azimuth",
        "/api/v1/dome/0/azimuth/",
        "/api/v1/dome/0",
        "/api/v2/dome/0/azimuth",
        "/api/v1/dome/٣/azimuth",
    ],
)
def test_malformed_paths_are_bad_requests(path: str) -> None:
    with pytest.raises(BadRequest):
        parse_device_path(path)


def test_get_parameter_names_are_case_insensitive() -> None:
    call = parse_get(
        CAN_MOVE_AXIS, [("axis", "1"), ("clienttransactionid", "7"), ("CLIENTID", "9")]
    )
    assert call.arguments == {"axis": 1}
    assert (call.client_id, call.client_transaction_id) == (9, 7)


def test_get_without_ids_reports_zero_and_ignores_unknown_parameters() -> None:
    call = parse_get(AZIMUTH, [("Foo", "bar")])
    assert (call.client_id, call.client_transaction_id, call.arguments) == (0, 0, {})


def test_put_form_is_parsed_with_case_sensitive_required_names() -> None:
    call = parse_put(SLEW, b"Azimuth=123.5&ClientID=4&ClientTransactionID=12")
    assert call.arguments == {"azimuth": 123.5}
    assert (call.client_id, call.client_transaction_id) == (4, 12)


@pytest.mark.parametrize(
    "body",
    [
        b"azimuth=123.5",
        b"AZIMUTH=1",
        b"",
        b"Azimuth=",
        b"Azimuth=1,5",
        b"Azimuth=abc",
        b"Azimuth=nan",
        b"Azimuth=inf",
        b"Azimuth=1_0",
    ],
)
def test_put_with_miscased_missing_or_unparsable_field_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_put(SLEW, body)


def test_put_ignores_miscased_transaction_ids() -> None:
    call = parse_put(SLEW, b"Azimuth=10&clienttransactionid=55&clientid=3")
    assert (call.client_id, call.client_transaction_id) == (0, 0)


@pytest.mark.parametrize("value", ["", "-1", "abc", "1.5", str(UINT32_MAX + 1), " 1"])
@pytest.mark.parametrize("name", ["ClientID", "ClientTransactionID"])
def test_bad_transaction_ids_are_bad_requests(name: str, value: str) -> None:
    with pytest.raises(BadRequest):
        parse_put(SLEW, f"Azimuth=1&{name}={value}".encode())
    with pytest.raises(BadRequest):
        parse_get(AZIMUTH, [(name, value)])


def test_transaction_id_bounds_are_accepted() -> None:
    call = parse_get(AZIMUTH, [("ClientTransactionID", str(UINT32_MAX)), ("ClientID", "0")])
    assert call.client_transaction_id == UINT32_MAX


@pytest.mark.parametrize(("text", "value"), [("true", True), ("TRUE", True), ("False", False)])
def test_booleans_parse_in_any_case(text: str, value: bool) -> None:
    assert parse_put(SLAVED, f"Slaved={text}".encode()).arguments == {"slaved": value}


@pytest.mark.parametrize("text", ["1", "yes", "", "truee"])
def test_other_boolean_spellings_are_bad_requests(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_put(SLAVED, f"Slaved={text}".encode())


@pytest.mark.parametrize("text", ["1.5", "2147483648", "x"])
def test_integers_must_be_int32(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_put(CALIBRATOR_ON, f"Brightness={text}".encode())


def test_numbers_accept_exponents_and_signs() -> None:
    assert parse_put(SLEW, b"Azimuth=-1.5e2").arguments == {"azimuth": -150.0}
    assert parse_put(CALIBRATOR_ON, b"Brightness=%2B7").arguments == {"brightness": 7}


def test_date_times_parse_as_utc() -> None:
    value = parse_put(UTC_DATE, b"UTCDate=2025-01-02T03%3A04%3A05.5Z").arguments["utc_date"]
    assert value.isoformat() == "2025-01-02T03:04:05.500000+00:00"
    with pytest.raises(BadRequest):
        parse_put(UTC_DATE, b"UTCDate=yesterday")


def test_get_envelope_has_exactly_the_five_keys() -> None:
    body = orjson.loads(
        envelope(client_transaction_id=3, server_transaction_id=8, value=1.5, has_value=True)
    )
    assert body == {
        "Value": 1.5,
        "ClientTransactionID": 3,
        "ServerTransactionID": 8,
        "ErrorNumber": 0,
        "ErrorMessage": "",
    }


def test_error_envelope_carries_number_and_message() -> None:
    error = InvalidValue("azimuth 400 is outside [0, 360)")
    body = orjson.loads(
        envelope(
            client_transaction_id=0, server_transaction_id=1, value=0.0, has_value=True, error=error
        )
    )
    assert body["ErrorNumber"] == 0x401 and body["ErrorMessage"] == str(error)
    assert body["Value"] == 0.0


def test_method_envelope_has_no_value() -> None:
    body = orjson.loads(envelope(client_transaction_id=1, server_transaction_id=2, has_value=False))
    assert set(body) == {
        "ClientTransactionID",
        "ServerTransactionID",
        "ErrorNumber",
        "ErrorMessage",
    }


def test_pre_encoded_values_are_spliced_with_extra_fields() -> None:
    value = ValueWithFields(fields={"Type": 2, "Rank": 2}, value_json=b"[[1,2],[3,4]]")
    body = orjson.loads(
        envelope(client_transaction_id=1, server_transaction_id=2, value=value, has_value=True)
    )
    assert body["Value"] == [[1, 2], [3, 4]] and body["Type"] == 2 and body["Rank"] == 2


@pytest.mark.parametrize("value_json", [None, b"[[1,2],[3,4]]"])
def test_image_type_and_rank_come_before_the_value(value_json: bytes | None) -> None:
    # Clients that stream a large array read Type and Rank before its first element.
    value = ValueWithFields([[1, 2], [3, 4]], {"Type": 2, "Rank": 2}, value_json)
    body = envelope(client_transaction_id=1, server_transaction_id=2, value=value, has_value=True)
    keys = list(orjson.loads(body))
    assert keys[:3] == ["Type", "Rank", "Value"], keys


def test_server_transaction_ids_start_at_one_and_are_unique_across_threads() -> None:
    counter = TransactionCounter()
    assert counter.next() == 1
    seen: list[int] = []

    def take() -> None:
        seen.extend(counter.next() for _ in range(1000))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(2, 8002))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/imagebytes", True),
        ("application/json, application/imagebytes;q=0.9", True),
        ("application/json", False),
        (None, False),
    ],
)
def test_imagebytes_is_detected_in_accept_headers(header: str | None, expected: bool) -> None:
    assert accepts_imagebytes(header) is expected


def test_action_without_parameters_field_gets_an_empty_string() -> None:
    assert parse_put(ACTION, b"Action=x").arguments == {"action": "x", "parameters": ""}


def test_miscased_optional_field_is_still_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        parse_put(ACTION, b"Action=x&parameters=y")
