"""The one map from alpyca's and requests' exceptions to the project's errors.

Every Alpaca request of the project goes through :class:`~observatory.devices.alpaca_client.
AlpacaClient`, which hands any failure to :func:`translate`; nothing else catches alpyca's
exceptions. Each row says which project error a foreign exception becomes and whether
repeating the request may succeed (``transient``). Refusals (invalid value, parked,
not implemented, ...) are never transient: the device would refuse again.
"""

from __future__ import annotations

from dataclasses import dataclass

from alpaca import exceptions as ascom
from requests import exceptions as http

from observatory.errors import (
    ConfigurationError,
    DeviceError,
    DeviceNotConnected,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ObservatoryError,
)


@dataclass(frozen=True)
class ErrorRow:
    """How one foreign exception type is translated."""

    foreign: type[Exception]
    project: type[ObservatoryError]
    transient: bool
    reason: str


# The first matching row wins, so subclasses come before their bases: requests'
# ConnectTimeout is both a ConnectionError and a Timeout (the host never answered, so it
# counts as unreachable), and InvalidURL and JSONDecodeError are RequestExceptions.
ERROR_ROWS: tuple[ErrorRow, ...] = (
    ErrorRow(ascom.NotImplementedException, DeviceRefused, False, "not implemented"),
    ErrorRow(ascom.ActionNotImplementedException, DeviceRefused, False, "action not implemented"),
    ErrorRow(ascom.InvalidValueException, DeviceRefused, False, "invalid value"),
    ErrorRow(ascom.ValueNotSetException, DeviceRefused, False, "value not set"),
    ErrorRow(ascom.ParkedException, DeviceRefused, False, "invalid while parked"),
    ErrorRow(ascom.SlavedException, DeviceRefused, False, "invalid while slaved"),
    ErrorRow(ascom.InvalidOperationException, DeviceRefused, False, "invalid operation"),
    # The client reconnects once on this one; it is not retried blindly.
    ErrorRow(ascom.NotConnectedException, DeviceNotConnected, False, "not connected"),
    ErrorRow(ascom.OperationCancelledException, DeviceError, False, "operation cancelled"),
    # Driver-specific errors (0x500-0xFFF) report a failure of the hardware or its driver
    # that may clear; commands are absolute, so repeating one is harmless.
    ErrorRow(ascom.DriverException, DeviceError, True, "driver error"),
    ErrorRow(http.ConnectTimeout, DeviceUnreachable, True, "connect timed out"),
    ErrorRow(http.Timeout, DeviceTimeout, True, "no reply within the HTTP timeout"),
    ErrorRow(http.ConnectionError, DeviceUnreachable, True, "connection failed"),
    ErrorRow(http.InvalidURL, ConfigurationError, False, "invalid device address"),
    ErrorRow(http.MissingSchema, ConfigurationError, False, "invalid device address"),
    ErrorRow(http.InvalidSchema, ConfigurationError, False, "invalid device address"),
    ErrorRow(http.JSONDecodeError, DeviceError, False, "reply is not JSON"),
    ErrorRow(http.RequestException, DeviceError, True, "HTTP failure"),
    # alpyca indexes the reply's JSON and converts enum values without checking them: a
    # body that is JSON but no Alpaca object ([], null, "ok") fails there as a TypeError.
    ErrorRow(KeyError, DeviceError, False, "reply lacks an Alpaca field"),
    ErrorRow(TypeError, DeviceError, False, "reply is not an Alpaca object"),
    ErrorRow(ValueError, DeviceError, False, "reply value not understood"),
)

#: Every exception type :func:`translate` understands; catch exactly these around alpyca.
FOREIGN_ERRORS: tuple[type[Exception], ...] = (
    ascom.AlpacaRequestException,
    *(row.foreign for row in ERROR_ROWS),
)


@dataclass(frozen=True)
class Translated:
    """A foreign exception turned into the project's error, and whether to retry."""

    error: ObservatoryError
    transient: bool


def translate(exc: Exception, where: str, attempts: int = 1) -> Translated:
    """Translate an exception raised by alpyca or requests.

    ``where`` names the device and member (``"dome 0 at 127.0.0.1:11111 openshutter"``);
    it starts the message, and ``attempts`` (when above one) ends it. An HTTP status
    from the device (``AlpacaRequestException``) is transient for 5xx and a plain
    :class:`DeviceError` for 4xx (the device did not understand the request).
    Raises ``TypeError`` for an exception type this map does not know.
    """
    if isinstance(exc, ascom.AlpacaRequestException):
        transient = exc.number >= 500
        reason = f"HTTP {exc.number}"
        return Translated(DeviceError(_message(where, reason, exc, attempts)), transient)
    for row in ERROR_ROWS:
        if isinstance(exc, row.foreign):
            error = row.project(_message(where, row.reason, exc, attempts))
            return Translated(error, row.transient)
    raise TypeError(f"no translation for {type(exc).__name__}: {exc}")


def _message(where: str, reason: str, exc: Exception, attempts: int) -> str:
    detail = str(exc) or type(exc).__name__
    tail = f" (after {attempts} attempts)" if attempts > 1 else ""
    return f"{where}: {reason}: {detail}{tail}"
