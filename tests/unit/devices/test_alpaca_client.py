"""The error map and the retry policy, driven through alpyca against a scripted server."""

from __future__ import annotations

import socket
import time

import pytest
from alpaca.dome import Dome

from observatory.devices.alpaca_client import AlpacaClient, RetryPolicy
from observatory.errors import (
    ConfigurationError,
    DeviceError,
    DeviceNotConnected,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
)
from tests.unit.devices.alpaca_stub import AlpacaStub, Reply
from tests.unit.devices.conftest import fast_settings


def make_client(address: str, **overrides: object) -> tuple[AlpacaClient, Dome]:
    dome = Dome(address, 0)
    label = f"dome 0 at {address}"
    return AlpacaClient(dome, label, fast_settings(address, **overrides), 3), dome


@pytest.mark.parametrize(
    ("error_number", "expected"),
    [
        (0x400, DeviceRefused),
        (0x401, DeviceRefused),
        (0x402, DeviceRefused),
        (0x408, DeviceRefused),
        (0x409, DeviceRefused),
        (0x40B, DeviceRefused),
        (0x40C, DeviceRefused),
        (0x40E, DeviceError),
    ],
)
def test_refusals_are_raised_at_once_without_retry(
    stub: AlpacaStub, error_number: int, expected: type[Exception]
) -> None:
    client, dome = make_client(stub.address)
    stub.script("slewtoazimuth", Reply(error_number=error_number, error_message="no, sorry"))
    with pytest.raises(expected, match=r"slewtoazimuth.*no, sorry") as caught:
        client.call("slewtoazimuth", lambda: dome.SlewToAzimuth(10.0))
    assert type(caught.value) is expected
    assert stub.count("PUT", "slewtoazimuth") == 1
    assert f"dome 0 at {stub.address}" in str(caught.value)


def test_driver_error_is_retried_then_raised_with_attempt_count(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address, retries=2)
    stub.script("openshutter", *[Reply(error_number=0x500, error_message="motor fault")] * 3)
    with pytest.raises(DeviceError, match=r"driver error: motor fault.*after 3 attempts"):
        client.call("openshutter", dome.OpenShutter)
    assert stub.count("PUT", "openshutter") == 3


def test_http_5xx_then_success_returns_the_value(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address, retries=2)
    stub.values["azimuth"] = 123.5
    stub.script("azimuth", Reply(http_status=500, raw_body="busy"), Reply(http_status=503))
    assert client.call("azimuth", lambda: dome.Azimuth) == 123.5
    assert stub.count("GET", "azimuth") == 3


def test_http_5xx_beyond_the_retries_is_raised(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address, retries=1)
    stub.script("azimuth", *[Reply(http_status=502, raw_body="bad gateway")] * 2)
    with pytest.raises(DeviceError, match=r"HTTP 502.*after 2 attempts"):
        client.call("azimuth", lambda: dome.Azimuth)
    assert stub.count("GET", "azimuth") == 2


def test_http_4xx_is_not_retried(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address)
    with pytest.raises(DeviceError, match="HTTP 400") as caught:
        client.call("nosuchmember", lambda: dome._get("nosuchmember"))
    assert type(caught.value) is DeviceError
    assert stub.count("GET", "nosuchmember") == 1


def test_a_reply_that_is_not_json_is_a_device_error(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address)
    stub.script("azimuth", Reply(raw_body="<html>router login</html>"))
    with pytest.raises(DeviceError, match="not JSON"):
        client.call("azimuth", lambda: dome.Azimuth)
    assert stub.count("GET", "azimuth") == 1


def test_a_reply_without_alpaca_fields_is_a_device_error(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address)
    stub.script("azimuth", Reply(raw_body='{"Value": 1}'))
    with pytest.raises(DeviceError, match="lacks an Alpaca field"):
        client.call("azimuth", lambda: dome.Azimuth)


def test_not_connected_reconnects_once_and_repeats(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address)
    client.ensure_connected()
    stub.script("azimuth", Reply(error_number=0x407, error_message="not connected"))
    stub.values["azimuth"] = 42.0
    assert client.call("azimuth", lambda: dome.Azimuth) == 42.0
    assert stub.count("GET", "azimuth") == 2
    assert stub.count("GET", "connected") == 2  # first use, then after the 0x407


def test_not_connected_twice_is_raised(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address)
    stub.script("azimuth", *[Reply(error_number=0x407, error_message="not connected")] * 2)
    with pytest.raises(DeviceNotConnected, match="azimuth: not connected"):
        client.call("azimuth", lambda: dome.Azimuth)


def test_refused_connection_becomes_unreachable_after_backoff() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    # The port is closed now, so connecting is refused.
    client, dome = make_client(address, retries=3, retry_backoff_s=0.05)
    started = time.monotonic()
    with pytest.raises(DeviceUnreachable, match=r"connected: connection failed.*after 4 attempts"):
        client.call("azimuth", lambda: dome.Azimuth)
    elapsed_s = time.monotonic() - started
    assert 0.05 + 0.1 + 0.2 <= elapsed_s < 3.0


def test_an_address_that_is_not_host_port_is_a_configuration_error() -> None:
    client, dome = make_client("127.0.0.1:notaport")
    with pytest.raises(ConfigurationError, match="invalid device address"):
        client.call("azimuth", lambda: dome.Azimuth)


@pytest.mark.slow
def test_a_slow_reply_times_out_and_is_retried(stub: AlpacaStub) -> None:
    # alpyca's HTTP timeout is 5 s and cannot be shortened, so this test takes that long.
    client, dome = make_client(stub.address, retries=1)
    client.ensure_connected()
    stub.values["azimuth"] = 7.0
    stub.script("azimuth", Reply(value=7.0, delay_s=6.0))
    started = time.monotonic()
    assert client.call("azimuth", lambda: dome.Azimuth) == 7.0
    assert 5.0 <= time.monotonic() - started < 6.0
    assert stub.count("GET", "azimuth") == 2


def test_backoff_doubles() -> None:
    policy = RetryPolicy(retries=3, backoff_s=0.5)
    assert [policy.delay_s(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


def test_connect_on_platform7_waits_for_connecting_to_end(stub: AlpacaStub) -> None:
    client, _ = make_client(stub.address)
    stub.values["connected"] = False
    # Connecting answers true twice, then false (from values) with the device connected.
    stub.on_put["connect"] = lambda params: stub.values.update(connected=True)
    stub.script("connecting", Reply(value=True), Reply(value=True))
    client.ensure_connected()
    assert stub.count("PUT", "connect") == 1
    assert stub.count("GET", "connecting") == 3
    assert stub.count("PUT", "connected") == 0


def test_connect_before_platform7_sets_connected(stub: AlpacaStub) -> None:
    client, dome = make_client(stub.address)
    stub.values.update(connected=False, interfaceversion=2)
    client.ensure_connected()
    assert stub.values["connected"] is True
    assert stub.count("PUT", "connected") == 1
    assert stub.count("PUT", "connect") == 0
    client.call("azimuth", lambda: dome.Azimuth)
    assert stub.count("GET", "connected") == 2  # once before, once after; not per call


def test_connecting_that_never_ends_is_a_timeout(stub: AlpacaStub) -> None:
    client, _ = make_client(stub.address, connect_timeout_s=0.3)
    stub.values["connected"] = False
    stub.on_put["connect"] = lambda params: stub.values.update(connecting=True)
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"connect did not reach connecting false within 0.3"):
        client.ensure_connected()
    assert time.monotonic() - started < 1.5


def test_a_device_that_stays_disconnected_is_reported(stub: AlpacaStub) -> None:
    client, _ = make_client(stub.address)
    stub.values.update(connected=False, interfaceversion=3)
    stub.on_put["connect"] = lambda params: None
    with pytest.raises(DeviceNotConnected, match="still reports not connected"):
        client.ensure_connected()
