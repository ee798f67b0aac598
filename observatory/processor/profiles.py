"""Instrument profiles: what the processor must know of a camera beyond its headers.

One TOML file per instrument under ``processor.instruments_dir``; the file named
``default.toml`` (or, without it, the built-in default) serves every other camera. A
profile is chosen by the frame's ``INSTRUME`` (and ``TELESCOP`` when the profile names
telescopes); the most specific match wins. Unknown keys are refused, so a misspelt key
never silently falls back to a default.

Example::

    name = "ProCCD"
    instrume = ["E2V 42-40"]
    darks_needed = false              # cooled to -100 C: dark current is negligible
    missing_calibrations = "skip"
    overscan_method = "median"        # or "mean", or "fit" (polynomial of overscan_order)
    biassec = "[2049:2080,1:2048]"    # used when the headers have no BIASSEC
    datasec = "[1:2048,1:2048]"
    extensions = "separate"           # each image extension a detector of its own
    [cards]
    filter = ["FILTNAME"]             # read the filter from FILTNAME only
    [imagetypes]
    "twilight" = "flat"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from observatory.calibration.sections import parse_section
from observatory.errors import ConfigurationError

Quantity = Literal[
    "imagetyp", "exptime", "filter", "binning", "date_obs", "ra", "dec", "object",
    "ccd_temp", "gain", "read_noise", "saturation",
]  # fmt: skip


class AmplifierProfile(BaseModel):
    """One amplifier's sections (FITS 1-based, inclusive) when headers do not give them."""

    model_config = ConfigDict(extra="forbid")

    datasec: str
    biassec: str | None = None

    @field_validator("datasec", "biassec")
    @classmethod
    def _section(cls, value: str | None) -> str | None:
        if value is not None:
            parse_section(value)
        return value


class InstrumentProfile(BaseModel):
    """What the processor knows of one camera; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    name: str
    instrume: list[str] = Field(default_factory=list)
    telescop: list[str] = Field(default_factory=list)
    # Header overrides: the cards to read a quantity from, in order (replacing the defaults).
    cards: dict[Quantity, list[str]] = Field(default_factory=dict)
    # Extra image-type values of this camera, e.g. {"twilight" = "flat"}.
    imagetypes: dict[str, Literal["bias", "dark", "flat", "light"]] = Field(default_factory=dict)
    # Sections used when the headers lack BIASSEC / DATASEC / TRIMSEC.
    biassec: str | None = None
    datasec: str | None = None
    amplifiers: list[AmplifierProfile] = Field(default_factory=list)
    overscan_method: Literal["median", "mean", "fit"] = "median"
    overscan_order: int = Field(default=1, ge=0, le=5)
    # False for a camera so cold that dark current is negligible: no dark is applied.
    darks_needed: bool = True
    # "fail" or "skip" for this camera (None: processor.missing_calibrations).
    missing_calibrations: Literal["fail", "skip"] | None = None
    # Multi-extension files (several image HDUs): "assemble" them into one image by
    # DETSEC (the amplifiers of one CCD); "separate": each is its own detector, calibrated
    # with masters of its own (the CCDs of a mosaic); "auto": assemble when every
    # extension has a DETSEC and together they tile one rectangle, else separate.
    extensions: Literal["auto", "assemble", "separate"] = "auto"
    # The cards of an extension's own header that name its detector, in order.
    detector_cards: list[str] = Field(
        default_factory=lambda: ["EXTNAME", "CCDNAME", "DETPOS", "DETECTOR", "CCDNUM", "AMPNAME"],
        min_length=1,
    )
    # Values that win over the headers' (None: the header's SATURATE, GAIN, RDNOISE).
    saturation_adu: float | None = None
    gain_e_per_adu: float | None = None
    read_noise_e: float | None = None

    @field_validator("biassec", "datasec")
    @classmethod
    def _section(cls, value: str | None) -> str | None:
        if value is not None:
            parse_section(value)
        return value

    def matches(self, instrume: str, telescop: str) -> int:
        """How specifically this profile names the camera: 2 (instrument and telescope),
        1 (instrument), 0 (not this camera)."""
        if _norm(instrume) not in {_norm(i) for i in self.instrume}:
            return 0
        if not self.telescop:
            return 1
        return 2 if _norm(telescop) in {_norm(t) for t in self.telescop} else 0


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


DEFAULT_PROFILE = InstrumentProfile(name="default")


@dataclass(frozen=True)
class Profiles:
    """The profiles of an instruments folder and the default one."""

    default: InstrumentProfile = field(default_factory=lambda: DEFAULT_PROFILE)
    named: tuple[InstrumentProfile, ...] = field(default_factory=tuple)

    def for_camera(self, instrume: object, telescop: object) -> InstrumentProfile:
        """The most specific profile naming this INSTRUME (and TELESCOP), else the default."""
        if not isinstance(instrume, str):
            return self.default
        ranked = [(p.matches(instrume, str(telescop or "")), p) for p in self.named]
        best = max(ranked, key=lambda pair: pair[0], default=(0, self.default))
        return best[1] if best[0] > 0 else self.default


def load_profile(path: Path) -> InstrumentProfile:
    """The profile in the TOML file ``path``. Raises ConfigurationError with one line
    naming the file, the key and what is wrong."""
    try:
        raw = tomllib.loads(path.read_text())
        return InstrumentProfile.model_validate(raw)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"instrument profile {path}: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise ConfigurationError(
            f"instrument profile {path}: {where}: {first['msg']}"
            + (f" ({len(error.errors()) - 1} more)" if len(error.errors()) > 1 else "")
        ) from None


def load_profiles(folder: Path) -> Profiles:
    """Every ``*.toml`` profile of ``folder`` (none when it does not exist); ``default.toml``
    is the default. Raises ConfigurationError for an invalid file or a name used twice."""
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    profiles = [load_profile(path) for path in files]
    names = [p.name for p in profiles]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigurationError(f"instrument profiles in {folder}: name {twice[0]!r} used twice")
    default = next((p for p, f in zip(profiles, files, strict=True) if f.stem == "default"), None)
    named = tuple(p for p in profiles if p is not default)
    return Profiles(default or DEFAULT_PROFILE, named)
