"""IMAGETYP vocabularies of capture programs, mapped onto the four image types."""

from __future__ import annotations

from observatory.db.models import ImageType

# Lower-case IMAGETYP values as MaxIm DL, NINA, SGP, ACP and IRAF write them.
_VOCABULARY: dict[str, ImageType] = {
    "bias": ImageType.BIAS,
    "zero": ImageType.BIAS,
    "bias frame": ImageType.BIAS,
    "dark": ImageType.DARK,
    "dark frame": ImageType.DARK,
    "flat": ImageType.FLAT,
    "flat field": ImageType.FLAT,
    "flat frame": ImageType.FLAT,
    "sky flat": ImageType.FLAT,
    "skyflat": ImageType.FLAT,
    "dome flat": ImageType.FLAT,
    "domeflat": ImageType.FLAT,
    "twilight flat": ImageType.FLAT,
    "light": ImageType.LIGHT,
    "light frame": ImageType.LIGHT,
    "object": ImageType.LIGHT,
    "science": ImageType.LIGHT,
}


def normalise_imagetyp(value: object) -> ImageType | None:
    """The image type an IMAGETYP card means, or None for a value we do not know.

    Case, surrounding blanks and repeated inner blanks are ignored ("Flat  Field ")."""
    if not isinstance(value, str):
        return None
    return _VOCABULARY.get(" ".join(value.lower().split()))
