"""Raw frames as real cameras and capture programs write them, built in the tests.

Each builder returns the HDUs of one file; ``write`` stores them. Values are seeded, so
a failing test fails the same way every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

BIAS_LEVEL_ADU = 1000.0
READ_NOISE_ADU = 5.0


def write(path: Path, hdus: fits.HDUList | list[Any]) -> Path:
    """Write ``hdus`` (an HDUList or a list of HDUs) to ``path``, fpack or gzip by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(list(hdus)).writeto(path, overwrite=True)
    return path


def primary(data: np.ndarray | None, **cards: Any) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU(data)
    for key, value in cards.items():
        hdu.header[key.replace("_", "-")] = value
    return hdu


def uint16(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 65535).astype(np.uint16)


def overscan_frame(
    rng: np.random.Generator,
    signal: np.ndarray,
    overscan_cols: int = 20,
    bias_slope: float = 0.002,
) -> np.ndarray:
    """A readout with ``overscan_cols`` overscan columns right of the data: bias level
    drifting along the rows (what per-row overscan removes), read noise everywhere."""
    rows, cols = signal.shape
    level = BIAS_LEVEL_ADU + bias_slope * np.arange(rows)[:, None]
    frame = np.empty((rows, cols + overscan_cols))
    frame[:, :cols] = signal + level
    frame[:, cols:] = level
    frame += rng.normal(0, READ_NOISE_ADU, frame.shape)
    return uint16(frame)


def write_night(folder: Path, files: dict[str, list[Any]]) -> str:
    """Write a night's files (relative name -> HDUs) and a manifest; returns its url."""
    import datetime as dt
    import json

    from observatory.hashing import sha256_of

    entries = []
    for name, hdus in files.items():
        path = write(folder / name, hdus)
        entries.append({"path": name, "size": path.stat().st_size, "sha256": sha256_of(path)})
    manifest = {"batch": folder.name, "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "complete": True, "files": entries}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder.as_uri()


# A professional CCD read through one amplifier: 3x3 binned, 60 x 40 data pixels and
# 8 overscan columns on the right; the headers give TRIMSEC and BIASSEC with blanks.
PRO_DATA_SHAPE = (40, 60)
PRO_TRIMSEC = "[1:60, 1:40]"
PRO_BIASSEC = "[61:68, 1:40]"


def pro_ccd_night(seed: int = 7, lights: int = 2) -> dict[str, list[Any]]:
    """A night of a cooled professional CCD: zeros, V dome flats and V lights, no darks;
    OBSTYPE, CCDSUM '3 3', FILTNAME, DATE-OBS with UT, sexagesimal RA/DEC."""
    rng = np.random.default_rng(seed)
    rows, cols = PRO_DATA_SHAPE
    y, x = np.mgrid[0:rows, 0:cols]
    bias_pattern = 3.0 * np.sin(x / 5.0)
    response = 1.0 + 0.05 * rng.standard_normal(PRO_DATA_SHAPE)
    vignetting = 1.0 - 0.2 * (((x - cols / 2) / cols) ** 2 + ((y - rows / 2) / rows) ** 2)
    sky = 400.0 + 2000.0 * np.exp(-((x - 20) ** 2 + (y - 15) ** 2) / 4.0)

    def frame(obstype: str, exptime: float, signal: np.ndarray, minute: int) -> list[Any]:
        data = overscan_frame(rng, bias_pattern + signal, overscan_cols=8)
        return [primary(
            data, OBSTYPE=obstype, EXPTIME=exptime, CCDSUM="3 3", FILTNAME="V",
            DATE_OBS="2026-12-05", UT=f"02:{minute:02d}:00.0", RA="10:12:30.0",
            DEC="+20:30:00", CCDTEMP=-100.0, INSTRUME="ProCCD 2k", TELESCOP="1.5m",
            TRIMSEC=PRO_TRIMSEC, BIASSEC=PRO_BIASSEC, RDNOISE=4.0, SATURATE=65000,
        )]  # fmt: skip

    night: dict[str, list[Any]] = {}
    for k in range(5):
        night[f"zero_{k:03d}.fits"] = frame("zero", 0.0, np.zeros(PRO_DATA_SHAPE), k)
    for k in range(5):
        level = 15000.0 + 2000.0 * k
        signal = rng.poisson(level * vignetting * response).astype(float)
        night[f"domeflat_V_{k:03d}.fits"] = frame("dome flat", 3.0, signal, 10 + k)
    for k in range(lights):
        signal = rng.poisson(sky * vignetting * response).astype(float)
        night[f"ngc1234_V_{k:03d}.fits"] = frame("object", 300.0, signal, 20 + k)
    return night


PRO_PROFILE = """
name = "ProCCD"
instrume = ["ProCCD 2k"]
darks_needed = false
"""


def theskyx_night(seed: int = 11) -> dict[str, list[Any]]:
    """An amateur CCD as TheSkyX writes it: 'Bias Frame', 'Dark Frame', 'Light Frame',
    OBJCTRA/OBJCTDEC sexagesimal, XBINNING/YBINNING, no overscan, and no flats."""
    rng = np.random.default_rng(seed)
    shape = (32, 48)
    dark_current = 2.0 + rng.random(shape)

    def frame(kind: str, exptime: float, signal: np.ndarray, minute: int) -> list[Any]:
        data = uint16(BIAS_LEVEL_ADU + signal + rng.normal(0, READ_NOISE_ADU, shape))
        return [primary(
            data, IMAGETYP=kind, EXPTIME=exptime, XBINNING=1, YBINNING=1, FILTER="L",
            DATE_OBS=f"2026-12-05T03:{minute:02d}:00", OBJCTRA="05 35 17.3",
            OBJCTDEC="-05 23 28", CCD_TEMP=-20.0, INSTRUME="SBIG STL-11000M",
        )]  # fmt: skip

    night: dict[str, list[Any]] = {}
    for k in range(3):
        night[f"bias_{k}.fit"] = frame("Bias Frame", 0.0, np.zeros(shape), k)
        night[f"dark_{k}.fit"] = frame("Dark Frame", 60.0, dark_current * 60, 5 + k)
    for k in range(2):
        night[f"m42_{k}.fit"] = frame("Light Frame", 60.0, dark_current * 60 + 800, 10 + k)
    return night


def nina_fpack_night(seed: int = 13) -> dict[str, list[Any]]:
    """A CMOS camera as NINA writes it, every file fpacked (the image in a CompImageHDU
    after an empty primary HDU): BIAS, DARK, FLAT, LIGHT with EXPOSURE and XBINNING."""
    rng = np.random.default_rng(seed)
    shape = (24, 36)
    response = 1.0 + 0.1 * rng.random(shape)

    def frame(kind: str, seconds: float, signal: np.ndarray, minute: int) -> list[Any]:
        data = uint16(BIAS_LEVEL_ADU + signal + rng.normal(0, READ_NOISE_ADU, shape))
        head = primary(
            None, IMAGETYP=kind, EXPOSURE=seconds, XBINNING=1, YBINNING=1, FILTER="Ha",
            DATE_OBS=f"2026-12-05T22:{minute:02d}:00.000", RA=83.82, DEC=-5.39,
            CCD_TEMP=-10.0, INSTRUME="ZWO ASI294MM Pro",
        )  # fmt: skip
        return [head, fits.CompImageHDU(data.astype(np.int32), compression_type="RICE_1")]

    night: dict[str, list[Any]] = {}
    for k in range(3):
        night[f"BIAS/bias_{k}.fits.fz"] = frame("BIAS", 0.0, np.zeros(shape), k)
        night[f"DARK/dark_{k}.fits.fz"] = frame("DARK", 30.0, np.full(shape, 60.0), 3 + k)
        night[f"FLAT/flat_{k}.fits.fz"] = frame("FLAT", 30.0, 60 + 20000 * response, 6 + k)
        night[f"LIGHT/light_{k}.fits.fz"] = frame("LIGHT", 30.0, 60 + 2000 * response, 9 + k)
    return night


def mef_night(seed: int = 17) -> dict[str, list[Any]]:
    """A two-CCD mosaic: every file a primary header and one extension per CCD with its
    own BIASSEC/DATASEC and DETSEC; zeros, flats and lights ('zero', 'flat', 'object')."""
    rng = np.random.default_rng(seed)

    def frame(obstype: str, signal: float, minute: int) -> list[Any]:
        hdus: list[Any] = [primary(None, OBSTYPE=obstype, EXPTIME=0.0 if obstype == "zero"
                                   else 5.0, FILTER="r", DATE_OBS=f"2026-12-05T01:{minute:02d}:00",
                                   INSTRUME="Mosaic2")]  # fmt: skip
        for k in range(2):
            level = 1000.0 + 50 * k
            data = np.full((20, 34), level) + rng.normal(0, 2, (20, 34))
            data[:, :30] += signal
            ext = fits.ImageHDU(uint16(data), name=f"CCD{k + 1}")
            ext.header["BIASSEC"] = "[31:34,1:20]"
            ext.header["DATASEC"] = "[1:30,1:20]"
            ext.header["DETSEC"] = f"[{1 + 30 * k}:{30 + 30 * k},1:20]"
            hdus.append(ext)
        return hdus

    night: dict[str, list[Any]] = {}
    for k in range(3):
        night[f"zero{k}.fits"] = frame("zero", 0.0, k)
        night[f"flat{k}.fits"] = frame("flat", 20000.0, 5 + k)
        night[f"obj{k}.fits"] = frame("object", 1500.0, 10 + k)
    return night


# A cooled CMOS camera as NINA leaves a night: 60 s lights and darks, 2 s flats and
# their dark flats. The darks carry an amplifier glow that does not grow with time, so a
# 60 s dark scaled to 2 s is not a 2 s dark.
CMOS_SHAPE = (24, 36)
CMOS_DARK_ADU_PER_S = 0.5
CMOS_GLOW_ADU = 40.0
CMOS_SKY_ADU = 500.0


def cmos_night(
    seed: int = 19,
    *,
    biases: bool = True,
    darkflat: str = "DARKFLAT",
    filter_value: Any = "L",
) -> dict[str, list[Any]]:
    """Three each of biases (unless ``biases`` is false), 60 s darks, 2 s dark flats
    (IMAGETYP ``darkflat``), 2 s flats and two 60 s lights; FILTER on flats and lights
    is ``filter_value`` as the capture program wrote it (a wheel slot number, a padded
    name). Calibrated correctly, a light is ``CMOS_SKY_ADU`` x the flat's central level."""
    rng = np.random.default_rng(seed)
    rows, cols = CMOS_SHAPE
    _, x = np.mgrid[0:rows, 0:cols]
    bias = BIAS_LEVEL_ADU + 4.0 * np.sin(x / 3.0)
    response = 1.0 + 0.1 * x / cols

    def frame(
        kind: str, seconds: float, signal: np.ndarray, minute: int, **cards: Any
    ) -> list[Any]:
        glow = CMOS_GLOW_ADU if seconds > 0 else 0.0
        data = bias + glow + CMOS_DARK_ADU_PER_S * seconds + signal
        data = uint16(data + rng.normal(0, 1.0, CMOS_SHAPE))
        return [primary(
            data, IMAGETYP=kind, EXPOSURE=seconds, XBINNING=1, YBINNING=1,
            DATE_OBS=f"2026-12-05T22:{minute:02d}:00.000", CCD_TEMP=-10.0,
            INSTRUME="ZWO ASI2600MM Pro", **cards,
        )]  # fmt: skip

    zero = np.zeros(CMOS_SHAPE)
    night: dict[str, list[Any]] = {}
    for k in range(3):
        if biases:
            night[f"BIAS/bias_{k}.fits"] = frame("BIAS", 0.0, zero, k)
        night[f"DARK/dark_{k}.fits"] = frame("DARK", 60.0, zero, 3 + k)
        night[f"DARKFLAT/darkflat_{k}.fits"] = frame(darkflat, 2.0, zero, 6 + k)
        level = 20000.0 + 1000.0 * k
        night[f"FLAT/flat_{k}.fits"] = frame("FLAT", 2.0, level * response, 9 + k,
                                             FILTER=filter_value)  # fmt: skip
    for k in range(2):
        night[f"LIGHT/light_{k}.fits"] = frame("LIGHT", 60.0, CMOS_SKY_ADU * response, 12 + k,
                                               FILTER=filter_value)  # fmt: skip
    return night
