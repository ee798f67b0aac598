"""One request path for an Alpaca device: connect on first use, translate errors through
the one map, retry transient failures, and wait for a commanded state.

Each device role's adapter (``dome.py``, ...) holds an :class:`AlpacaClient` around its
alpyca object and calls alpyca only through :meth:`AlpacaClient.call`. alpyca bounds each
HTTP request by its fixed 5 s timeout and serialises all requests of the process with one
lock, so a slow device delays every other device of the same process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from alpaca.device import Device
from alpaca.exceptions import NotImplementedException

from observatory.devices.alpaca_errors import FOREIGN_ERRORS, translate
from observatory.errors import (
    DeviceError,
    DeviceNotConnected,
    DeviceRefused,
    DeviceTimeout,
    ObservatoryError,
)
from observatory.settings import DeviceSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")
V = TypeVar("V", bool, int, float)

_JSON_NAMES: dict[type, str] = {bool: "boolean", int: "integer", float: "number"}


def _is_a(value: object, expected: type) -> bool:
    # bool is an int in Python, but a JSON true is no number and 1 is no boolean.
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures are retried ``retries`` times, waiting ``backoff_s``, then twice
    that, and so on, before the last error is raised."""

    retries: int
    backoff_s: float

    @classmethod
    def from_settings(cls, settings: DeviceSettings) -> RetryPolicy:
        return cls(retries=settings.retries, backoff_s=settings.retry_backoff_s)

    def delay_s(self, failed_attempts: int) -> float:
        return self.backoff_s * 2 ** (failed_attempts - 1)


class AlpacaClient:
    """Funnels every request of one alpyca device through the error map and retry policy.

    ``label`` names the device in every error message (``"dome 0 at 127.0.0.1:11111"``).
    ``platform7_version`` is the role's Platform 7 interface version (Dome 3, Camera 4):
    from that version on, the device connects asynchronously with ``Connect``.
    Not thread-safe: use one client per thread.
    """

    def __init__(
        self,
        device: Device,
        label: str,
        settings: DeviceSettings,
        platform7_version: int,
    ) -> None:
        self.device = device
        self.label = label
        self.retry = RetryPolicy.from_settings(settings)
        self.poll_interval_s = settings.poll_interval_s
        self.connect_timeout_s = settings.connect_timeout_s
        self.platform7_version = platform7_version
        self._connected = False
        # Optional members the device answered not implemented (logged once each).
        self._not_implemented: set[str] = set()

    def call(self, member: str, operation: Callable[[], T]) -> T:
        """Run one alpyca request (``operation``), connecting first if not yet connected.

        ``member`` is the Alpaca member's name for messages (``"openshutter"``). Raises the
        translated error (:class:`DeviceUnreachable`, :class:`DeviceTimeout`,
        :class:`DeviceRefused`, ...) once retries are spent or the failure is not transient.
        A device that answers "not connected" (restarted, or disconnected by another
        client) is connected again and the request repeated, once.
        """
        self.ensure_connected()
        try:
            return self.request(member, operation)
        except DeviceNotConnected:
            log.warning("%s answered not connected to %s; connecting again", self.label, member)
            self._connected = False
            self.ensure_connected()
            return self.request(member, operation)

    def call_optional(self, member: str, operation: Callable[[], T]) -> T | None:
        """:meth:`call` a member that ASCOM lets a device leave out: None when the device
        answers not implemented (0x400); the first such answer of each member is logged.
        Any other refusal or failure raises as from :meth:`call`."""
        try:
            return self.call(member, operation)
        except DeviceRefused as refused:
            if not isinstance(refused.__cause__, NotImplementedException):
                raise
            if member not in self._not_implemented:
                self._not_implemented.add(member)
                log.info("%s does not implement %s: read as unknown", self.label, member)
            return None

    def read(self, member: str, operation: Callable[[], Any], expected: type[V]) -> V:
        """:meth:`call` a property whose JSON ``Value`` must be of type ``expected``.

        ``bool`` accepts only a JSON boolean, ``int`` only a whole number (not a boolean),
        ``float`` any number but a boolean. Anything else (``null``, ``"false"``, a list)
        raises :class:`DeviceError` naming the device, the member and the value: a device
        that answers nonsense is not understood, and its answer is never guessed at.
        """
        value = self.call(member, operation)
        if _is_a(value, expected):
            return expected(value)
        raise DeviceError(
            f"{self.label} {member}: reply value {value!r} is not a JSON {_JSON_NAMES[expected]}"
        )

    def request(self, member: str, operation: Callable[[], T]) -> T:
        """Run one alpyca request without connecting; retry transient failures."""
        failed_attempts = 0
        while True:
            try:
                return operation()
            except ObservatoryError:
                raise
            except FOREIGN_ERRORS as exc:
                failed_attempts += 1
                translated = translate(exc, f"{self.label} {member}", failed_attempts)
                if not translated.transient or failed_attempts > self.retry.retries:
                    raise translated.error from exc
                delay_s = self.retry.delay_s(failed_attempts)
                log.warning("%s; retrying in %.2f s", translated.error, delay_s)
                time.sleep(delay_s)

    def ensure_connected(self) -> None:
        """Connect the device unless this client already did; waits while it connects.

        Raises :class:`DeviceTimeout` when ``Connecting`` stays true longer than the
        connect timeout, :class:`DeviceNotConnected` when the device still reports not
        connected afterwards.
        """
        if self._connected:
            return
        if not self.request("connected", lambda: self.device.Connected):
            self._connect()
            if not self.request("connected", lambda: self.device.Connected):
                raise DeviceNotConnected(f"{self.label} still reports not connected after connect")
        self._connected = True

    def _connect(self) -> None:
        # alpyca reads InterfaceVersion itself and takes any failure for version 1; the
        # device answered Connected just before, so a failure here is unlikely, and the
        # synchronous Connected = True below works on every platform anyway.
        version = self.request("interfaceversion", lambda: int(self.device.InterfaceVersion))
        if version < self.platform7_version:
            self.request("connected", self._set_connected)
            return
        self.request("connect", self.device.Connect)
        self.wait_until(
            command="connect",
            target="connecting false",
            read_state=lambda: self.request("connecting", lambda: self.device.Connecting),
            reached=lambda connecting: not connecting,
            timeout_s=self.connect_timeout_s,
        )

    def _set_connected(self) -> None:
        self.device.Connected = True

    def wait_until(
        self,
        command: str,
        target: Any,
        read_state: Callable[[], S],
        reached: Callable[[S], bool],
        timeout_s: float,
        failed: Callable[[S], str | None] | None = None,
    ) -> S:
        """Poll ``read_state`` until ``reached(state)``; return that state.

        ``failed(state)``, when given, returns a reason once the state shows the command
        cannot succeed any more; that is raised as :class:`DeviceError` at once. After
        ``timeout_s`` raises :class:`DeviceTimeout` naming the device, the command, the
        target and the last state seen. A single slow read may overrun the timeout by
        alpyca's HTTP timeout times the retries.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            state = read_state()
            if reached(state):
                return state
            reason = failed(state) if failed is not None else None
            if reason is not None:
                raise DeviceError(
                    f"{self.label} {command} to {target} failed: {reason}; last state: {state}"
                )
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                raise DeviceTimeout(
                    f"{self.label} {command} did not reach {target} within {timeout_s:g} s;"
                    f" last state: {state}"
                )
            time.sleep(min(self.poll_interval_s, remaining_s))


DeviceT = TypeVar("DeviceT", bound=Device)


def open_device(
    settings: DeviceSettings,
    role: str,
    device_class: Callable[[str, int], DeviceT],
    noun: str,
    platform7_version: int,
) -> tuple[DeviceT, AlpacaClient]:
    """The alpyca device of ``role`` (``"dome"``, ``"camera"``, ...) at its configured
    ``<role>_address`` and ``<role>_number``, and its client, labelled e.g.
    ``"flat panel 0 at 127.0.0.1:11111"``. Nothing is sent until the first request."""
    address: str = getattr(settings, f"{role}_address")
    number: int = getattr(settings, f"{role}_number")
    device = device_class(address, number)
    label = f"{noun} {number} at {address}"
    return device, AlpacaClient(device, label, settings, platform7_version)
