"""Work orders: one pydantic model per request the system serves.

A work order is a JSON object with ``id``, ``request``, ``datetime`` and ``user``, plus the
fields of its request. Unknown fields are refused, so a misspelt field is named in the error
rather than silently ignored.

Types are strict, as JSON gives them: a number is not taken from a string (``"132.2"``) or
a boolean (``true``), a count is an integer (``3``, not ``3.0``), and text is not taken from
a number. One exception: an integer ``id`` means the same order as its text (``1`` and
``"1"``), because other systems commonly number their orders. ``datetime`` and the window
fields are ISO 8601 text. Text fields (``id``, ``user``, names) are printable: no control,
format (right-to-left marks, say) or line-separator characters, at most 128 characters.

``priority`` is a float from 0 to 10, where **10 is the most urgent**; a submitter may
leave it ``null`` and the system assigns it on receipt (:mod:`observatory.orders.priority`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

Azimuth = Annotated[float, Field(ge=0.0, lt=360.0, allow_inf_nan=False)]
Altitude = Annotated[float, Field(ge=0.0, le=90.0, allow_inf_nan=False)]
Priority = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]
PositiveSeconds = Annotated[float, Field(ge=0.0, le=86400.0, allow_inf_nan=False)]
TEXT_MAX_LENGTH = 128


def unprintable(text: str) -> str | None:
    """What makes ``text`` unfit for an id, a user or a name, or None when it is fine:
    a control, format (bidirectional marks), surrogate, private-use or unassigned
    character, or a line or paragraph separator, named by its code point."""
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            return f"contains the control character U+{ord(char):04X}; give printable text"
    return None


def _printable(value: object) -> object:
    # Before stripping whitespace, so that a trailing newline is refused, not cut off.
    if isinstance(value, str) and (problem := unprintable(value)):
        raise ValueError(problem)
    return value


def _iso_text(value: object) -> object:
    # Lax datetime parsing would take a number as seconds since 1970; an order's times
    # are ISO 8601 text (or datetime objects from Python callers).
    if isinstance(value, str | dt.datetime):
        return value
    raise ValueError("give an ISO 8601 date and time as text, e.g. 2026-11-23T21:00:00Z")


Text = Annotated[str, BeforeValidator(_printable), Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
Moment = Annotated[dt.datetime, BeforeValidator(_iso_text), Field(strict=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


class WorkOrderBase(_Strict):
    """The fields every work order carries."""

    id: Text
    request: str
    datetime: Moment
    user: Text
    priority: Priority | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        # Integers are common in other systems' ids; they mean the same order as their text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("datetime")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        # A datetime without an offset is UTC, as in the original design's examples.
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class DomeStatusOrder(WorkOrderBase):
    request: Literal["dome_status"]


class DomeOpenOrder(WorkOrderBase):
    request: Literal["dome_open"]


class DomeCloseOrder(WorkOrderBase):
    request: Literal["dome_close"]


class DomeParkOrder(WorkOrderBase):
    request: Literal["dome_park"]


class DomeSetAzimuthOrder(WorkOrderBase):
    request: Literal["dome_set_azimuth"]
    azimuth_deg: Azimuth = Field(validation_alias=AliasChoices("azimuth_deg", "azimuth", "azim"))


class DomeGotoOrder(WorkOrderBase):
    """Point the dome slit at an altitude and azimuth (degrees)."""

    request: Literal["dome_goto"]
    altitude_deg: Altitude = Field(validation_alias=AliasChoices("altitude_deg", "alt"))
    azimuth_deg: Azimuth = Field(validation_alias=AliasChoices("azimuth_deg", "az", "azim"))


class ExposureSpec(_Strict):
    """A run of identical exposures through one filter (None: no filter, at a site
    without a filter wheel)."""

    filter: Text | None = None
    exposure_s: PositiveSeconds
    count: int = Field(default=1, ge=1, le=1000)
    binning: int = Field(default=1, ge=1, le=8)


class ResolvedTarget(_Strict):
    """Where the intake found a target given by name (set on receipt, never submitted):
    ICRS-aligned degrees, the name as the catalogue spells it, and the catalogue."""

    ra_deg: float = Field(ge=0.0, lt=360.0, allow_inf_nan=False)
    dec_deg: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)
    name: str
    source: str


class ObservationOrder(WorkOrderBase):
    """Observe a target given by ICRS coordinates (degrees) or by a name.

    A name without ``ra``/``dec`` is resolved on receipt (:mod:`observatory.catalogues`):
    the stored order then carries the coordinates found and ``resolved`` says where from.
    ``exposures`` omitted means the site's default exposure plan, filled in on receipt.
    ``not_before``/``not_after`` bound the window in which the order may start.
    """

    request: Literal["observation"]
    ra: float | None = Field(default=None, ge=0.0, lt=360.0, allow_inf_nan=False)
    dec: float | None = Field(default=None, ge=-90.0, le=90.0, allow_inf_nan=False)
    target: Text | None = None
    exposures: list[ExposureSpec] | None = Field(default=None, min_length=1, max_length=100)
    not_before: Moment | None = None
    not_after: Moment | None = None
    # Written by the intake only (a submitted order carrying it is refused).
    resolved: ResolvedTarget | None = Field(default=None, json_schema_extra={"readOnly": True})

    @model_validator(mode="after")
    def _target_given(self) -> ObservationOrder:
        if (self.ra is None) != (self.dec is None):
            raise ValueError("ra and dec must be given together")
        if self.ra is None and self.target is None:
            raise ValueError("give the target as ra and dec (degrees) or as target (a name)")
        if self.not_before and self.not_after and self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        return self


class AutofocusOrder(WorkOrderBase):
    """Find best focus: frames at a sweep of focuser positions around the present one,
    their stars' half-flux diameters fitted by a V-curve, the focuser moved to its
    minimum. Each field left out takes the ``focus`` settings; without ``ra``/``dec`` the
    field is the zenith's."""

    request: Literal["autofocus"]
    filter: Text | None = None
    exposure_s: float | None = Field(default=None, gt=0.0, le=600.0, allow_inf_nan=False)
    step: int | None = Field(default=None, ge=1, le=10000)
    points: int | None = Field(default=None, ge=5, le=31)
    binning: int | None = Field(default=None, ge=1, le=8)
    ra: float | None = Field(default=None, ge=0.0, lt=360.0, allow_inf_nan=False)
    dec: float | None = Field(default=None, ge=-90.0, le=90.0, allow_inf_nan=False)
    # Refocus only when the focuser's temperature is this many kelvin away from the last
    # successful run's (routine refocusing); otherwise the order succeeds doing nothing.
    when_drift_k: float | None = Field(default=None, ge=0.0, le=50.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _coordinates_together(self) -> AutofocusOrder:
        if (self.ra is None) != (self.dec is None):
            raise ValueError("ra and dec must be given together")
        return self


class DarkSpec(_Strict):
    exposure_s: PositiveSeconds
    count: int = Field(default=10, ge=1, le=1000)
    binning: int = Field(default=1, ge=1, le=8)


class FlatSpec(_Strict):
    # None: no filter (a site without a filter wheel, e.g. a one-shot-colour camera).
    filter: Text | None = None
    count: int = Field(default=10, ge=1, le=1000)
    target_adu: float = Field(default=30000.0, gt=0.0, le=65535.0)
    binning: int = Field(default=1, ge=1, le=8)


class CalibrationFramesOrder(WorkOrderBase):
    """Take bias, dark and flat-field sets."""

    request: Literal["calibration_frames"]
    bias_count: int = Field(default=0, ge=0, le=1000)
    darks: list[DarkSpec] = Field(default_factory=list, max_length=100)
    flats: list[FlatSpec] = Field(default_factory=list, max_length=100)
    binning: int = Field(default=1, ge=1, le=8)

    @model_validator(mode="after")
    def _something_to_take(self) -> CalibrationFramesOrder:
        if self.bias_count == 0 and not self.darks and not self.flats:
            raise ValueError("nothing to take: give bias_count, darks or flats")
        return self


class CalibrateFileBatchOrder(WorkOrderBase):
    """Calibrate the file batch at ``url``: a local path, ``file://`` or ``http(s)://``.

    The address is checked for its form here; the transfer decides whether the host and
    path are allowed.
    """

    request: Literal["calibrate_file_batch"]
    url: Annotated[str, Field(min_length=1, max_length=2048)]

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme, sep, _ = value.partition("://")
        if sep and scheme.lower() not in {"file", "http", "https"}:
            raise ValueError(f"scheme {scheme!r} is not one of file, http, https")
        return value


class _BatchOrder(WorkOrderBase):
    batch: Text = Field(description="name of the file batch")


class ResumeFileBatchOrder(_BatchOrder):
    """Continue a batch from its first step that did not succeed."""

    request: Literal["resume_file_batch"]


class RestartFileBatchOrder(_BatchOrder):
    """Run every step of a batch again."""

    request: Literal["restart_file_batch"]


WorkOrder = Annotated[
    DomeStatusOrder
    | DomeOpenOrder
    | DomeCloseOrder
    | DomeParkOrder
    | DomeSetAzimuthOrder
    | DomeGotoOrder
    | ObservationOrder
    | AutofocusOrder
    | CalibrationFramesOrder
    | CalibrateFileBatchOrder
    | ResumeFileBatchOrder
    | RestartFileBatchOrder,
    Field(discriminator="request"),
]

WORK_ORDER_ADAPTER: TypeAdapter[WorkOrder] = TypeAdapter(WorkOrder)
