"""Finding a flat's exposure time against a linear, saturating panel model."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.telescope.flats import FlatLevelUnreachable, find_flat_exposure

BIAS = 1000.0


def panel(rate_adu_s: float, calls: list[float]):
    def expose(exposure_s: float) -> np.ndarray:
        calls.append(exposure_s)
        level = min(65535.0, BIAS + rate_adu_s * exposure_s)
        return np.full((4, 4), level, dtype=np.uint16)

    return expose


def find(rate_adu_s: float, calls: list[float], **bounds: float):
    return find_flat_exposure(
        panel(rate_adu_s, calls),
        bias_adu=BIAS,
        target_adu=30000.0,
        max_adu=65535,
        min_s=bounds.get("min_s", 0.1),
        max_s=bounds.get("max_s", 30.0),
        start_s=1.0,
    )


def test_a_dim_panel_is_scaled_up_to_the_target() -> None:
    calls: list[float] = []
    found = find(2900.0, calls)
    assert found.exposure_s == pytest.approx(10.0)
    assert abs(found.level_adu - 30000.0) <= 0.1 * 29000.0
    assert calls == [1.0, pytest.approx(10.0)]


def test_a_saturated_trial_is_cut_until_it_reads() -> None:
    calls: list[float] = []
    found = find(290000.0, calls)
    assert calls[1] == pytest.approx(0.1) and found.exposure_s == pytest.approx(0.1)


def test_a_panel_too_dim_for_the_bounds_is_refused_naming_the_time() -> None:
    with pytest.raises(FlatLevelUnreachable, match="outside"):
        find(100.0, [], max_s=5.0)


def test_at_the_bound_a_usable_level_is_taken() -> None:
    found = find(2000.0, [], max_s=5.0)  # 10000 ADU of signal at 5 s: a third of the target
    assert found.exposure_s == 5.0
