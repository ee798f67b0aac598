"""Argument types shared by the commands: a bad value is argparse's one line and exit 2,
before anything starts (a port out of range reached ``bind`` as a traceback)."""

from __future__ import annotations

import argparse
import math


def port_number(text: str) -> int:
    """A TCP or UDP port, 0 to 65535 (0: any free port, where the command allows it)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def positive_float(text: str) -> float:
    """A finite number above zero (a time scale, a number of seconds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value
