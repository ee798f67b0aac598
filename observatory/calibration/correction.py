"""Pixel arithmetic shared by flat-dark correction and light calibration.

``correct_frame`` computes ``((raw - bias) - dark * dark_scale) / flat`` in float32 in
one fused pass (a compiled kernel; the numpy engine gives the same bits) and refuses a
flat whose pixels are not all finite and positive.
"""

import os

import numpy as np
from astropy.io import fits

from observatory.calibration import kernels, reference
from observatory.calibration.dark import bias_included
from observatory.calibration.products import MasterFrame
from observatory.calibration.sources import FrameInput, FrameStack
from observatory.calibration.stacking import GROUP_BYTES, Engine
from observatory.errors import FlatFieldInvalid, FrameMismatch


def correct_frame(
    frame: FrameInput,
    bias: np.ndarray,
    dark: np.ndarray,
    dark_scale: float,
    flat: np.ndarray | None = None,
    *,
    engine: Engine = "numba",
) -> np.ndarray:
    """((raw - bias) - dark * dark_scale) / flat as a new float32 array (no division
    without ``flat``).

    ``frame`` is a FITS path, an array or a CCDData-like object; its values are decoded
    as astropy would (BZERO honoured). Raises FrameMismatch when shapes differ and
    FlatFieldInvalid when the flat has pixels that are zero, negative or not finite.
    """
    with FrameStack([frame]) as stack:
        masters = {"bias": bias, "dark": dark} | ({} if flat is None else {"flat": flat})
        for role, master in masters.items():
            if master.shape != stack.shape:
                raise FrameMismatch(f"{role} shape {master.shape} differs from frame {stack.shape}")
        bias32, dark32 = _float32(bias), _float32(dark)
        flat32 = _float32(flat) if flat is not None else np.ones((1, 1), np.float32)
        if engine == "numpy":
            values = stack.values(0, 0, stack.shape[0])
            result, bad_flat = reference.calibrate(
                values, stack.offset, bias32, dark32, dark_scale, None if flat is None else flat32
            )
        else:
            source = stack.kernel_frames(0, stack.shape[0])
            result = np.empty(stack.shape, np.float32)
            group = max(1, GROUP_BYTES // (stack.shape[1] * stack.kernel_itemsize))
            with kernels.PARALLEL_LOCK:
                bad_flat, failures = kernels.calibrate_rows(
                    source.as_tuple(), source.offset, bias32, dark32, float(dark_scale), flat32,
                    flat is not None, group, result,
                )  # fmt: skip
            if failures:
                raise OSError(f"{stack.names[0]}: reading the frame data failed")
    if bad_flat:
        raise FlatFieldInvalid(f"flat has {bad_flat} pixels that are zero, negative or not finite")
    return result


def frame_header(frame: FrameInput) -> fits.Header | None:
    """The input frame's own header: a FITS file's primary header, a CCDData's header
    (``.header`` or ``.meta``), None for a bare array."""
    if isinstance(frame, str | os.PathLike):
        return fits.getheader(frame)
    for attribute in ("header", "meta"):
        value = getattr(frame, attribute, None)
        if isinstance(value, fits.Header):
            return value
        if value:
            return fits.Header(dict(value).items())
    return None


def _float32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def exposure_of(header: fits.Header | None, exposure_s: float | None) -> float:
    """``exposure_s`` when given, else the header's EXPTIME [s].

    Raises ValueError when neither is known or the value is negative."""
    if exposure_s is None and header is not None and "EXPTIME" in header:
        exposure_s = float(header["EXPTIME"])
    if exposure_s is None:
        raise ValueError("exposure time unknown: pass exposure_s or give the frame an EXPTIME")
    if exposure_s < 0:
        raise ValueError(f"exposure time must not be negative, got {exposure_s} s")
    return float(exposure_s)


def require_kind(master: MasterFrame, kind: str) -> None:
    """Raise ValueError when ``master`` is not a master of ``kind``."""
    if master.kind != kind:
        raise ValueError(f"{master.label} is a master {master.kind}, expected a master {kind}")


def check_bias_and_dark(bias: MasterFrame | None, dark: MasterFrame | None) -> None:
    """Raise ValueError for a wrong master kind, or for a bias given with a dark that
    already holds the bias level (it would be subtracted twice)."""
    if bias is not None:
        require_kind(bias, "bias")
    if dark is not None:
        require_kind(dark, "dark")
        if bias is not None and bias_included(dark):
            raise ValueError(
                f"{dark.label} holds the bias level: subtracting {bias.label} too "
                "would take it twice"
            )


def zeros_for(
    frame: FrameInput, bias: MasterFrame | None, dark: MasterFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """The bias and dark arrays to subtract from ``frame``: the masters', or float32
    zeros of the frame's shape in place of one given as None."""
    present = [m.data.shape for m in (bias, dark) if m is not None]
    if present:
        shape = present[0]
    else:
        with FrameStack([frame]) as stack:
            shape = stack.shape
    zeros = np.zeros(shape, np.float32)
    return (zeros if bias is None else bias.data), (zeros if dark is None else dark.data)
