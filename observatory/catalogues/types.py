"""What a catalogue answers for a name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueEntry:
    """A position found for a name: ICRS-aligned degrees, the name as the catalogue
    spells it, and the catalogue (with its version or epoch where it has one)."""

    ra_deg: float
    dec_deg: float
    name: str
    source: str


def fold(name: str) -> str:
    """``name`` for matching: case folded, runs of spaces made one."""
    return " ".join(name.split()).casefold()
