"""Fault injection for reliability tests: slow replies and ASCOM error replies.

A device holds a :class:`FaultSet`. Faults come from the device's config section
(``faults = [{kind = "slow", delay_s = 6}]``) or at run time from the
``simulator:fault`` Action, whose parameter is one JSON object:

* ``{"kind": "slow", "delay_s": 6, "member": "azimuth"}`` -- replies are delayed by
  ``delay_s`` wall seconds (a slow link or driver; wall time, so client timeouts fire);
* ``{"kind": "error", "member": "openshutter", "error_number": 1280, "message": "..."}``
  -- the member answers an ASCOM error instead of acting;
* ``{"kind": "clear"}`` -- removes every fault, including device-specific ones.

``member`` (lower case) limits a fault to one member; without it the fault hits every
member except ``action`` (so a test can always clear faults). ``count`` limits how many
requests a fault affects. Device-specific kinds (``stuck_shutter``, ...) are handled by
the device itself; see :meth:`observatory.simulator.devices.base.Device.apply_fault`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from observatory.simulator.errors import DriverError, InvalidValue


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: str | None = None
    count: int | None = Field(default=None, ge=1)

    def hits(self, member: str) -> bool:
        if self.member is None:
            return member != "action"
        return self.member == member


class SlowFault(_Fault):
    kind: Literal["slow"]
    delay_s: float = Field(gt=0, le=600)


class ErrorFault(_Fault):
    kind: Literal["error"]
    error_number: int = Field(default=0x500, ge=0x400, le=0xFFF)
    message: str = Field(default="injected fault", min_length=1)


class ClearFault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["clear"]


GenericFault = Annotated[SlowFault | ErrorFault | ClearFault, Field(discriminator="kind")]
_GENERIC: TypeAdapter[SlowFault | ErrorFault | ClearFault] = TypeAdapter(GenericFault)
GENERIC_KINDS = frozenset({"slow", "error", "clear"})


def fault_kind(spec: dict[str, Any]) -> str:
    """The ``kind`` of a fault spec; InvalidValue if it has none."""
    kind = spec.get("kind")
    if not isinstance(kind, str):
        raise InvalidValue(f"a fault needs a string 'kind', got {spec!r}")
    return kind


class FaultSet:
    """The generic faults active on one device."""

    def __init__(self) -> None:
        self._faults: list[SlowFault | ErrorFault] = []

    def add(self, spec: dict[str, Any]) -> None:
        """Add a generic fault (or clear them all). InvalidValue when the spec is wrong."""
        try:
            fault = _GENERIC.validate_python(spec)
        except ValidationError as error:
            raise InvalidValue(f"bad fault {spec!r}: {error}") from error
        if isinstance(fault, ClearFault):
            self._faults.clear()
        else:
            self._faults.append(fault)

    def reply_delay_s(self, member: str) -> float:
        """Wall seconds to wait before answering ``member`` (0 when no slow fault hits it)."""
        delay_s = 0.0
        for fault in self._take(member, SlowFault):
            assert isinstance(fault, SlowFault)
            delay_s = max(delay_s, fault.delay_s)
        return delay_s

    def raise_injected_error(self, member: str) -> None:
        """Raise the ASCOM error an error fault prescribes for ``member``, if any."""
        for fault in self._take(member, ErrorFault):
            assert isinstance(fault, ErrorFault)
            raise DriverError(fault.message, fault.error_number)

    def describe(self) -> list[dict[str, Any]]:
        return [fault.model_dump() for fault in self._faults]

    def _take(self, member: str, kind: type) -> list[SlowFault | ErrorFault]:
        """The faults of ``kind`` that hit ``member``, each using up one of its count."""
        hit = [f for f in self._faults if isinstance(f, kind) and f.hits(member)]
        for fault in hit:
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
        return hit
