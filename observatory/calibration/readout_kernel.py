"""Overscan, trim and calibration of one amplifier in one compiled pass.

The fast path of the light step for the usual camera file (16-bit integers with an
integral BZERO in the primary HDU): the stored big-endian words are decoded, the
amplifier's overscan level subtracted (rounded to float32, as ``prepare_image`` does),
then bias, scaled dark and flat applied in float32 exactly as ``kernels.calibrate_rows``
does, so the result is bit-identical to preparing the frame first and calibrating it
after, at a fraction of the memory traffic.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_kernel = njit(parallel=True, cache=True, nogil=True, error_model="numpy")


@_kernel
def calibrate_block(
    words, bzero, r0, c0, rows, cols, level, per_row, bias, dark, dark_scale, flat, use_flat,
    p0, q0, out,
):  # fmt: skip
    """Write one amplifier's ``rows`` x ``cols`` calibrated pixels into ``out``.

    ``words``: the plane's big-endian 16-bit words read as native uint16. The data start
    at (``r0``, ``c0``) of the plane and land at (``p0``, ``q0``) of ``out`` (and of the
    masters). ``level`` holds the overscan level [adu] per data row (``per_row``) or per
    data column. Without ``use_flat`` there is no division. Returns the number of flat
    pixels that are not finite and positive (the caller refuses the result).
    """
    scale = np.float32(dark_scale)
    bad = 0
    for i in prange(rows):
        row_level = level[i] if per_row else 0.0
        source = words[r0 + i, c0 : c0 + cols]
        b, d, o = bias[p0 + i, q0:], dark[p0 + i, q0:], out[p0 + i, q0:]
        f = flat[p0 + i, q0:] if use_flat else flat[0, :]
        row_bad = 0
        for j in range(cols):
            word = source[j]
            stored = np.int16(np.uint16((word >> 8) | (word << 8)))
            offset = row_level if per_row else level[j]
            value = np.float32(np.float64(stored) + bzero - offset)
            value = (value - b[j]) - d[j] * scale
            if use_flat:
                divisor = f[j]
                row_bad += not (divisor > 0.0 and divisor < np.inf)
                value = value / divisor
            o[j] = value
        bad += row_bad
    return bad
