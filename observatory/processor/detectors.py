"""Multi-extension files: one image assembled by DETSEC, or one exposure per detector.

A file with several image HDUs holds either one detector read through several
amplifiers (each HDU an amplifier, placed by its ``DETSEC``) or several detectors (the
CCDs of a mosaic camera, each with its own sections, gain and masters). The instrument
profile's ``extensions`` says which: ``assemble``, ``separate``, or ``auto`` (the
default): assemble when every extension has a ``DETSEC`` and together they tile one
rectangle, else separate (CCDs with gaps between them, or extensions without ``DETSEC``).

A separate detector is named by the first of the profile's ``detector_cards`` found in
its own HDU's header (default ``EXTNAME``, ``CCDNAME``, ``DETPOS``, ``DETECTOR``,
``CCDNUM``, ``AMPNAME``); an ``EXTNAME`` repeated with ``EXTVER`` (``SCI`` 1..4) names
``SCI1``..``SCI4``. When names are missing or repeat, every detector of the file is named
by its HDU index (``hdu1``, ``hdu2``...), which is the same for every file of a camera.
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
    names = [_card_name(plane, profile.detector_cards) for plane in planes]
    extnames = [plane.header.get("EXTNAME") for plane in planes]
    if len(set(names)) < len(names) and all(
        name is not None and name == extname and "EXTVER" in plane.header
        for name, extname, plane in zip(names, extnames, planes, strict=True)
    ):
        names = [f"{n}{p.header['EXTVER']}" for n, p in zip(names, planes, strict=True)]
    if None in names or len(set(names)) < len(names):
        return [f"hdu{plane.index}" for plane in planes]
    return [str(name) for name in names]


def _card_name(plane: Plane, cards: list[str]) -> str | None:
    for card in cards:
        value = plane.header.get(card)
        if value is not None and str(value).strip():
            return _UNSAFE.sub("_", str(value).strip())[:MAX_NAME]
    return None
