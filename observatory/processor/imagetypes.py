"""Image-type vocabularies of capture programs, mapped onto the four image types."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.db.models import ImageType

# Lower-case values as MaxIm DL, TheSkyX, NINA, SGP, ACP, Ekos, IRAF and observatory
# pipelines (OBSTYPE) write them.
_VOCABULARY: dict[str, ImageType] = {
    "bias": ImageType.BIAS,
    "zero": ImageType.BIAS,
    "bias frame": ImageType.BIAS,
    "bias field": ImageType.BIAS,
    # The bias in French-speaking programs' words (Prism, AudeLA, Siril).
    "offset": ImageType.BIAS,
    "offset frame": ImageType.BIAS,
    "dark": ImageType.DARK,
    "dark frame": ImageType.DARK,
    "dark field": ImageType.DARK,
    # Darks at the flats' exposure (NINA's DARKFLAT): master darks like any other, which
    # the flats' dark correction chooses for their matching exposure.
    "darkflat": ImageType.DARK,
    "dark flat": ImageType.DARK,
    "dark-flat": ImageType.DARK,
    "flatdark": ImageType.DARK,
    "flat dark": ImageType.DARK,
    "flat-dark": ImageType.DARK,
    "dark flat frame": ImageType.DARK,
    "flat dark frame": ImageType.DARK,
    "flat": ImageType.FLAT,
    "flat field": ImageType.FLAT,
    "flatfield": ImageType.FLAT,
    "flat frame": ImageType.FLAT,
    "sky flat": ImageType.FLAT,
    "skyflat": ImageType.FLAT,
    "sflat": ImageType.FLAT,
    "dome flat": ImageType.FLAT,
    "domeflat": ImageType.FLAT,
    "dflat": ImageType.FLAT,
    "twilight flat": ImageType.FLAT,
    "twiflat": ImageType.FLAT,
    "lamp flat": ImageType.FLAT,
    "lampflat": ImageType.FLAT,
    "light": ImageType.LIGHT,
    "light frame": ImageType.LIGHT,
    "object": ImageType.LIGHT,
    "science": ImageType.LIGHT,
    "expose": ImageType.LIGHT,
    # LCO's OBSTYPE for a standard star's exposure, reduced as a science frame.
    "standard": ImageType.LIGHT,
    "tricolor image": ImageType.LIGHT,
}


def normalise_imagetyp(value: object, extra: Mapping[str, str] | None = None) -> ImageType | None:
    """The image type a card value means, or None for a value we do not know.

    ``extra`` maps further values (a profile's) to ``bias``/``dark``/``flat``/``light``.
    Case, surrounding blanks and repeated inner blanks are ignored ("Flat  Field ")."""
    if not isinstance(value, str):
        return None
    key = " ".join(value.lower().split())
    for word, kind in (extra or {}).items():
        if " ".join(word.lower().split()) == key:
            return ImageType(kind)
    return _VOCABULARY.get(key)
