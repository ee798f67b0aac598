"""``observatory dome``: ``--direct`` before or after the subcommand, as the README shows."""

from __future__ import annotations

import pytest

from observatory.cli.main import build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["dome", "--direct", "status"],
        ["dome", "status", "--direct"],
        ["dome", "azimuth", "120", "--direct"],
        ["dome", "--direct", "goto", "45", "200"],
    ],
)
def test_direct_is_taken_before_and_after_the_subcommand(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).direct is True


def test_without_direct_the_dome_queue_is_used() -> None:
    args = build_parser().parse_args(["dome", "status"])
    assert getattr(args, "direct", False) is False


def test_timeout_is_taken_on_either_side() -> None:
    assert build_parser().parse_args(["dome", "--timeout", "5", "open"]).timeout == 5.0
    assert build_parser().parse_args(["dome", "open", "--timeout", "7"]).timeout == 7.0
