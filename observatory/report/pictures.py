"""PNG pictures of FITS frames for the night report: binned, zscale-stretched, and with an
RA/Dec grid drawn from the header's WCS when it has a celestial one.

Frames are mean-binned by a whole factor before plotting, so a 4096 x 4096 frame becomes
about 680 x 680 and renders in a few tenths of a second; the grid is drawn in the full
frame's pixel coordinates, so the header WCS (TAN or TAN-SIP) applies unchanged. Frames
without a grid are written as 8-bit grayscale PNGs straight from the stretched pixels;
those with a grid go through matplotlib and are stored with a 256-colour palette, a third
of the size of matplotlib's own RGBA PNG.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.visualization import ZScaleInterval
from astropy.wcs import WCS, FITSFixedWarning
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from observatory.errors import FrameFormatUnsupported

# Longest side of a binned picture, in binned pixels.
MAX_SIDE_PX = 720
DPI = 100
# Fast zlib: noisy astronomical frames barely compress further at higher levels.
PNG_OPTIONS = {"compress_level": 1}


@dataclass(frozen=True)
class BinnedFrame:
    """A frame mean-binned by ``factor``; ``full_shape`` is the cropped unbinned shape
    (rows, columns) the binned pixels cover, starting at pixel (0, 0)."""

    data: np.ndarray
    factor: int
    full_shape: tuple[int, int]
    header: fits.Header


@dataclass(frozen=True)
class Picture:
    """A written PNG: its size in pixels and whether an RA/Dec grid was drawn."""

    path: Path
    width_px: int
    height_px: int
    with_grid: bool


def read_binned(path: Path, max_side_px: int = MAX_SIDE_PX) -> BinnedFrame:
    """The first 2-D image of a FITS file, mean-binned so no side exceeds ``max_side_px``.

    Raises FileNotFoundError when the file is absent, OSError when it is not FITS or is
    truncated, FrameFormatUnsupported when it holds no 2-D image.
    """
    with fits.open(path, memmap=True, do_not_scale_image_data=True) as hdus:
        hdu = _first_image(hdus, path)
        try:
            raw = hdu.data
        except TypeError as error:  # numpy's words for a memory map past the file's end
            raise OSError(f"{path}: image data truncated ({error})") from error
        factor = max(1, math.ceil(max(raw.shape) / max_side_px))
        rows, cols = (raw.shape[0] // factor) * factor, (raw.shape[1] // factor) * factor
        # Sum each run of `factor` rows (contiguous memory), then every `factor`-th column:
        # several times faster than numpy's mean over a 4-D reshaped view.
        row_sums = (
            raw[:rows, :cols].reshape(rows // factor, factor, cols).sum(axis=1, dtype=np.float64)
        )
        sums = np.zeros((rows // factor, cols // factor))
        for offset in range(factor):
            sums += row_sums[:, offset::factor]
        # Scaling is linear, so scaling the means equals the mean of the scaled values.
        bscale, bzero = float(hdu.header.get("BSCALE", 1)), float(hdu.header.get("BZERO", 0))
        binned = (sums * (bscale / factor**2) + bzero).astype(np.float32)
        return BinnedFrame(binned, factor, (rows, cols), hdu.header.copy())


def stretch(data: np.ndarray) -> np.ndarray:
    """8-bit grey levels of ``data`` between its zscale limits (0 below, 255 above)."""
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.zeros(data.shape, np.uint8)
    low, high = ZScaleInterval().get_limits(finite)
    span = high - low if high > low else 1.0
    scaled = np.nan_to_num((data - low) * (255.0 / span), nan=0.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _first_image(hdus: fits.HDUList, path: Path) -> fits.PrimaryHDU | fits.ImageHDU:
    for hdu in hdus:
        if isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU) and hdu.header.get("NAXIS") == 2:
            return hdu
    raise FrameFormatUnsupported(f"{path}: no HDU holds a 2-D image")


def celestial_wcs(header: fits.Header) -> WCS | None:
    """The header's celestial WCS, or None when it has none (e.g. a master frame)."""
    with warnings.catch_warnings():
        # Non-standard but harmless cards (DATE-OBS formats, SIP without -SIP) are common.
        warnings.simplefilter("ignore", FITSFixedWarning)
        warnings.simplefilter("ignore", AstropyWarning)
        wcs = WCS(header, naxis=2)
    return wcs if wcs.has_celestial and wcs.celestial.naxis == 2 else None


def render_frame(fits_path: Path, png_path: Path, *, grid: bool) -> Picture:
    """Write a PNG of a FITS frame, with an RA/Dec grid when ``grid`` is true and the
    header holds a celestial WCS. Creates ``png_path``'s folder; errors as
    :func:`read_binned`."""
    frame = read_binned(fits_path)
    wcs = celestial_wcs(frame.header) if grid else None
    grey = stretch(frame.data)
    if wcs is not None:
        image = _grid_image(frame, grey, wcs)
    else:
        # The picture's top is the image's top: the file's first row for a top-down file.
        image = Image.fromarray(grey if _top_down(frame.header) else grey[::-1])
    png_path.parent.mkdir(parents=True, exist_ok=True)
    image.save(png_path, format="PNG", **PNG_OPTIONS)
    return Picture(png_path, image.width, image.height, wcs is not None)


def _grid_image(frame: BinnedFrame, grey: np.ndarray, wcs: WCS) -> Image.Image:
    rows, cols = grey.shape
    image_w_in, image_h_in = cols / DPI, rows / DPI
    # Room on the left and below for the RA/Dec tick labels.
    left_in, bottom_in = 1.0, 0.55
    width_in, height_in = image_w_in + left_in + 0.25, image_h_in + bottom_in + 0.15
    figure = Figure(figsize=(width_in, height_in), dpi=DPI)
    canvas = FigureCanvasAgg(figure)
    box = (left_in / width_in, bottom_in / height_in, image_w_in / width_in, image_h_in / height_in)
    axes = figure.add_axes(box, projection=wcs)
    full_rows, full_cols = frame.full_shape
    axes.imshow(
        grey,
        origin="lower",
        cmap="gray",
        vmin=0,
        vmax=255,
        interpolation="nearest",
        # Pixel centres of the full frame, so that the WCS applies unchanged.
        extent=(-0.5, full_cols - 0.5, -0.5, full_rows - 0.5),
    )
    if _top_down(frame.header):
        axes.invert_yaxis()  # the file's first row is the image's top
    _draw_grid(axes)
    canvas.draw()
    rgba = Image.fromarray(np.asarray(canvas.buffer_rgba()))
    return rgba.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)


def _top_down(header: fits.Header) -> bool:
    """Whether the file's first row is the image's top (``ROWORDER = 'TOP-DOWN'``, as NINA
    and the telescope write it); otherwise FITS's own order, the first row at the bottom."""
    return str(header.get("ROWORDER", "")).strip().upper() == "TOP-DOWN"


def _draw_grid(axes: object) -> None:
    ra, dec = axes.coords[0], axes.coords[1]  # type: ignore[attr-defined]
    ra.set_format_unit("hourangle")
    ra.set_major_formatter("hh:mm:ss")
    dec.set_major_formatter("dd:mm")
    ra.set_axislabel("RA")
    dec.set_axislabel("Dec")
    for coord in (ra, dec):
        coord.grid(color="#00e0ff", alpha=0.7, linestyle="solid", linewidth=0.6)
        coord.set_ticklabel(size=7)
