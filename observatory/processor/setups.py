"""The camera setup a master must share with the frames it calibrates.

A CMOS camera's gain and offset settings change its bias level, dark current in ADU and
the flat's scale; a subframe's origin says which pixels of the sensor it holds. NINA,
SGP and ASCOM drivers write the settings as integers in ``GAIN`` and ``OFFSET``; MaxIm,
NINA and ACP write the origin of a subframe in ``XORGSUBF``/``YORGSUBF``. A ``GAIN``
written as a real number (1.4) is the e-/ADU of a CCD (as ``EGAIN``), not a setting, and
is left out. The setup is text (``"gain 100, offset 50, origin 48,32"``; empty when the
headers write none of it, and an origin of 0,0 is the default and not written), compared
whole: a master of another setup is no master at all.

The sensor temperature is not part of it: CCD-TEMP is measured and drifts, cameras
without a cooler follow the night, and no tolerance would suit both; an observer who
needs matched temperatures takes the darks at the lights' set point.
"""

from __future__ import annotations

from astropy.io import fits

from observatory.db.models import CAMERA_SETUP_LENGTH
from observatory.processor.cards import CardUnreadable


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
    """The setup the header writes, as text (see the module). Raises CardUnreadable when
    it would be longer than the column holds."""
    gain = _setting(header.get("GAIN"), real_is_setting=False)
    offset = _setting(header.get("OFFSET"), real_is_setting=True)
    parts = [f"gain {gain}"] if gain else []
    parts += [f"offset {offset}"] if offset else []
    origin = (header.get("XORGSUBF", 0), header.get("YORGSUBF", 0))
    if origin != (0, 0):
        parts.append(f"origin {origin[0]},{origin[1]}")
    setup = ", ".join(parts)
    if len(setup) > CAMERA_SETUP_LENGTH:
        raise CardUnreadable(
            f"GAIN, OFFSET, XORGSUBF and YORGSUBF say {setup!r}: longer than "
            f"{CAMERA_SETUP_LENGTH} characters"
        )
    return setup
