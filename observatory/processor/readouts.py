"""How the image planes of a raw file become one calibrated-size image.

Sections come from the headers (``BIASSEC`` with ``TRIMSEC`` or ``DATASEC``; per
amplifier ``BIASSECA``/``DATASECA``..., ``BIASSEC1``/``DATASEC1``...), else from the
instrument profile. A multi-extension file assembled into one image has each image HDU
placed by its ``DETSEC`` (in unbinned detector pixels, divided by the binning); one
calibrated extension by extension (see :mod:`observatory.processor.detectors`) has a
readout per extension. The readout is stored on the
exposure row as JSON, so every later step cuts the frame exactly as ingest decided.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from astropy.io import fits

from observatory.calibration.overscan import (
    Amplifier,
    Readout,
    check_tiling,
    packed_placements,
)
from observatory.calibration.sections import Section, parse_section
from observatory.errors import FrameMismatch, ObservatoryError
from observatory.processor.profiles import InstrumentProfile

_AMP_DATA = re.compile(r"^DATASEC([A-Z]|\d+)$")


class ReadoutUnreadable(ObservatoryError):
    """Sections that are missing, malformed or do not fit the image."""


@dataclass(frozen=True)
class Plane:
    """One image HDU of a file: its index, header and shape (rows, columns)."""

    index: int
    header: fits.Header
    shape: tuple[int, int]


def _section(header: fits.Header, card: str, where: str = "") -> Section:
    try:
        return parse_section(header[card])
    except ValueError as error:
        raise ReadoutUnreadable(f"{where}{card}: {error}") from None


def _plane_amplifiers(plane: Plane, profile: InstrumentProfile, where: str) -> list[Amplifier]:
    """The plane's amplifiers (placements not yet set), or none for a plain image."""
    header = plane.header
    suffixes = sorted(m[1] for key in header if (m := _AMP_DATA.match(key)))
    pairs: list[tuple[Section, Section | None]] = []
    if suffixes:
        for suffix in suffixes:
            scan = f"BIASSEC{suffix}"
            overscan = _section(header, scan, where) if scan in header else None
            pairs.append((_section(header, f"DATASEC{suffix}", where), overscan))
    elif any(card in header for card in ("BIASSEC", "TRIMSEC", "DATASEC")):
        data_card = "TRIMSEC" if "TRIMSEC" in header else "DATASEC" if "DATASEC" in header else None
        if data_card is None:
            raise ReadoutUnreadable(f"{where}BIASSEC is given but neither TRIMSEC nor DATASEC")
        overscan = _section(header, "BIASSEC", where) if "BIASSEC" in header else None
        pairs.append((_section(header, data_card, where), overscan))
    elif profile.amplifiers:
        pairs = [
            (parse_section(a.datasec), None if a.biassec is None else parse_section(a.biassec))
            for a in profile.amplifiers
        ]
    elif profile.datasec or profile.biassec:
        if profile.datasec is None:
            raise ReadoutUnreadable(f"profile {profile.name}: biassec without datasec")
        overscan = parse_section(profile.biassec) if profile.biassec else None
        pairs.append((parse_section(profile.datasec), overscan))
    for data, overscan in pairs:
        for section in (data, overscan):
            if section is not None and not section.within(plane.shape):
                raise ReadoutUnreadable(
                    f"{where}section {section.fits()} lies outside the "
                    f"{plane.shape[1]}x{plane.shape[0]} image"
                )
    return [Amplifier(data, overscan or None, (0, 0), plane.index) for data, overscan in pairs]


def _packed(amps: list[Amplifier]) -> tuple[list[Amplifier], tuple[int, int]]:
    try:
        offsets, shape = packed_placements([a.data for a in amps])
    except FrameMismatch as error:
        raise ReadoutUnreadable(str(error)) from None
    return [
        Amplifier(a.data, a.overscan, o, a.plane) for a, o in zip(amps, offsets, strict=True)
    ], shape


def readout_of(
    planes: list[Plane],
    profile: InstrumentProfile,
    binning: int,
    header: fits.Header,
    plain_file: bool = True,
) -> Readout | None:
    """The readout of a file's image planes; None for one image used whole from the
    primary HDU of a ``plain_file`` (not gzip-compressed: the calibration reads its
    rows straight from disk). One image is cut by the sections of ``header`` (the
    file's header, primary and image cards together); several by their own. Raises
    ReadoutUnreadable naming the card that is wrong."""
    method, order = profile.overscan_method, profile.overscan_order
    if len(planes) == 1:
        plane = Plane(planes[0].index, header, planes[0].shape)
        amps = _plane_amplifiers(plane, profile, "")
        if not amps:
            if plane.index == 0 and plain_file:
                return None
            whole = Section((0, plane.shape[0]), (0, plane.shape[1]))
            return Readout(
                (Amplifier(whole, None, (0, 0), plane.index),), plane.shape, method, order
            )
        placed, shape = _packed(amps)
        return Readout(tuple(placed), shape, method, order)
    return assembled(planes, profile, binning)


def assembled(planes: list[Plane], profile: InstrumentProfile, binning: int) -> Readout:
    """The planes placed by their DETSECs into one image. Raises ReadoutUnreadable when
    one has no DETSEC, a section is wrong, or they do not tile one rectangle."""
    placed: list[Amplifier] = []
    for plane in planes:
        where = f"HDU {plane.index}: "
        if "DETSEC" not in plane.header:
            raise ReadoutUnreadable(
                f"{where}no DETSEC: {len(planes)} image extensions cannot be assembled"
            )
        detector = _section(plane.header, "DETSEC", where)
        amps = _plane_amplifiers(plane, profile, where)
        if not amps:
            amps = [
                Amplifier(
                    Section((0, plane.shape[0]), (0, plane.shape[1])), None, (0, 0), plane.index
                )
            ]
        local, local_shape = _packed(amps)
        step = _detector_step(detector, local_shape, binning, where)
        origin = (detector.rows[0] // step, detector.cols[0] // step)
        for a in local:
            at = (origin[0] + a.placement[0], origin[1] + a.placement[1])
            placed.append(Amplifier(a.data, a.overscan, at, a.plane))
    top = min(a.placement[0] for a in placed)
    left = min(a.placement[1] for a in placed)
    shifted = [Amplifier(a.data, a.overscan, (a.placement[0] - top, a.placement[1] - left), a.plane)
               for a in placed]  # fmt: skip
    rows = max(a.placement[0] + a.data.shape[0] for a in shifted)
    cols = max(a.placement[1] + a.data.shape[1] for a in shifted)
    readout = Readout(tuple(shifted), (rows, cols), profile.overscan_method, profile.overscan_order)
    try:
        check_tiling(readout)
    except FrameMismatch as error:
        # Gaps between the CCDs of a mosaic: they are detectors of their own.
        raise ReadoutUnreadable(f"the DETSECs do not assemble into one image: {error}") from None
    return readout


def _detector_step(detector: Section, shape: tuple[int, int], binning: int, where: str) -> int:
    """Detector pixels per image pixel: 1, or the binning when DETSEC counts unbinned."""
    for step in (1, binning):
        if detector.shape == (shape[0] * step, shape[1] * step):
            return step
    raise ReadoutUnreadable(
        f"{where}DETSEC {detector.fits()} does not match the {shape[1]}x{shape[0]} data"
    )


def readout_json(readout: Readout | None) -> dict[str, Any] | None:
    """The readout as stored on the exposure row."""
    if readout is None:
        return None
    return {
        "shape": list(readout.shape),
        "method": readout.method,
        "order": readout.order,
        "amplifiers": [
            {"plane": a.plane, "data": a.data.fits(), "placement": list(a.placement),
             "overscan": None if a.overscan is None else a.overscan.fits()}
            for a in readout.amplifiers
        ],
    }  # fmt: skip


def readout_from_json(value: dict[str, Any]) -> Readout:
    """The readout stored by :func:`readout_json`."""
    amps = tuple(
        Amplifier(
            parse_section(a["data"]),
            None if a["overscan"] is None else parse_section(a["overscan"]),
            (int(a["placement"][0]), int(a["placement"][1])),
            int(a["plane"]),
        )
        for a in value["amplifiers"]
    )
    return Readout(
        amps, (int(value["shape"][0]), int(value["shape"][1])), value["method"], int(value["order"])
    )
