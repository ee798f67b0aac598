"""Calibration frames checked before a master is stacked (rules and thresholds in
:mod:`observatory.calibration.screening` and ``settings.quality``).

Each frame of the group gets its ``quality_flags`` set (empty when it passes; a re-run
sets them again); flagged frames stay in the batch but are left out of the master, and
the unit's outputs name them with their reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from observatory.calibration import PreparedFrame
from observatory.calibration.overscan import read_plane_values
from observatory.calibration.screening import (
    FlatLimits,
    GroupLimits,
    Level,
    flat_flags,
    group_flags,
    measure,
    saturated_fraction,
)
from observatory.calibration.sources import FrameInput
from observatory.db.models import Exposure
from observatory.db.session import session_scope
from observatory.processor.normalised import refuse_normalised
from observatory.processor.quality import SIXTEEN_BIT_MAX_ADU
from observatory.processor.readouts import readout_from_json
from observatory.settings import Settings


@dataclass(frozen=True)
class Screened:
    """The frames to stack and those left out (``{"exposure": path, "reasons": [...]}``)."""

    kept: list[Exposure]
    left_out: list[dict[str, Any]] = field(default_factory=list)


def screen_group(
    settings: Settings, kind: str, exposures: Sequence[Exposure], levels: Sequence[Level]
) -> Screened:
    """Bias or dark frames checked against their group, from each frame's level and
    noise (``levels``, in the same order; :func:`measure` of the frame as the stacking
    reads it)."""
    limits = GroupLimits(
        settings.quality.calibration_level_sigma, settings.quality.calibration_noise_ratio
    )
    return _record(settings, exposures, group_flags(kind, levels, limits))


def screen_flats(
    settings: Settings, exposures: Sequence[Exposure], corrected: Sequence[Path], folder: Path
) -> Screened:
    """Flats checked one by one: saturation on the raw file under ``folder`` (at the
    exposure's ``saturation_adu``, else the ceiling of its pixel type), the level on its
    bias and dark corrected copy (``corrected``, in the same order). A raw flat
    normalised to [0, 1] raises NormalisedFrame (it is not underexposed: see
    :mod:`observatory.processor.normalised`)."""
    limits = FlatLimits(settings.quality.flat_min_level_adu,
                        settings.quality.flat_max_saturated_fraction)  # fmt: skip
    flags = []
    for exposure, path in zip(exposures, corrected, strict=True):
        raw = read_plane_values(folder / exposure.path, _planes(exposure))
        refuse_normalised(folder / exposure.path, raw, raw.values())
        planes = list(raw.values())
        ceiling_adu = exposure.saturation_adu or _type_ceiling_adu(planes)
        signal = measure(pixels(path))
        flags.append(flat_flags(signal, saturated_fraction(planes, ceiling_adu), limits))
    return _record(settings, exposures, flags)


def _type_ceiling_adu(planes: Sequence[NDArray[np.generic]]) -> float:
    """The largest value the raw planes' integer type holds (255 for 8-bit frames, 32767
    for signed 16-bit ones without BZERO, 65535 for the usual unsigned 16-bit), where
    a camera without a SATURATE card clips; the 16-bit ceiling for other types."""
    kinds = {plane.dtype for plane in planes}
    if len(kinds) == 1:
        (kind,) = kinds
        if kind.kind in "iu" and kind.itemsize <= 2:
            return float(np.iinfo(kind.str).max)
    return SIXTEEN_BIT_MAX_ADU


def pixels(frame: FrameInput) -> NDArray[np.floating]:
    """The image of a frame handed to the stacking (a path, a PreparedFrame or an array)."""
    if isinstance(frame, PreparedFrame):
        return np.asarray(frame.data)
    if isinstance(frame, str | Path):
        return np.asarray(fits.getdata(frame))
    return np.asarray(frame)


def _planes(exposure: Exposure) -> list[int]:
    if exposure.readout is None:
        return [0]
    return sorted({a.plane for a in readout_from_json(exposure.readout).amplifiers})


def _record(
    settings: Settings, exposures: Sequence[Exposure], flags: Sequence[list[str]]
) -> Screened:
    with session_scope(settings.sqlalchemy_url) as session:
        for exposure, reasons in zip(exposures, flags, strict=True):
            session.get_one(Exposure, exposure.pk).quality_flags = list(reasons)
    kept = [e for e, reasons in zip(exposures, flags, strict=True) if not reasons]
    left_out = [
        {"exposure": e.path, "detector": e.detector, "reasons": list(reasons)}
        for e, reasons in zip(exposures, flags, strict=True)
        if reasons
    ]
    return Screened(kept, left_out)
