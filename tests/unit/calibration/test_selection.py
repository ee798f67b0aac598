"""Exact frame statistics without copies (observatory.calibration.selection): the medians
are np.median's bit for bit, whatever the data's ties, outliers, non-finite pixels or
the number of threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from observatory.calibration import reference, selection
from observatory.calibration.selection import median_and_mad, moments, order_statistics

RNG = np.random.default_rng(20261206)


def numpy_statistics(data: np.ndarray) -> tuple[float, float, float, float, float, float]:
    values = np.asarray(data, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    return (*reference.median_and_mad(data), values.mean(), values.std(), values.min(),
            values.max())  # fmt: skip


def hot_pixels(shape: tuple[int, int]) -> np.ndarray:
    """A bias-like frame: a narrow bulk near 1000 ADU, a few saturated and dead pixels."""
    data = RNG.normal(1000.0, 4.0, shape).astype(np.float32)
    data.flat[RNG.choice(data.size, 50, replace=False)] = 65535.0
    data.flat[RNG.choice(data.size, 50, replace=False)] = 0.0
    return data


FRAMES = {
    "a bias with hot and dead pixels": hot_pixels((700, 701)),
    "integer-valued, few distinct values": RNG.integers(0, 4, (600, 600)).astype(np.float32),
    "half exactly zero": np.where(RNG.random((500, 500)) < 0.5, 0.0, RNG.normal(5, 1, (500, 500))),
    "a normalised flat": RNG.normal(1.0, 0.004, (512, 512)).astype(np.float32),
    "NaN and infinities": np.concatenate(
        [RNG.normal(0, 1, 200_001), [np.nan] * 7, [np.inf] * 3, [-np.inf] * 5]
    ),
    "constant": np.full((300, 300), 7.25, np.float32),
    "subnormal steps": np.concatenate([np.zeros(90_000), np.full(90_000, 5e-324), [1.0]]),
    "int16 pixels": RNG.integers(-300, 300, (400, 400)).astype(np.int16),
    "big-endian, as FITS stores it": RNG.normal(1.0, 0.01, (300, 301)).astype(">f4"),
    "8-bit pixels": RNG.integers(0, 255, (256, 256)).astype(np.uint8),
    "one pixel": np.array([[3.5]]),
    "two pixels": np.array([1.0, 2.0]),
}


@pytest.mark.parametrize("name", FRAMES)
def test_median_and_mad_are_numpys_bit_for_bit(name: str) -> None:
    data = FRAMES[name]
    summary = moments(data)
    median, mad = median_and_mad(data, summary)
    expected = numpy_statistics(data)
    assert (median, mad) == expected[:2]
    assert selection.median(data) == median
    assert summary.mean == pytest.approx(expected[2], rel=1e-12, abs=1e-300)
    assert summary.std == pytest.approx(expected[3], rel=1e-9, abs=1e-300)
    assert (summary.minimum, summary.maximum) == expected[4:]
    assert summary.count + summary.nonfinite == data.size
    assert summary.nonfinite == data.size - np.count_nonzero(np.isfinite(data))


@pytest.mark.parametrize("limit", [0, 1, 1000])
def test_narrowing_down_to_equal_values_or_a_small_bracket(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a smaller gathering limit, more narrowing passes; the answer stays exact."""
    monkeypatch.setattr(selection, "GATHER_MIN", limit)
    monkeypatch.setattr(selection, "gather_limit", lambda count: limit)
    for name in ("a bias with hot and dead pixels", "integer-valued, few distinct values",
                 "half exactly zero"):  # fmt: skip
        data = FRAMES[name]
        assert median_and_mad(data, moments(data)) == numpy_statistics(data)[:2], name


def test_every_rank_is_np_partitions() -> None:
    data = FRAMES["a bias with hot and dead pixels"]
    values = np.sort(data.ravel().astype(np.float64))
    summary = moments(data)
    ranks = [0, 1, 49, 50, 51, 1000, values.size // 2, values.size - 51, values.size - 1]
    for rank in ranks:
        bounds = (summary.minimum, summary.maximum)
        [found] = order_statistics(data, (rank,), bounds, summary.count)
        assert found == values[rank], rank
    deviations = np.sort(np.abs(values - 1000.0))
    spread = float(deviations[-1])
    assert order_statistics(data, (7, 8), (0.0, spread), summary.count, centre=1000.0) == list(
        deviations[7:9]
    )


def test_a_sample_fooled_by_the_frames_structure_costs_time_not_exactness() -> None:
    """Every value the evenly spaced sample takes is a hot pixel: its bracket misses the
    median, the first pass says so, and the bracket of every value is narrowed."""
    data = RNG.normal(1000.0, 4.0, 16 * selection.GATHER_MIN)
    stride = data.size // selection.SAMPLE
    data[::stride] = 65535.0
    sampled = selection._sampled_bracket(data, 0.0, False, (data.size // 2,), data.size)
    assert sampled is not None and sampled[0] == 65535.0
    assert median_and_mad(data, moments(data)) == numpy_statistics(data)[:2]


def test_nothing_finite_or_a_rank_beyond_the_values_is_refused() -> None:
    with pytest.raises(ValueError, match="no finite pixel"):
        moments(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"ranks \(3,\) are not among"):
        order_statistics(np.array([1.0, 2.0, 3.0]), (3,), (1.0, 3.0), 3)
    # Gathering more values than counted is refused, without writing past its buffer.
    with pytest.raises(ValueError, match="another number of values than counted"):
        selection._gather(np.arange(100.0), 0.0, False, 10.0, 20.0, 5)


# 30 examples in the fast loop (5 s at 80 on a quiet machine, the slowest unit test).
@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        st.integers(1, 3000),
        elements=st.one_of(
            st.floats(-1e6, 1e6, width=32),
            st.integers(-3, 3).map(float),  # ties
            st.sampled_from([np.nan, np.inf, -np.inf]),
        ),
    ).filter(lambda a: bool(np.isfinite(a).any())),
    st.sampled_from([0, 16, selection.GATHER_MIN]),
)
def test_any_frame(data: np.ndarray, limit: int) -> None:
    default = selection.GATHER_MIN, selection.gather_limit
    selection.GATHER_MIN, selection.gather_limit = limit, lambda count: limit
    try:
        assert median_and_mad(data, moments(data)) == numpy_statistics(data)[:2]
    finally:
        selection.GATHER_MIN, selection.gather_limit = default
