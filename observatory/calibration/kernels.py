"""Compiled kernels (numba): combine frames pixel by pixel, calibrate one frame.

Frames reach a kernel as raw addresses (``addresses[k]`` is where frame k's first row
starts; rows are contiguous) so that N memory-mapped files, or N separate arrays, are
read in place without first being copied into one stack. The caller keeps the memory
alive while a kernel runs. Each frame is ``frame_rows x cols`` values of ``source_proto``'s
dtype in native byte order (``SOURCE_NATIVE``), or big-endian 16-bit FITS integers
(``SOURCE_BE_INT16``, BITPIX=16) whose value is ``int16 + offset`` (the BZERO).

Kernels work on output rows ``row0 <= row < row1`` (source row ``row - row_shift``),
in parallel over rows, and inside a row on blocks of ``block`` columns sized so that a
block of every frame stays in the L1 cache. The pure-numpy twins in ``reference.py``
perform the same floating-point operations in the same order, so both give identical
bits. ``cache=True`` compiles each specialisation once per machine.
"""

import numba
import numpy as np
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

SOURCE_NATIVE = 0
SOURCE_BE_INT16 = 1

# error_model="numpy": 0/0 gives NaN (a pixel with no usable value) instead of raising.
_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


@intrinsic
def _voidptr(typingctx, address):  # type: ignore[no-untyped-def]
    """Reinterpret an integer address as ``void*`` (for ``numba.carray``)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@njit(**_OPTIONS)
def _load_block(addresses, kind, source_proto, frame_rows, cols, row, x0, width, dst):  # type: ignore[no-untyped-def]
    """``dst[k, :width]`` = frame k, source row ``row``, columns ``x0 .. x0 + width``."""
    for k in range(addresses.shape[0]):
        line = dst[k]
        if kind == SOURCE_BE_INT16:
            words = numba.carray(_voidptr(addresses[k]), (frame_rows, cols), np.uint16)
            for x in range(width):
                raw = words[row, x0 + x]
                line[x] = np.int16((raw >> 8) | (raw << 8))
        else:
            values = numba.carray(_voidptr(addresses[k]), (frame_rows, cols), source_proto.dtype)
            for x in range(width):
                line[x] = values[row, x0 + x]


@njit(**_OPTIONS)
def _shift_and_scale(buf, width, offset, scales, use_scales):  # type: ignore[no-untyped-def]
    """Value = (decoded + offset) * scales[k], the order ccdproc applies BZERO then scaling."""
    for k in range(buf.shape[0]):
        line = buf[k]
        if offset != 0.0:
            for x in range(width):
                line[x] = line[x] + offset
        if use_scales:
            factor = scales[k]
            for x in range(width):
                line[x] = line[x] * factor


@njit(**_OPTIONS)
def _apply_network(buf, network, width):  # type: ignore[no-untyped-def]
    for p in range(network.shape[0]):
        low = buf[network[p, 0]]
        high = buf[network[p, 1]]
        for x in range(width):
            a = low[x]
            b = high[x]
            low[x] = min(a, b)
            high[x] = max(a, b)


@njit(**_OPTIONS)
def _count_valid(buf, width, valid):  # type: ignore[no-untyped-def]
    """valid[x] = number of non-NaN values in column x; NaNs become +inf (sort last)."""
    missing = 0
    valid[:width] = 0
    for k in range(buf.shape[0]):
        line = buf[k]
        for x in range(width):
            if line[x] != line[x]:
                line[x] = np.inf
                missing += 1
            else:
                valid[x] += 1
    return missing


@njit(parallel=True, **_OPTIONS)
def median_rows(  # type: ignore[no-untyped-def]
    addresses, kind, source_proto, frame_rows, cols, row_shift, row0, row1,
    work_proto, load_offset, scales, use_scales, out_offset, network, full_network, block, out,
):  # fmt: skip
    """out[row] = per-pixel median of the frames (+ out_offset), NaNs ignored.

    Values are sorted in ``work_proto``'s dtype; the mean of the two middle values of an
    even count is taken in float64, as numpy's median does on ccdproc's float64 stack.
    ``network`` selects the median of n values, ``full_network`` sorts them (used for
    blocks holding NaNs, whose median sits at a per-pixel position).
    """
    n = addresses.shape[0]
    m0 = (n - 1) // 2
    m1 = n // 2
    for row in prange(row0, row1):
        buf = np.empty((n, block), work_proto.dtype)
        valid = np.empty(block, np.int64)
        for x0 in range(0, cols, block):
            width = min(block, cols - x0)
            _load_block(addresses, kind, source_proto, frame_rows, cols, row - row_shift,
                        x0, width, buf)  # fmt: skip
            _shift_and_scale(buf, width, load_offset, scales, use_scales)
            line = out[row]
            if _count_valid(buf, width, valid) == 0:
                _apply_network(buf, network, width)
                for x in range(width):
                    middle = np.float64(buf[m0, x]) + np.float64(buf[m1, x])
                    line[x0 + x] = middle * 0.5 + out_offset
            else:
                _apply_network(buf, full_network, width)
                for x in range(width):
                    count = valid[x]
                    if count == 0:
                        line[x0 + x] = np.nan
                    else:
                        middle = np.float64(buf[(count - 1) // 2, x])
                        middle += np.float64(buf[count // 2, x])
                        line[x0 + x] = middle * 0.5 + out_offset


@njit(parallel=True, **_OPTIONS)
def mean_rows(  # type: ignore[no-untyped-def]
    addresses, kind, source_proto, frame_rows, cols, row_shift, row0, row1,
    load_offset, scales, use_scales, block, out,
):  # fmt: skip
    """out[row] = per-pixel mean (float64, frames summed in order), NaNs ignored."""
    n = addresses.shape[0]
    for row in prange(row0, row1):
        buf = np.empty((n, block), np.float64)
        total = np.empty(block, np.float64)
        count = np.empty(block, np.float64)
        for x0 in range(0, cols, block):
            width = min(block, cols - x0)
            _load_block(addresses, kind, source_proto, frame_rows, cols, row - row_shift,
                        x0, width, buf)  # fmt: skip
            _shift_and_scale(buf, width, load_offset, scales, use_scales)
            total[:] = 0.0
            count[:] = 0.0
            for k in range(n):
                line = buf[k]
                for x in range(width):
                    value = line[x]
                    present = value == value
                    total[x] += value if present else 0.0
                    count[x] += 1.0 if present else 0.0
            for x in range(width):
                out[row, x0 + x] = total[x] / count[x]


@njit(**_OPTIONS)
def _kept_mean_std(buf, keep, width, total, count, squares):  # type: ignore[no-untyped-def]
    """Per column: mean and population std of the kept values, frames summed in order."""
    total[:width] = 0.0
    count[:width] = 0.0
    squares[:width] = 0.0
    for k in range(buf.shape[0]):
        for x in range(width):
            kept = keep[k, x]
            total[x] += buf[k, x] if kept else 0.0
            count[x] += 1.0 if kept else 0.0
    for x in range(width):
        total[x] = total[x] / count[x]
    for k in range(buf.shape[0]):
        for x in range(width):
            deviation = buf[k, x] - total[x]
            squares[x] += deviation * deviation if keep[k, x] else 0.0
    for x in range(width):
        squares[x] = np.sqrt(squares[x] / count[x])


@njit(**_OPTIONS)
def _clip_round(buf, keep, ordered, width, state, sigma_low, sigma_high, centre_median):  # type: ignore[no-untyped-def]
    """One clipping round: new bounds for the active columns, then reject outside them.

    ``state`` rows: 0 mean, 1 count, 2 std, 3 lower, 4 upper, 5 active (1.0/0.0),
    6 first and 7 stop of the kept interval of ``ordered`` (median centre only),
    8 kept before, 9 kept after. Returns how many columns changed and stay active.
    """
    mean, count, std = state[0], state[1], state[2]
    lower, upper, active = state[3], state[4], state[5]
    first, stop, before, after = state[6], state[7], state[8], state[9]
    _kept_mean_std(buf, keep, width, mean, count, std)
    for x in range(width):
        if active[x] == 0.0:
            continue
        centre = mean[x]
        if centre_median:
            size = int(stop[x] - first[x])
            centre = np.nan
            if size > 0:
                low = int(first[x]) + (size - 1) // 2
                centre = (ordered[low, x] + ordered[int(first[x]) + size // 2, x]) * 0.5
        lower[x] = centre - sigma_low * std[x]
        upper[x] = centre + sigma_high * std[x]
    before[:width] = 0.0
    after[:width] = 0.0
    for k in range(buf.shape[0]):
        for x in range(width):
            value = buf[k, x]
            was_kept = keep[k, x]
            is_kept = was_kept and lower[x] <= value and value <= upper[x]
            before[x] += 1.0 if was_kept else 0.0
            after[x] += 1.0 if is_kept else 0.0
            keep[k, x] = is_kept
    if centre_median:
        below = before  # reused: counts of ordered values under / within the bounds
        within = after
        for x in range(width):
            if after[x] == before[x] or after[x] == 0.0:
                active[x] = 0.0
        below[:width] = 0.0
        within[:width] = 0.0
        for k in range(ordered.shape[0]):
            for x in range(width):
                below[x] += 1.0 if ordered[k, x] < lower[x] else 0.0
                within[x] += 1.0 if ordered[k, x] <= upper[x] else 0.0
        for x in range(width):
            first[x] = max(first[x], below[x])
            stop[x] = min(stop[x], within[x])
    else:
        for x in range(width):
            if after[x] == before[x] or after[x] == 0.0:
                active[x] = 0.0
    changing = 0
    for x in range(width):
        changing += active[x] != 0.0
    return changing


@njit(parallel=True, **_OPTIONS)
def sigma_clip_rows(  # type: ignore[no-untyped-def]
    addresses, kind, source_proto, frame_rows, cols, row_shift, row0, row1,
    load_offset, scales, use_scales, sigma_low, sigma_high, max_iterations, centre_median,
    full_network, block, out,
):  # fmt: skip
    """out[row] = mean of the values inside the final sigma-clipping bounds (float64).

    astropy's ``sigma_clip`` semantics: finite values only; each round computes the
    centre (mean, or median) and the population std (about the mean) of the values
    kept so far, keeps those with ``centre - sigma_low*std <= v <= centre + sigma_high*std``,
    and a pixel stops when a round rejects nothing or everything, or after
    ``max_iterations`` rounds (-1: no limit). The result averages every value inside
    that pixel's last bounds.
    """
    n = addresses.shape[0]
    for row in prange(row0, row1):
        buf = np.empty((n, block), np.float64)
        ordered = np.empty((n, block) if centre_median else (1, 1), np.float64)
        keep = np.empty((n, block), np.bool_)
        state = np.empty((10, block), np.float64)
        for x0 in range(0, cols, block):
            width = min(block, cols - x0)
            _load_block(addresses, kind, source_proto, frame_rows, cols, row - row_shift,
                        x0, width, buf)  # fmt: skip
            _shift_and_scale(buf, width, load_offset, scales, use_scales)
            state[5, :width] = 1.0
            state[6, :width] = 0.0
            state[7, :width] = 0.0
            for k in range(n):
                for x in range(width):
                    finite = np.isfinite(buf[k, x])
                    keep[k, x] = finite
                    state[7, x] += 1.0 if finite else 0.0
            if centre_median:
                for k in range(n):
                    for x in range(width):
                        ordered[k, x] = buf[k, x] if keep[k, x] else np.inf
                _apply_network(ordered, full_network, width)
            rounds = 0
            while True:
                changing = _clip_round(buf, keep, ordered, width, state, sigma_low, sigma_high,
                                       centre_median)  # fmt: skip
                rounds += 1
                if changing == 0 or (max_iterations != -1 and rounds >= max_iterations):
                    break
            lower = state[3]
            upper = state[4]
            total = state[8]
            count = state[9]
            total[:width] = 0.0
            count[:width] = 0.0
            for k in range(n):
                for x in range(width):
                    value = buf[k, x]
                    inside = lower[x] <= value and value <= upper[x]
                    total[x] += value if inside else 0.0
                    count[x] += 1.0 if inside else 0.0
            for x in range(width):
                out[row, x0 + x] = total[x] / count[x]


@njit(parallel=True, **_OPTIONS)
def calibrate_rows(  # type: ignore[no-untyped-def]
    address, kind, source_proto, rows, cols, offset, bias, dark, dark_scale, flat, use_flat, out,
):  # fmt: skip
    """out = ((value - bias) - dark * dark_scale) / flat in float32, one fused pass.

    ``value`` is the decoded raw pixel (int16 + offset for BE_INT16). Returns the number
    of flat pixels that are not finite and positive (the caller refuses the result).
    """
    addresses = np.empty(1, np.int64)
    addresses[0] = address
    scale = np.float32(dark_scale)
    shift = np.float32(offset)
    bad_flat = 0
    for row in prange(rows):
        line = np.empty((1, cols), np.float32)
        _load_block(addresses, kind, source_proto, rows, cols, row, 0, cols, line)
        result = out[row]
        for x in range(cols):
            value = line[0, x]
            if shift != 0.0:
                value = value + shift
            value = (value - bias[row, x]) - dark[row, x] * scale
            if use_flat:
                divisor = flat[row, x]
                if not (divisor > 0.0 and divisor < np.inf):
                    bad_flat += 1
                value = value / divisor
            result[x] = value
    return bad_flat
