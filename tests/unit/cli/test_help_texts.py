"""Help texts that say what the commands do: the report's night, the stack's children."""

from __future__ import annotations

import argparse
import datetime as dt

from observatory.cli.main import build_parser
from observatory.clock import night_of

# Mauna Kea: the evening is already the next day in UTC.
MAUNA_KEA_LONGITUDE_DEG = -155.47


def test_the_night_is_the_evenings_date_at_the_site_not_in_utc() -> None:
    sunset = dt.datetime(2026, 12, 7, 3, 50, tzinfo=dt.UTC)  # 17:50 on the 6th, local
    assert night_of(sunset, MAUNA_KEA_LONGITUDE_DEG) == dt.date(2026, 12, 6)
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    report = commands.choices["report"]
    night = next(a for a in report._actions if a.dest == "night")
    texts = [report.description or "", night.help or ""]
    for text in texts:
        assert "UTC date" not in text.replace("next UTC date", ""), text
    assert "date at the site" in (night.help or ""), night.help


def test_the_help_of_up_names_every_child_it_starts() -> None:
    # The stack starts the safety supervisor and the reconciler too (observatory/stack.py).
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    up = next(a for a in commands._choices_actions if a.dest == "up")
    for child in ("simulator", "workers", "beat", "reconciler", "supervisor"):
        assert child in (up.help or ""), up.help
