"""Comparator networks that sort, or pick the median of, a fixed number of values.

A network is a fixed list of compare-exchange pairs ``(i, j)`` with ``i < j``: after each
pair, position ``i`` holds the smaller and ``j`` the larger value. Because the sequence
does not depend on the data, the kernels apply each pair to whole rows of pixels at once
(frames are the small axis, pixels the long one), which compiles to SIMD min/max.
"""

from functools import cache

import numpy as np


def median_positions(count: int) -> tuple[int, int]:
    """Sorted positions whose mean is the median of ``count`` values (equal when odd)."""
    if count < 1:
        raise ValueError(f"a median needs at least one value, got count={count}")
    return (count - 1) // 2, count // 2


@cache
def sorting_network(count: int) -> np.ndarray:
    """Batcher's merge-exchange network (Knuth, TAOCP 5.2.2 Algorithm M) for ``count`` values.

    Returns a read-only int64 array of shape (pairs, 2). It sorts any input of ``count``
    values (0-1 principle); its size grows as count * log2(count)**2 / 4.
    """
    if count < 1:
        raise ValueError(f"a network needs at least one value, got count={count}")
    pairs: list[tuple[int, int]] = []
    if count > 1:
        t = (count - 1).bit_length()
        p = 1 << (t - 1)
        while p > 0:
            q, r, d = 1 << (t - 1), 0, p
            while True:
                pairs.extend((i, i + d) for i in range(count - d) if i & p == r)
                if q == p:
                    break
                d, q, r = q - p, q >> 1, p
            p >>= 1
    return _frozen(pairs)


@cache
def median_network(count: int) -> np.ndarray:
    """The sorting network pruned to the pairs that can change the median positions.

    Walking the network backwards, a pair is kept only when one of its positions still
    feeds a median position; the others cannot affect the result. For 20 values this
    keeps 81 of 97 pairs.
    """
    needed = set(median_positions(count))
    kept: list[tuple[int, int]] = []
    for i, j in reversed(sorting_network(count).tolist()):
        if i in needed or j in needed:
            kept.append((i, j))
            needed.update((i, j))
    kept.reverse()
    return _frozen(kept)


def _frozen(pairs: list[tuple[int, int]]) -> np.ndarray:
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    array.flags.writeable = False
    return array
