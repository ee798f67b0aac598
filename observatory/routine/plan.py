"""The routine imaging plan (``settings.routine_plan``, TOML): what beat submits and when.

::

    user = "routine"        # submitter of every routine order
    grace_s = 600           # a run found later than this (beat was down) is skipped

    [[entries]]
    name = "dusk-calibration"         # lower-case letters, digits, - and _
    at = "sunset+30min"               # or cron = "0 */2 * * *" (UTC; 6th field: seconds)
    [entries.order]                   # the work order, without id, user and datetime
    request = "calibration_frames"
    bias_count = 10

``at`` is a Sun event (see :mod:`observatory.routine.sun`) with an optional offset in
``s``, ``min`` or ``h``: ``dawn-60min``, ``nautical_dusk+1.5h``. ``window_min`` (observations
only) sets each order's ``not_after`` that many minutes after its run time, so a run the
telescope could not reach in time is cancelled rather than taken late. ``enabled = false``
keeps an entry in the file without running it.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from observatory.errors import ConfigurationError, WorkOrderInvalid
from observatory.orders.receipt import settle_on_receipt
from observatory.orders.validation import parse_order
from observatory.routine.sun import EVENTS
from observatory.settings import Settings

_AT = re.compile(
    r"^\s*(?P<event>[a-z_]+)\s*(?:(?P<sign>[+-])\s*(?P<amount>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>s|min|h))?\s*$"
)
_UNIT_S = {"s": 1.0, "min": 60.0, "h": 3600.0}
# Placeholders filled per run; the template is validated with them at load time.
_RESERVED = ("id", "user", "datetime")


class RoutinePlanInvalid(ConfigurationError):
    """The plan cannot be used; the message names the entry and the field."""


class SunTime(BaseModel):
    """A Sun event and an offset from it (seconds, negative: before)."""

    model_config = ConfigDict(frozen=True)

    event: str
    offset_s: float = 0.0


def parse_at(text: str) -> SunTime:
    """``"sunset+30min"`` as a SunTime; raises ValueError saying what is wrong."""
    match = _AT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not <event>[+|-<number><s|min|h>], e.g. 'sunset+30min'")
    if match["event"] not in EVENTS:
        raise ValueError(
            f"unknown Sun event {match['event']!r}; expected one of {', '.join(EVENTS)}"
        )
    offset_s = 0.0
    if match["amount"] is not None:
        offset_s = float(match["amount"]) * _UNIT_S[match["unit"]]
        if match["sign"] == "-":
            offset_s = -offset_s
    if abs(offset_s) > 12 * 3600.0:
        raise ValueError(f"offset of {text!r} is more than 12 h")
    return SunTime(event=match["event"], offset_s=offset_s)


class RoutineEntry(BaseModel):
    """One line of the plan: when (``cron`` or ``at``) and what (``order``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
    cron: str | None = None
    at: SunTime | None = None
    order: dict[str, Any]
    window_min: float | None = Field(default=None, gt=0.0, le=24 * 60.0)
    enabled: bool = True

    @field_validator("at", mode="before")
    @classmethod
    def _parse_at(cls, value: object) -> object:
        return parse_at(value) if isinstance(value, str) else value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (5 fields, or 6 with seconds)")
        return value

    @model_validator(mode="after")
    def _one_time_and_a_valid_order(self) -> RoutineEntry:
        if (self.cron is None) == (self.at is None):
            raise ValueError("give exactly one of cron and at")
        reserved = [key for key in _RESERVED if key in self.order]
        if reserved:
            raise ValueError(f"order: {', '.join(reserved)} are set per run; leave them out")
        if self.window_min is not None and self.order.get("request") != "observation":
            raise ValueError("window_min: only observations have a window")
        return self


class RoutinePlan(BaseModel):
    """The whole plan; ``entries`` in file order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: Annotated[str, Field(min_length=1, max_length=128)] = "routine"
    grace_s: float = Field(default=600.0, gt=0.0)
    entries: list[RoutineEntry] = Field(default_factory=list)

    def entry(self, name: str) -> RoutineEntry:
        """The entry called ``name``; KeyError when the plan has none."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(f"the routine plan has no entry {name!r}")


def order_for_run(plan: RoutinePlan, entry: RoutineEntry, run_at: dt.datetime) -> dict[str, Any]:
    """The work order of ``entry``'s run at ``run_at`` (aware UTC), as JSON.

    The id ``routine-<entry>-<YYYYMMDDTHHMMSS>`` is the same for every submission of one
    run, so a run submitted twice is stored once.
    """
    run_at = run_at.astimezone(dt.UTC)
    order = {
        **entry.order,
        "id": f"routine-{entry.name}-{run_at:%Y%m%dT%H%M%S}",
        "user": plan.user,
        "datetime": run_at.isoformat(),
    }
    if entry.window_min is not None:
        order["not_after"] = (run_at + dt.timedelta(minutes=entry.window_min)).isoformat()
    return order


def parse_plan(
    data: dict[str, Any], source: str = "routine plan", settings: Settings | None = None
) -> RoutinePlan:
    """Validate a decoded plan. Raises RoutinePlanInvalid naming the entry and the field.

    With ``settings``, each entry's order also passes the intake's receipt checks that do
    not depend on the run's time (target names known to the catalogues, filters and
    binnings of the imaging train, a default exposure plan for an order without
    exposures, a focuser for autofocus), so a bad entry is refused when the plan is
    loaded rather than at every run.
    """
    raw_entries = data.get("entries", [])
    if not isinstance(raw_entries, list):
        raise RoutinePlanInvalid(f"{source}: entries must be an array of tables ([[entries]])")
    entries = [_parse_entry(raw, index, source) for index, raw in enumerate(raw_entries)]
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RoutinePlanInvalid(f"{source}: entry names must be unique: {', '.join(duplicates)}")
    try:
        plan = RoutinePlan.model_validate({**data, "entries": entries})
    except ValidationError as error:
        raise RoutinePlanInvalid(f"{source}: {_describe(error)}") from error
    sample_at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    for entry in plan.entries:
        try:
            order = parse_order(order_for_run(plan, entry, sample_at))
            if settings is not None:
                # Whether a name resolves does not depend on the instant; only a body's
                # position does, and that is taken again at each run.
                settle_on_receipt(settings, order, sample_at)
        except WorkOrderInvalid as error:
            raise RoutinePlanInvalid(f"{source}: entry {entry.name!r}: order: {error}") from error
    return plan


def _parse_entry(raw: object, index: int, source: str) -> RoutineEntry:
    label = (
        f"entry {raw.get('name')!r}"
        if isinstance(raw, dict) and raw.get("name")
        else f"entry #{index + 1}"
    )
    try:
        return RoutineEntry.model_validate(raw)
    except ValidationError as error:
        raise RoutinePlanInvalid(f"{source}: {label}: {_describe(error)}") from error


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "(entry)"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)


def load_plan(path: Path, settings: Settings | None = None) -> RoutinePlan:
    """Read and validate the plan file (with ``settings``: see :func:`parse_plan`). Raises
    RoutinePlanInvalid (naming the file, the entry and the field) for a missing,
    unreadable or invalid plan."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RoutinePlanInvalid(f"{path}: {error}") from error
    return parse_plan(data, str(path), settings)
