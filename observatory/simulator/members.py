"""The ASCOM member table as typed objects, and the interface version of each type.

Built once at import from :mod:`observatory.simulator.member_table` (no spec is read at
run time). ``member_for(device_type, verb, name)`` answers which members exist: a member
in this table that a device does not handle answers 0x400 (never 404); a name not in it is
a bad request (HTTP 400).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from observatory.simulator import member_table

Verb = Literal["GET", "PUT"]
ParamKind = Literal["bool", "int", "float", "str", "datetime"]

#: Platform 7 interface versions of the served types.
INTERFACE_VERSIONS: dict[str, int] = {
    "camera": 4,
    "covercalibrator": 2,
    "dome": 3,
    "filterwheel": 3,
    "focuser": 4,
    "safetymonitor": 3,
    "telescope": 4,
}

#: The ASCOM spelling of each type, as Management's configureddevices reports it.
DEVICE_TYPE_NAMES: dict[str, str] = {
    "camera": "Camera",
    "covercalibrator": "CoverCalibrator",
    "dome": "Dome",
    "filterwheel": "FilterWheel",
    "focuser": "Focuser",
    "safetymonitor": "SafetyMonitor",
    "telescope": "Telescope",
}


@dataclass(frozen=True)
class Param:
    """One form field (PUT) or query parameter (GET) of a member."""

    field: str  # exact spec name, e.g. "Azimuth"
    argument: str  # keyword the handler receives, e.g. "azimuth"
    kind: ParamKind
    required: bool
    # Used when the field is absent altogether (only where clients are known to omit it).
    default: Any = None


@dataclass(frozen=True)
class Member:
    """One endpoint: ``verb`` on ``/api/v1/{type}/{n}/{name}``."""

    verb: Verb
    name: str
    params: tuple[Param, ...]
    error_value: Any  # Value sent with an error reply (GET only)
    # Extra envelope keys the spec's reply schema needs even on error (image arrays).
    error_fields: dict[str, Any] = field(default_factory=dict)


# Image-array replies carry Type and Rank; an error reply names a 2-D int32 array so that
# it still matches exactly one of the spec's single-plane / multi-plane reply schemas.
_IMAGE_ERROR_FIELDS = {"Type": 2, "Rank": 2}
_IMAGE_MEMBERS = frozenset({"imagearray", "imagearrayvariant"})


def _index(rows: tuple[member_table.MemberRow, ...]) -> dict[tuple[str, str], Member]:
    index: dict[tuple[str, str], Member] = {}
    for verb, name, params, error_value in rows:
        typed = tuple(Param(f, a, k, r) for f, a, k, r in params)  # type: ignore[arg-type]
        fields = dict(_IMAGE_ERROR_FIELDS) if name in _IMAGE_MEMBERS else {}
        index[(verb, name)] = Member(verb, name, typed, error_value, fields)  # type: ignore[arg-type]
    return index


COMMON_MEMBERS = _index(member_table.COMMON)
# alpyca's Action(name) with no parameters omits the Parameters field; treat that as "".
# A mis-cased Parameters field is still a bad request.
COMMON_MEMBERS[("PUT", "action")] = Member(
    "PUT",
    "action",
    (Param("Action", "action", "str", True), Param("Parameters", "parameters", "str", False, "")),
    None,
)

MEMBERS: dict[str, dict[tuple[str, str], Member]] = {
    device_type: {**COMMON_MEMBERS, **_index(getattr(member_table, device_type.upper()))}
    for device_type in INTERFACE_VERSIONS
}

#: Members that answer while the device is disconnected (plus every ``can*`` flag).
DISCONNECTED_OK: frozenset[str] = frozenset(
    {
        "interfaceversion",
        "name",
        "description",
        "driverinfo",
        "driverversion",
        "supportedactions",
        "connected",
        "connecting",
        "connect",
        "disconnect",
    }
)


def works_disconnected(member: Member) -> bool:
    """True for members that must answer while the device is not connected."""
    if member.name in DISCONNECTED_OK:
        return True
    return member.verb == "GET" and member.name.startswith("can")


def member_for(device_type: str, verb: str, name: str) -> Member | None:
    """The member ``verb name`` of ``device_type``, or None if the spec has no such member."""
    table = MEMBERS.get(device_type)
    if table is None:
        return None
    return table.get((verb, name))
