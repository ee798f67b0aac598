from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatory.devices.angles import (
    angular_distance_deg,
    check_altitude_deg,
    check_azimuth_deg,
)
from observatory.errors import InvalidTarget


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(0.0, 0.0, 0.0), (359.5, 0.5, 1.0), (0.5, 359.5, 1.0), (10.0, 190.0, 180.0), (90, 45, 45)],
)
def test_angular_distance_takes_the_short_way(a: float, b: float, expected: float) -> None:
    assert angular_distance_deg(a, b) == pytest.approx(expected)


@given(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4))
def test_angular_distance_is_symmetric_and_bounded(a: float, b: float) -> None:
    distance = angular_distance_deg(a, b)
    assert 0.0 <= distance <= 180.0
    assert distance == pytest.approx(angular_distance_deg(b, a), abs=1e-9)


def test_numpy_numbers_and_range_ends_are_accepted() -> None:
    assert check_azimuth_deg(np.float32(0.0)) == 0.0
    assert check_azimuth_deg(np.int64(359)) == 359.0
    assert check_altitude_deg(90) == 90.0
    assert check_altitude_deg(0.0) == 0.0


def test_the_error_names_the_parameter_and_value() -> None:
    with pytest.raises(InvalidTarget, match=r"azim 400 deg is outside \[0, 360\)"):
        check_azimuth_deg(400, name="azim")
    with pytest.raises(InvalidTarget, match="altitude must be a number of degrees, got None"):
        check_altitude_deg(None)
