"""Batch folders for the transfer tests: small FITS-like files and their manifest."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

BLOCK = 2880


def fits_like_bytes(seed: int, data_blocks: int = 2) -> bytes:
    """A primary header (SIMPLE, BITPIX, NAXIS, END) and seeded pseudo-random data blocks."""
    cards = ["SIMPLE  =                    T", "BITPIX  =                   16", "NAXIS   =  0"]
    header = "".join(card.ljust(80) for card in [*cards, "END"]).ljust(BLOCK).encode("ascii")
    return header + random.Random(seed).randbytes(BLOCK * data_blocks)


def manifest_entry(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"path": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_batch(
    root: Path, name: str = "20261123-observation-42", files: int = 3, data_blocks: int = 2
) -> dict[str, Any]:
    """Write ``root/name`` with ``files`` frames and a complete manifest; returns it."""
    folder = root / name
    folder.mkdir(parents=True)
    entries = []
    for seq in range(1, files + 1):
        path = folder / f"light_R_30s_{seq:04d}.fits"
        path.write_bytes(fits_like_bytes(seq, data_blocks))
        entries.append(manifest_entry(path))
    manifest = {
        "batch": name,
        "created_at": "2026-11-23T22:00:00+00:00",
        "complete": True,
        "files": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return manifest
