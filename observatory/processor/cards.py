"""Reading what a frame is from the header vocabularies of real cameras.

Each quantity has a list of cards tried in order (a profile may replace a list); the
first card present with a non-blank value gives the value, and the card is remembered
(``CardReader.used``) so the exposure row says where each value came from. A card that
is present but cannot be read raises :class:`CardUnreadable` naming the card.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from astropy.coordinates import Angle
from astropy.io import fits
from astropy.time import Time, TimeDelta

from observatory.db.models import FILTER_LENGTH, OBJECT_LENGTH, ImageType
from observatory.errors import ObservatoryError
from observatory.processor.imagetypes import normalise_imagetyp
from observatory.processor.profiles import InstrumentProfile

DEFAULT_CARDS: dict[str, list[str]] = {
    "imagetyp": ["IMAGETYP", "OBSTYPE", "FRAME", "IMAGETYPE"],
    "exptime": ["EXPTIME", "EXPOSURE", "ITIME"],
    "filter": ["FILTER", "FILTNAME", "FILTER1", "FILTERS", "INSFLNAM"],
    "binning": ["XBINNING", "CCDSUM", "BINNING"],
    "date_obs": ["DATE-OBS", "MJD-OBS"],
    "ra": ["RA", "OBJCTRA", "TELRA"],
    "dec": ["DEC", "OBJCTDEC", "TELDEC"],
    "object": ["OBJECT"],
    "ccd_temp": ["CCD-TEMP", "CCDTEMP", "CCDATEMP", "DET-TEMP"],
    "gain": ["EGAIN", "GAIN"],
    "read_noise": ["RDNOISE", "READNOIS"],
    "saturation": ["SATURATE", "SATLEVEL"],
}
# Filter values that mean "no filter" (FILTER1/FILTER2 wheels write them for the empty slot).
_NO_FILTER = {"", "none", "n/a", "open", "empty", "clear/open"}
# Above this a temperature card holds kelvin (no CCD runs at +100 C).
_KELVIN_ABOVE = 100.0
_TIME_CARDS = ("TIME-OBS", "UT", "UTSTART", "UT-START")
# A whole real-number GAIN from this up is a gain setting (INDI's 100.000): a sensor of
# 10 e-/ADU or more would count a few ADU for its full well.
SETTING_GAIN_FROM = 10.0
_E_PER_ADU_COMMENT = re.compile(r"e-?\s*/\s*adu|electrons?\s+(per|/)", re.IGNORECASE)
# Time units other than the second that an exposure card's comment may name, in seconds.
_TIME_UNITS_S = {"ms": 1e-3, "msec": 1e-3, "millisec": 1e-3, "milliseconds": 1e-3,
                 "us": 1e-6, "usec": 1e-6, "microseconds": 1e-6,
                 "min": 60.0, "minute": 60.0, "minutes": 60.0}  # fmt: skip


T = TypeVar("T")


class CardUnreadable(ObservatoryError):
    """A header card that is present but cannot be read, or a required one absent."""


class CardReader:
    """The quantities of one header, read with a profile's cards.

    What a frame is (image type, exposure, time, binning, filter) must be read, or the
    reader raises. What only describes it (pointing, object, temperature, gain, read
    noise, saturation) is read with :meth:`optional`: a card that cannot be read leaves
    the value unknown and a line in ``problems``, and the frame is still calibrated."""

    def __init__(self, header: fits.Header, profile: InstrumentProfile) -> None:
        self.header = header
        self.profile = profile
        self.used: dict[str, str] = {}
        self.problems: list[str] = []

    def optional(self, read: Callable[[], T]) -> T | None:
        """``read()``, or None with the problem noted when its card cannot be read."""
        used = dict(self.used)
        try:
            return read()
        except CardUnreadable as error:
            self.used = used  # the card that failed is not where the value came from
            self.problems.append(f"{error}: left unknown")
            return None

    def _first(
        self, quantity: str, skip: Callable[[str, Any], bool] | None = None
    ) -> tuple[str, Any] | None:
        for card in self.profile.cards.get(quantity, DEFAULT_CARDS[quantity]):  # type: ignore[call-overload]
            value = self.header.get(card)
            if skip is not None and skip(card, value):
                continue
            if value is not None and not (isinstance(value, str) and not value.strip()):
                self.used[quantity] = card
                return card, value
        return None

    def _names(self, quantity: str) -> str:
        return ", ".join(self.profile.cards.get(quantity, DEFAULT_CARDS[quantity]))  # type: ignore[call-overload]

    def imagetyp(self) -> ImageType:
        found = self._first("imagetyp")
        if found is None:
            raise CardUnreadable(f"no image type: none of {self._names('imagetyp')} is set")
        kind = normalise_imagetyp(found[1], self.profile.imagetypes)
        if kind is None:
            raise CardUnreadable(f"{found[0]} {found[1]!r} is not a known image type")
        return kind

    def exptime_s(self) -> float:
        found = self._first("exptime")
        if found is None:
            raise CardUnreadable(f"no exposure time: none of {self._names('exptime')} is set")
        seconds = _number(found[1])
        if seconds is None or not 0 <= seconds < math.inf:
            raise CardUnreadable(f"{found[0]} {found[1]!r} is not a non-negative number")
        return seconds * self._seconds_per_unit(found[0])

    def _seconds_per_unit(self, card: str) -> float:
        """Seconds per unit of ``card``'s value: FITS writes a unit in brackets at the
        start of the comment (``[ms]``); seconds unless it names another time unit."""
        unit = re.match(r"\s*\[\s*([a-zA-Z]+)\s*\]", self.header.comments[card])
        if unit is None or unit[1].lower() not in _TIME_UNITS_S:
            return 1.0
        self.used["exptime"] = f"{card} [{unit[1]}]"
        return _TIME_UNITS_S[unit[1].lower()]

    def filter(self) -> str | None:
        found = self._first("filter")
        if found is None:
            return None
        card, value = found
        names = [str(value).strip()]
        if card == "FILTER1" and "FILTER2" in self.header:
            names.append(str(self.header["FILTER2"]).strip())
            self.used["filter"] = "FILTER1+FILTER2"
        kept = [n for n in names if n.lower() not in _NO_FILTER]
        name = "+".join(kept) or None
        if name is not None and len(name) > FILTER_LENGTH:
            raise CardUnreadable(
                f"{self.used['filter']} {name[:40]!r}... is {len(name)} characters long, over"
                f" the {FILTER_LENGTH} a filter name may have"
            )
        return name

    def binning(self) -> int:
        found = self._first("binning")
        if found is None:
            return 1
        card, value = found
        if card == "XBINNING":
            pair = (_integer(value), _integer(self.header.get("YBINNING", value)))
            if "YBINNING" in self.header:
                self.used["binning"] = "XBINNING+YBINNING"
        else:
            parts = re.split(r"[\sxX,*]+", str(value).strip())
            pair = (_integer(parts[0]), _integer(parts[-1]))
        x, y = pair
        if x is None or y is None or min(x, y) < 1:
            raise CardUnreadable(f"{self.used['binning']} {value!r} is not a binning")
        if x != y:
            raise CardUnreadable(
                f"{self.used['binning']} {value!r}: unequal binning {x}x{y} is not supported"
            )
        return x

    def date_obs(self) -> dt.datetime:
        found = self._first("date_obs")
        if found is None:
            raise CardUnreadable(f"no observation time: none of {self._names('date_obs')} is set")
        card, value = found
        try:
            if card == "MJD-OBS":
                return _from_mjd(value)
            iso = self._iso_time(card, str(value).strip())
            if iso is None:
                return self._mjd_for_date(card, value)
            return _from_iso(iso)
        except (ValueError, TypeError, OverflowError) as error:
            raise CardUnreadable(f"{self.used['date_obs']} {value!r} is not a UTC time") from error

    def _iso_time(self, card: str, value: str) -> str | None:
        """The ISO time ``value`` of ``card`` says, completed by a time card when it holds
        only a date; None for a date alone with no time card."""
        old = re.fullmatch(r"(\d\d)/(\d\d)/(\d\d)", value)  # FITS before 1999: dd/mm/yy
        if old:
            value = f"19{old[3]}-{old[2]}-{old[1]}"
        value = re.sub(r"^(\d{4}-\d\d-\d\d)\s+(?=\d)", r"\1T", value)  # a blank for the T
        if "T" in value:
            return value
        for time_card in _TIME_CARDS:
            if time_card in self.header and str(self.header[time_card]).strip():
                self.used["date_obs"] = f"{card}+{time_card}"
                return f"{value}T{str(self.header[time_card]).strip()}"
        return None if re.fullmatch(r"\d{4}-\d\d-\d\d", value) else value

    def _mjd_for_date(self, card: str, value: object) -> dt.datetime:
        """The moment MJD-OBS gives for a ``card`` that holds only a date: the date's
        midnight would put the frame hours away from its night."""
        mjd = self.header.get("MJD-OBS")
        if mjd is None or (isinstance(mjd, str) and not mjd.strip()):
            raise CardUnreadable(
                f"{card} {value!r} is a date without a time of day, and none of "
                f"{', '.join((*_TIME_CARDS, 'MJD-OBS'))} is set"
            )
        self.used["date_obs"] = "MJD-OBS"
        return _from_mjd(mjd)

    def ra_deg(self) -> float | None:
        return self._angle("ra", "hourangle", 360.0)

    def dec_deg(self) -> float | None:
        return self._angle("dec", "deg", 90.0)

    def _angle(self, quantity: str, string_unit: str, limit: float) -> float | None:
        found = self._first(quantity)
        if found is None:
            return None
        card, value = found
        degrees = _number(value)
        if degrees is None:
            try:
                degrees = float(Angle(str(value).strip(), unit=string_unit).deg)
            except ValueError as error:
                raise CardUnreadable(f"{card} {value!r} is not an angle") from error
        low = 0.0 if quantity == "ra" else -limit
        if not low <= degrees <= limit:
            raise CardUnreadable(f"{card} {value!r} is outside {low:g}..{limit:g} degrees")
        return degrees

    def object(self) -> str | None:
        found = self._first("object")
        return None if found is None else str(found[1]).strip()[:OBJECT_LENGTH]

    def ccd_temp_c(self) -> float | None:
        celsius = self.number("ccd_temp")
        return celsius - 273.15 if celsius is not None and celsius > _KELVIN_ABOVE else celsius

    def number(
        self,
        quantity: str,
        profile_value: float | None = None,
        skip: Callable[[str, Any], bool] | None = None,
    ) -> float | None:
        """A numeric quantity: the profile's value when it has one, else the first card
        (passing over those ``skip`` says to)."""
        if profile_value is not None:
            self.used[quantity] = f"profile {self.profile.name}"
            return profile_value
        found = self._first(quantity, skip)
        if found is None:
            return None
        number = _number(found[1])
        if number is None:
            raise CardUnreadable(f"{found[0]} {found[1]!r} is not a number")
        return number

    def gain_e_per_adu(self, profile_value: float | None = None) -> float | None:
        """Electrons per ADU: the profile's value when it has one, else the first gain
        card. A ``GAIN`` that is a CMOS camera's gain setting (see
        :func:`gain_is_setting`; :mod:`observatory.processor.setups`) is passed over."""

        def setting(card: str, value: object) -> bool:
            if card != "GAIN" or value is None:
                return False
            return gain_is_setting(value, self.header.comments[card])

        return self.number("gain", profile_value, skip=setting)


def gain_is_setting(value: object, comment: str = "") -> bool:
    """Whether a ``GAIN`` card's number is a CMOS camera's gain setting, not e-/ADU.

    NINA, SGP and ASCOM drivers write the setting as an integer (``EGAIN`` holds
    e-/ADU); INDI drivers (Ekos) as a real number with three decimals (``100.000 /
    Gain``). A real number is e-/ADU when its comment says so, or when it is not whole
    or below SETTING_GAIN_FROM (a CCD's 1.4 or 2.0); a whole 0 (no sensor has 0
    e-/ADU) or one from SETTING_GAIN_FROM up is a setting."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if not isinstance(value, float) or _E_PER_ADU_COMMENT.search(comment):
        return False
    return value.is_integer() and (value == 0 or value >= SETTING_GAIN_FROM)


# Seconds under 60 (a leap second is astropy's) and at most microseconds.
_PLAIN_ISO = re.compile(r"\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?")


def _from_mjd(value: object) -> dt.datetime:
    moment = Time(float(str(value).strip()), format="mjd", scale="utc")
    return moment.to_datetime().replace(tzinfo=dt.UTC)


def _from_iso(value: str) -> dt.datetime:
    """An ISO time in UTC: one ending in ``Z`` is UTC, one with an offset from UTC
    (``+02:00``, ``-0500``; not FITS, but some programs write the local time so) is moved
    by it."""
    zone = re.fullmatch(r"(.+T[\d:.]+)(Z|([+-])(\d\d):?(\d\d))", value)
    offset_s = 0
    if zone:
        value = zone[1]
        if zone[2] != "Z":
            offset_s = (1 if zone[3] == "+" else -1) * (int(zone[4]) * 3600 + int(zone[5]) * 60)
    if _PLAIN_ISO.fullmatch(value):
        # The form nearly every program writes, read by the standard library: astropy's
        # parser costs a millisecond a frame, an eighth of reading its headers at ingest.
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC) - dt.timedelta(
            seconds=offset_s
        )
    moment = Time(value, format="isot", scale="utc") - TimeDelta(offset_s, format="sec")
    return moment.to_datetime().replace(tzinfo=dt.UTC)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _integer(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and float(number).is_integer() else None
