"""Which independent units of work each step has for a batch.

A unit is a JSON dict ``{"step", "batch", "url", "group", "label"}``: one bias group
(binning), dark group (exposure time, binning, filter), flat group (filter, binning) or
one light frame; groups are per detector too (a master of one extension of a
multi-extension camera never calibrates another), and a light frame is one detector's.
Units of a step share nothing, so any worker on any host may run any of them;
:func:`exposures_of` gives a unit its frames back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.db.models import (
    CalibratedFrame,
    Exposure,
    ExposureState,
    FileBatch,
    ImageType,
)
from observatory.errors import ObservatoryError

# (step, image type of its frames, the exposure columns that make a group)
GROUPING: dict[str, tuple[ImageType, tuple[str, ...]]] = {
    "bias": (ImageType.BIAS, ("binning", "naxis1", "naxis2", "detector")),
    "dark": (ImageType.DARK, ("exptime_s", "binning", "filter", "naxis1", "naxis2", "detector")),
    "flat_dark": (ImageType.FLAT, ("filter", "binning", "naxis1", "naxis2", "detector")),
    "flat": (ImageType.FLAT, ("filter", "binning", "naxis1", "naxis2", "detector")),
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
    those of ``group`` (column -> value, None matching NULL) when given."""
    matching = [
        getattr(Exposure, column).is_(None) if value is None else getattr(Exposure, column) == value
        for column, value in (group or {}).items()
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
    for exposure in exposures:
        group = {column: getattr(exposure, column) for column in columns}
        groups.setdefault(tuple(group.values()), group)
    return [
        {"step": step, "batch": batch_name, "url": url, "group": group, "label": _label(group)}
        for group in groups.values()
    ]


def _label(group: dict[str, Any]) -> str:
    """A unit's name, from every value of its group that can tell two units of a step
    apart: a step's outputs and errors are listed by it."""
    if "pk" in group:
        return f"exposure {group['pk']}"
    parts = []
    if "exptime_s" in group:
        parts.append(f"{group['exptime_s']:g} s")
    if group.get("filter"):
        parts.append(f"filter {group['filter']}")
    parts.append(f"binning {group['binning']}")
    parts.append(f"{group['naxis1']}x{group['naxis2']} px")
    if group.get("detector"):
        parts.append(f"detector {group['detector']}")
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
