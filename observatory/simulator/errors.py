"""ASCOM errors as typed exceptions, and the HTTP 400 rejection.

Mechanisms raise these; the HTTP boundary (:mod:`observatory.simulator.app`) turns an
:class:`AscomError` into a 200 reply carrying ``ErrorNumber``/``ErrorMessage``, and a
:class:`BadRequest` into an HTTP 400 with a plain-text body.
"""

from __future__ import annotations


class BadRequest(Exception):
    """The request could not be understood (HTTP 400): bad path, missing or unparsable field."""


class AscomError(Exception):
    """An ASCOM error reply. ``error_number`` is the Alpaca ErrorNumber (0x400..0xFFF)."""

    error_number: int = 0x500

    def __init__(self, message: str, error_number: int | None = None) -> None:
        if not message:
            raise ValueError("an ASCOM error needs a non-empty message")
        super().__init__(message)
        if error_number is not None:
            if not 0x400 <= error_number <= 0xFFF:
                raise ValueError(f"ASCOM error numbers are 0x400..0xFFF, got {error_number:#x}")
            self.error_number = error_number

    @property
    def message(self) -> str:
        return str(self.args[0])


class NotImplementedAscom(AscomError):
    """0x400: the member or capability is not simulated."""

    error_number = 0x400


class InvalidValue(AscomError):
    """0x401: a parameter is out of range or otherwise unacceptable."""

    error_number = 0x401


class ValueNotSet(AscomError):
    """0x402: a value is read before it was ever set."""

    error_number = 0x402


class NotConnected(AscomError):
    """0x407: the member needs a connected device."""

    error_number = 0x407


class InvalidWhileParked(AscomError):
    """0x408: the operation is refused while the device is parked."""

    error_number = 0x408


class InvalidWhileSlaved(AscomError):
    """0x409: the operation is refused while the dome is slaved to the mount."""

    error_number = 0x409


class InvalidOperation(AscomError):
    """0x40B: the operation is not valid in the device's current state."""

    error_number = 0x40B


class ActionNotImplemented(AscomError):
    """0x40C: the named Action is not supported."""

    error_number = 0x40C


class OperationCancelled(AscomError):
    """0x40E: an operation in progress was cancelled."""

    error_number = 0x40E


class DriverError(AscomError):
    """0x500..0xFFF: a driver-specific failure (hardware fault, injected error)."""

    error_number = 0x500
