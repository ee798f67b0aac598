"""The camera setup a master must share with the frames it calibrates.

A CMOS camera's gain and offset settings change its bias level, dark current in ADU and
the flat's scale; a subframe's origin says which pixels of the sensor it holds. NINA,
SGP and ASCOM drivers write the settings as integers in ``GAIN`` and ``OFFSET``, INDI
drivers (Ekos) as real numbers (``100.000``); MaxIm, NINA and ACP write the origin of a
subframe in ``XORGSUBF``/``YORGSUBF``. A ``GAIN`` that is a CCD's e-/ADU (1.4, as
``EGAIN``; see ``cards.gain_is_setting``) is not a setting, and is left out. A sensor's
readout mode (``READOUTM``, as NINA and ASCOM drivers write it: QHY's 'High Gain Mode',
Moravian's readout speeds) has its own bias level, gain and noise. NINA writes its rows
top to bottom (``ROWORDER = 'TOP-DOWN'``), most other programs bottom-up, FITS's own
order (``'BOTTOM-UP'``, the default): the same sensor row is the first of one file and
the last of the other, so a master of the other order would correct the wrong rows. The
setup is text (``"gain 100, offset 50, origin 48,32, readout High Gain Mode, rows
top-down"``; one too long for its column ends with a digest of the whole; empty when the
headers write none of it, and an origin of 0,0 and rows bottom-up are the defaults and
not written), compared whole: a master of another setup
is no master at all.

The sensor temperature is not part of it: CCD-TEMP is measured and drifts, cameras
without a cooler follow the night, and no tolerance would suit both; an observer who
needs matched temperatures takes the darks at the lights' set point.
"""

from __future__ import annotations

import hashlib

from astropy.io import fits

from observatory.db.models import CAMERA_SETUP_LENGTH
from observatory.processor.cards import CardUnreadable, gain_is_setting


def _setting(value: object, real_is_setting: bool) -> str | None:
    """A setting card's value as text: an integer or a name; a real number only when
    ``real_is_setting``; None for a blank or absent card."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}" if real_is_setting else None
    return str(value).strip() or None


def camera_setup(header: fits.Header) -> str:
    """The setup the header writes, as text (see the module). Raises CardUnreadable for
    a ROWORDER that is neither order."""
    gain_card = header.get("GAIN")
    real_gain = isinstance(gain_card, float) and gain_is_setting(gain_card, header.comments["GAIN"])
    gain = _setting(gain_card, real_is_setting=real_gain)
    offset = _setting(header.get("OFFSET"), real_is_setting=True)
    parts = [f"gain {gain}"] if gain else []
    parts += [f"offset {offset}"] if offset else []
    origin = (header.get("XORGSUBF", 0), header.get("YORGSUBF", 0))
    if origin != (0, 0):
        parts.append(f"origin {origin[0]},{origin[1]}")
    mode = _setting(header.get("READOUTM"), real_is_setting=True)
    if mode:
        parts.append("readout " + " ".join(mode.split()))
    if _top_down(header.get("ROWORDER")):
        parts.append("rows top-down")
    return _fitted(", ".join(parts))


def _fitted(setup: str) -> str:
    """``setup`` as the column holds it: a longer one keeps its start and ends with a
    digest of the whole, so that two setups stay two."""
    if len(setup) <= CAMERA_SETUP_LENGTH:
        return setup
    digest = hashlib.sha256(setup.encode()).hexdigest()[:10]
    return f"{setup[: CAMERA_SETUP_LENGTH - len(digest) - 4]}... {digest}"


def _top_down(value: object) -> bool:
    """Whether ROWORDER says the rows are written top-down. Raises CardUnreadable for a
    value that is neither order (the rows' order decides which masters may serve)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    order = str(value).strip().upper()
    if order not in ("TOP-DOWN", "BOTTOM-UP"):
        raise CardUnreadable(f"ROWORDER {value!r} is neither TOP-DOWN nor BOTTOM-UP")
    return order == "TOP-DOWN"
