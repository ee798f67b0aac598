"""Which independent units of work each step has for a batch.

A unit is a JSON dict ``{"step", "batch", "url", "group", "label"}``: one bias group
(binning), dark group (exposure time, binning, filter "if any", as the design says; a
master dark still serves frames of every filter, see
:mod:`observatory.processor.library`), flat group (filter, binning) or one light frame.
Groups are per camera setup (gain and offset settings, subframe origin:
:mod:`observatory.processor.setups`) and per detector too (a master of one extension of
a multi-extension camera never calibrates another), and a light frame is one detector's.
Dark exposure times within :func:`~observatory.calibration.dark.exposure_tolerance_s`
of the group's shortest are one group (measured shutter times: 60.012, 59.997 and 60.004
s are one 60 s group); its ``exptime_s`` is the median of its frames' and
``exptime_range_s`` their [shortest, longest]. Units of a step share nothing, so any
worker on any host may run any of them; :func:`exposures_of` gives a unit its frames
back.
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.calibration.dark import exposure_tolerance_s
from observatory.db.models import (
    CalibratedFrame,
    Exposure,
    ExposureState,
    FileBatch,
    ImageType,
)
from observatory.errors import ObservatoryError

# (step, image type of its frames, the exposure columns that make a group)
_FRAME = ("binning", "naxis1", "naxis2", "detector", "camera_setup")
GROUPING: dict[str, tuple[ImageType, tuple[str, ...]]] = {
    "bias": (ImageType.BIAS, _FRAME),
    "dark": (ImageType.DARK, ("exptime_s", "filter", *_FRAME)),
    "flat_dark": (ImageType.FLAT, ("filter", *_FRAME)),
    "flat": (ImageType.FLAT, ("filter", *_FRAME)),
    "light": (ImageType.LIGHT, ("pk",)),
    "astrometry": (ImageType.LIGHT, ("pk",)),
}


def file_batch(session: Session, name: str) -> FileBatch:
    """The batch row called ``name``; raises ObservatoryError when it was never ingested."""
    row = session.scalars(select(FileBatch).where(FileBatch.name == name)).one_or_none()
    if row is None:
        raise ObservatoryError(f"batch {name!r} has not been ingested")
    return row


def _usable(
    session: Session, batch_pk: int, imagetyp: ImageType, group: dict[str, Any] | None = None
) -> list[Exposure]:
    """The batch's ok exposures of ``imagetyp`` in the order they were taken; only
    those of ``group`` (column -> value, None matching NULL; ``exptime_range_s``: the
    exposure times from its first to its second value) when given."""
    values = dict(group or {})
    matching = []
    if "exptime_range_s" in values:
        shortest_s, longest_s = values.pop("exptime_range_s")
        values.pop("exptime_s", None)
        matching.append(Exposure.exptime_s.between(shortest_s, longest_s))
    matching += [
        getattr(Exposure, column).is_(None) if value is None else getattr(Exposure, column) == value
        for column, value in values.items()
    ]
    return list(
        session.scalars(
            select(Exposure)
            .where(
                Exposure.file_batch_pk == batch_pk,
                Exposure.imagetyp == imagetyp.value,
                Exposure.state == ExposureState.OK,
                *matching,
            )
            .order_by(Exposure.date_obs, Exposure.pk)
        )
    )


def plan_units(session: Session, batch_name: str, url: str, step: str) -> list[dict[str, Any]]:
    """The units of ``step`` for the batch, in a stable order (empty: nothing to do)."""
    batch = file_batch(session, batch_name)
    imagetyp, columns = GROUPING[step]
    exposures = _usable(session, batch.pk, imagetyp)
    if step == "astrometry":
        calibrated = set(
            session.scalars(
                select(CalibratedFrame.exposure_pk).where(
                    CalibratedFrame.exposure_pk.in_([e.pk for e in exposures])
                )
            )
        )
        exposures = [e for e in exposures if e.pk in calibrated]
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    times = _exposure_time_groups(exposures, columns) if "exptime_s" in columns else {}
    for exposure in exposures:
        group = {column: getattr(exposure, column) for column in columns}
        group |= times.get(exposure.pk, {})
        key = tuple(tuple(v) if isinstance(v, list) else v for v in group.values())
        groups.setdefault(key, group)
    return [
        {"step": step, "batch": batch_name, "url": url, "group": group, "label": _label(group)}
        for group in groups.values()
    ]


def _exposure_time_groups(
    exposures: list[Exposure], columns: tuple[str, ...]
) -> dict[int, dict[str, Any]]:
    """Each exposure's ``exptime_s`` and ``exptime_range_s`` in its group: exposures
    alike but for the exposure time are one group when their times lie within the
    tolerance of the group's shortest (so no two of a group differ by more)."""
    alike: dict[tuple[Any, ...], list[Exposure]] = {}
    for exposure in exposures:
        key = tuple(getattr(exposure, column) for column in columns if column != "exptime_s")
        alike.setdefault(key, []).append(exposure)
    times: dict[int, dict[str, Any]] = {}
    for members in alike.values():
        clusters: list[list[Exposure]] = []
        for exposure in sorted(members, key=lambda e: e.exptime_s):
            shortest_s = clusters[-1][0].exptime_s if clusters else None
            if shortest_s is not None and (
                exposure.exptime_s - shortest_s <= exposure_tolerance_s(shortest_s)
            ):
                clusters[-1].append(exposure)
            else:
                clusters.append([exposure])
        for cluster in clusters:
            seconds = [e.exptime_s for e in cluster]
            group = {"exptime_s": median(seconds), "exptime_range_s": [seconds[0], seconds[-1]]}
            times |= {e.pk: group for e in cluster}
    return times


def _label(group: dict[str, Any]) -> str:
    """A unit's name, from every value of its group that can tell two units of a step
    apart: a step's outputs and errors are listed by it."""
    if "pk" in group:
        return f"exposure {group['pk']}"
    parts = []
    if "exptime_s" in group:
        shortest_s, longest_s = group.get("exptime_range_s") or (0.0, 0.0)
        spread = f" ({shortest_s:g}-{longest_s:g} s)" if shortest_s != longest_s else ""
        parts.append(f"{group['exptime_s']:g} s{spread}")
    if group.get("filter"):
        parts.append(f"filter {group['filter']}")
    parts.append(f"binning {group['binning']}")
    parts.append(f"{group['naxis1']}x{group['naxis2']} px")
    if group.get("detector"):
        parts.append(f"detector {group['detector']}")
    if group.get("camera_setup"):
        parts.append(group["camera_setup"])
    return ", ".join(parts)


def exposures_of(
    session: Session, batch_pk: int, step: str, group: dict[str, Any]
) -> list[Exposure]:
    """The usable exposures of one unit's group, selected in SQL: a light's unit reads
    its one row, not every light of the batch."""
    imagetyp, _ = GROUPING[step]
    return _usable(session, batch_pk, imagetyp, group)


def names(exposures: Iterable[Exposure]) -> list[str]:
    return [e.path for e in exposures]
