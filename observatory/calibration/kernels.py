"""Compiled kernels (numba): combine frames pixel by pixel, calibrate one frame.

A kernel receives its frames as one tuple ``frames`` (see ``sources.KernelFrames``):
``(fds, positions, from_files, kind, source_proto, cols, row_shift)``. With
``from_files`` each thread reads the rows it needs with ``pread`` from file descriptor
``fds[k]`` at byte ``positions[k]`` into a small buffer of its own: the copy from the
page cache is as cheap as a plain read, the buffer stays in cache, and nothing is
mapped, so memory does not grow with the number of frames. Otherwise ``positions[k]``
is the address of frame k's first row in memory (arrays), read in place.

Values are ``source_proto``'s dtype in native order (``SOURCE_NATIVE``) or big-endian
16-bit FITS integers (``SOURCE_BE_INT16``, BITPIX=16) decoded as int16; the caller adds
the BZERO as an offset. Source row = output row - ``row_shift``.

Kernels split rows ``row0 .. row1`` into groups of ``group`` rows run in parallel, and
each row into blocks of ``block`` columns small enough that a block of every frame
stays in L1/L2. The pure-numpy twins in ``reference.py`` perform the same floating-point
operations in the same order, so both engines give identical bits. ``cache=True``
compiles each specialisation once per machine.
"""

import threading
from typing import Any

import numba
import numpy as np
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

SOURCE_NATIVE = 0
SOURCE_BE_INT16 = 1

# numba's workqueue threading layer (its fallback where neither TBB nor OpenMP is found)
# aborts the process when two threads run parallel kernels at once; callers hold this
# lock around every parallel kernel. Each kernel uses every core anyway.
PARALLEL_LOCK = threading.Lock()

# error_model="numpy": 0/0 gives NaN (a pixel with no usable value) instead of raising.
_kernel = njit(cache=True, nogil=True, error_model="numpy")
_parallel_kernel = njit(parallel=True, cache=True, nogil=True, error_model="numpy")

# POSIX pread(2), linked by name so that cached kernels stay valid in a new process.
_pread: Any = types.ExternalFunction(
    "pread", types.intp(types.intc, types.voidptr, types.uintp, types.int64)
)


def _voidptr_typing(typingctx, address):
    """Reinterpret an integer address as ``void*`` (for ``numba.carray``)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


_voidptr: Any = intrinsic(_voidptr_typing)


@_kernel
def _read_exactly(fd, address, size, offset):
    """pread until ``size`` bytes are in; False on an error or an early end of file."""
    done = 0
    while done < size:
        got = _pread(fd, _voidptr(address + done), size - done, offset + done)
        if got <= 0:
            return False
        done += got
    return True


@_kernel
def _group_buffer(frames, group):
    """Per-thread buffer for ``group`` rows of every frame (empty when reading memory)."""
    positions, from_files, source_proto, cols = frames[1], frames[2], frames[4], frames[5]
    shape = (positions.shape[0], group * cols) if from_files else (positions.shape[0], 0)
    return np.empty(shape, source_proto.dtype)


@_kernel
def _fetch_rows(frames, first, count, raw):
    """From files, read source rows ``first .. first + count`` of every frame into
    ``raw``; returns how many frames could not be read."""
    fds, positions, from_files, cols = frames[0], frames[1], frames[2], frames[5]
    if not from_files:
        return 0
    row_bytes = cols * raw.itemsize
    failures = 0
    for k in range(positions.shape[0]):
        target = raw[k].ctypes.data
        if not _read_exactly(fds[k], target, count * row_bytes, positions[k] + first * row_bytes):
            failures += 1
    return failures


@_kernel
def _load_block(frames, raw, first, row, x0, width, dst):
    """``dst[k, :width]`` = frame k, source row ``row``, columns ``x0 .. x0 + width``.

    ``raw`` holds source rows from ``first`` on when reading files."""
    positions, from_files, kind, source_proto, cols = (
        frames[1],
        frames[2],
        frames[3],
        frames[4],
        frames[5],
    )
    itemsize = source_proto.itemsize
    for k in range(positions.shape[0]):
        if from_files:
            address = raw[k].ctypes.data + ((row - first) * cols + x0) * itemsize
        else:
            address = positions[k] + (row * cols + x0) * itemsize
        line = dst[k]
        if kind == SOURCE_BE_INT16:
            words = numba.carray(_voidptr(address), (width,), np.uint16)
            for x in range(width):
                word = words[x]
                line[x] = np.int16((word >> 8) | (word << 8))
        else:
            values = numba.carray(_voidptr(address), (width,), source_proto.dtype)
            for x in range(width):
                line[x] = values[x]


@_kernel
def _shift_and_scale(buf, width, offset, scales, use_scales):
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


@_kernel
def _apply_network(buf, network, width):
    for p in range(network.shape[0]):
        low = buf[network[p, 0]]
        high = buf[network[p, 1]]
        for x in range(width):
            a = low[x]
            b = high[x]
            low[x] = min(a, b)
            high[x] = max(a, b)


@_kernel
def _has_nan(buf, width):
    found = 0
    for k in range(buf.shape[0]):
        line = buf[k]
        for x in range(width):
            found += line[x] != line[x]
    return found > 0


@_kernel
def _count_valid(buf, width, valid):
    """valid[x] = number of non-NaN values in column x; NaNs become +inf (sort last)."""
    valid[:width] = 0
    for k in range(buf.shape[0]):
        line = buf[k]
        for x in range(width):
            if line[x] != line[x]:
                line[x] = np.inf
            else:
                valid[x] += 1


@_parallel_kernel
def median_rows(
    frames,
    row0,
    row1,
    group,
    work_proto,
    may_have_nan,
    load_offset,
    scales,
    use_scales,
    out_offset,
    network,
    full_network,
    block,
    out,
):
    """out[row] = per-pixel median of the frames (+ out_offset), NaNs ignored.

    Values are sorted in ``work_proto``'s dtype; the mean of the two middle values of an
    even count is taken in float64, as numpy's median does on ccdproc's float64 stack.
    ``network`` selects the median of n values, ``full_network`` sorts them (used for
    blocks holding NaNs, whose median sits at a per-pixel position). Returns the number
    of failed file reads (0 on success).
    """
    n = frames[1].shape[0]
    cols, row_shift = frames[5], frames[6]
    m0 = (n - 1) // 2
    m1 = n // 2
    failures = 0
    for g in prange((row1 - row0 + group - 1) // group):
        start = row0 + g * group
        stop = min(row1, start + group)
        raw = _group_buffer(frames, group)
        failures += _fetch_rows(frames, start - row_shift, stop - start, raw)
        buf = np.empty((n, block), work_proto.dtype)
        valid = np.empty(block, np.int64)
        for row in range(start, stop):
            line = out[row]
            for x0 in range(0, cols, block):
                width = min(block, cols - x0)
                _load_block(frames, raw, start - row_shift, row - row_shift, x0, width, buf)
                _shift_and_scale(buf, width, load_offset, scales, use_scales)
                if not (may_have_nan and _has_nan(buf, width)):
                    _apply_network(buf, network, width)
                    for x in range(width):
                        middle = np.float64(buf[m0, x]) + np.float64(buf[m1, x])
                        line[x0 + x] = middle * 0.5 + out_offset
                else:
                    _count_valid(buf, width, valid)
                    _apply_network(buf, full_network, width)
                    for x in range(width):
                        count = valid[x]
                        if count == 0:
                            line[x0 + x] = np.nan
                        else:
                            middle = np.float64(buf[(count - 1) // 2, x])
                            middle += np.float64(buf[count // 2, x])
                            line[x0 + x] = middle * 0.5 + out_offset
    return failures


@_parallel_kernel
def mean_rows(frames, row0, row1, group, load_offset, scales, use_scales, block, out):
    """out[row] = per-pixel mean (float64, frames summed in order), NaNs ignored.

    Returns the number of failed file reads (0 on success)."""
    n = frames[1].shape[0]
    cols, row_shift = frames[5], frames[6]
    failures = 0
    for g in prange((row1 - row0 + group - 1) // group):
        start = row0 + g * group
        stop = min(row1, start + group)
        raw = _group_buffer(frames, group)
        failures += _fetch_rows(frames, start - row_shift, stop - start, raw)
        buf = np.empty((n, block), np.float64)
        total = np.empty(block, np.float64)
        count = np.empty(block, np.float64)
        for row in range(start, stop):
            for x0 in range(0, cols, block):
                width = min(block, cols - x0)
                _load_block(frames, raw, start - row_shift, row - row_shift, x0, width, buf)
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
    return failures


@_kernel
def _kept_mean_std(buf, keep, width, mean, count, std):
    """Per column: count, mean and population std of the kept values (two passes, frames
    summed in order, as numpy's mean and std do)."""
    mean[:width] = 0.0
    count[:width] = 0.0
    std[:width] = 0.0
    for k in range(buf.shape[0]):
        for x in range(width):
            kept = keep[k, x]
            mean[x] += buf[k, x] if kept else 0.0
            count[x] += 1.0 if kept else 0.0
    for x in range(width):
        mean[x] = mean[x] / count[x]
    for k in range(buf.shape[0]):
        for x in range(width):
            deviation = buf[k, x] - mean[x]
            std[x] += deviation * deviation if keep[k, x] else 0.0
    for x in range(width):
        std[x] = np.sqrt(std[x] / count[x])


@_kernel
def _interval_median(ordered, x, first, stop):
    size = int(stop - first)
    if size <= 0:
        return np.nan
    start = int(first)
    return (ordered[start + (size - 1) // 2, x] + ordered[start + size // 2, x]) * 0.5


@_kernel
def _clip_round(buf, keep, ordered, width, state, sigma_low, sigma_high, centre_median):
    """One clipping round: new bounds for the active columns, then reject outside them.

    ``state`` rows: 0 mean, 1 count, 2 std, 3 lower, 4 upper, 5 active (1.0/0.0),
    6 first and 7 stop of the kept interval of ``ordered`` (median centre only),
    8 kept after the round, 9 sum and 10 count of all values inside the bounds (the
    result, once the column stops). Returns how many columns stay active.
    """
    mean, count, std = state[0], state[1], state[2]
    lower, upper, active = state[3], state[4], state[5]
    first, stop, after = state[6], state[7], state[8]
    inside_total, inside_count = state[9], state[10]
    _kept_mean_std(buf, keep, width, mean, count, std)
    for x in range(width):
        if active[x] != 0.0:
            centre = _interval_median(ordered, x, first[x], stop[x]) if centre_median else mean[x]
            lower[x] = centre - sigma_low * std[x]
            upper[x] = centre + sigma_high * std[x]
    after[:width] = 0.0
    inside_total[:width] = 0.0
    inside_count[:width] = 0.0
    for k in range(buf.shape[0]):
        for x in range(width):
            value = buf[k, x]
            inside = lower[x] <= value and value <= upper[x]
            is_kept = keep[k, x] and inside
            after[x] += 1.0 if is_kept else 0.0
            keep[k, x] = is_kept
            inside_total[x] += value if inside else 0.0
            inside_count[x] += 1.0 if inside else 0.0
    for x in range(width):
        if after[x] == count[x] or after[x] == 0.0:
            active[x] = 0.0
    if centre_median:
        below, within = mean, std  # reused: ordered values under / within the bounds
        below[:width] = 0.0
        within[:width] = 0.0
        for k in range(ordered.shape[0]):
            for x in range(width):
                below[x] += 1.0 if ordered[k, x] < lower[x] else 0.0
                within[x] += 1.0 if ordered[k, x] <= upper[x] else 0.0
        for x in range(width):
            first[x] = max(first[x], below[x])
            stop[x] = min(stop[x], within[x])
    changing = 0
    for x in range(width):
        changing += active[x] != 0.0
    return changing


@_kernel
def _start_clipping(buf, keep, ordered, width, state, centre_median, full_network):
    """Keep every finite value; the kept interval of the sorted copy is all of them."""
    state[5, :width] = 1.0
    state[6, :width] = 0.0
    state[7, :width] = 0.0
    for k in range(buf.shape[0]):
        for x in range(width):
            finite = np.isfinite(buf[k, x])
            keep[k, x] = finite
            state[7, x] += 1.0 if finite else 0.0
    if centre_median:
        for k in range(buf.shape[0]):
            for x in range(width):
                ordered[k, x] = buf[k, x] if keep[k, x] else np.inf
        _apply_network(ordered, full_network, width)


@_kernel
def _row_address(frames, raw, first, row, x0, k):
    """Address of frame k's value at (source row ``row``, column ``x0``) (see
    :func:`_load_block`)."""
    positions, from_files, source_proto, cols = frames[1], frames[2], frames[4], frames[5]
    if from_files:
        return raw[k].ctypes.data + ((row - first) * cols + x0) * source_proto.itemsize
    return positions[k] + (row * cols + x0) * source_proto.itemsize


@_kernel
def _value_at(frames, address, x, offset, factor, use_scales):
    """The value :func:`_load_block` then :func:`_shift_and_scale` make of the source
    word at ``address``, column ``x`` (the same operations, so the same bits)."""
    kind, source_proto = frames[3], frames[4]
    if kind == SOURCE_BE_INT16:
        word = numba.carray(_voidptr(address), (x + 1,), np.uint16)[x]
        value = np.float64(np.int16((word >> 8) | (word << 8)))
    else:
        value = np.float64(numba.carray(_voidptr(address), (x + 1,), source_proto.dtype)[x])
    if offset != 0.0:
        value = value + offset
    if use_scales:
        value = value * factor
    return value


@_kernel
def _clip_once_finite(frames, raw, first, row, x0, width, offset, scales, use_scales,
                      sigma_low, sigma_high, sums, line):  # fmt: skip
    """ccdproc's default clip (one round about the mean) of a block whose values are all
    finite (integer frames): ``line[x0 + x]`` = the mean of the values inside the bounds.

    The same operations in the same order as :func:`_load_block`, :func:`_shift_and_scale`,
    :func:`_start_clipping` then :func:`_clip_round` (no value is left out, so every count
    is n), in two passes over the source words, decoded as they are read: the sum with
    each column's extremes, then the squared deviations. A column whose extremes lie
    inside its bounds averages every value, which is its mean already; only the others
    are summed again."""
    total, squares, least, most, lower, upper = sums
    n = frames[1].shape[0]
    for x in range(width):
        total[x] = 0.0
        squares[x] = 0.0
        least[x] = np.inf
        most[x] = -np.inf
    for k in range(n):
        address = _row_address(frames, raw, first, row, x0, k)
        factor = scales[k]
        for x in range(width):
            value = _value_at(frames, address, x, offset, factor, use_scales)
            total[x] += value
            least[x] = min(least[x], value)
            most[x] = max(most[x], value)
    for x in range(width):
        total[x] = total[x] / n
    for k in range(n):
        address = _row_address(frames, raw, first, row, x0, k)
        factor = scales[k]
        for x in range(width):
            deviation = _value_at(frames, address, x, offset, factor, use_scales) - total[x]
            squares[x] += deviation * deviation
    for x in range(width):
        std = np.sqrt(squares[x] / n)
        lower[x] = total[x] - sigma_low * std
        upper[x] = total[x] + sigma_high * std
    for x in range(width):
        if lower[x] <= least[x] and most[x] <= upper[x]:
            line[x0 + x] = total[x]
            continue
        inside_total = 0.0
        inside_count = 0.0
        for k in range(n):
            address = _row_address(frames, raw, first, row, x0, k)
            value = _value_at(frames, address, x, offset, scales[k], use_scales)
            if lower[x] <= value and value <= upper[x]:
                inside_total += value
                inside_count += 1.0
        line[x0 + x] = inside_total / inside_count


@_parallel_kernel
def sigma_clip_rows(
    frames,
    row0,
    row1,
    group,
    load_offset,
    scales,
    use_scales,
    sigma_low,
    sigma_high,
    max_iterations,
    centre_median,
    full_network,
    finite_values,
    block,
    out,
):
    """out[row] = mean of the values inside the final sigma-clipping bounds (float64).

    astropy's ``sigma_clip`` semantics: finite values only; each round computes the
    centre (mean, or median) and the population std (about the mean) of the values
    kept so far, keeps those with ``centre - sigma_low*std <= v <= centre + sigma_high*std``,
    and a pixel stops when a round rejects nothing or everything, or after
    ``max_iterations`` rounds (-1: no limit). The result averages every value inside
    that pixel's last bounds. A stopped pixel's bounds no longer change, so the sums
    of the last round are every pixel's result. ``finite_values`` (integer frames,
    finite offset and scales) lets one round about the mean take a shorter path with
    the same bits. Returns the number of failed reads.
    """
    n = frames[1].shape[0]
    cols, row_shift = frames[5], frames[6]
    once_finite = finite_values and max_iterations == 1 and not centre_median
    failures = 0
    for g in prange((row1 - row0 + group - 1) // group):
        start = row0 + g * group
        stop = min(row1, start + group)
        raw = _group_buffer(frames, group)
        failures += _fetch_rows(frames, start - row_shift, stop - start, raw)
        buf = np.empty((n, block), np.float64)
        ordered = np.empty((n, block) if centre_median else (1, 1), np.float64)
        keep = np.empty((n, block), np.bool_)
        state = np.empty((11, block), np.float64)
        sums = (np.empty(block), np.empty(block), np.empty(block),
                np.empty(block), np.empty(block), np.empty(block))  # fmt: skip
        for row in range(start, stop):
            for x0 in range(0, cols, block):
                width = min(block, cols - x0)
                if once_finite:
                    _clip_once_finite(
                        frames, raw, start - row_shift, row - row_shift, x0, width,
                        load_offset, scales, use_scales, sigma_low, sigma_high, sums, out[row],
                    )  # fmt: skip
                    continue
                _load_block(frames, raw, start - row_shift, row - row_shift, x0, width, buf)
                _shift_and_scale(buf, width, load_offset, scales, use_scales)
                _start_clipping(buf, keep, ordered, width, state, centre_median, full_network)
                rounds = 0
                while True:
                    changing = _clip_round(
                        buf, keep, ordered, width, state, sigma_low, sigma_high, centre_median
                    )
                    rounds += 1
                    if changing == 0 or (max_iterations != -1 and rounds >= max_iterations):
                        break
                for x in range(width):
                    out[row, x0 + x] = state[9, x] / state[10, x]
    return failures


@_parallel_kernel
def calibrate_rows(frames, offset, bias, dark, dark_scale, flat, use_flat, group, out):
    """out = ((value - bias) - dark * dark_scale) / flat in float32, one fused pass.

    ``frames`` holds one frame; ``value`` is its decoded pixel plus ``offset`` (BZERO
    on the 16-bit path). Without ``use_flat`` the division is skipped. Returns the
    number of flat pixels that are not finite and positive (the caller refuses the
    result) and the number of failed reads.
    """
    rows, cols = out.shape
    scale = np.float32(dark_scale)
    shift = np.float32(offset)
    bad_flat = 0
    failures = 0
    for g in prange((rows + group - 1) // group):
        start = g * group
        stop = min(rows, start + group)
        raw = _group_buffer(frames, group)
        failures += _fetch_rows(frames, start, stop - start, raw)
        line = np.empty((1, cols), np.float32)
        for row in range(start, stop):
            _load_block(frames, raw, start, row, 0, cols, line)
            result = out[row]
            for x in range(cols):
                value = line[0, x]
                if shift != 0.0:
                    value = value + shift
                value = (value - bias[row, x]) - dark[row, x] * scale
                if use_flat:
                    divisor = flat[row, x]
                    bad_flat += not (divisor > 0.0 and divisor < np.inf)
                    value = value / divisor
                result[x] = value
    return bad_flat, failures
