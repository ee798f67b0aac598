"""Multi-extension files: one image assembled by DETSEC, or one exposure per detector.

A file with several image HDUs holds either one detector read through several
amplifiers (each HDU an amplifier, placed by its ``DETSEC``) or several detectors (the
CCDs of a mosaic camera, each with its own sections, gain and masters). The instrument
profile's ``extensions`` says which: ``assemble``, ``separate``, or ``auto`` (the
default): assemble when every extension has a ``DETSEC`` and together they tile one
rectangle, else separate (CCDs with gaps between them, or extensions without ``DETSEC``).

Separate detectors are named by the first of the profile's ``detector_cards`` (default
``EXTNAME``, ``CCDNAME``, ``DETPOS``, ``DETECTOR``, ``CCDNUM``, ``AMPNAME``) that every
extension's own header holds with a value of its own; an ``EXTNAME`` repeated with
``EXTVER`` (``SCI`` 1..4) names ``SCI1``..``SCI4``. When no card does, each is named by
its HDU index (``hdu1``, ``hdu2``...), the same for every file of a camera.
Names keep letters, digits and ``.+-_`` (others become ``_``): they end file names.
"""

from __future__ import annotations

import re

from observatory.processor.profiles import InstrumentProfile
from observatory.processor.readouts import Plane, ReadoutUnreadable, assembled

MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9.+_-]")


def separate_detectors(planes: list[Plane], profile: InstrumentProfile, binning: int) -> bool:
    """Whether the file's image planes are calibrated one by one (see the module
    docstring). One plane is never separate. Raises ReadoutUnreadable when the profile
    says ``assemble`` and the planes cannot be assembled."""
    if len(planes) < 2 or profile.extensions == "assemble":
        return False
    if profile.extensions == "separate":
        return True
    if not all("DETSEC" in plane.header for plane in planes):
        return True
    try:
        assembled(planes, profile, binning)
    except ReadoutUnreadable:
        return True
    return False


def detector_names(planes: list[Plane], profile: InstrumentProfile) -> list[str]:
    """One name per plane, unique within the file (see the module docstring)."""
    for card in profile.detector_cards:
        names = [_value(plane, card) for plane in planes]
        if card == "EXTNAME" and None not in names and len(set(names)) < len(names):
            names = [_with_extver(name, plane) for name, plane in zip(names, planes, strict=True)]
        if None not in names and len(set(names)) == len(names):
            return [str(name) for name in names]
    return [f"hdu{plane.index}" for plane in planes]


def _value(plane: Plane, card: str) -> str | None:
    value = plane.header.get(card)
    if value is None or not str(value).strip():
        return None
    return _UNSAFE.sub("_", str(value).strip())[:MAX_NAME]


def _with_extver(name: str | None, plane: Plane) -> str | None:
    """``SCI`` of EXTVER 2 is ``SCI2``; without EXTVER, no name."""
    extver = plane.header.get("EXTVER")
    return None if extver is None else f"{name}{extver}"
