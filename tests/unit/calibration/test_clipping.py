"""SigmaClip: the rules it accepts, and each refusal naming the value given."""

import re

import pytest

from observatory.calibration import SigmaClip


def test_the_default_is_ccdproc_s_one_round_of_three_sigma_about_the_mean() -> None:
    clip = SigmaClip()
    assert (clip.sigma_low, clip.sigma_high, clip.max_iterations, clip.centre) == (
        3.0,
        3.0,
        1,
        "mean",
    )


@pytest.mark.parametrize(
    "rules",
    [
        {"sigma_low": 1e-9, "sigma_high": 1e-9},
        {"max_iterations": 1},
        {"max_iterations": None},
        {"centre": "median"},
    ],
)
def test_any_positive_bounds_one_round_or_more_and_either_centre_are_accepted(rules) -> None:
    clip = SigmaClip(**rules)
    for name, value in rules.items():
        assert getattr(clip, name) == value


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"sigma_low": 0.0}, "sigma_low and sigma_high must be > 0, got 0.0, 3.0"),
        ({"sigma_high": 0.0}, "sigma_low and sigma_high must be > 0, got 3.0, 0.0"),
        (
            {"sigma_low": -1.0, "sigma_high": -2.0},
            "sigma_low and sigma_high must be > 0, got -1.0, -2.0",
        ),
        ({"sigma_low": float("nan")}, "sigma_low and sigma_high must be > 0, got nan, 3.0"),
        ({"max_iterations": 0}, "max_iterations must be >= 1 or None, got 0"),
        ({"centre": "mode"}, "centre must be 'mean' or 'median', got 'mode'"),
    ],
)
def test_bad_rules_are_refused_naming_the_value(rules, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        SigmaClip(**rules)
